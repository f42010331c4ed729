// What an event definition is: its discriminator, its name, and its fields in wire order, each a
// JSON name and the decoder of its JIP-3 type. The family modules hold the definitions; the
// registry (index.ts) turns them into one table by discriminator.
import type { Dec } from '../types.js';

export type Field = readonly [name: string, dec: Dec];

export type Family =
  | 'meta'
  | 'status'
  | 'networking'
  | 'block_authoring'
  | 'block_distribution'
  | 'tickets'
  | 'guaranteeing'
  | 'availability'
  | 'bundle_recovery'
  | 'segment_recovery'
  | 'preimages';

export interface EventDef {
  /** The discriminator byte. */
  id: number;
  /** snake_case of the spec's heading, e.g. `connecting_out`. */
  name: string;
  family: Family;
  /** Fields after the universal Timestamp and discriminator, protocol version 0. */
  fields: readonly Field[];
  /** Where protocol version 1 differs (event 61 only). */
  v1?: readonly Field[];
}

export function ev(family: Family, id: number, name: string, fields: readonly Field[], v1?: readonly Field[]): EventDef {
  return v1 ? { id, name, family, fields, v1 } : { id, name, family, fields };
}
