// The real ranges of the integer columns: what JAM allows, beyond what the column type (INT64)
// does. schema/*.json stays plain BigQuery schema (`bq mk` takes it as it is), so the ranges
// live here, by column name, the same in every table that has the column. Every row is checked
// against them by the ajv validator (the bounds are part of its JSON Schema, so they cost
// nothing extra); a value outside is an `out_of_range` reject naming the column.

export interface Range {
  min: number;
  max: number;
  /** Why, for the reject reason. */
  why: string;
}

export const U16_MAX = 0xffff;
export const U32_MAX = 0xffffffff;

/**
 * Every integer column holds an unsigned JAM quantity (an index, a count, a size, gas, a slot),
 * and an integer a JSON parser holds as a float is exact only up to 2^53 − 1; what cannot be
 * held exactly is an `unsafe_integer` reject (src/telemetry/numbers.ts), not a rounded value.
 */
export const DEFAULT_INTEGER_RANGE: Range = { min: 0, max: Number.MAX_SAFE_INTEGER, why: 'a non-negative integer up to 2^53 - 1' };

const U16 = (what: string): Range => ({ min: 0, max: U16_MAX, why: `${what} (u16)` });
const U32 = (what: string): Range => ({ min: 0, max: U32_MAX, why: `${what} (u32)` });

export const COLUMN_RANGES: Readonly<Record<string, Range>> = {
  // Validator and core indices are u16 in the Gray Paper (at most 1023 validators, 341 cores).
  validator_index: U16('a validator index'),
  author_index: U16('a validator index'),
  validator_id: U16('a validator index'),
  core: U16('a core index'),
  core_index: U16('a core index'),
  // Time slots are u32; `slot` is derived from `time`, which may not precede the JAM common era.
  slot: U32('a time slot'),
  header_slot: U32('a time slot'),
  lookup_anchor_slot: U32('a time slot'),
  // Service ids are u32.
  service_index: U32('a service id'),
  service_id: U32('a service id'),
  requester: U32('a service id'),
  auth_code_host: U32('a service id'),
};

export function rangeOf(column: string): Range {
  return COLUMN_RANGES[column] ?? DEFAULT_INTEGER_RANGE;
}
