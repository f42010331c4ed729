// Huge lines (a preimage blob, a block's codec_encoded, a segment's data: tens of megabytes of
// one string) without their string copies. A line of at least LAZY_LINE_BYTES is parsed as a
// "skeleton": each long plain string in it (hex, base64: printable ASCII without escapes) is
// replaced by a short placeholder before JSON.parse, the handlers pass placeholders through like
// any other string, and the serialiser copies the original bytes back in where the placeholders
// land in the JSONL. A 32 MiB value then costs its input bytes and its output bytes, instead of
// the line's text, the parsed string, the row's JSON (a rope and its flat copy) and its bytes.
//
// This is exact because such a string needs no escaping at any depth: JSON.stringify writes it
// as it is, both as a column and inside a JSON text column (segments' data, work_items); and
// because a line only stays on this path when its rows are accepted: any reject converts the line
// again the ordinary way, so reject reasons are the same too. Code that looks inside a string
// (the envelope's time, metadata, team and sender; a preimage's hex blob) gets the real bytes.
import { randomBytes } from 'node:crypto';
import { isAscii } from 'node:buffer';

/** Lines at least this long are parsed as skeletons. */
export const LAZY_LINE_BYTES = 1 << 20;
/** Strings at least this long (in bytes, without quotes) become placeholders. */
export const MIN_STRING_BYTES = 4096;

// A placeholder is U+E000, a per-process random nonce, the span's number and U+E001. The nonce
// makes it unforgeable: a line that happens to contain U+E000 (raw or as \ue000) is not mistaken
// for one, since it cannot know this run's nonce.
const NONCE = randomBytes(8).toString('hex');
const OPEN = `\uE000${NONCE}:`;
const CLOSE = '\uE001';
const OPEN_BYTES = Buffer.from(OPEN);
const CLOSE_BYTES = Buffer.from(CLOSE);

/** The long strings taken out of the lines of one chunk: byte ranges of `data`, without quotes. */
export class BigStrings {
  readonly starts: number[] = [];
  readonly ends: number[] = [];

  constructor(readonly data: Buffer) {}

  get size(): number {
    return this.starts.length;
  }

  /** The span number of a placeholder, or -1 for any other value. */
  indexOf(v: unknown): number {
    if (typeof v !== 'string' || v.charCodeAt(0) !== 0xe000 || !v.startsWith(OPEN) || v.charCodeAt(v.length - 1) !== 0xe001) return -1;
    const n = Number(v.slice(OPEN.length, -1));
    return Number.isInteger(n) && n >= 0 && n < this.starts.length ? n : -1;
  }

  /** The original bytes (between the quotes) of a placeholder; undefined for any other value. */
  bytesOf(v: unknown): Buffer | undefined {
    const i = this.indexOf(v);
    return i < 0 ? undefined : this.data.subarray(this.starts[i], this.ends[i]);
  }

  /** The original string of a placeholder (printable ASCII, so latin1 is exact); else v itself. */
  resolve(v: unknown): unknown {
    const i = this.indexOf(v);
    return i < 0 ? v : this.data.toString('latin1', this.starts[i], this.ends[i]);
  }

  /**
   * The text of `data[s, e)` with every long plain string value replaced by a placeholder, or
   * undefined when it has none. Keys stay as they are. Anything unusual (an escape, a control or
   * non-ASCII byte in a long string, an unterminated string) leaves that string in place; the
   * placeholders never change whether the line is valid JSON: a plain string is swapped for
   * another plain string.
   */
  skeleton(s: number, e: number): string | undefined {
    const d = this.data;
    const first = this.starts.length;
    let i = s;
    while (i < e) {
      if (d[i] !== 0x22) {
        i++;
        continue;
      }
      // A string opens at i. Short ones (keys, hashes, numbers as text) are walked here.
      const limit = Math.min(e, i + 1 + MIN_STRING_BYTES);
      let j = i + 1;
      let close = -1;
      let escaped = false;
      for (; j < limit; j++) {
        const c = d[j];
        if (c === 0x22) {
          close = j;
          break;
        }
        if (c === 0x5c) {
          escaped = true;
          break;
        }
      }
      if (close >= 0) {
        i = close + 1;
        continue;
      }
      if (!escaped) {
        const q = d.indexOf(0x22, limit);
        if (q === -1 || q >= e) break; // unterminated: JSON.parse will say so
        const body = d.subarray(i + 1, q);
        if (body.indexOf(0x5c) === -1 && isAscii(body) && !hasControl(d, i + 1, q) && !isKey(d, q + 1, e)) {
          this.starts.push(i + 1);
          this.ends.push(q);
          i = q + 1;
          continue;
        }
      }
      // A string with escapes (or odd bytes): walked to its real end and left as it is.
      for (j = i + 1; j < e; j++) {
        const c = d[j];
        if (c === 0x5c) j++;
        else if (c === 0x22) break;
      }
      i = j + 1;
    }
    if (this.starts.length === first) return undefined;
    // The text between placeholders is decoded as UTF-8 (it may hold any text).
    const out: string[] = [];
    let last = s;
    for (let k = first; k < this.starts.length; k++) {
      out.push(d.toString('utf8', last, this.starts[k]), OPEN + k + CLOSE);
      last = this.ends[k]!;
    }
    out.push(d.toString('utf8', last, e));
    return out.join('');
  }

  /** Forgets the spans taken from a line from `first` on (the line is converted again in full). */
  truncate(first: number): void {
    this.starts.length = first;
    this.ends.length = first;
  }

  /**
   * `out` (JSONL bytes) with every placeholder of this chunk replaced by its original bytes, as
   * pieces to be written one after the other: the long strings are not copied again, the pieces
   * are views of `out` and of the chunk's data (which must stay unchanged until written).
   */
  splice(out: Buffer): Buffer[] {
    const pieces: Buffer[] = [];
    let last = 0;
    for (let at = out.indexOf(OPEN_BYTES); at !== -1; ) {
      let k = at + OPEN_BYTES.length;
      let n = 0;
      let digits = 0;
      while (k < out.length && out[k]! >= 0x30 && out[k]! <= 0x39) {
        n = n * 10 + out[k]! - 0x30;
        k++;
        digits++;
      }
      if (digits > 0 && n < this.starts.length && out.compare(CLOSE_BYTES, 0, CLOSE_BYTES.length, k, k + CLOSE_BYTES.length) === 0) {
        pieces.push(out.subarray(last, at), this.data.subarray(this.starts[n], this.ends[n]));
        last = k + CLOSE_BYTES.length;
      }
      at = out.indexOf(OPEN_BYTES, k);
    }
    pieces.push(out.subarray(last));
    return pieces;
  }
}

// Whether data[a, b) holds a byte below 0x20 (the bytes are ASCII: checked before), four at a
// time: (x - 0x20202020) & ~x & 0x80808080 is non-zero exactly when some byte of x is < 0x20.
function hasControl(d: Buffer, a: number, b: number): boolean {
  let i = a;
  const off = d.byteOffset;
  while (i < b && ((off + i) & 3) !== 0) if (d[i++]! < 0x20) return true;
  const w1 = (off + b) >> 2;
  if (w1 > (off + i) >> 2) {
    const words = new Uint32Array(d.buffer, 0, w1);
    for (let w = (off + i) >> 2; w < w1; w++) {
      const x = words[w]!;
      if (((x - 0x20202020) & ~x & 0x80808080) !== 0) return true;
    }
    i = (w1 << 2) - off;
  }
  for (; i < b; i++) if (d[i]! < 0x20) return true;
  return false;
}

// Whether the string that ended before `i` is an object key (followed by a colon).
function isKey(d: Buffer, i: number, e: number): boolean {
  while (i < e && (d[i] === 0x20 || d[i] === 0x09 || d[i] === 0x0a || d[i] === 0x0d)) i++;
  return i < e && d[i] === 0x3a;
}
