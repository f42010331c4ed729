// `jam-etl generate`: deterministic synthetic JAM telemetry, shaped like what the producers send.
//
// The real logs we test against are third-party data and may not ship with the project, yet a
// fresh clone needs sample logs and the benchmark needs toaster-scale data (V=1023, C=341). This
// module simulates a small JAM chain (validators, cores, services, work packages flowing from
// refinement through guarantee, availability and accumulation) and writes one syslog-style
// `HHMM.log` per simulated minute, one JSON envelope per `\n`-terminated line, with the
// producers' field names, field order and quirks (Go `null` for empty lists, trimmed nanosecond
// fractions, three envelope formats). Same options in, byte-identical files out: all randomness
// comes from one seeded xoshiro128** stream and time only from `start` plus simulated offsets.
//
// What is real and what is only plausible:
// - Shapes, key order, value sizes (hashes 32 bytes, entropy_source/seal 96, signatures 64, ring
//   VRF ticket proofs 784, segments 4104), which fields are null/[]/absent per message type: as
//   in the fixtures (../shared/fixtures/jamduna-2025-04-24).
// - Preimage metadata `h=` is the true Blake2b-256 of the blob, and a new service's `code_hash`
//   (143) is the hash of the code preimage later provided for it (142), as in the fixtures.
// - Cross-message consistency: 135 `wph=` and 133/255 describe the same package; a block's
//   guarantees are reports announced earlier by 255; 141 anchors are the last block's hash and the
//   next block carries those assurances; statistics (13) count what the blocks contained.
// - NOT real: hashes, keys, signatures and roots are random bytes, and `codec_encoded` is a
//   best-effort JAM-codec-like serialisation (fixed-width little-endian integers, compact length
//   prefixes, raw hashes, in roughly Gray Paper 0.6 order) with a plausible length. It has not been
//   checked against a reference codec and must be treated as opaque bytes.
//
// Envelope formats (chosen per validator, fixed for the whole run):
// - newer (most validators): {time, team, sender_id, msg_type, json_encoded, metadata?, elapsed?,
//   codec_encoded?}, as in samples/*.json.
// - 2025-04 (validator index ≡ 3 mod 6): the same without `team`, as in the fixture logs.
// - oldest (validator index ≡ 0 mod 6, i.e. 1 in 6 validators, including validator 0): no
//   `sender_id` and no `team`; instead metadata starts with `team=JAMDUNA|codec_len=<bytes of the
//   codec encoding>|id=0x<sender key>`, followed by the type's own metadata when it has any
//   (e.g. `team=JAMDUNA|codec_len=512|id=0x…|role=Guarantor|numSig=2`).
//
// The simulation, per 6-second slot (tiny constants E=12, Y=10 for V≤6, full ones E=600, Y=500
// otherwise; 3 slots are simulated and discarded first so a run starts in steady state):
// - ~96% of slots have a block (128, elapsed) from a random author, followed by the preimages it
//   carries (142), the author's statistics (13: vals_current/vals_last of length V, cores of
//   length C, the services touched by this block) and, every 8–24 blocks (sooner with more cores),
//   a new service (143) whose code preimage follows 1–3 blocks later.
// - After each block every validator (~98.5%) assures the cores pending availability (141); the
//   next block includes those assurances and accumulates cores assured by more than 2/3.
// - Each core without a waiting report gets a package with probability 0.6 per slot: one of its
//   three guarantors logs the bundle (133), its exported segments (135) and the report (255,
//   role=Guarantor, numSig 2 or 3); the next block with the core free carries the guarantee.
//   About 8% of accumulated reports are also logged by an auditor (255, role=Auditor).
// - Tickets (131): each validator generates N (3 tiny, 2 full) ring-VRF tickets once an epoch,
//   spread over the first min(Y, ⌈V/2⌉) slots (the first 3 slots at V=6, most of the lottery at
//   V=1023); blocks include up to K of them while the lottery is open.
// At V=1023, C=341 one minute is about 16k lines and 90 MB (≈1 s of CPU); memory stays flat since
// only one slot's lines are held at a time.
//
// Files: `<out>/HHMM.log` per UTC minute; when the run spans more than one UTC day the names would
// collide, so then every file goes to `<out>/YYYY/MM/DD/HHMM.log` instead. `start` is truncated to
// the whole minute, so a run of N minutes writes exactly N files (slots are 6 s and JAM time began
// at 2025-01-01T12:00:00Z, so slots never straddle a minute).

import { createWriteStream, type WriteStream } from 'node:fs';
import { makeDirs } from '../fsutil.js';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { blake2b256, blake2b256Hex } from '../telemetry/blake2b.js';

export interface GenerateOptions {
  /** Output directory (created if missing; existing files with the same names are overwritten). */
  out: string;
  /** Simulated minutes, one file each (10 slots of 6 s per minute). */
  minutes: number;
  /** Number of validators V (tiny testnet 6, full toaster 1023). */
  validators: number;
  /** Number of cores C (tiny 2, full 341). */
  cores: number;
  /** Seed; numbers and their decimal strings give the same output (42 ≡ "42"). */
  seed: number | string;
  /** First simulated minute (truncated to the minute); default 2025-04-24T23:39:00Z. */
  start?: Date;
  /** Called after each file is complete, with its path, size and line count. */
  onFile?: (path: string, bytes: number, lines: number) => void;
}

export type GenerateLinesOptions = Omit<GenerateOptions, 'out' | 'onFile'>;

export interface GenerateResult {
  /** Paths written, in time order (joined onto `out`). */
  files: string[];
  lines: number;
  bytes: number;
  /** Line count per msg_type ("128", "13", …). */
  byType: Record<string, number>;
}

export interface GeneratedLine {
  /** Path relative to `out`: "2339.log", or "2025/04/24/2339.log" for runs spanning days. */
  file: string;
  msgType: string;
  /** The JSON envelope, without the trailing newline. */
  line: string;
}

/** One slot's worth of output, in the order it is written. */
export interface GeneratedSlot {
  file: string;
  slot: number;
  lines: string[];
  msgTypes: string[];
}

export const DEFAULT_START = new Date('2025-04-24T23:39:00Z');
/** JAM common era: slot 0 began here. */
export const JAM_EPOCH_MS = Date.UTC(2025, 0, 1, 12, 0, 0);
export const SLOT_MS = 6000;
export const SLOTS_PER_MINUTE = 10;
/** Teams of the newer-format validators, assigned round-robin. */
export const TEAMS: readonly string[] = [
  'jamduna', 'A-go-cn', 'boka', 'javajam', 'jamzig', 'jamixir',
  'typeberry', 'polkajam', 'pyjamaz', 'turbojam', 'strawberry', 'vinwolf',
];
/** Every msg_type this generator writes. */
export const MESSAGE_TYPES: readonly string[] = ['128', '13', '141', '133', '135', '255', '142', '143', '131'];

const WARM_UP_SLOTS = 3; // simulated and discarded: packages in flight when the run starts
const SEGMENT_SIZE = 4104; // W_G: bytes per exported segment
const TICKET_PROOF_SIZE = 784; // ring VRF proof in a ticket envelope
const ZERO_HASH = '0x' + '00'.repeat(32);
const MAX_VALIDATORS = 65535; // validator_index is a u16
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const CODE_NAMES = ['tribonacci', 'auth_copy', 'fib', 'megatron', 'bootstrap', 'null_authorizer', 'jamtris', 'corevm', 'bank', 'storage', 'doom', 'blake2b'];
const REFINE_GAS = [1000, 5678, 100_000, 500_000, 1_000_000, 5_000_000];
const ACCUMULATE_GAS = [1000, 9876, 100_000, 200_000, 1_000_000];
const RESULT_ERRORS = ['panic', 'out_of_gas', 'bad_exports'];

// ---------------------------------------------------------------------------------------------
// Randomness and encoding helpers

/** xoshiro128**: small, fast, 32-bit, and the same on every platform. */
class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private scratch = Buffer.alloc(8192);

  constructor(seed: Uint8Array) {
    const w = (i: number) => ((seed[i] ?? 0) | ((seed[i + 1] ?? 0) << 8) | ((seed[i + 2] ?? 0) << 16) | ((seed[i + 3] ?? 0) << 24)) >>> 0;
    this.a = w(0); this.b = w(4); this.c = w(8); this.d = w(12);
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  u32(): number {
    const b = this.b;
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d; this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** Uniform in [0, 1). */
  float(): number { return this.u32() / 4294967296; }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number { return lo + Math.floor(this.float() * (hi - lo + 1)); }

  chance(p: number): boolean { return this.float() < p; }

  pick<T>(a: readonly T[]): T {
    const v = a[Math.floor(this.float() * a.length)];
    if (v === undefined) throw new Error('pick from an empty list');
    return v;
  }

  /** n random bytes in a shared scratch buffer, valid until the next call. */
  bytes(n: number): Buffer {
    if (this.scratch.length < n) this.scratch = Buffer.alloc(Math.max(n, this.scratch.length * 2));
    const s = this.scratch;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const v = this.u32();
      s[i] = v & 255; s[i + 1] = (v >>> 8) & 255; s[i + 2] = (v >>> 16) & 255; s[i + 3] = v >>> 24;
    }
    if (i < n) {
      let v = this.u32();
      for (; i < n; i++) { s[i] = v & 255; v >>>= 8; }
    }
    return s.subarray(0, n);
  }

  /** n random bytes as 0x-hex. */
  hex(n: number): string { return n === 0 ? '0x' : '0x' + this.bytes(n).toString('hex'); }
}

function rotl(x: number, k: number): number { return (x << k) | (x >>> (32 - k)); }

function hexLen(h: string): number { return (h.length - 2) / 2; }

/** Byte length of the JAM compact ("general natural") encoding of x. */
function natLen(x: number): number {
  for (let l = 0; l < 8; l++) if (x < 2 ** (7 * (l + 1))) return l + 1;
  return 9;
}

/**
 * A JAM-codec-like hex writer: little-endian fixed-width integers, compact naturals, raw bytes.
 * Good enough for plausible `codec_encoded` values; see the note at the top of the file.
 */
class Enc {
  private parts: string[] = [];
  private n = 0;

  /** Raw bytes from a 0x-hex string. */
  raw(h: string): this { this.parts.push(h.slice(2)); this.n += hexLen(h); return this; }

  rawBuf(b: Uint8Array): this { this.parts.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')); this.n += b.byteLength; return this; }

  uint(v: number, bytes: number): this {
    let s = '';
    for (let i = 0; i < bytes; i++) { s += HEX[v % 256]; v = Math.floor(v / 256); }
    this.parts.push(s); this.n += bytes;
    return this;
  }

  u8(v: number): this { return this.uint(v, 1); }
  u16(v: number): this { return this.uint(v, 2); }
  u32(v: number): this { return this.uint(v, 4); }
  u64(v: number): this { return this.uint(v, 8); }

  /** Compact natural (Gray Paper general integer encoding). */
  nat(x: number): this {
    if (x < 128) return this.u8(x);
    for (let l = 1; l < 8; l++) {
      if (x < 2 ** (7 * (l + 1))) {
        this.u8(256 - 2 ** (8 - l) + Math.floor(x / 2 ** (8 * l)));
        return this.uint(x % 2 ** (8 * l), l);
      }
    }
    return this.u8(255).u64(x);
  }

  /** Length-prefixed bytes. */
  blob(h: string): this { return this.nat(hexLen(h)).raw(h); }

  /** Splice another encoding in. */
  enc(e: Enc): this { this.parts.push(...e.parts); this.n += e.n; return this; }

  get length(): number { return this.n; }

  hex(): string { return '0x' + this.parts.join(''); }
}

/** Go's time.RFC3339Nano: nanoseconds, trailing zeros (and an empty fraction) dropped. */
class GoClock {
  private sec = NaN;
  private prefix = '';

  format(unixSec: number, ns: number): string {
    if (unixSec !== this.sec) {
      this.sec = unixSec;
      this.prefix = new Date(unixSec * 1000).toISOString().slice(0, 19);
    }
    if (ns === 0) return this.prefix + 'Z';
    let frac = String(ns).padStart(9, '0');
    let end = frac.length;
    while (frac.charCodeAt(end - 1) === 48) end--;
    frac = frac.slice(0, end);
    return `${this.prefix}.${frac}Z`;
  }
}

// ---------------------------------------------------------------------------------------------
// The simulated network

type Format = 'team' | 'plain' | 'old';

interface Node {
  index: number;
  key: string; // ed25519, 0x-hex: the envelope's sender_id
  bandersnatch: string;
  format: Format;
  team: string;
}

interface BlockRef { hash: string; slot: number; stateRoot: string; beefyRoot: string }

interface Service { id: number; codeHash: string }

interface PendingPreimage { requester: number; blob: string; len: number; hash: string; due: number }

interface Exporter { wph: string; root: string; segs: Buffer[] }

interface Ticket { attempt: number; signature: string }

interface Assurance { anchor: string; bitfield: string; validator_index: number; signature: string }

interface Load { service: number; gas: number; accGas: number; imports: number; exports: number; extSize: number; extCount: number }

interface Context {
  anchor: string; state_root: string; beefy_root: string; lookup_anchor: string; lookup_anchor_slot: number;
  prerequisites: string[];
}

interface Result {
  service_id: number; code_hash: string; payload_hash: string; accumulate_gas: number;
  result: Record<string, string | null>;
  refine_load: { gas_used: number; imports: number; extrinsic_count: number; extrinsic_size: number; exports: number };
}

interface Report {
  core: number;
  slot: number; // slot it was refined and guaranteed in
  spec: { hash: string; length: number; erasure_root: string; exports_root: string; exports_count: number };
  context: Context;
  authorizerHash: string;
  authGasUsed: number;
  srl: { work_package_hash: string; segment_tree_root: string }[];
  results: Result[];
  loads: Load[];
  codec: Enc;
  signers: number[];
  signatures: string[];
}

interface Event { arrival: number; line: string; type: string }

interface NetParams {
  epochLength: number; // E
  lottery: number; // Y: slots of an epoch in which tickets are accepted
  attempts: number; // N: tickets per validator per epoch
  maxTicketsPerBlock: number; // K
  rotation: number; // R: guarantor rotation period in slots
}

function netParams(v: number): NetParams {
  // The tiny testnet constants for tiny networks, the full ones otherwise.
  return v <= 6
    ? { epochLength: 12, lottery: 10, attempts: 3, maxTicketsPerBlock: 3, rotation: 4 }
    : { epochLength: 600, lottery: 500, attempts: 2, maxTicketsPerBlock: 16, rotation: 10 };
}

const VAL_FIELDS = ['blocks', 'tickets', 'pre_images', 'pre_images_size', 'guarantees', 'assurances'] as const;
const CORE_FIELDS = ['da_load', 'popularity', 'imports', 'exports', 'extrinsic_size', 'extrinsic_count', 'bundle_size', 'gas_used'] as const;
const SVC_FIELDS = [
  'provided_count', 'provided_size', 'refinement_count', 'refinement_gas_used', 'imports', 'exports',
  'extrinsic_size', 'extrinsic_count', 'accumulate_count', 'accumulate_gas_used', 'on_transfers_count', 'on_transfers_gas_used',
] as const;
const VF = VAL_FIELDS.length;
const CF = CORE_FIELDS.length;
const SF = SVC_FIELDS.length;

class Simulation {
  readonly V: number;
  readonly C: number;
  readonly p: NetParams;
  private readonly rng: Rng;
  private readonly clock = new GoClock();
  readonly nodes: Node[];
  private readonly authorizerCodeHash: string;
  private readonly authorizerHash: string;
  private readonly epochValidators: { bandersnatch: string; ed25519: string }[];

  // chain state
  private head: BlockRef;
  private history: BlockRef[] = [];
  private services: Service[] = [];
  private preimageQueue: PendingPreimage[] = [];
  private exporters: Exporter[] = [];
  private recentPackages: string[] = [];
  private ticketPool: Ticket[] = [];
  private assurancePool: Assurance[] = [];
  private ready: (Report | undefined)[];
  private pending: ({ report: Report; since: number } | undefined)[];
  private statsEpoch: number;
  private ticketsMarked: boolean;
  private epochMarkDue = false;
  private newServiceIn: number;
  private readonly cur: Float64Array;
  private readonly last: Float64Array;
  private readonly coreStats: Float64Array;
  private readonly bitBytes: number;

  // per-slot output
  private events: Event[] = [];
  private jitter: Float64Array;
  private slotSec = 0;

  constructor(readonly seed: string, V: number, C: number, firstSlot: number) {
    this.V = V;
    this.C = C;
    this.p = netParams(V);
    const te = new TextEncoder();
    const derive = (label: string) => blake2b256(te.encode(`jam-etl/generate/v1|${seed}|${label}`));
    const keyHex = (label: string) => '0x' + Buffer.from(derive(label)).toString('hex');
    this.rng = new Rng(derive('rng'));

    this.nodes = [];
    let newer = 0;
    for (let i = 0; i < V; i++) {
      const format: Format = i % 6 === 0 ? 'old' : i % 6 === 3 ? 'plain' : 'team';
      const team = format === 'old' ? 'JAMDUNA' : format === 'team' ? TEAMS[newer++ % TEAMS.length]! : '';
      this.nodes.push({ index: i, key: keyHex(`ed25519/${i}`), bandersnatch: keyHex(`bandersnatch/${i}`), format, team });
    }
    this.epochValidators = this.nodes.map((n) => ({ bandersnatch: n.bandersnatch, ed25519: n.key }));
    this.authorizerCodeHash = keyHex('authorizer-code');
    this.authorizerHash = keyHex('authorizer');

    const rng = this.rng;
    this.head = { hash: rng.hex(32), slot: firstSlot - 1, stateRoot: rng.hex(32), beefyRoot: rng.hex(32) };
    this.history.push(this.head);

    // Bootstrap service 0 plus a few long-lived services; more arrive through 143.
    this.services.push({ id: 0, codeHash: rng.hex(32) });
    const nInit = Math.min(128, Math.max(3, Math.ceil(C / 4)));
    for (let i = 0; i < nInit; i++) this.services.push({ id: rng.u32(), codeHash: rng.hex(32) });

    this.ready = new Array<Report | undefined>(C).fill(undefined);
    this.pending = new Array<{ report: Report; since: number } | undefined>(C).fill(undefined);
    this.bitBytes = Math.ceil(C / 8);
    this.newServiceIn = this.serviceGap(2, 10);
    this.jitter = new Float64Array(V);
    this.coreStats = new Float64Array(C * CF);

    // Mid-epoch start: pretend the epoch so far (and the last one) happened.
    const E = this.p.epochLength;
    this.statsEpoch = Math.floor(firstSlot / E);
    const sofar = (firstSlot % E) / E;
    this.ticketsMarked = firstSlot % E >= this.p.lottery;
    this.cur = new Float64Array(V * VF);
    this.last = new Float64Array(V * VF);
    const perVal = (a: Float64Array, frac: number) => {
      for (let v = 0; v < V; v++) {
        const o = v * VF;
        const noisy = (mean: number) => Math.round(mean * frac * (0.5 + rng.float()));
        a[o] = noisy(E / V);
        a[o + 1] = noisy(this.p.attempts);
        a[o + 2] = noisy(E / 40 / V);
        a[o + 3] = a[o + 2]! * rng.int(500, 12000);
        a[o + 4] = noisy((E * C * 0.45 * 2.8) / V);
        a[o + 5] = noisy(E * 0.9);
      }
    };
    perVal(this.last, 1);
    perVal(this.cur, sofar);
  }

  // ------------------------------------------------------------------ output

  private emit(node: Node, at: number, type: string, json: string, o: { meta?: string; elapsed?: number; codec?: string; codecLen?: number }): void {
    const ns = Math.min(Math.max(0, Math.round(at)), SLOT_MS * 1e6 - 1);
    const time = this.clock.format(this.slotSec + Math.floor(ns / 1e9), ns % 1e9);
    let s = `{"time":"${time}"`;
    if (node.format === 'team') s += `,"team":${JSON.stringify(node.team)}`;
    if (node.format !== 'old') s += `,"sender_id":"${node.key}"`;
    s += `,"msg_type":"${type}","json_encoded":${json}`;
    let meta = o.meta;
    if (node.format === 'old') {
      const codecLen = o.codec !== undefined ? hexLen(o.codec) : (o.codecLen ?? 0);
      meta = `team=${node.team}|codec_len=${codecLen}|id=${node.key}` + (meta !== undefined ? `|${meta}` : '');
    }
    if (meta !== undefined) s += `,"metadata":${JSON.stringify(meta)}`;
    if (o.elapsed !== undefined) s += `,"elapsed":${o.elapsed}`;
    if (o.codec !== undefined) s += `,"codec_encoded":"${o.codec}"`;
    s += '}';
    // Lines reach the collector in arrival order: per-node latency keeps one node's lines in
    // order while lines of different nodes may interleave slightly out of time order.
    this.events.push({ arrival: ns + this.jitter[node.index]!, line: s, type });
  }

  private node(i: number): Node {
    const n = this.nodes[i];
    if (n === undefined) throw new Error(`no validator ${i}`);
    return n;
  }

  /** A per-block probability that grows with the number of cores (more cores, more services, more activity). */
  private busy(p: number, max: number): number {
    return Math.min(max, p * Math.max(1, this.C / 32));
  }

  /** Blocks until the next new service: uniform in [lo, hi] blocks, shortened in bigger networks. */
  private serviceGap(lo: number, hi: number): number {
    const f = Math.min(4, Math.max(1, this.C / 32));
    return this.rng.int(Math.ceil(lo / f), Math.ceil(hi / f));
  }

  /** Slots simulated before the first written one, so that the run starts in steady state. */
  warmUp(firstSlot: number, slots: number): void {
    for (let s = firstSlot - slots; s < firstSlot; s++) this.runSlot(s);
  }

  // ------------------------------------------------------------------ one slot

  runSlot(s: number): { lines: string[]; msgTypes: string[] } {
    const rng = this.rng;
    this.events = [];
    this.slotSec = (JAM_EPOCH_MS + s * SLOT_MS) / 1000;
    for (let v = 0; v < this.V; v++) this.jitter[v] = rng.int(200_000, 4_000_000);
    const epoch = Math.floor(s / this.p.epochLength);
    if (epoch !== this.statsEpoch) {
      // New epoch: statistics roll over, the first block carries the epoch mark, and tickets
      // for the previous lottery are void.
      this.last.set(this.cur);
      this.cur.fill(0);
      this.statsEpoch = epoch;
      this.epochMarkDue = true;
      this.ticketsMarked = false;
      this.ticketPool = [];
    }

    // A few slots have no block (author offline or late).
    if (rng.chance(0.04)) {
      // nothing authored; assurances keep waiting for the next block
    } else {
      this.block(s, rng.int(0, this.V - 1));
    }
    this.tickets(s);
    this.refineAll(s);

    const ev = this.events;
    ev.sort((x, y) => x.arrival - y.arrival);
    return { lines: ev.map((e) => e.line), msgTypes: ev.map((e) => e.type) };
  }

  /** Ring-VRF ticket generation (131), spread over the lottery period; in tiny networks that is the first slots of the epoch. */
  private tickets(s: number): void {
    const { epochLength: E, lottery: Y, attempts: N } = this.p;
    const sie = s % E;
    const G = Math.min(Y, Math.max(1, Math.ceil(this.V / 2)));
    if (sie >= G) return;
    const rng = this.rng;
    const from = Math.ceil((sie * this.V) / G);
    const to = Math.ceil(((sie + 1) * this.V) / G);
    const scale = this.V > 6 ? 2 : 1; // bigger rings take longer
    for (let v = from; v < to && v < this.V; v++) {
      let t = rng.int(50e6, 800e6);
      for (let attempt = 0; attempt < N; attempt++) {
        const elapsed = rng.int(280_000, 420_000) * scale;
        t += elapsed * 1000 + rng.int(100_000, 900_000);
        const ticket: Ticket = { attempt, signature: rng.hex(TICKET_PROOF_SIZE) };
        const codec = new Enc().u8(attempt).raw(ticket.signature).hex();
        this.emit(this.node(v), t, '131', JSON.stringify(ticket), { elapsed, codec });
        this.ticketPool.push(ticket);
      }
    }
  }

  // ------------------------------------------------------------------ blocks

  private block(s: number, author: number): void {
    const rng = this.rng;
    const { epochLength: E, lottery: Y } = this.p;
    const V = this.V, C = this.C;
    const sie = s % E;
    const parent = this.head;
    const cs = this.coreStats;
    cs.fill(0);
    const svcStats = new Map<number, Float64Array>();
    const svc = (id: number) => {
      let r = svcStats.get(id);
      if (r === undefined) { r = new Float64Array(SF); svcStats.set(id, r); }
      return r;
    };
    const cur = this.cur;

    // Assurances made on the parent: count them per core; > 2/3 makes the report available.
    const assurances = this.assurancePool.filter((a) => a.anchor === parent.hash).sort((x, y) => x.validator_index - y.validator_index);
    this.assurancePool = [];
    const counts = new Int32Array(C);
    for (const a of assurances) {
      cur[a.validator_index * VF + 5]! += 1;
      const bits = Buffer.from(a.bitfield.slice(2), 'hex');
      for (let c = 0; c < C; c++) if ((bits[c >> 3]! >> (c & 7)) & 1) counts[c]! += 1;
    }
    const accumulated: Report[] = [];
    for (let c = 0; c < C; c++) {
      const p = this.pending[c];
      if (p === undefined) continue;
      if (counts[c]! * 3 > V * 2) {
        accumulated.push(p.report);
        this.pending[c] = undefined;
        cs[c * CF] = p.report.spec.length + p.report.spec.exports_count * SEGMENT_SIZE;
        cs[c * CF + 1] = counts[c]!;
        for (const l of p.report.loads) {
          const r = svc(l.service);
          r[8]! += 1;
          r[9]! += Math.floor(l.accGas * (0.2 + 0.8 * rng.float()));
          if (rng.chance(0.05)) { r[10]! += 1; r[11]! += rng.int(100, 20_000); }
        }
      } else if (s - p.since > 5) {
        this.pending[c] = undefined; // availability timed out
      }
    }

    // Guarantees: a waiting report per free core, oldest first by core index.
    const guarantees: Report[] = [];
    for (let c = 0; c < C; c++) {
      const r = this.ready[c];
      if (r === undefined) continue;
      if (s - r.slot > 8) { this.ready[c] = undefined; continue; } // too old to guarantee
      if (r.slot >= s || this.pending[c] !== undefined) continue;
      guarantees.push(r);
      this.ready[c] = undefined;
      this.pending[c] = { report: r, since: s };
      const o = c * CF;
      for (const l of r.loads) {
        cs[o + 2]! += l.imports; cs[o + 3]! += l.exports; cs[o + 4]! += l.extSize; cs[o + 5]! += l.extCount; cs[o + 7]! += l.gas;
        const sr = svc(l.service);
        sr[2]! += 1; sr[3]! += l.gas; sr[4]! += l.imports; sr[5]! += l.exports; sr[6]! += l.extSize; sr[7]! += l.extCount;
      }
      cs[o + 6] = r.spec.length;
      for (const v of r.signers) cur[v * VF + 4]! += 1;
    }

    // Preimages: code for services created earlier, now and then data for an existing service.
    if (rng.chance(this.busy(0.03, 0.5))) {
      const requester = this.pickService().id;
      const blob = rng.hex(rng.int(32, 4096));
      this.preimageQueue.push({ requester, blob, len: hexLen(blob), hash: blake2b256Hex(Buffer.from(blob.slice(2), 'hex')), due: s });
    }
    const preimages: PendingPreimage[] = [];
    this.preimageQueue = this.preimageQueue.filter((p) => {
      if (p.due <= s && preimages.length < 2) { preimages.push(p); return false; }
      return true;
    });
    for (const p of preimages) {
      cur[author * VF + 2]! += 1;
      cur[author * VF + 3]! += p.len;
      const r = svc(p.requester);
      r[0]! += 1; r[1]! += p.len;
      if (!this.services.some((x) => x.id === p.requester)) {
        this.services.push({ id: p.requester, codeHash: p.hash });
      }
    }

    // Tickets gathered from the pool while the lottery is open.
    const tickets: Ticket[] = sie < Y ? this.ticketPool.splice(0, this.p.maxTicketsPerBlock) : [];
    cur[author * VF + 1]! += tickets.length;
    cur[author * VF]! += 1;

    // Now and then accumulation creates a service; its code arrives as a preimage a bit later.
    // A countdown rather than a coin flip keeps the gaps bounded: every tiny run of 3 minutes
    // has a 143 and its 142 (about one new service every 1.6 minutes at C=2, 2.5 a minute at C≥128).
    let newService: { json: string; codec: string } | undefined;
    if (--this.newServiceIn <= 0) {
      this.newServiceIn = this.serviceGap(8, 24);
      const id = rng.u32();
      const name = rng.pick(CODE_NAMES);
      const len = rng.int(900, 12_000);
      const blob = Buffer.alloc(len);
      blob[0] = name.length;
      blob.write(name, 1, 'latin1');
      blob.set(rng.bytes(len - 1 - name.length), 1 + name.length);
      const codeHash = blake2b256Hex(blob);
      this.preimageQueue.push({ requester: id, blob: '0x' + blob.toString('hex'), len, hash: codeHash, due: s + rng.int(1, 3) });
      const codeSize = len + 81;
      const info = { service_index: id, code_hash: codeHash, balance: 500_120 + codeSize, min_item_gas: 100, min_memo_gas: 100, code_size: codeSize, items: 2 };
      const e = new Enc().u32(id).raw(codeHash).u64(info.balance).u64(100).u64(100).u64(codeSize).u32(2)
        .raw('0x010100010001').raw(codeHash).raw('0x000001').u32(len).u32(0);
      newService = { json: JSON.stringify(info), codec: e.hex() };
    }

    // Header.
    const hash = rng.hex(32);
    let epochMark: unknown = null;
    const headerEnc = new Enc().raw(parent.hash);
    const stateRoot = rng.hex(32);
    const extrinsicHash = rng.hex(32);
    headerEnc.raw(parent.stateRoot).raw(extrinsicHash).u32(s);
    if (this.epochMarkDue) {
      this.epochMarkDue = false;
      const em = { entropy: rng.hex(32), tickets_entropy: rng.hex(32), validators: this.epochValidators };
      epochMark = em;
      headerEnc.u8(1).raw(em.entropy).raw(em.tickets_entropy);
      for (const v of this.epochValidators) headerEnc.raw(v.bandersnatch).raw(v.ed25519);
    } else headerEnc.u8(0);
    let ticketsMark: unknown = null;
    if (sie >= Y && !this.ticketsMarked) {
      this.ticketsMarked = true;
      const tm: { id: string; attempt: number }[] = [];
      headerEnc.u8(1);
      for (let i = 0; i < E; i++) {
        const t = { id: rng.hex(32), attempt: rng.int(0, this.p.attempts - 1) };
        tm.push(t);
        headerEnc.raw(t.id).u8(t.attempt);
      }
      ticketsMark = tm;
    } else headerEnc.u8(0);
    const entropy = rng.hex(96);
    const seal = rng.hex(96);
    headerEnc.nat(0).u16(author).raw(entropy).raw(seal);
    const header = {
      parent: parent.hash, parent_state_root: parent.stateRoot, extrinsic_hash: extrinsicHash, slot: s,
      epoch_mark: epochMark, tickets_mark: ticketsMark, offenders_mark: [], author_index: author,
      entropy_source: entropy, seal,
    };

    // Extrinsic; decoded blocks carry [] where Go-built messages carry null.
    const xEnc = new Enc().nat(tickets.length);
    for (const t of tickets) xEnc.u8(t.attempt).raw(t.signature);
    xEnc.nat(preimages.length);
    for (const p of preimages) xEnc.u32(p.requester).blob(p.blob);
    xEnc.nat(guarantees.length);
    for (const g of guarantees) {
      xEnc.enc(g.codec).u32(g.slot).nat(g.signers.length);
      g.signers.forEach((v, i) => xEnc.u16(v).raw(g.signatures[i]!));
    }
    xEnc.nat(assurances.length);
    for (const a of assurances) xEnc.raw(a.anchor).raw(a.bitfield).u16(a.validator_index).raw(a.signature);
    xEnc.nat(0).nat(0).nat(0);
    const block = {
      header,
      extrinsic: {
        tickets,
        preimages: preimages.map((p) => ({ requester: p.requester, blob: p.blob })),
        guarantees: guarantees.map((g) => ({
          report: reportJson(g, false),
          slot: g.slot,
          signatures: g.signers.map((v, i) => ({ validator_index: v, signature: g.signatures[i]! })),
        })),
        assurances,
        disputes: { verdicts: [], culprits: [], faults: [] },
      },
    };
    const blockCodec = headerEnc.enc(xEnc).hex();

    this.head = { hash, slot: s, stateRoot, beefyRoot: rng.hex(32) };
    this.history.push(this.head);
    if (this.history.length > 8) this.history.shift();

    // Timeline: the author logs the block, the preimages it carried, its statistics and any new
    // service within a millisecond or so; validators then assure what is pending on the new head.
    const me = this.node(author);
    let elapsed = rng.int(70_000, 130_000) + guarantees.length * rng.int(500, 1500) + tickets.length * rng.int(2000, 4000)
      + (assurances.length > 0 ? rng.int(80_000, 300_000) : 0);
    for (const p of preimages) elapsed += Math.round(p.len / 1.5);
    elapsed = Math.min(elapsed, 4_000_000);
    let t = elapsed * 1000 + rng.int(5e6, 80e6);
    this.emit(me, t, '128', JSON.stringify(block), { elapsed, codec: blockCodec });
    for (const p of preimages) {
      t += rng.int(200_000, 50e6);
      const json = JSON.stringify({ requester: p.requester, blob: p.blob });
      this.emit(me, t, '142', json, { meta: `blob_len=${p.len}|h=${p.hash}|s=${p.requester}`, codecLen: 4 + natLen(p.len) + p.len });
    }
    t += rng.int(100_000, 500_000);
    const stats = this.statistics(svcStats);
    this.emit(me, t, '13', stats.json, { codec: stats.codec });
    if (newService !== undefined) {
      t += rng.int(50_000, 300_000);
      this.emit(me, t, '143', newService.json, { codec: newService.codec });
    }

    // Audits: now and then a validator outside the guarantor group logs its re-refinement.
    for (const r of accumulated) {
      if (!rng.chance(0.08)) continue;
      const auditor = rng.int(0, V - 1);
      if (r.signers.includes(auditor)) continue;
      const ae = rng.int(2000, 30_000);
      this.emit(this.node(auditor), t + rng.int(300e6, 2500e6), '255', JSON.stringify(reportJson(r, true)),
        { meta: `role=Auditor|numSig=${r.signers.length}`, elapsed: ae, codec: r.codec.hex() });
    }

    this.assure(hash, author, t);
  }

  /** 141 from (nearly) every validator for the cores pending availability on the new head. */
  private assure(anchor: string, author: number, tAuthor: number): void {
    const rng = this.rng;
    const base = Buffer.alloc(this.bitBytes);
    let any = false;
    for (let c = 0; c < this.C; c++) if (this.pending[c] !== undefined) { base[c >> 3]! |= 1 << (c & 7); any = true; }
    if (!any) return;
    const spread = Math.min(2500e6, 150e6 + this.V * 1.5e6);
    const pendingCores: number[] = [];
    for (let c = 0; c < this.C; c++) if (this.pending[c] !== undefined) pendingCores.push(c);
    for (let v = 0; v < this.V; v++) {
      if (v !== author && rng.chance(0.015)) continue; // offline, or still catching up
      const bits = Buffer.from(base);
      if (v !== author && rng.chance(0.03)) {
        // Missing a chunk or two: those bits stay clear; with nothing left to assure, no message.
        const drop = rng.int(1, 3);
        for (let k = 0; k < drop; k++) { const c = rng.pick(pendingCores); bits[c >> 3]! &= ~(1 << (c & 7)); }
        if (bits.every((b) => b === 0)) continue;
      }
      const a: Assurance = { anchor, bitfield: '0x' + bits.toString('hex'), validator_index: v, signature: rng.hex(64) };
      const t = v === author ? tAuthor + rng.int(3e6, 6e6) : tAuthor + rng.int(60e6, spread);
      const elapsed = rng.chance(0.9) ? rng.int(2000, 8000) : rng.int(8000, 25_000);
      const codec = new Enc().raw(a.anchor).raw(a.bitfield).u16(v).raw(a.signature).hex();
      this.emit(this.node(v), t, '141', JSON.stringify(a), { elapsed, codec });
      this.assurancePool.push(a);
    }
  }

  /** The author's statistics after its block: validators this and last epoch, cores and services of this block. */
  private statistics(svcStats: Map<number, Float64Array>): { json: string; codec: string } {
    const V = this.V, C = this.C;
    const e = new Enc();
    const vals = (a: Float64Array) => {
      const parts: string[] = new Array<string>(V);
      const hex: string[] = new Array<string>(V);
      for (let v = 0; v < V; v++) {
        const o = v * VF;
        parts[v] = `{"blocks":${a[o]},"tickets":${a[o + 1]},"pre_images":${a[o + 2]},"pre_images_size":${a[o + 3]},"guarantees":${a[o + 4]},"assurances":${a[o + 5]}}`;
        let h = '';
        for (let f = 0; f < VF; f++) {
          const x = a[o + f]!;
          h += HEX[x & 255]! + HEX[(x >>> 8) & 255]! + HEX[(x >>> 16) & 255]! + HEX[(x >>> 24) & 255]!;
        }
        hex[v] = h;
      }
      e.raw('0x' + hex.join(''));
      return '[' + parts.join(',') + ']';
    };
    const current = vals(this.cur);
    const last = vals(this.last);
    const cs = this.coreStats;
    const cores: string[] = new Array<string>(C);
    for (let c = 0; c < C; c++) {
      const o = c * CF;
      cores[c] = `{"da_load":${cs[o]},"popularity":${cs[o + 1]},"imports":${cs[o + 2]},"exports":${cs[o + 3]},"extrinsic_size":${cs[o + 4]},"extrinsic_count":${cs[o + 5]},"bundle_size":${cs[o + 6]},"gas_used":${cs[o + 7]}}`;
      for (let f = 0; f < CF; f++) e.nat(cs[o + f]!);
    }
    const ids = [...svcStats.keys()].sort((a, b) => a - b);
    e.nat(ids.length);
    const services = ids.map((id) => {
      const r = svcStats.get(id)!;
      e.u32(id);
      for (let f = 0; f < SF; f++) e.nat(r[f]!);
      return `{"id":${id},"record":{${SVC_FIELDS.map((k, i) => `"${k}":${r[i]}`).join(',')}}}`;
    });
    const json = `{"vals_current":${current},"vals_last":${last},"cores":[${cores.join(',')}],"services":[${services.join(',')}]}`;
    return { json, codec: e.hex() };
  }

  // ------------------------------------------------------------------ work packages

  private pickService(): Service {
    // Skewed: a few services get most of the work.
    const n = this.services.length;
    const s = this.services[Math.min(n - 1, Math.floor(n * this.rng.float() ** 1.7))];
    if (s === undefined) throw new Error('no services');
    return s;
  }

  private guarantors(core: number, s: number): number[] {
    const V = this.V, C = this.C;
    const rot = Math.floor(s / this.p.rotation);
    const start = Math.floor((((core + rot) % C) * V) / C);
    const g: number[] = [];
    for (let k = 0; k < 3 && k < V; k++) {
      const v = (start + k) % V;
      if (!g.includes(v)) g.push(v);
    }
    return g;
  }

  private refineAll(s: number): void {
    const rng = this.rng;
    for (let c = 0; c < this.C; c++) {
      if (this.ready[c] !== undefined) continue; // one report waits per core
      if (!rng.chance(0.6)) continue;
      this.refine(c, s);
    }
  }

  /** A guarantor refines a package for `core`: 133 (the bundle), 135 (its exports), 255 (the report). */
  private refine(core: number, s: number): void {
    const rng = this.rng;
    const group = this.guarantors(core, s);
    const reporter = rng.pick(group);
    const anchor = this.head;
    const lookup = this.history[Math.max(0, this.history.length - 1 - rng.int(0, 3))] ?? anchor;
    const prerequisites = this.recentPackages.length > 0 && rng.chance(0.4) ? [rng.pick(this.recentPackages)] : [];
    const context: Context = {
      anchor: anchor.hash, state_root: anchor.stateRoot, beefy_root: anchor.beefyRoot,
      lookup_anchor: lookup.hash, lookup_anchor_slot: lookup.slot, prerequisites,
    };
    const ctxEnc = contextEnc(context);

    interface Item {
      service: Service; payload: string; refineGas: number; accGas: number;
      imports: { ex: Exporter; index: number }[]; ext: { hash: string; blob: string }[]; exports: number;
    }
    const nItems = rng.chance(0.5) ? 1 : rng.chance(0.7) ? 2 : 3;
    const items: Item[] = [];
    for (let i = 0; i < nItems; i++) {
      const imports: Item['imports'] = [];
      if (this.exporters.length > 0 && rng.chance(0.3)) {
        const ex = rng.pick(this.exporters);
        const n = rng.int(1, Math.min(3, ex.segs.length));
        for (let k = 0; k < n; k++) imports.push({ ex, index: rng.int(0, ex.segs.length - 1) });
      }
      const ext: Item['ext'] = [];
      if (rng.chance(0.15)) {
        const n = rng.int(1, 2);
        for (let k = 0; k < n; k++) ext.push({ hash: rng.hex(32), blob: rng.hex(rng.int(16, 1024)) });
      }
      items.push({
        service: this.pickService(),
        payload: rng.chance(0.15) ? '0x' : rng.hex(rng.int(4, 64)),
        refineGas: rng.pick(REFINE_GAS), accGas: rng.pick(ACCUMULATE_GAS),
        imports, ext, exports: rng.chance(0.35) ? rng.int(1, 3) : 0,
      });
    }

    // 133: the work-package bundle. Go writes the empty lists of the package as null, the
    // bundle's per-item lists as [].
    const authorization = rng.chance(0.3) ? '0x' : rng.chance(0.5) ? '0x3078' : rng.hex(rng.int(2, 64));
    const wp = {
      work_package: {
        authorization,
        auth_code_host: 0,
        authorizer: { code_hash: this.authorizerCodeHash, params: '0x' },
        context: ctxJson(context, true),
        items: items.map((it) => ({
          service: it.service.id,
          code_hash: it.service.codeHash,
          payload: it.payload,
          refine_gas_limit: it.refineGas,
          accumulate_gas_limit: it.accGas,
          import_segments: it.imports.length > 0 ? it.imports.map((m) => ({ tree_root: m.ex.wph, index: m.index })) : null,
          extrinsic: it.ext.length > 0 ? it.ext.map((x) => ({ hash: x.hash, len: hexLen(x.blob) })) : null,
          export_count: it.exports,
        })),
      },
      extrinsics: items.flatMap((it) => it.ext.map((x) => x.blob)),
      import_segments: items.map((it) => it.imports.map((m) => m.ex.segs[m.index]!.toString('base64'))),
      justifications: items.map((it) => it.imports.map(() => {
        const depth = rng.int(1, 6);
        const path: string[] = [];
        for (let d = 0; d < depth; d++) path.push(rng.hex(32));
        return path;
      })),
    };
    const be = new Enc().blob(authorization).u32(0).raw(this.authorizerCodeHash).nat(0).enc(ctxEnc).nat(items.length);
    for (const it of items) {
      be.u32(it.service.id).raw(it.service.codeHash).blob(it.payload).u64(it.refineGas).u64(it.accGas).nat(it.imports.length);
      for (const m of it.imports) be.raw(m.ex.wph).u16(m.index);
      be.nat(it.ext.length);
      for (const x of it.ext) be.raw(x.hash).u32(hexLen(x.blob));
      be.u16(it.exports);
    }
    be.nat(wp.extrinsics.length);
    for (const x of wp.extrinsics) be.blob(x);
    for (const it of items) for (const m of it.imports) be.rawBuf(m.ex.segs[m.index]!);
    for (const j of wp.justifications) {
      be.nat(j.length);
      for (const path of j) { be.nat(path.length); for (const h of path) be.raw(h); }
    }
    const bundleCodec = be.hex();
    const bundleLen = be.length;

    // Exported segments: a few counters up front and zeros, or data filling part of the segment.
    const totalExports = items.reduce((n, it) => n + it.exports, 0);
    const segs: Buffer[] = [];
    for (let k = 0; k < totalExports; k++) {
      const seg = Buffer.alloc(SEGMENT_SIZE);
      if (rng.chance(0.2)) seg.set(rng.bytes(rng.int(64, SEGMENT_SIZE)), 0);
      else { seg.writeUInt32LE(s & 0xffff, 0); seg.writeUInt32LE(rng.int(0, 5000), 4); seg.writeUInt32LE(rng.int(0, 5000), 8); }
      segs.push(seg);
    }

    const wph = rng.hex(32);
    const exportsRoot = totalExports > 0 ? rng.hex(32) : ZERO_HASH;
    const loads: Load[] = [];
    const results: Result[] = items.map((it) => {
      const extSize = it.ext.reduce((n, x) => n + hexLen(x.blob), 0);
      const gas = rng.chance(0.2) ? 0 : rng.int(1, it.refineGas);
      loads.push({ service: it.service.id, gas, accGas: it.accGas, imports: it.imports.length, exports: it.exports, extSize, extCount: it.ext.length });
      const result: Record<string, string | null> = rng.chance(0.01) ? { [rng.pick(RESULT_ERRORS)]: null } : { ok: rng.hex(rng.int(0, 48)) };
      return {
        service_id: it.service.id,
        code_hash: it.service.codeHash,
        payload_hash: rng.hex(32),
        accumulate_gas: it.accGas,
        result,
        refine_load: { gas_used: gas, imports: it.imports.length, extrinsic_count: it.ext.length, extrinsic_size: extSize, exports: it.exports },
      };
    });
    const srl: Report['srl'] = [];
    for (const it of items) {
      for (const m of it.imports) {
        if (!srl.some((x) => x.work_package_hash === m.ex.wph)) srl.push({ work_package_hash: m.ex.wph, segment_tree_root: m.ex.root });
      }
    }
    const numSig = group.length >= 3 ? (rng.chance(0.75) ? 3 : 2) : group.length;
    const others = group.filter((v) => v !== reporter);
    while (others.length > numSig - 1) others.splice(rng.int(0, others.length - 1), 1);
    const signers = [reporter, ...others].sort((a, b) => a - b);
    const report: Report = {
      core, slot: s,
      spec: { hash: wph, length: bundleLen, erasure_root: rng.hex(32), exports_root: exportsRoot, exports_count: totalExports },
      context, authorizerHash: this.authorizerHash, authGasUsed: rng.chance(0.6) ? 0 : rng.int(100, 50_000),
      srl, results, loads, codec: new Enc(), signers, signatures: signers.map(() => rng.hex(64)),
    };
    report.codec = reportEnc(report, ctxEnc);

    // Timeline within the slot: bundle, then its segments, then the report.
    const me = this.node(reporter);
    const t133 = rng.int(600e6, 5300e6);
    this.emit(me, t133, '133', JSON.stringify(wp), { codec: bundleCodec });
    const t135 = t133 + rng.int(400_000, 20e6);
    let segJson = 'null';
    let segCodec = '0x00';
    if (segs.length > 0) {
      segJson = JSON.stringify(segs.map((b) => b.toString('base64')));
      const se = new Enc().nat(segs.length);
      for (const b of segs) se.nat(SEGMENT_SIZE).rawBuf(b);
      segCodec = se.hex();
    }
    this.emit(me, t135, '135', segJson, { meta: `wph=${wph}|c=${core}|len=${segs.length}`, codec: segCodec });
    const t255 = t135 + rng.int(1_500_000, 15e6);
    const elapsed = rng.int(300, 3000) + items.reduce((n, it) => n + it.imports.length * rng.int(2000, 6000) + it.exports * rng.int(1000, 4000), 0);
    this.emit(me, t255, '255', JSON.stringify(reportJson(report, true)), { meta: `role=Guarantor|numSig=${numSig}`, elapsed, codec: report.codec.hex() });

    this.ready[core] = report;
    this.recentPackages.push(wph);
    if (this.recentPackages.length > 16) this.recentPackages.shift();
    if (segs.length > 0) {
      this.exporters.push({ wph, root: exportsRoot, segs });
      if (this.exporters.length > 32) this.exporters.shift();
    }
  }
}

function ctxJson(c: Context, goNulls: boolean): Record<string, unknown> {
  return {
    anchor: c.anchor, state_root: c.state_root, beefy_root: c.beefy_root,
    lookup_anchor: c.lookup_anchor, lookup_anchor_slot: c.lookup_anchor_slot,
    prerequisites: c.prerequisites.length === 0 && goNulls ? null : c.prerequisites,
  };
}

function contextEnc(c: Context): Enc {
  const e = new Enc().raw(c.anchor).raw(c.state_root).raw(c.beefy_root).raw(c.lookup_anchor).u32(c.lookup_anchor_slot).nat(c.prerequisites.length);
  for (const p of c.prerequisites) e.raw(p);
  return e;
}

/** A work report as JSON: `goNulls` for what Go producers build (255), [] as in decoded blocks (128). */
function reportJson(r: Report, goNulls: boolean): Record<string, unknown> {
  return {
    package_spec: r.spec,
    context: ctxJson(r.context, goNulls),
    core_index: r.core,
    authorizer_hash: r.authorizerHash,
    auth_output: '0x',
    segment_root_lookup: r.srl.length === 0 && goNulls ? null : r.srl,
    results: r.results,
    auth_gas_used: r.authGasUsed,
  };
}

function reportEnc(r: Report, ctx: Enc): Enc {
  const e = new Enc().raw(r.spec.hash).u32(r.spec.length).raw(r.spec.erasure_root).raw(r.spec.exports_root).u16(r.spec.exports_count)
    .enc(ctx).nat(r.core).raw(r.authorizerHash).nat(0).nat(r.srl.length);
  for (const x of r.srl) e.raw(x.work_package_hash).raw(x.segment_tree_root);
  e.nat(r.results.length);
  for (const x of r.results) {
    e.u32(x.service_id).raw(x.code_hash).raw(x.payload_hash).u64(x.accumulate_gas);
    const ok = x.result.ok;
    if (typeof ok === 'string') e.u8(0).blob(ok);
    else e.u8(1 + RESULT_ERRORS.indexOf(Object.keys(x.result)[0] ?? ''));
    const l = x.refine_load;
    e.nat(l.gas_used).nat(l.imports).nat(l.extrinsic_count).nat(l.extrinsic_size).nat(l.exports);
  }
  return e.nat(r.authGasUsed);
}

// ---------------------------------------------------------------------------------------------
// Public API

function checkOptions(o: GenerateLinesOptions): { startMs: number; firstSlot: number; seed: string } {
  const int = (name: string, v: unknown, min: number, max: number) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  };
  int('minutes', o.minutes, 1, 10_000_000);
  int('validators', o.validators, 1, MAX_VALIDATORS);
  int('cores', o.cores, 1, 65_535);
  if (typeof o.seed !== 'number' && typeof o.seed !== 'string') throw new TypeError('seed must be a number or a string');
  const start = o.start ?? DEFAULT_START;
  if (!(start instanceof Date) || Number.isNaN(start.getTime())) throw new RangeError('start must be a valid Date');
  const startMs = Math.floor(start.getTime() / 60_000) * 60_000;
  if (startMs < JAM_EPOCH_MS) throw new RangeError(`start must not be before the JAM epoch ${new Date(JAM_EPOCH_MS).toISOString()}`);
  return { startMs, firstSlot: (startMs - JAM_EPOCH_MS) / SLOT_MS, seed: String(o.seed) };
}

function fileName(minuteMs: number, nested: boolean): string {
  const iso = new Date(minuteMs).toISOString(); // YYYY-MM-DDTHH:MM:...
  const hhmm = iso.slice(11, 13) + iso.slice(14, 16) + '.log';
  return nested ? `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${hhmm}` : hhmm;
}

/** The simulation slot by slot: each slot's lines in write order and the file they belong to. */
export function* generateSlots(opts: GenerateLinesOptions): Generator<GeneratedSlot> {
  const { startMs, firstSlot, seed } = checkOptions(opts);
  const lastMinuteMs = startMs + (opts.minutes - 1) * 60_000;
  const nested = new Date(startMs).toISOString().slice(0, 10) !== new Date(lastMinuteMs).toISOString().slice(0, 10);
  const warm = Math.min(WARM_UP_SLOTS, firstSlot);
  const sim = new Simulation(seed, opts.validators, opts.cores, firstSlot - warm);
  sim.warmUp(firstSlot, warm);
  let file = '';
  for (let i = 0; i < opts.minutes * SLOTS_PER_MINUTE; i++) {
    if (i % SLOTS_PER_MINUTE === 0) file = fileName(startMs + (i / SLOTS_PER_MINUTE) * 60_000, nested);
    const slot = firstSlot + i;
    const { lines, msgTypes } = sim.runSlot(slot);
    yield { file, slot, lines, msgTypes };
  }
}

/** The same lines `generate` writes, one at a time, without touching the file system. */
export function* generateLines(opts: GenerateLinesOptions): Generator<GeneratedLine> {
  for (const s of generateSlots(opts)) {
    for (let i = 0; i < s.lines.length; i++) yield { file: s.file, msgType: s.msgTypes[i]!, line: s.lines[i]! };
  }
}

/** Writes `minutes` files of synthetic telemetry under `opts.out`; see the top of this file. */
export async function generate(opts: GenerateOptions): Promise<GenerateResult> {
  const result: GenerateResult = { files: [], lines: 0, bytes: 0, byType: {} };
  let cur: { file: string; path: string; stream: WriteStream; bytes: number; lines: number } | undefined;
  let failure: Error | undefined;

  const close = async () => {
    if (cur === undefined) return;
    const c = cur;
    cur = undefined;
    const closed = once(c.stream, 'close');
    c.stream.end();
    await closed.catch((e: unknown) => { failure ??= e instanceof Error ? e : new Error(String(e)); });
    if (failure !== undefined) throw failure;
    result.files.push(c.path);
    opts.onFile?.(c.path, c.bytes, c.lines);
  };

  try {
    for (const slot of generateSlots(opts)) {
      if (cur === undefined || cur.file !== slot.file) {
        await close();
        const path = join(opts.out, slot.file);
        makeDirs(dirname(path), 'output folder');
        const stream = createWriteStream(path);
        stream.on('error', (e) => { failure ??= e; });
        cur = { file: slot.file, path, stream, bytes: 0, lines: 0 };
      }
      if (slot.lines.length === 0) continue;
      const text = slot.lines.join('\n') + '\n';
      const bytes = Buffer.byteLength(text);
      cur.bytes += bytes;
      cur.lines += slot.lines.length;
      result.bytes += bytes;
      result.lines += slot.lines.length;
      for (const t of slot.msgTypes) result.byType[t] = (result.byType[t] ?? 0) + 1;
      if (!cur.stream.write(text)) await once(cur.stream, 'drain');
      if (failure !== undefined) throw failure;
    }
    await close();
  } catch (e) {
    if (cur !== undefined) cur.stream.destroy();
    throw e;
  }
  return result;
}
