// BigQuery's insertIds, seeded by the input file's identity (src/input/identity.ts).
import { createHash } from 'node:crypto';

export { fileIdentity, layoutName } from '../../input/identity.js';

/** The insertId of row `index` (0-based, across tables) of line `line` of a file: 128 bits of SHA-256. */
export function insertIdOf(identity: string, line: number, index: number): string {
  return createHash('sha256').update(`${identity}\n${line}\n${index}`).digest('base64url').slice(0, 22);
}
