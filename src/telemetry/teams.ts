// The --teams file: a JSON object mapping sender_id (0x-hex node key) to a team name, used
// when a producer names its team neither in the envelope nor in metadata.
import { readFileSync } from 'node:fs';
import { ConfigError, describeError } from '../errors.js';
import type { TeamMap } from './envelope.js';

export function loadTeams(path: string | undefined): TeamMap | undefined {
  if (!path) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read --teams ${path}: ${describeError(e)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`--teams ${path} must be a JSON object mapping sender_id to team name`);
  }
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string' || v === '') throw new ConfigError(`--teams ${path}: the team of ${k} must be a non-empty string`);
    out.set(k.toLowerCase(), v);
  }
  return out;
}
