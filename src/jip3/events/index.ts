// The JIP-3 event registry: every event definition of every family, by discriminator, and the
// one function that decodes an event message with them.
import { DecodeError, Reader, type DecodeContext, type U64 } from '../codec.js';
import { eventId } from '../types.js';
import { AVAILABILITY_EVENTS } from './availability.js';
import { BLOCK_AUTHORING_EVENTS } from './block-authoring.js';
import { BLOCK_DISTRIBUTION_EVENTS } from './block-distribution.js';
import { BUNDLE_RECOVERY_EVENTS } from './bundle-recovery.js';
import { GUARANTEEING_EVENTS } from './guaranteeing.js';
import { NETWORKING_EVENTS } from './networking.js';
import type { EventDef, Field } from './registry-types.js';
import { PREIMAGE_EVENTS } from './preimages.js';
import { SEGMENT_RECOVERY_EVENTS } from './segment-recovery.js';
import { META_EVENTS, STATUS_EVENTS } from './status.js';
import { TICKET_EVENTS } from './tickets.js';

export type { EventDef, Family, Field } from './registry-types.js';

export const EVENT_DEFS: readonly EventDef[] = [
  ...META_EVENTS,
  ...STATUS_EVENTS,
  ...NETWORKING_EVENTS,
  ...BLOCK_AUTHORING_EVENTS,
  ...BLOCK_DISTRIBUTION_EVENTS,
  ...TICKET_EVENTS,
  ...GUARANTEEING_EVENTS,
  ...AVAILABILITY_EVENTS,
  ...BUNDLE_RECOVERY_EVENTS,
  ...SEGMENT_RECOVERY_EVENTS,
  ...PREIMAGE_EVENTS,
];

const BY_ID: (EventDef | undefined)[] = new Array(256).fill(undefined);
for (const d of EVENT_DEFS) {
  if (BY_ID[d.id]) throw new Error(`JIP-3 discriminator ${d.id} defined twice`);
  BY_ID[d.id] = d;
}

export function eventDef(discriminator: number): EventDef | undefined {
  return BY_ID[discriminator];
}

/** The fields of `def` as protocol `version` sends them. */
export function fieldsOf(def: EventDef, version: number): readonly Field[] {
  return version >= 1 && def.v1 ? def.v1 : def.fields;
}

/** The name of the field that holds the Event ID this event links to, if it has one. */
export function linkFieldOf(def: EventDef, version: number): string | undefined {
  for (const [name, dec] of fieldsOf(def, version)) if (dec === eventId) return name;
  return undefined;
}

export interface DecodedEvent {
  /** Microseconds since the JAM Common Era. */
  timestamp: U64;
  discriminator: number;
  def: EventDef;
  fields: Record<string, unknown>;
}

/** An event message whose discriminator no definition has (kept as its own kind of reject). */
export class UnknownEventError extends DecodeError {
  constructor(
    readonly timestamp: U64,
    readonly discriminator: number,
  ) {
    super(8, `unknown event discriminator ${discriminator}`, 'bad_value');
  }
}

/** Decodes one event message's content, strictly: every byte used, each field valid. */
export function decodeEvent(msg: Uint8Array, ctx: DecodeContext): DecodedEvent {
  const r = new Reader(msg, ctx);
  const timestamp = r.u64('Timestamp');
  const discriminator = r.u8('discriminator');
  const def = BY_ID[discriminator];
  if (!def) throw new UnknownEventError(timestamp, discriminator);
  const fields: Record<string, unknown> = {};
  for (const [name, dec] of fieldsOf(def, ctx.version)) fields[name] = dec(r);
  r.finish();
  return { timestamp, discriminator, def, fields };
}
