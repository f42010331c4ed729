// Field access for JAM objects with reject reasons that name the missing or malformed field,
// so an unknown Gray Paper shape is a reject that says what it lacked.
import { RejectError } from '../../pipeline/rejects.js';
import type { CellValue } from '../../tables/schema.js';
import { checkExactNumbers } from '../numbers.js';

export type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The object at `path` (a display name, e.g. "json_encoded.header"). */
export function obj(v: unknown, path: string): Obj {
  if (isObj(v)) return v;
  if (v === undefined) throw new RejectError('missing_field', `${path} is missing`);
  throw new RejectError('bad_field', `${path} must be an object, got ${kind(v)}`);
}

/** A required field; its type is left to the row's schema check. */
export function req(o: Obj, key: string, path: string): CellValue {
  const v = o[key];
  if (v === undefined) throw new RejectError('missing_field', `${path}.${key} is missing`);
  if (typeof v === 'object' && v !== null) throw new RejectError('bad_field', `${path}.${key} must be a scalar, got ${kind(v)}`);
  return v as CellValue;
}

/** The first of several names a field had across Gray Paper versions. */
export function reqAny(o: Obj, keys: readonly string[], path: string): CellValue {
  for (const k of keys) if (o[k] !== undefined) return req(o, k, path);
  throw new RejectError('missing_field', `${path}.${keys.join(' (or ')}${keys.length > 1 ? ')' : ''} is missing`);
}

/** An optional scalar: null when absent. */
export function opt(o: Obj, key: string, path: string): CellValue {
  return o[key] === undefined ? null : req(o, key, path);
}

/** A list; Go producers write empty lists as null, the test vectors as []: both are empty. */
export function list(o: Obj, key: string, path: string): unknown[] {
  const v = o[key];
  if (Array.isArray(v)) return v;
  if (v === null) return [];
  if (v === undefined) throw new RejectError('missing_field', `${path}.${key} is missing`);
  throw new RejectError('bad_field', `${path}.${key} must be a list, got ${kind(v)}`);
}

/**
 * Compact JSON text of a parsed value written into a text column (a list, segment data): an
 * integer in it that a float cannot hold would be written rounded, so it is an unsafe_integer
 * reject instead (the value is walked for its numbers; strings are not looked into).
 */
export function jsonText(v: unknown, path: string): string {
  checkExactNumbers(v, path);
  return JSON.stringify(v);
}

/** Compact JSON text of a list (null as []). */
export function listText(o: Obj, key: string, path: string): string {
  const v = o[key];
  return v === null ? '[]' : jsonText(list(o, key, path), `${path}.${key}`);
}

/** A metadata value as an integer, null when absent; a non-integer is a reject. */
export function metaInt(meta: Readonly<Record<string, string>>, key: string): number | null {
  const v = meta[key];
  if (v === undefined || v === '') return null;
  if (!/^-?\d{1,15}$/.test(v)) {
    if (/^-?\d+$/.test(v)) throw new RejectError('unsafe_integer', `metadata ${key}=${v.slice(0, 40)} is beyond ±(2^53 - 1), where JSON numbers stop being exact integers`);
    throw new RejectError('bad_field', `metadata ${key}=${JSON.stringify(v.slice(0, 40))} must be an integer`);
  }
  return Number(v);
}

export function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

/** The columns of a RefinementContext, which work reports and work packages both carry. */
export function contextColumns(ctx: Obj, path: string): Record<string, CellValue> {
  return {
    anchor: req(ctx, 'anchor', path),
    state_root: req(ctx, 'state_root', path),
    beefy_root: req(ctx, 'beefy_root', path),
    lookup_anchor: req(ctx, 'lookup_anchor', path),
    lookup_anchor_slot: req(ctx, 'lookup_anchor_slot', path),
    prerequisites: listText(ctx, 'prerequisites', path),
  };
}
