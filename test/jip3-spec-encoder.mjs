// A JIP-3 encoder written for the tests from the text of JIP-3.md (polkadot-fellows/JIPs) and
// GP appendix C, independently of src/jip3: each event kind is transcribed from the spec as the
// list of its field types, each type encodes a deterministic value and says which JSON leaf the
// decoder must give back (flattened, in wire order). Not the decoder run backwards.

/** GP C.6 variable-length natural, from the formula: 2^8 - 2^(8-l) + floor(x / 2^(8l)) ++ E_l(x mod 2^(8l)). */
export function encodeNatural(x) {
  x = BigInt(x);
  if (x < 0n || x >= 1n << 64n) throw new RangeError('natural out of range');
  for (let l = 0; l <= 7; l++) {
    if (x < 1n << BigInt(7 * (l + 1))) {
      const prefix = 256n - (1n << BigInt(8 - l)) + (x >> BigInt(8 * l));
      return [Number(prefix), ...le(x & ((1n << BigInt(8 * l)) - 1n), l)];
    }
  }
  return [255, ...le(x, 8)];
}

export function le(x, n) {
  x = BigInt(x);
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push(Number(x & 0xffn));
    x >>= 8n;
  }
  return out;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const u64Leaf = (x) => (BigInt(x) <= MAX_SAFE ? Number(x) : BigInt(x).toString());
const hex = (bytes) => '0x' + bytes.map((b) => b.toString(16).padStart(2, '0')).join('');

/** Deterministic value source. */
export class Values {
  constructor(seed = 1) {
    this.s = seed >>> 0 || 1;
  }
  next() {
    // xorshift32
    let s = this.s;
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  int(n) {
    return this.next() % n;
  }
  bytes(n) {
    return Array.from({ length: n }, () => this.next() & 0xff);
  }
}

// Each type: (v, ctx) => [bytes, leaves]
const fixed = (n) => (v) => {
  const x = n === 8 ? (BigInt(v.next()) << 32n) | BigInt(v.next()) : BigInt(v.next() % 2 ** (8 * n));
  // Every fourth u64 is small, so both JSON forms (number and digits) appear.
  const y = n === 8 && v.int(4) === 0 ? x & 0xffffn : x;
  return [le(y, n), [n === 8 ? u64Leaf(y) : Number(y)]];
};
const bytesN = (n) => (v) => {
  const b = v.bytes(n);
  return [b, [hex(b)]];
};
const enumOf = (names) => (v) => {
  const i = v.int(names.length);
  return [[i], [names[i]]];
};
const str = (max) => (v) => {
  const words = ['ok', 'timeout', 'bad signature', 'peer went away', 'ünïcödé ✓', ''];
  const s = words[v.int(words.length)];
  const b = [...Buffer.from(s, 'utf8')];
  if (b.length > max) throw new Error('test string too long');
  return [[...encodeNatural(b.length), ...b], [s]];
};
const seqOf = (inner, maxLen = 3) => (v, ctx) => {
  const n = v.int(maxLen + 1);
  const bytes = [...encodeNatural(n)];
  const leaves = [];
  for (let i = 0; i < n; i++) {
    const [b, l] = inner(v, ctx);
    bytes.push(...b);
    leaves.push(...l);
  }
  return [bytes, leaves];
};
const tuple = (...parts) => (v, ctx) => {
  const bytes = [];
  const leaves = [];
  for (const p of parts) {
    const [b, l] = p(v, ctx);
    bytes.push(...b);
    leaves.push(...l);
  }
  return [bytes, leaves];
};
const option = (inner) => (v, ctx) => {
  if (v.int(2) === 0) return [[0], [null]];
  const [b, l] = inner(v, ctx);
  return [[1, ...b], l];
};

export const T = {};
T.u8 = fixed(1);
T.u16 = fixed(2);
T.u32 = fixed(4);
T.u64 = fixed(8);
T.bool = (v) => {
  const b = v.int(2);
  return [[b], [b === 1]];
};
T.Timestamp = T.u64;
T.EventID = T.u64;
T.Reason = str(128);
T.PeerID = bytesN(32);
T.Hash = bytesN(32);
// Peer Address = [u8; 16] ++ u16: a few fixed addresses with their text form.
const ADDRS = [
  [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7], '::ffff:10.0.0.7'],
  [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0xab, 0xcd], 'fe80::1234:0:0:abcd'],
];
T.PeerAddress = (v) => {
  const [b, text] = ADDRS[v.int(ADDRS.length)];
  const port = 30000 + v.int(1000);
  return [[...b, ...le(port, 2)], [`[${text}]:${port}`]];
};
T.ConnectionSide = enumOf(['local', 'remote']);
T.Slot = T.u32;
T.EpochIndex = T.u32;
T.ValidatorIndex = T.u16;
T.CoreIndex = T.u16;
T.ServiceID = T.u32;
T.ShardIndex = T.u16;
T.Gas = T.u64;
T.BlockOutline = tuple(T.u32, T.Hash, T.u32, T.u32, T.u32, T.u32, T.u32, T.u32);
T.ExecCost = tuple(T.Gas, T.u64);
T.IsAuthorizedCost = tuple(T.ExecCost, T.u64, T.ExecCost);
T.RefineCost = tuple(T.ExecCost, T.u64, T.ExecCost, T.ExecCost, T.ExecCost, T.ExecCost, T.ExecCost);
T.AccumulateCost = tuple(T.u32, T.u32, T.u32, T.ExecCost, T.u64, T.ExecCost, T.ExecCost, T.ExecCost, T.ExecCost, T.ExecCost, T.Gas, T.ExecCost);
// Import Spec = Root Identifier ++ u16 (export index, plus 2^15 if the root is a work-package hash)
T.ImportSpec = (v) => {
  const root = v.bytes(32);
  const idx = v.int(2 ** 15);
  const wp = v.int(2) === 1;
  return [[...root, ...le(idx + (wp ? 2 ** 15 : 0), 2)], [hex(root), idx]];
};
T.ImportSegmentID = (v) => {
  const idx = v.int(2 ** 15);
  const proof = v.int(2) === 1;
  return [le(idx + (proof ? 2 ** 15 : 0), 2), [idx]];
};
T.WorkItemOutline = tuple(T.ServiceID, T.u32, T.Gas, T.Gas, T.u32, seqOf(T.ImportSpec), T.u16);
T.WorkPackageOutline = tuple(T.u32, T.Hash, T.Hash, T.Slot, seqOf(T.Hash), seqOf(T.WorkItemOutline, 2));
T.WorkReportOutline = tuple(T.Hash, T.u32, T.Hash, T.Hash);
T.GuaranteeOutline = tuple(T.Hash, T.Slot, seqOf(T.ValidatorIndex));
T.GuaranteeDiscardReason = enumOf(['reported_on_chain', 'replaced_by_better', 'cannot_be_reported', 'too_many_guarantees', 'other']);
T.AnnouncedPreimageForgetReason = enumOf(['provided_on_chain', 'not_requested_on_chain', 'failed_to_acquire', 'too_many_announced', 'bad_length', 'other']);
T.PreimageDiscardReason = enumOf(['provided_on_chain', 'not_requested_on_chain', 'too_many_preimages', 'other']);
T.Direction = enumOf(['ascending_exclusive', 'descending_inclusive']);
T.Attempt = (v) => {
  const a = v.int(2);
  return [[a], [a]];
};
// [u8; C] by core, and [u8; ceil(C/8)] as hex: both need the core count.
T.PerCore = (v, ctx) => {
  const b = v.bytes(ctx.cores).map((x) => x % 4);
  return [b, b];
};
T.Bitfield = (v, ctx) => bytesN(Math.ceil(ctx.cores / 8))(v);
T.Options = option;
T.seq = seqOf;
T.tuple = tuple;

const Opt = (x) => option(x);
const S = seqOf;

/** Every event kind of JIP-3.md, transcribed: discriminator -> field types in order. */
export const SPEC_EVENTS = {
  0: [T.Timestamp, T.u64],
  10: [T.u32, T.u32, T.u32, T.PerCore, T.u32, T.u64, T.u32, T.u32],
  11: [T.Slot, T.Hash],
  12: [T.Slot, T.Hash],
  13: [T.bool],
  20: [T.PeerAddress],
  21: [T.PeerAddress],
  22: [T.EventID, T.Reason],
  23: [T.EventID, T.PeerID],
  24: [T.PeerID, T.PeerAddress],
  25: [T.EventID, T.Reason],
  26: [T.EventID],
  27: [T.PeerID, Opt(T.ConnectionSide), T.Reason],
  28: [T.PeerID, T.Reason],
  40: [T.Slot, T.Hash],
  41: [T.EventID, T.Reason],
  42: [T.EventID, T.BlockOutline],
  43: [T.Slot, T.BlockOutline],
  44: [T.EventID, T.Reason],
  45: [T.EventID],
  46: [T.EventID, T.Reason],
  47: [T.EventID, S(tuple(T.ServiceID, T.AccumulateCost), 2)],
  60: [T.PeerID, T.ConnectionSide],
  61: [T.PeerID, T.ConnectionSide, T.Reason],
  62: [T.PeerID, T.ConnectionSide, T.Slot, T.Hash],
  63: [T.PeerID, T.Hash, T.Direction, T.u32],
  64: [T.PeerID],
  65: [T.EventID, T.Reason],
  66: [T.EventID],
  67: [T.EventID, T.Hash, T.Direction, T.u32],
  68: [T.EventID, T.Slot, T.BlockOutline, T.bool],
  80: [T.EpochIndex],
  81: [T.EventID, T.Reason],
  82: [T.EventID, S(bytesN(32))],
  83: [T.PeerID, T.ConnectionSide, T.bool, T.Reason],
  84: [T.PeerID, T.ConnectionSide, T.bool, T.EpochIndex, T.Attempt, bytesN(32)],
  90: [T.PeerID, T.bool],
  91: [T.PeerID],
  92: [T.EventID, T.Reason],
  93: [T.EventID, T.CoreIndex, T.Hash],
  94: [T.EventID, T.CoreIndex, T.WorkPackageOutline],
  95: [T.EventID, T.IsAuthorizedCost],
  96: [T.EventID],
  97: [T.EventID],
  98: [T.EventID, T.PeerID],
  99: [T.EventID, T.PeerID, T.Reason],
  100: [T.EventID, T.PeerID],
  101: [T.EventID, S(T.RefineCost)],
  102: [T.EventID, T.WorkReportOutline],
  103: [T.EventID],
  104: [T.EventID, T.PeerID],
  105: [T.EventID, T.GuaranteeOutline],
  106: [T.EventID, T.PeerID],
  107: [T.EventID, T.Reason],
  108: [T.EventID],
  109: [T.EventID],
  110: [T.PeerID],
  111: [T.EventID, T.Reason],
  112: [T.EventID, T.GuaranteeOutline],
  113: [T.GuaranteeOutline, T.GuaranteeDiscardReason],
  120: [T.PeerID, T.Hash, T.ShardIndex],
  121: [T.PeerID],
  122: [T.EventID, T.Reason],
  123: [T.EventID],
  124: [T.EventID, T.Hash, T.ShardIndex],
  125: [T.EventID],
  126: [T.Hash, T.Bitfield],
  127: [T.EventID, T.PeerID, T.Reason],
  128: [T.EventID, T.PeerID],
  129: [T.EventID],
  130: [T.PeerID, T.Reason],
  131: [T.PeerID, T.Hash],
  140: [T.EventID, T.PeerID, T.ShardIndex],
  141: [T.PeerID],
  142: [T.EventID, T.Reason],
  143: [T.EventID],
  144: [T.EventID, T.Hash, T.ShardIndex],
  145: [T.EventID],
  146: [T.EventID, T.bool],
  147: [T.EventID],
  148: [T.EventID, T.PeerID],
  149: [T.PeerID],
  150: [T.EventID, T.Reason],
  151: [T.EventID],
  152: [T.EventID, T.Hash],
  153: [T.EventID],
  160: [T.EventID, T.Hash, T.Hash],
  161: [T.EventID, T.Hash, T.Hash],
  162: [T.EventID, T.PeerID, T.bool, S(tuple(T.ImportSegmentID, T.ShardIndex))],
  163: [T.PeerID, T.bool],
  164: [T.EventID, T.Reason],
  165: [T.EventID],
  166: [T.EventID, T.u16],
  167: [T.EventID],
  168: [T.EventID, S(T.ImportSegmentID), T.bool],
  169: [T.EventID, T.Reason],
  170: [T.EventID],
  171: [T.EventID, S(T.u16), T.Reason],
  172: [T.EventID, S(T.u16)],
  173: [T.EventID, T.PeerID, S(T.u16)],
  174: [T.PeerID],
  175: [T.EventID, T.Reason],
  176: [T.EventID],
  177: [T.EventID, T.u16],
  178: [T.EventID],
  190: [T.PeerID, T.ConnectionSide, T.Reason],
  191: [T.PeerID, T.ConnectionSide, T.ServiceID, T.Hash, T.u32],
  192: [T.ServiceID, T.Hash, T.u32, T.AnnouncedPreimageForgetReason],
  193: [T.PeerID, T.Hash],
  194: [T.PeerID],
  195: [T.EventID, T.Reason],
  196: [T.EventID],
  197: [T.EventID, T.Hash],
  198: [T.EventID, T.u32],
  199: [T.Hash, T.u32, T.PreimageDiscardReason],
};

/** Version 1 differs only in event 61: the Event ID of the matching event 60 instead of the Peer ID. */
export const SPEC_EVENTS_V1 = { ...SPEC_EVENTS, 61: [T.EventID, T.ConnectionSide, T.Reason] };

/** One event message's content: Timestamp ++ discriminator ++ fields; and the leaves expected. */
export function encodeEvent(disc, v, ctx = { cores: 2, version: 0 }) {
  const table = ctx.version >= 1 ? SPEC_EVENTS_V1 : SPEC_EVENTS;
  const types = table[disc];
  if (!types) throw new Error(`no spec for ${disc}`);
  const [tsBytes, [ts]] = T.Timestamp(v);
  const bytes = [...tsBytes, disc];
  const leaves = [];
  for (const t of types) {
    const [b, l] = t(v, ctx);
    bytes.push(...b);
    leaves.push(...l);
  }
  return { bytes: Uint8Array.from(bytes), timestamp: ts, leaves };
}

/** JAM parameters as the fetch host call writes them (GP 0.7.2, pvm_invocations.tex): widths in order. */
export const GP07_PARAM_WIDTHS = [8, 8, 8, 2, 4, 4, 8, 8, 8, 8, 2, 2, 2, 2, 4, 2, 2, 2, 2, 2, 2, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4];

function stringBytes(s) {
  const b = [...Buffer.from(s, 'utf8')];
  return [...encodeNatural(b.length), ...b];
}

/**
 * The node information message: version byte, JAM parameters (`paramBytes` of them; the core
 * count C is the u16 at offset 24 in both layouts), genesis hash, peer id, peer address, flags,
 * and the four Strings.
 */
export function encodeNodeInfo({ version = 0, cores = 2, paramBytes = 134, name = 'PolkaJam', implVersion = '1.0', gp = '0.7.1', note = '', flags = 1, peer = 7 } = {}) {
  const params = [];
  for (let i = 0; i < 24; i++) params.push(i + 1);
  params.push(...le(cores, 2));
  while (params.length < paramBytes) params.push(params.length & 0xff);
  const bytes = [
    version,
    ...params,
    ...Array(32).fill(0xaa),
    ...Array(32).fill(peer),
    ...ADDRS[0][0],
    ...le(40000, 2),
    ...le(flags, 4),
    ...stringBytes(name),
    ...stringBytes(implVersion),
    ...stringBytes(gp),
    ...stringBytes(note),
  ];
  return Uint8Array.from(bytes);
}

/** Flattens a decoded value into its leaves in key (= wire) order. */
export function leavesOf(x, out = []) {
  if (Array.isArray(x)) for (const y of x) leavesOf(y, out);
  else if (x !== null && typeof x === 'object') for (const k of Object.keys(x)) leavesOf(x[k], out);
  else out.push(x);
  return out;
}
