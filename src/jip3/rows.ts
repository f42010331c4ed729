// Decoded JIP-3 events -> table rows (schema/jip3_*.json): every event makes one jip3_events
// row; dropped (0), status (10), block authoring/import (40-47), the guarantor pipeline
// (90-113) and availability (120-131) also make one row of their typed table. Durations are
// not computed here: each row keeps the Event ID it links to, and the SQL in docs/jip3.md joins
// on (connection, event_id), so a link into another chunk, file or run is still right.
import type { Row, Jip3TableName } from '../tables/schema.js';
import type { U64 } from './codec.js';
import type { DecodedEvent } from './events/index.js';
import type { NodeInfo } from './node-info.js';

/** Microseconds from the Unix epoch to the JAM Common Era, 2025-01-01T12:00:00Z. */
export const JCE_UNIX_US = 1_735_732_800_000_000;

/** Unix microseconds as RFC 3339 UTC with microseconds, or undefined when not a usable time. */
// Events come in time order, so the text up to the second is computed once per second.
let cachedSecond = -1;
let cachedPrefix = '';
// 0..999 as three digits, so the six digits of the microseconds are two look-ups.
const PAD3: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** n in 0..999999 as six digits. */
const pad6 = (n: number): string => {
  const ms = Math.floor(n / 1000);
  return PAD3[ms]! + PAD3[n - ms * 1000]!;
};

export function unixUsToIso(us: number): string | undefined {
  if (!Number.isSafeInteger(us) || us < 0) return undefined;
  const sec = Math.floor(us / 1_000_000);
  if (sec !== cachedSecond) {
    const d = new Date(sec * 1000);
    if (Number.isNaN(d.getTime()) || d.getUTCFullYear() > 9999) return undefined;
    cachedPrefix = d.toISOString().slice(0, 19) + '.'; // YYYY-MM-DDTHH:MM:SS.
    cachedSecond = sec;
  }
  return cachedPrefix + pad6(us - sec * 1_000_000) + 'Z';
}

/** A JIP-3 Timestamp (µs since the JCE) as RFC 3339, or undefined. */
export function jceToIso(ts: U64): string | undefined {
  return typeof ts === 'number' ? unixUsToIso(JCE_UNIX_US + ts) : undefined;
}

/** A u64 for an INTEGER column: exact when it is a safe integer, else null (exact in fields). */
const int = (x: unknown): number | null => (typeof x === 'number' ? x : null);
const str = (x: unknown): string | null => (typeof x === 'string' ? x : null);
const bool = (x: unknown): boolean | null => (typeof x === 'boolean' ? x : null);

export function connectionRow(connection: number, receivedUs: number, info: NodeInfo): Row | string {
  const time = unixUsToIso(receivedUs);
  if (!time) return `receive time ${receivedUs} µs is not a usable time`;
  return {
    time,
    connection,
    node: info.peer_id,
    protocol_version: info.version,
    implementation_name: info.implementation_name,
    implementation_version: info.implementation_version,
    gp_version: info.gp_version,
    note: info.note,
    peer_address: info.peer_address,
    genesis_hash: info.genesis_hash,
    flags: info.flags,
    pvm_recompiler: info.pvm_recompiler,
    params_layout: info.params_layout,
    core_count: info.core_count,
    val_count: int(info.params.val_count),
    epoch_length: int(info.params.epoch_length),
    slot_seconds: int(info.params.slot_seconds),
    params: JSON.stringify(info.params),
    params_hex: info.params_hex,
  };
}

type Fields = Record<string, unknown>;
type Obj = Record<string, unknown>;

function sumCost(list: unknown, pick: (x: Obj) => Obj): { gas: number | null; ns: number | null } {
  let gas: number | null = 0;
  let ns: number | null = 0;
  for (const x of list as Obj[]) {
    const c = pick(x);
    gas = gas !== null && typeof c.gas === 'number' ? gas + c.gas : null;
    ns = ns !== null && typeof c.ns === 'number' ? ns + c.ns : null;
  }
  return {
    gas: gas !== null && Number.isSafeInteger(gas) ? gas : null,
    ns: ns !== null && Number.isSafeInteger(ns) ? ns : null,
  };
}

const PEER_FIELDS = ['peer', 'builder', 'primary', 'secondary', 'recipient', 'sender', 'guarantor', 'assurer'];
function peerOf(f: Fields): string | null {
  for (const k of PEER_FIELDS) if (typeof f[k] === 'string') return f[k] as string;
  return null;
}

/** The columns every event table starts with (a literal per table, not a spread: rows keep one fast shape). */
interface Head {
  time: string;
  node: string;
  connection: number;
  event_id: number;
  discriminator: number;
  event: string;
}

function blocksRow(b: Head, link: number | null, e: DecodedEvent): Row {
  const f = e.fields;
  const o = (f.outline ?? null) as Obj | null;
  let acc: { gas: number | null; ns: number | null } = { gas: null, ns: null };
  if (Array.isArray(f.accumulated)) acc = sumCost(f.accumulated, (x) => (x.cost as Obj).total as Obj);
  return {
    time: b.time, node: b.node, connection: b.connection, event_id: b.event_id, discriminator: b.discriminator, event: b.event,
    linked_event_id: link,
    slot: int(f.slot),
    header_hash: o ? str(o.header_hash) : null,
    parent_hash: str(f.parent_hash),
    reason: str(f.reason),
    size_bytes: o ? int(o.size_bytes) : null,
    tickets: o ? int(o.tickets) : null,
    preimages: o ? int(o.preimages) : null,
    preimages_bytes: o ? int(o.preimages_bytes) : null,
    guarantees: o ? int(o.guarantees) : null,
    assurances: o ? int(o.assurances) : null,
    dispute_verdicts: o ? int(o.dispute_verdicts) : null,
    accumulated_services: Array.isArray(f.accumulated) ? f.accumulated.length : null,
    accumulate_gas: acc.gas,
    accumulate_ns: acc.ns,
  };
}

function workPackagesRow(b: Head, link: number | null, e: DecodedEvent): Row {
  const f = e.fields;
  const o = (f.outline ?? null) as Obj | null;
  const d = e.discriminator;
  const cost = d === 95 ? ((f.cost as Obj).total as Obj) : null;
  const refine = d === 101 ? sumCost(f.costs, (x) => x.total as Obj) : null;
  const isReport = d === 102 && o;
  const isGuarantee = (d === 105 || d === 112 || d === 113) && o;
  return {
    time: b.time, node: b.node, connection: b.connection, event_id: b.event_id, discriminator: b.discriminator, event: b.event,
    linked_event_id: link,
    core: int(f.core),
    work_package_hash: str(f.work_package_hash) ?? (d === 94 && o ? str(o.work_package_hash) : null),
    peer: peerOf(f),
    reason: str(f.reason),
    ce146: bool(f.ce146),
    work_package_bytes: d === 94 && o ? int(o.size_bytes) : null,
    work_items: d === 94 && o ? (o.work_items as unknown[]).length : null,
    is_authorized_gas: cost ? int(cost.gas) : null,
    is_authorized_ns: cost ? int(cost.ns) : null,
    refine_gas: refine ? refine.gas : null,
    refine_ns: refine ? refine.ns : null,
    work_report_hash: isReport || isGuarantee ? str(o.work_report_hash) : null,
    bundle_bytes: isReport ? int(o.bundle_bytes) : null,
    erasure_root: isReport ? str(o.erasure_root) : null,
    segments_root: isReport ? str(o.segments_root) : null,
    guarantee_slot: isGuarantee ? int(o.slot) : null,
    guarantors: isGuarantee ? JSON.stringify(o.guarantors) : null,
    discard_reason: str(f.discard_reason),
  };
}

function availabilityRow(b: Head, link: number | null, e: DecodedEvent): Row {
  const f = e.fields;
  return {
    time: b.time, node: b.node, connection: b.connection, event_id: b.event_id, discriminator: b.discriminator, event: b.event,
    linked_event_id: link,
    peer: peerOf(f),
    erasure_root: str(f.erasure_root),
    shard: int(f.shard),
    anchor: str(f.anchor),
    bitfield: str(f.bitfield),
    reason: str(f.reason),
  };
}

const BY_CORE_KEY = '"guarantees_by_core":';

/** `fieldsJson` is JSON.stringify(e.fields): guarantees_by_core's JSON (a flat array of numbers) is cut out of it, not made again. */
function statusRow(b: Head, e: DecodedEvent, fieldsJson: string): Row {
  const f = e.fields;
  const by = f.guarantees_by_core as number[];
  let sum = 0;
  for (let i = 0; i < by.length; i++) sum += by[i]!;
  const k = fieldsJson.indexOf(BY_CORE_KEY) + BY_CORE_KEY.length;
  return {
    time: b.time, node: b.node, connection: b.connection, event_id: b.event_id, discriminator: b.discriminator, event: b.event,
    peers: f.peers as number,
    validator_peers: f.validator_peers as number,
    block_announcement_peers: f.block_announcement_peers as number,
    guarantees_in_pool: sum,
    guarantees_by_core: fieldsJson.slice(k, fieldsJson.indexOf(']', k) + 1),
    shards: f.shards as number,
    shards_bytes: int(f.shards_bytes),
    preimages: f.preimages as number,
    preimages_bytes: f.preimages_bytes as number,
  };
}

function droppedRow(b: Head, e: DecodedEvent): Row | string {
  const last = jceToIso(e.fields.last_timestamp as U64);
  if (!last) return `dropped event's last timestamp ${String(e.fields.last_timestamp)} is not a usable time`;
  const n = int(e.fields.dropped);
  const id = b.event_id;
  return {
    time: b.time, node: b.node, connection: b.connection, event_id: b.event_id, discriminator: b.discriminator, event: b.event,
    last_time: last, dropped: n, next_event_id: n === null || !Number.isSafeInteger(id + n) ? null : id + n,
  };
}

export interface EventRows {
  /** The jip3_events row as one JSONL line (see eventsLine). */
  eventsLine: string;
  /** The typed tables' rows (none, or one). */
  tables: Jip3TableName[];
  rows: Row[];
}

/**
 * The jip3_events row written straight as its JSONL line, in schema/jip3_events.json's column
 * order: every value but `fields` is a hex string, a name, a number or a timestamp this module
 * formats, none needing escapes, so one JSON.stringify (of the fields' JSON text) is the only
 * encoding work; building a row object and stringifying it again cost three times as much. The
 * tests check these lines against the schema's validator.
 */
function eventsLine(time: string, received: string, node: string, connection: number, eventId: number, e: DecodedEvent, linked: number | null, fieldsJson: string): string {
  return `{"time":"${time}","received_at":"${received}","node":"${node}","connection":${connection},"event_id":${eventId},"discriminator":${e.discriminator},"event":"${e.def.name}","family":"${e.def.family}","linked_event_id":${linked},"fields":${jsonTextAsString(fieldsJson)}}\n`;
}

/**
 * JSON.stringify(json) for a JSON text made by JSON.stringify: such a text has no raw control
 * character or lone surrogate (JSON.stringify escapes them, with a `\`), so without a `\` the
 * only character to escape is `"`, and replaceAll does that faster than a second JSON.stringify.
 */
function jsonTextAsString(json: string): string {
  return json.indexOf('\\') < 0 ? '"' + json.replaceAll('"', '\\"') + '"' : JSON.stringify(json);
}

/**
 * The rows of one decoded event, or a sentence saying why it cannot have any (an unusable
 * timestamp). `base` fields come from the connection and the capture record.
 */
export function eventRows(e: DecodedEvent, connection: number, eventId: number, receivedUs: number, node: string, link: U64 | undefined, out: EventRows): string | undefined {
  out.tables.length = 0;
  out.rows.length = 0;
  const time = jceToIso(e.timestamp);
  if (!time) return `event timestamp ${String(e.timestamp)} is not a usable time`;
  const received = unixUsToIso(receivedUs);
  if (!received) return `receive time ${receivedUs} µs is not a usable time`;
  const linked = link === undefined ? null : int(link);
  const fieldsJson = JSON.stringify(e.fields);
  out.eventsLine = eventsLine(time, received, node, connection, eventId, e, linked, fieldsJson);
  const base: Head = { time, node, connection, event_id: eventId, discriminator: e.discriminator, event: e.def.name };
  const d = e.discriminator;
  if (d === 0) {
    const r = droppedRow(base, e);
    if (typeof r === 'string') return r;
    out.tables.push('jip3_dropped');
    out.rows.push(r);
  } else if (d === 10) {
    out.tables.push('jip3_status');
    out.rows.push(statusRow(base, e, fieldsJson));
  } else if (d >= 40 && d <= 47) {
    out.tables.push('jip3_blocks');
    out.rows.push(blocksRow(base, linked, e));
  } else if (d >= 90 && d <= 113) {
    out.tables.push('jip3_workpackages');
    out.rows.push(workPackagesRow(base, linked, e));
  } else if (d >= 120 && d <= 131) {
    out.tables.push('jip3_availability');
    out.rows.push(availabilityRow(base, linked, e));
  }
  return undefined;
}
