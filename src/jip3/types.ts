// The JIP-3 "Types" section as decoders: each reads one value of the named type and returns it in
// the JSON naming the event tables use (hashes and keys as 0x-hex, u64 as U64, enums by name).
import { DecodeError, formatIpv6, type Reader, type U64 } from './codec.js';

export type Dec<T = unknown> = (r: Reader) => T;

export const u8: Dec<number> = (r) => r.u8();
export const u16: Dec<number> = (r) => r.u16();
export const u32: Dec<number> = (r) => r.u32();
export const u64: Dec<U64> = (r) => r.u64();
export const bool: Dec<boolean> = (r) => r.bool();

export const timestamp: Dec<U64> = (r) => r.u64('Timestamp');
/** Event ID: fields decoded with this decoder are the links between events. */
export const eventId: Dec<U64> = (r) => r.u64('Event ID');
export const reason: Dec<string> = (r) => r.string(128, 'Reason');
export const hash: Dec<string> = (r) => r.hex(32, 'Hash');
export const peerId: Dec<string> = (r) => r.hex(32, 'Peer ID');
export const slot: Dec<number> = (r) => r.u32('Slot');
export const epochIndex: Dec<number> = (r) => r.u32('Epoch Index');
export const validatorIndex: Dec<number> = (r) => r.u16('Validator Index');
export const coreIndex: Dec<number> = (r) => r.u16('Core Index');
export const serviceId: Dec<number> = (r) => r.u32('Service ID');
export const shardIndex: Dec<number> = (r) => r.u16('Shard Index');
export const gas: Dec<U64> = (r) => r.u64('Gas');
export const vrfOutput: Dec<string> = (r) => r.hex(32, '[u8; 32]');

/** Peer Address = [u8; 16] ++ u16, as "[ipv6]:port". */
export const peerAddress: Dec<string> = (r) => {
  const ip = formatIpv6(r.bytes(16, 'Peer Address'));
  return `[${ip}]:${r.u16('Peer Address port')}`;
};

export const connectionSide: Dec<string> = (r) => r.enumByte(['local', 'remote'], 'Connection Side');
export const blockRequestDirection: Dec<string> = (r) => r.enumByte(['ascending_exclusive', 'descending_inclusive'], 'direction');
export const ticketAttempt: Dec<number> = (r) => {
  const p = r.pos;
  const v = r.u8('ticket attempt');
  if (v > 1) throw new DecodeError(p, `ticket attempt must be 0 or 1, got ${v}`);
  return v;
};

export const guaranteeDiscardReason: Dec<string> = (r) =>
  r.enumByte(['reported_on_chain', 'replaced_by_better', 'cannot_be_reported', 'too_many_guarantees', 'other'], 'Guarantee Discard Reason');
export const announcedPreimageForgetReason: Dec<string> = (r) =>
  r.enumByte(['provided_on_chain', 'not_requested_on_chain', 'failed_to_acquire', 'too_many_announced', 'bad_length', 'other'], 'Announced Preimage Forget Reason');
export const preimageDiscardReason: Dec<string> = (r) =>
  r.enumByte(['provided_on_chain', 'not_requested_on_chain', 'too_many_preimages', 'other'], 'Preimage Discard Reason');

export interface BlockOutline {
  size_bytes: number;
  header_hash: string;
  tickets: number;
  preimages: number;
  preimages_bytes: number;
  guarantees: number;
  assurances: number;
  dispute_verdicts: number;
}
export const blockOutline: Dec<BlockOutline> = (r) => ({
  size_bytes: r.u32('Block Outline size'),
  header_hash: r.hex(32, 'Header Hash'),
  tickets: r.u32(),
  preimages: r.u32(),
  preimages_bytes: r.u32(),
  guarantees: r.u32(),
  assurances: r.u32(),
  dispute_verdicts: r.u32(),
});

export interface ExecCost {
  gas: U64;
  ns: U64;
}
export const execCost: Dec<ExecCost> = (r) => ({ gas: r.u64('Gas'), ns: r.u64('elapsed ns') });

export const isAuthorizedCost: Dec = (r) => ({ total: execCost(r), load_ns: r.u64('load ns'), host_calls: execCost(r) });

export const refineCost: Dec = (r) => ({
  total: execCost(r),
  load_ns: r.u64('load ns'),
  historical_lookup: execCost(r),
  machine_expunge: execCost(r),
  peek_poke_pages: execCost(r),
  invoke: execCost(r),
  other: execCost(r),
});
const REFINE_COST_BYTES = 16 + 8 + 5 * 16;

export const accumulateCost: Dec = (r) => ({
  calls: r.u32(),
  transfers: r.u32(),
  items: r.u32(),
  total: execCost(r),
  load_ns: r.u64('load ns'),
  read_write: execCost(r),
  lookup: execCost(r),
  query_solicit_forget_provide: execCost(r),
  info_new_upgrade_eject: execCost(r),
  transfer: execCost(r),
  transfer_dest_gas: r.u64('Gas'),
  other: execCost(r),
});
const ACCUMULATE_COST_BYTES = 12 + 16 + 8 + 5 * 16 + 8 + 16;

/** len++[Service ID ++ Accumulate Cost] (at most 500 entries by the spec). */
export const accumulatedServices: Dec = (r) =>
  r.seq((q) => ({ service: q.u32('Service ID'), cost: accumulateCost(q) }), 'accumulated services', 4 + ACCUMULATE_COST_BYTES, 500);

export const refineCosts: Dec = (r) => r.seq(refineCost, 'refine costs', REFINE_COST_BYTES);

/** Import Spec: the export index carries 2^15 when the root is a work-package hash. */
export const importSpec: Dec = (r) => {
  const root = r.hex(32, 'Root Identifier');
  const i = r.u16('export index');
  return i & 0x8000 ? { work_package_hash: root, export_index: i & 0x7fff } : { segments_root: root, export_index: i };
};

/** Import Segment ID: index in the imports, or 2^15 + index of a proof page. */
export const importSegmentId: Dec = (r) => {
  const i = r.u16('Import Segment ID');
  return i & 0x8000 ? { proof_page: i & 0x7fff } : { import: i };
};

export const workItemOutline: Dec = (r) => ({
  service: r.u32('Service ID'),
  payload_bytes: r.u32(),
  refine_gas_limit: r.u64('Gas'),
  accumulate_gas_limit: r.u64('Gas'),
  extrinsic_bytes: r.u32(),
  imports: r.seq(importSpec, 'imports', 34),
  exports: r.u16(),
});

export const workPackageOutline: Dec = (r) => ({
  size_bytes: r.u32('Work-package size'),
  work_package_hash: r.hex(32, 'Work-Package Hash'),
  anchor: r.hex(32, 'Header Hash'),
  lookup_anchor_slot: r.u32('Slot'),
  prerequisites: r.seq(hash, 'prerequisites', 32),
  work_items: r.seq(workItemOutline, 'work items', 31),
});

export const workReportOutline: Dec = (r) => ({
  work_report_hash: r.hex(32, 'Work-Report Hash'),
  bundle_bytes: r.u32(),
  erasure_root: r.hex(32, 'Erasure-Root'),
  segments_root: r.hex(32, 'Segments-Root'),
});

export const guaranteeOutline: Dec = (r) => ({
  work_report_hash: r.hex(32, 'Work-Report Hash'),
  slot: r.u32('Slot'),
  guarantors: r.seq(validatorIndex, 'guarantors', 2),
});

/** [u8; C]: guarantees in the pool by core (C from the node's parameters). */
export const guaranteesByCore: Dec<number[]> = (r) => {
  const n = r.ctx.cores;
  const b = r.bytes(n, '[u8; C]');
  // Pushed, not `new Array(n)` filled in: a packed array, which JSON.stringify encodes several
  // times faster than a holey one.
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(b[i]!);
  return out;
};

/** [u8; ceil(C / 8)]: one bit per core, as hex. */
export const availabilityBitfield: Dec<string> = (r) => r.hex(Math.ceil(r.ctx.cores / 8), '[u8; ceil(C/8)]');

export const u16List = (what: string): Dec<number[]> => (r) => r.seq(u16, what, 2);
