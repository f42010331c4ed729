// JIP-3 encoding for the sample generator and the collector's tests/benchmarks: a Writer for
// JAM serialization and, per field decoder of the registry, the encoder of the same type, taking
// the value in the JSON shape the decoder gives. (The decoding tests use their own encoder,
// written from the spec text: test/jip3-spec-encoder.mjs.)
import type { EventDef, Field } from './events/index.js';
import { fieldsOf } from './events/index.js';
import { PARAMS_GP07, PARAMS_GP08, type NodeInfo } from './node-info.js';
import * as T from './types.js';

export class Writer {
  private buf = Buffer.allocUnsafe(256);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
  u8(v: number): this {
    this.room(1);
    this.buf[this.len++] = v;
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.buf.writeUInt16LE(v, this.len);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.buf.writeUInt32LE(v, this.len);
    this.len += 4;
    return this;
  }
  u64(v: number | string | bigint): this {
    this.room(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.len);
    this.len += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  hex(h: string, n: number): this {
    const b = Buffer.from(h.startsWith('0x') ? h.slice(2) : h, 'hex');
    if (b.length !== n) throw new RangeError(`expected ${n} bytes of hex, got ${b.length}`);
    return this.bytes(b);
  }
  /** GP C.6 natural. */
  natural(x: number | bigint): this {
    let v = BigInt(x);
    for (let l = 0; l <= 7; l++) {
      if (v < 1n << BigInt(7 * (l + 1))) {
        this.u8(Number(256n - (1n << BigInt(8 - l)) + (v >> BigInt(8 * l))));
        for (let i = 0; i < l; i++) {
          this.u8(Number(v & 0xffn));
          v >>= 8n;
        }
        return this;
      }
    }
    return this.u8(0xff).u64(v);
  }
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.natural(b.length).bytes(b);
  }
  done(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

type Enc = (w: Writer, v: unknown) => void;
type O = Record<string, unknown>;

function parseIpv6(s: string): Buffer {
  const out = Buffer.alloc(16);
  const m = /^::ffff:(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (m) {
    out[10] = 0xff;
    out[11] = 0xff;
    for (let i = 0; i < 4; i++) out[12 + i] = Number(m[i + 1]);
    return out;
  }
  const [a, b] = s.split('::');
  const head = a ? a.split(':') : [];
  const tail = b !== undefined && b !== '' ? b.split(':') : [];
  const groups = b === undefined ? head : [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

const enumEnc = (names: readonly string[]): Enc => (w, v) => {
  const i = names.indexOf(v as string);
  if (i < 0) throw new RangeError(`unknown enum value ${String(v)}`);
  w.u8(i);
};
const exec: Enc = (w, v) => {
  w.u64((v as O).gas as number).u64((v as O).ns as number);
};
const seq = (inner: Enc): Enc => (w, v) => {
  const a = v as unknown[];
  w.natural(a.length);
  for (const x of a) inner(w, x);
};
const hash: Enc = (w, v) => w.hex(v as string, 32);
const outline: Enc = (w, v) => {
  const o = v as O;
  w.u32(o.size_bytes as number).hex(o.header_hash as string, 32);
  for (const k of ['tickets', 'preimages', 'preimages_bytes', 'guarantees', 'assurances', 'dispute_verdicts']) w.u32(o[k] as number);
};
const accCost: Enc = (w, v) => {
  const o = v as O;
  w.u32(o.calls as number).u32(o.transfers as number).u32(o.items as number);
  exec(w, o.total);
  w.u64(o.load_ns as number);
  for (const k of ['read_write', 'lookup', 'query_solicit_forget_provide', 'info_new_upgrade_eject', 'transfer']) exec(w, o[k]);
  w.u64(o.transfer_dest_gas as number);
  exec(w, o.other);
};
const refineCost: Enc = (w, v) => {
  const o = v as O;
  exec(w, o.total);
  w.u64(o.load_ns as number);
  for (const k of ['historical_lookup', 'machine_expunge', 'peek_poke_pages', 'invoke', 'other']) exec(w, o[k]);
};
const importSpec: Enc = (w, v) => {
  const o = v as O;
  if (typeof o.work_package_hash === 'string') w.hex(o.work_package_hash, 32).u16(((o.export_index as number) | 0x8000) & 0xffff);
  else w.hex(o.segments_root as string, 32).u16(o.export_index as number);
};
const importSegmentId: Enc = (w, v) => {
  const o = v as O;
  w.u16(typeof o.proof_page === 'number' ? o.proof_page | 0x8000 : (o.import as number));
};
const workItem: Enc = (w, v) => {
  const o = v as O;
  w.u32(o.service as number).u32(o.payload_bytes as number).u64(o.refine_gas_limit as number).u64(o.accumulate_gas_limit as number).u32(o.extrinsic_bytes as number);
  seq(importSpec)(w, o.imports);
  w.u16(o.exports as number);
};
const guarantee: Enc = (w, v) => {
  const o = v as O;
  w.hex(o.work_report_hash as string, 32).u32(o.slot as number);
  seq((q, x) => q.u16(x as number))(w, o.guarantors);
};

/** The encoder of each field decoder in src/jip3/types.ts and the family modules' local ones. */
const ENCODERS = new Map<unknown, Enc>([
  [T.u8, (w, v) => w.u8(v as number)],
  [T.u16, (w, v) => w.u16(v as number)],
  [T.u32, (w, v) => w.u32(v as number)],
  [T.u64, (w, v) => w.u64(v as number)],
  [T.bool, (w, v) => w.u8(v ? 1 : 0)],
  [T.timestamp, (w, v) => w.u64(v as number)],
  [T.eventId, (w, v) => w.u64(v as number)],
  [T.reason, (w, v) => w.string(v as string)],
  [T.hash, hash],
  [T.peerId, hash],
  [T.vrfOutput, hash],
  [T.slot, (w, v) => w.u32(v as number)],
  [T.epochIndex, (w, v) => w.u32(v as number)],
  [T.validatorIndex, (w, v) => w.u16(v as number)],
  [T.coreIndex, (w, v) => w.u16(v as number)],
  [T.serviceId, (w, v) => w.u32(v as number)],
  [T.shardIndex, (w, v) => w.u16(v as number)],
  [T.gas, (w, v) => w.u64(v as number)],
  [
    T.peerAddress,
    (w, v) => {
      const m = /^\[(.*)\]:(\d+)$/.exec(v as string);
      if (!m) throw new RangeError(`bad peer address ${String(v)}`);
      w.bytes(parseIpv6(m[1]!)).u16(Number(m[2]));
    },
  ],
  [T.connectionSide, enumEnc(['local', 'remote'])],
  [T.blockRequestDirection, enumEnc(['ascending_exclusive', 'descending_inclusive'])],
  [T.ticketAttempt, (w, v) => w.u8(v as number)],
  [T.guaranteeDiscardReason, enumEnc(['reported_on_chain', 'replaced_by_better', 'cannot_be_reported', 'too_many_guarantees', 'other'])],
  [T.announcedPreimageForgetReason, enumEnc(['provided_on_chain', 'not_requested_on_chain', 'failed_to_acquire', 'too_many_announced', 'bad_length', 'other'])],
  [T.preimageDiscardReason, enumEnc(['provided_on_chain', 'not_requested_on_chain', 'too_many_preimages', 'other'])],
  [T.blockOutline, outline],
  [T.isAuthorizedCost, (w, v) => {
    const o = v as O;
    exec(w, o.total);
    w.u64(o.load_ns as number);
    exec(w, o.host_calls);
  }],
  [T.accumulatedServices, seq((w, v) => {
    w.u32((v as O).service as number);
    accCost(w, (v as O).cost);
  })],
  [T.refineCosts, seq(refineCost)],
  [T.workPackageOutline, (w, v) => {
    const o = v as O;
    w.u32(o.size_bytes as number).hex(o.work_package_hash as string, 32).hex(o.anchor as string, 32).u32(o.lookup_anchor_slot as number);
    seq(hash)(w, o.prerequisites);
    seq(workItem)(w, o.work_items);
  }],
  [T.workReportOutline, (w, v) => {
    const o = v as O;
    w.hex(o.work_report_hash as string, 32).u32(o.bundle_bytes as number).hex(o.erasure_root as string, 32).hex(o.segments_root as string, 32);
  }],
  [T.guaranteeOutline, guarantee],
  [T.guaranteesByCore, (w, v) => w.bytes(Uint8Array.from(v as number[]))],
  [T.availabilityBitfield, (w, v) => w.hex(v as string, Buffer.from((v as string).slice(2), 'hex').length)],
]);

/** Encoders for decoders that are local to a family module (options and lists), by field name. */
const BY_NAME: Record<string, Enc> = {
  terminator: (w, v) => (v === null ? w.u8(0) : (w.u8(1), enumEnc(['local', 'remote'])(w, v))),
  vrf_outputs: seq(hash),
  shards: seq((w, v) => {
    importSegmentId(w, (v as O).segment);
    w.u16((v as O).shard as number);
  }),
  segments: seq(importSegmentId),
};
const U16_LIST = seq((w, v) => w.u16(v as number));

function encoderOf(def: EventDef, f: Field): Enc {
  const e = ENCODERS.get(f[1]);
  if (e) return e;
  const [name] = f;
  // Lists of u16 (171-173) vs lists of Import Segment IDs (168) share the name `segments`.
  if (name === 'segments' && def.id !== 168) return U16_LIST;
  const b = BY_NAME[name];
  if (!b) throw new Error(`no encoder for field ${name} of event ${def.id}`);
  return b;
}

/** One event message's content: Timestamp ++ discriminator ++ fields (JSON-shaped, by name). */
export function encodeEvent(def: EventDef, version: number, timestamp: number, fields: Record<string, unknown>, w = new Writer()): Buffer {
  w.len = 0;
  w.u64(timestamp).u8(def.id);
  for (const f of fieldsOf(def, version)) {
    if (!(f[0] in fields)) throw new Error(`event ${def.id} (${def.name}): field ${f[0]} missing`);
    encoderOf(def, f)(w, fields[f[0]]);
  }
  return w.done();
}

/** A node information message; `params` by GP name (missing ones are 0). */
export function encodeNodeInfo(info: Omit<NodeInfo, 'params_hex' | 'core_count' | 'pvm_recompiler'>): Buffer {
  const w = new Writer();
  w.u8(info.version);
  for (const [name, , width] of info.params_layout === 'gp0.8' ? PARAMS_GP08 : PARAMS_GP07) {
    const v = info.params[name] ?? 0;
    if (width === 2) w.u16(v as number);
    else if (width === 4) w.u32(v as number);
    else w.u64(v);
  }
  w.hex(info.genesis_hash, 32).hex(info.peer_id, 32);
  ENCODERS.get(T.peerAddress)!(w, info.peer_address);
  w.u32(info.flags).string(info.implementation_name).string(info.implementation_version).string(info.gp_version).string(info.note);
  return w.done();
}
