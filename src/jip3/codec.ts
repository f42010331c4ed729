// JAM serialization (Gray Paper appendix C) as JIP-3 uses it, decoding only and strictly:
// fixed-width little-endian integers, the GP variable-length natural (C.6) for `len++` lengths,
// Options, booleans, fixed byte arrays and bounded UTF-8 Strings. Every failure is a
// DecodeError naming the byte offset inside the message and the reason, so a reject record
// can say exactly where a producer left the spec.

/** A decoding failure at `offset` (bytes from the start of the message content). */
export class DecodeError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
    /** Reject code: `truncated`, `trailing_bytes`, `bad_natural`, `string_too_long`, `invalid_utf8`, `bad_value`. */
    readonly code: DecodeErrorCode = 'bad_value',
  ) {
    super(`at byte ${offset}: ${reason}`);
  }
}

export type DecodeErrorCode = 'truncated' | 'trailing_bytes' | 'bad_natural' | 'string_too_long' | 'invalid_utf8' | 'bad_value';

/** A u64 as JSON can carry it exactly: a number up to 2^53 − 1, else its decimal digits. */
export type U64 = number | string;

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TWO32 = 2 ** 32;

/** Lower-case 0x-hex of bytes (Node's native hex: one string, no per-byte concatenation garbage). */
export function toHex(b: Uint8Array, start = 0, end = b.length): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return '0x' + buf.toString('hex', start, end);
}

/** Decoding context a message needs besides its bytes (from the connection's node information). */
export interface DecodeContext {
  /** Telemetry protocol version of the connection (0 or 1). */
  version: number;
  /** Total number of cores C, from the node's JAM parameters. */
  cores: number;
}

/** A cursor over one message's content; every read checks its bounds. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly ctx: DecodeContext = { version: 0, cores: 0 },
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
    this.hexView = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private readonly hexView: Buffer;

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): number {
    const p = this.pos;
    if (this.end - p < n) throw new DecodeError(p, `${what} needs ${n} byte(s), ${this.end - p} left`, 'truncated');
    this.pos = p + n;
    return p;
  }

  u8(what = 'u8'): number {
    return this.buf[this.need(1, what)]!;
  }

  u16(what = 'u16'): number {
    const p = this.need(2, what);
    return this.buf[p]! | (this.buf[p + 1]! << 8);
  }

  u32(what = 'u32'): number {
    const p = this.need(4, what);
    const b = this.buf;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }

  /** u64 as a number when it is a safe integer, else as decimal digits (exact). */
  u64(what = 'u64'): U64 {
    const p = this.need(8, what);
    const b = this.buf;
    const lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
    const hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16)) + b[p + 7]! * 0x1000000;
    if (hi < 0x200000) return hi * TWO32 + lo;
    return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
  }

  /** A byte that must be 0 or 1. */
  bool(what = 'bool'): boolean {
    const p = this.pos;
    const v = this.u8(what);
    if (v > 1) throw new DecodeError(p, `${what} must be 0 or 1, got ${v}`);
    return v === 1;
  }

  /** A single-byte enumeration: its name from `names` (index = value). */
  enumByte(names: readonly string[], what: string): string {
    const p = this.pos;
    const v = this.u8(what);
    const n = names[v];
    if (n === undefined) throw new DecodeError(p, `${what} must be 0..${names.length - 1}, got ${v}`);
    return n;
  }

  /** N raw bytes (a view, not a copy). */
  bytes(n: number, what = `[u8; ${n}]`): Uint8Array {
    const p = this.need(n, what);
    return this.buf.subarray(p, p + n);
  }

  /** N bytes as 0x-hex. */
  hex(n: number, what = `[u8; ${n}]`): string {
    const p = this.need(n, what);
    return '0x' + this.hexView.toString('hex', p, p + n);
  }

  /**
   * The GP variable-length natural (C.6): a prefix byte whose leading 1 bits give the number l
   * of little-endian bytes that follow, the rest of the prefix holding the high bits; 0xff is
   * followed by a full E_8. Only the shortest encoding is the encoding of a number (E is
   * injective), so a longer one is rejected.
   */
  natural(what = 'natural'): bigint {
    const p = this.pos;
    const b0 = this.u8(what);
    if (b0 < 0x80) return BigInt(b0);
    if (b0 === 0xff) {
      const q = this.need(8, what);
      let x = 0n;
      for (let i = 7; i >= 0; i--) x = (x << 8n) | BigInt(this.buf[q + i]!);
      if (x < 1n << 56n) throw new DecodeError(p, `${what}: non-canonical natural (${x} fits in fewer bytes)`, 'bad_natural');
      return x;
    }
    let l = 1;
    while (b0 & (0x80 >> l)) l++;
    const q = this.need(l, what);
    let low = 0n;
    for (let i = l - 1; i >= 0; i--) low = (low << 8n) | BigInt(this.buf[q + i]!);
    const high = BigInt(b0 & (0xff >> (l + 1)));
    const x = (high << BigInt(8 * l)) | low;
    if (x < 1n << BigInt(7 * l)) throw new DecodeError(p, `${what}: non-canonical natural (${x} fits in fewer bytes)`, 'bad_natural');
    return x;
  }

  /**
   * A `len++` length: a natural that must also be at most `max` and not promise more elements
   * than the bytes left could hold (`minElementBytes` each), so a bad length fails here, at its
   * own offset, instead of as an allocation or a confusing truncation later.
   */
  length(what: string, minElementBytes: number, max = Number.MAX_SAFE_INTEGER): number {
    const p = this.pos;
    const b0 = p < this.end ? this.buf[p]! : 0xff;
    let n: number;
    if (b0 < 0x80) {
      this.pos = p + 1;
      n = b0;
    } else {
      const x = this.natural(`${what} length`);
      if (x > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(p, `${what} length ${x} is impossibly large`, 'truncated');
      n = Number(x);
    }
    if (n > max) throw new DecodeError(p, `${what} has ${n} elements, more than its limit ${max}`, 'string_too_long');
    if (minElementBytes > 0 && n * minElementBytes > this.remaining) {
      throw new DecodeError(p, `${what} length ${n} needs at least ${n * minElementBytes} byte(s), ${this.remaining} left`, 'truncated');
    }
    return n;
  }

  /** String<N>: len++[u8], at most N bytes, valid UTF-8. */
  string(max: number, what = `String<${max}>`): string {
    const p = this.pos;
    const n = this.length(what, 1);
    if (n > max) throw new DecodeError(p, `${what} of ${n} bytes is longer than its limit ${max}`, 'string_too_long');
    const q = this.need(n, what);
    try {
      return UTF8.decode(this.buf.subarray(q, q + n));
    } catch {
      throw new DecodeError(q, `${what} is not valid UTF-8`, 'invalid_utf8');
    }
  }

  /** Option<T>: 0, or 1 then T. */
  option<T>(inner: (r: Reader) => T, what = 'Option'): T | null {
    const p = this.pos;
    const tag = this.u8(what);
    if (tag === 0) return null;
    if (tag === 1) return inner(this);
    throw new DecodeError(p, `${what} tag must be 0 or 1, got ${tag}`);
  }

  /** len++[T]. */
  seq<T>(inner: (r: Reader) => T, what: string, minElementBytes: number, max?: number): T[] {
    const n = this.length(what, minElementBytes, max);
    const out: T[] = []; // packed (see guaranteesByCore)
    for (let i = 0; i < n; i++) out.push(inner(this));
    return out;
  }

  /** Fails unless every byte of the message was used. */
  finish(): void {
    if (this.pos !== this.end) {
      throw new DecodeError(this.pos, `${this.end - this.pos} byte(s) left over after the last field`, 'trailing_bytes');
    }
  }
}

/** IPv6 address bytes in the usual text form (longest zero run shortened; IPv4-mapped as a.b.c.d). */
export function formatIpv6(b: Uint8Array): string {
  let mapped = true;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) mapped = false;
  if (mapped && b[10] === 0xff && b[11] === 0xff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const h = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return h(g);
  return `${h(g.slice(0, bestStart))}::${h(g.slice(bestStart + bestLen))}`;
}
