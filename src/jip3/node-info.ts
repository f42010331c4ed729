// The node information message (JIP-3 "Node information message"), the first message of every
// connection: protocol version, the JAM parameters (the fetch host call's output, 134 bytes in
// Gray Paper 0.7.x, 122 in 0.8.0), genesis, the node's key and address, flags, implementation
// name and version, the GP version it implements and a free note.
import { DecodeError, Reader, toHex, type U64 } from './codec.js';
import { peerAddress } from './types.js';

/** Telemetry protocol versions this decoder knows (see docs/jip3.md: v1 changes event 61 only). */
export const PROTOCOL_VERSIONS = [0, 1] as const;

type Width = 2 | 4 | 8;

/**
 * GP 0.7.x fetch (selector 0) constants in order, as `[json name, GP symbol, bytes]`. The names
 * are the Gray Paper's macro names (\Citemdeposit -> item_deposit, ...).
 */
export const PARAMS_GP07: readonly (readonly [string, string, Width])[] = [
  ['item_deposit', 'B_I', 8],
  ['byte_deposit', 'B_L', 8],
  ['base_deposit', 'B_S', 8],
  ['core_count', 'C', 2],
  ['expunge_period', 'D', 4],
  ['epoch_length', 'E', 4],
  ['report_acc_gas', 'G_A', 8],
  ['package_auth_gas', 'G_I', 8],
  ['package_ref_gas', 'G_R', 8],
  ['block_acc_gas', 'G_T', 8],
  ['recent_history_len', 'H', 2],
  ['max_package_items', 'I', 2],
  ['max_report_deps', 'J', 2],
  ['max_block_tickets', 'K', 2],
  ['max_lookup_anchor_age', 'L', 4],
  ['ticket_entries', 'N', 2],
  ['auth_pool_size', 'O', 2],
  ['slot_seconds', 'P', 2],
  ['auth_queue_size', 'Q', 2],
  ['rotation_period', 'R', 2],
  ['max_package_xts', 'T', 2],
  ['assurance_timeout_period', 'U', 2],
  ['val_count', 'V', 2],
  ['max_auth_code_size', 'W_A', 4],
  ['max_bundle_size', 'W_B', 4],
  ['max_service_code_size', 'W_C', 4],
  ['ec_piece_size', 'W_E', 4],
  ['max_package_imports', 'W_M', 4],
  ['segment_ec_pieces', 'W_P', 4],
  ['max_report_var_size', 'W_R', 4],
  ['memo_size', 'W_T', 4],
  ['max_package_exports', 'W_X', 4],
  ['epoch_tail_start', 'Y', 4],
];

/**
 * GP 0.8.0: the same list without four fields (12 bytes). ASSUMPTION, unverified: no 0.8.0 text
 * was available to this project (the stored Gray Paper ends at 0.7.2); the four dropped here are
 * the ticket and transfer-memo constants. Every field before them, the core count included,
 * keeps its offset whatever the true four are; fix this one list when the text is at hand.
 */
export const GP08_DROPPED = ['max_block_tickets', 'ticket_entries', 'memo_size', 'epoch_tail_start'] as const;
export const PARAMS_GP08 = PARAMS_GP07.filter(([n]) => !(GP08_DROPPED as readonly string[]).includes(n));

const sizeOf = (list: readonly (readonly [string, string, Width])[]): number => list.reduce((s, [, , w]) => s + w, 0);
export const PARAMS_GP07_BYTES = sizeOf(PARAMS_GP07); // 134
export const PARAMS_GP08_BYTES = sizeOf(PARAMS_GP08); // 122

export interface NodeInfo {
  version: number;
  /** `gp0.7` (134 bytes) or `gp0.8` (122 bytes). */
  params_layout: 'gp0.7' | 'gp0.8';
  params: Record<string, U64>;
  /** The parameters' bytes as hex, as sent. */
  params_hex: string;
  core_count: number;
  genesis_hash: string;
  peer_id: string;
  peer_address: string;
  flags: number;
  /** Node flags bit 0. */
  pvm_recompiler: boolean;
  implementation_name: string;
  implementation_version: string;
  gp_version: string;
  note: string;
}

function decodeWith(msg: Uint8Array, layout: 'gp0.7' | 'gp0.8'): NodeInfo {
  const r = new Reader(msg);
  const version = r.u8('protocol version');
  if (!(PROTOCOL_VERSIONS as readonly number[]).includes(version)) {
    throw new DecodeError(0, `telemetry protocol version ${version} is not one of ${PROTOCOL_VERSIONS.join(', ')}`);
  }
  const list = layout === 'gp0.7' ? PARAMS_GP07 : PARAMS_GP08;
  const p0 = r.pos;
  const params: Record<string, U64> = {};
  for (const [name, , w] of list) params[name] = w === 2 ? r.u16(name) : w === 4 ? r.u32(name) : r.u64(name);
  const params_hex = toHex(msg, p0, r.pos);
  const info: NodeInfo = {
    version,
    params_layout: layout,
    params,
    params_hex,
    core_count: params.core_count as number,
    genesis_hash: r.hex(32, 'genesis Header Hash'),
    peer_id: r.hex(32, 'Peer ID'),
    peer_address: peerAddress(r),
    flags: r.u32('node flags'),
    pvm_recompiler: false,
    implementation_name: r.string(32, 'implementation name String<32>'),
    implementation_version: r.string(32, 'implementation version String<32>'),
    gp_version: r.string(16, 'GP version String<16>'),
    note: r.string(512, 'note String<512>'),
  };
  info.pvm_recompiler = (info.flags & 1) === 1;
  r.finish();
  return info;
}

/**
 * Decodes a node information message. The parameters' size is not on the wire, so the message
 * is read with the 0.7.x layout and, if that does not decode to the last byte, with 0.8.0's;
 * should both decode, the GP version string decides. Failing both, the 0.7.x error is thrown.
 */
export function decodeNodeInfo(msg: Uint8Array): NodeInfo {
  // One of the two layouts fails on nearly every message, with an exception: without a stack
  // trace (nothing prints one; the message says what failed) it costs a tenth as much, which
  // the collector pays once per connection and a loader once per distinct message.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return decodeEither(msg);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function decodeEither(msg: Uint8Array): NodeInfo {
  let a: NodeInfo | undefined;
  let errA: unknown;
  try {
    a = decodeWith(msg, 'gp0.7');
  } catch (e) {
    errA = e;
  }
  let b: NodeInfo | undefined;
  try {
    b = decodeWith(msg, 'gp0.8');
  } catch {
    b = undefined;
  }
  if (a && b) return /^0\.8(\.|$)/.test(b.gp_version) ? b : a;
  if (a) return a;
  if (b) return b;
  throw errA;
}
