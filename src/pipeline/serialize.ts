// Turns a chunk of lines into JSONL bytes per table plus reject lines: the unit of work that
// runs either inline or in a worker thread, so both give byte-identical output.
import { randomBytes } from 'node:crypto';
import { BigStrings, LAZY_LINE_BYTES } from '../telemetry/bigstrings.js';
import type { TeamMap } from '../telemetry/envelope.js';
import { LineConverter, newCounters, processChunk, type Counters } from '../telemetry/convert.js';
import type { Chunk } from '../input/reader.js';
import { TABLE_NAMES, type Row, type TableName } from '../tables/schema.js';

export interface SerializedChunk {
  /**
   * Whole JSONL lines per table, in input order; each Buffer owns its whole ArrayBuffer, except
   * for a chunk with huge lines, whose tables may come in pieces that are views of the chunk's
   * data (BigStrings#splice).
   */
  tables: [TableName, Buffer | Buffer[]][];
  rejects: Buffer;
  counters: Counters;
  /** Long strings of huge lines copied from the input instead of re-serialised (src/bigstrings.ts). */
  spliced: number;
  /** With the `rowRefs` option: per table (as `tables`), line, index in line and line end per row. */
  rowRefs?: [TableName, Float64Array][];
}

const TABLE_INDEX = new Map<TableName, number>(TABLE_NAMES.map((t, i) => [t, i]));
const EMPTY = Buffer.alloc(0);
const NL = 10;
const SEPARATOR = Buffer.from(',{"');

/**
 * The string's UTF-8 bytes in a Buffer that is the only user of its ArrayBuffer (never a slice
 * of Node's shared pool), so it can move to another thread uncopied: Buffer.from gives a string
 * of 4 KiB or more an ArrayBuffer of its own; a shorter one (from the pool) is copied out.
 */
export function ownBytes(s: string): Buffer {
  const b = Buffer.from(s);
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return b;
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}

// rowsToJsonl stringifies rows in batches of about this many characters. V8 returns a longer
// JSON.stringify result as a rope of 16 KB parts that must be flattened before it can be encoded,
// and encoding a large string costs more per byte than a small one that is still in the cache:
// one call per table per chunk spent ~40 % of its time on that; ~16 KB batches written into one
// reused buffer halve it. Batches, not rows: a call per row costs more than it saves.
const BATCH_CHARS = 16 << 10;
let scratch = Buffer.allocUnsafeSlow(2 << 20);

// Long strings (hex codec_encoded and blobs: about half of W1's output bytes) are not given to
// JSON.stringify, which checks every character for escaping at ~0.8 GB/s and whose result must
// then be encoded again: the row holds a marker while its batch is stringified, and the string
// is encoded straight into the output where the marker lands (~7 GB/s), then checked there
// (writeString). The marker is U+E002 and a per-process random nonce: no
// input can know it, so a string of the input never passes for one.
export const LONG_STRING = 256;
const MARK = `\uE002${randomBytes(8).toString('hex')}`;
const MARK_JSON = JSON.stringify(MARK);

/** Grows the scratch buffer to hold `room` bytes, keeping its first `keep`. */
function ensureScratch(room: number, keep: number): void {
  if (scratch.length >= room) return;
  const bigger = Buffer.allocUnsafeSlow(Math.max(room, scratch.length * 2));
  scratch.copy(bigger, 0, 0, keep);
  scratch = bigger;
}

// Whether scratch[a, b) (ASCII) holds no byte below 0x20 and no `\` (scratch[b] is overwritten).
// Four bytes at a time: (x - 0x20202020) & ~x & 0x80808080 is non-zero exactly when some byte
// of x is < 0x20.
function noEscapes(a: number, b: number): boolean {
  const d = scratch;
  // indexOf searches to the buffer's end: a sentinel at b stops it there.
  d[b] = 0x5c;
  if (d.indexOf(0x5c, a) < b) return false;
  let i = a;
  while (i < b && (i & 3) !== 0) if (d[i++]! < 0x20) return false;
  const w1 = b >> 2;
  if (w1 > i >> 2) {
    const words = new Uint32Array(d.buffer, d.byteOffset, w1); // scratch owns its ArrayBuffer from 0
    for (let w = i >> 2; w < w1; w++) {
      const x = words[w]!;
      if (((x - 0x20202020) & ~x & 0x80808080) !== 0) return false;
    }
    i = w1 << 2;
  }
  for (; i < b; i++) if (d[i]! < 0x20) return false;
  return true;
}

/**
 * Writes JSON.stringify(s) at `at`; returns the end. For ASCII without control characters or
 * `\`, JSON.stringify only escapes `"` (as `\"`): such a string (hex, base64, a JSON text column
 * of them) is written as it is, or with its quotes escaped by replaceAll (~4 x faster than
 * JSON.stringify and encoding its result). Anything else is JSON.stringify's.
 */
function writeString(s: string, at: number): number {
  ensureScratch(at + s.length * 3 + 2, at);
  scratch[at] = 0x22;
  const w = scratch.write(s, at + 1);
  if (w === s.length && noEscapes(at + 1, at + 1 + w)) {
    let end = at + 1 + w;
    scratch[end] = 0x22; // the closing quote, and a sentinel for indexOf
    if (scratch.indexOf(0x22, at + 1) < end) {
      const escaped = s.replaceAll('"', '\\"');
      ensureScratch(at + 2 + escaped.length, at);
      end = at + 1 + scratch.write(escaped, at + 1);
    }
    scratch[end] = 0x22;
    return end + 1;
  }
  const json = JSON.stringify(s);
  ensureScratch(at + json.length * 3, at);
  return at + scratch.write(json, at);
}

/** Writes `json` at `o` with its markers replaced by `longs`, in order; returns the end. */
function writeWithLongs(json: string, longs: readonly string[], o: number): number {
  let p = 0;
  // The markers come in the order the rows' keys were walked, which is JSON.stringify's.
  for (const l of longs) {
    const q = json.indexOf(MARK_JSON, p);
    ensureScratch(o + (q - p) * 3, o);
    o += scratch.write(json.slice(p, q), o);
    o = writeString(l, o);
    p = q + MARK_JSON.length;
  }
  ensureScratch(o + (json.length - p) * 3, o);
  return o + scratch.write(json.slice(p), o);
}

/** Moves the rows' long strings into `longs` (markers in their place); returns their length. */
function takeLongs(rows: readonly Row[], longs: string[]): number {
  let chars = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as Record<string, unknown>;
    for (const k in row) {
      const v = row[k];
      if (typeof v === 'string' && v.length >= LONG_STRING) {
        longs.push(v);
        chars += v.length;
        row[k] = MARK;
      }
    }
  }
  return chars;
}

/**
 * The JSONL of rows. `JSON.stringify(batch)` is `[` + the rows' JSON joined by `,` + `]`; the
 * batches are encoded one after the other into a reused buffer, each batch's `[` written over
 * the previous one's `]` and turned into \n. Inside a batch only the separators change to \n;
 * they are found as `,{"` followed by a key's first character. That pattern cannot occur inside
 * a string: a `"` inside one is escaped (preceded by `\`, not `{`), so that `"` would have to
 * close the string, and a closing quote is followed by `,`, `}`, `]` or `:`, never by a key's
 * first character. Rows are flat (every column is a scalar), so every `{` outside a string starts
 * a row. Long strings are encoded apart (above). Returns a Buffer of its own (it may move to
 * another thread). The rows' long strings are replaced by the marker: the rows are spent.
 */
export function rowsToJsonl(rows: readonly Row[]): Buffer {
  let end = 0; // bytes written; the last one is the latest batch's ]
  let batch = 16; // rows per batch, adapted to BATCH_CHARS
  const longs: string[] = [];
  for (let i = 0; i < rows.length; ) {
    const n = Math.min(batch, rows.length - i);
    const part = n === rows.length ? rows : rows.slice(i, i + n);
    longs.length = 0;
    const longChars = takeLongs(part, longs);
    const json = JSON.stringify(part);
    const at = i === 0 ? 0 : end - 1; // over the previous ]
    ensureScratch(at + json.length * 3 + longChars + 2 * longs.length, end);
    let o = at;
    if (longs.length === 0) o += scratch.write(json, at);
    else {
      let p = 0;
      // The markers come in the order the rows' keys were walked, which is JSON.stringify's.
      o = writeWithLongs(json, longs, o);
    }
    if (i > 0) scratch[at] = NL;
    end = o;
    const b = scratch.subarray(at, end);
    const last = b.length - 1;
    for (let k = b.indexOf(SEPARATOR); k !== -1 && k < last; k = b.indexOf(SEPARATOR, k + 3)) {
      const c = b[k + 3];
      // not , } ] :
      if (c !== 0x2c && c !== 0x7d && c !== 0x5d && c !== 0x3a) b[k] = NL;
    }
    i += n;
    batch = Math.max(1, Math.min(4096, Math.round((n * BATCH_CHARS) / json.length)));
  }
  if (end === 0) return EMPTY;
  scratch[end - 1] = NL; // the last ]
  const out = Buffer.allocUnsafeSlow(end - 1); // without the first [
  scratch.copy(out, 0, 1, end);
  // A huge table (one huge line) does not keep its size in the scratch buffer.
  if (scratch.length > 16 << 20) scratch = Buffer.allocUnsafeSlow(2 << 20);
  return out;
}

export class ChunkSerializer {
  private readonly conv: LineConverter;

  /**
   * `bigStrings: false` converts huge lines the ordinary way (with every string copy): the
   * output is the same bytes, only slower and larger in memory (the tests compare the two).
   */
  constructor(
    teams?: TeamMap,
    private readonly opts: { bigStrings?: boolean; rowRefs?: boolean } = {},
  ) {
    this.conv = new LineConverter(teams);
  }

  run(chunk: Chunk): SerializedChunk {
    // Rows are collected per table (they are fresh objects per line) and serialised at the end.
    const byTable: Row[][] = TABLE_NAMES.map(() => []);
    const rejects: string[] = [];
    const counters = newCounters();
    const refs: number[][] | undefined = this.opts.rowRefs ? TABLE_NAMES.map(() => []) : undefined;
    // A chunk that can hold a huge line: such lines skip their string copies (src/bigstrings.ts).
    const big = this.opts.bigStrings !== false && chunk.data.length >= LAZY_LINE_BYTES ? new BigStrings(chunk.data) : undefined;
    processChunk(
      chunk,
      this.conv,
      {
        accept(ref, tables, rows) {
          for (let i = 0; i < rows.length; i++) {
            const t = TABLE_INDEX.get(tables[i]!)!;
            byTable[t]!.push(rows[i]!);
            refs?.[t]!.push(ref.line, i, ref.end);
          }
        },
        reject(rec) {
          rejects.push(JSON.stringify(rec));
        },
      },
      counters,
      big,
    );
    // The converter's arrays still hold the chunk's last line; a line can be tens of megabytes.
    this.conv.release();
    const tables: [TableName, Buffer | Buffer[]][] = [];
    for (let t = 0; t < TABLE_NAMES.length; t++) {
      const rows = byTable[t]!;
      if (rows.length === 0) continue;
      const jsonl = rowsToJsonl(rows);
      tables.push([TABLE_NAMES[t]!, big?.size ? big.splice(jsonl) : jsonl]);
    }
    const out: SerializedChunk = { tables, rejects: rejects.length ? ownBytes(rejects.join('\n') + '\n') : EMPTY, counters, spliced: big?.size ?? 0 };
    if (refs) out.rowRefs = tables.map(([t]) => [t, Float64Array.from(refs[TABLE_INDEX.get(t)!]!)]);
    return out;
  }
}
