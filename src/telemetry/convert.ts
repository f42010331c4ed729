// The per-line pipeline: bytes -> UTF-8 text -> JSON -> envelope -> handler -> rows -> schema
// check. A line becomes either all of its rows or exactly one reject, never a part of them.
import { isUtf8 } from 'node:buffer';
import { LAZY_LINE_BYTES, type BigStrings } from './bigstrings.js';
import { readEnvelope, parseMsgType, type TeamMap } from './envelope.js';
import { handlerFor } from './handlers/index.js';
import type { Chunk } from '../input/reader.js';
import { RejectError, type RejectCode, type RejectRecord } from '../pipeline/rejects.js';
import { describeValidationError, rowValidators, TABLE_NAMES, type Row, type RowValidator, type TableName } from '../tables/schema.js';
import { rangeOf } from '../tables/ranges.js';
import { findLoneSurrogate, isUnsafeInteger, nestingDepth, setLineText, unsafeIntegerReject } from './numbers.js';

/** Where a line came from. */
export interface LineRef {
  file: string;
  line: number;
  /** Byte offset of the line's start, and of the next line's start. */
  offset: number;
  end: number;
}

/** Receives each non-blank line's outcome, in input order. */
export interface LineVisitor {
  /** The line's rows, all valid; `tables[i]` is the table of `rows[i]`. Arrays are reused. */
  accept(ref: LineRef, tables: readonly TableName[], rows: readonly Row[]): void;
  reject(rec: RejectRecord, ref: LineRef): void;
}

export interface Counters {
  lines: number;
  blank: number;
  /** Lines that became rows. */
  rowLines: number;
  rejects: number;
  rows: Record<TableName, number>;
  rejectsByCode: Partial<Record<RejectCode, number>>;
  bytes: number;
}

export function newCounters(): Counters {
  const rows = {} as Record<TableName, number>;
  for (const t of TABLE_NAMES) rows[t] = 0;
  return { lines: 0, blank: 0, rowLines: 0, rejects: 0, rows, rejectsByCode: {}, bytes: 0 };
}

export function addCounters(into: Counters, c: Counters): void {
  into.lines += c.lines;
  into.blank += c.blank;
  into.rowLines += c.rowLines;
  into.rejects += c.rejects;
  into.bytes += c.bytes;
  for (const t of TABLE_NAMES) into.rows[t] += c.rows[t];
  for (const [k, v] of Object.entries(c.rejectsByCode) as [RejectCode, number][]) {
    into.rejectsByCode[k] = (into.rejectsByCode[k] ?? 0) + v;
  }
}

/** Maps one line of text to rows; throws RejectError. Reuses its output arrays. */
export class LineConverter {
  readonly tables: TableName[] = [];
  readonly rows: Row[] = [];
  // Every row goes through the ajv validator compiled once from schema/<table>.json.
  private readonly validators = rowValidators();
  private readonly emit = (table: TableName, row: Row): void => {
    this.tables.push(table);
    this.rows.push(row);
  };

  /**
   * Whether the text may hold a `\u` escape (and so a lone surrogate); processChunk clears it
   * for a chunk without any, so the common line is not looked at for them.
   */
  mayHaveEscapes = true;

  constructor(private readonly teams?: TeamMap) {}

  /** Lets go of the last line's rows (the arrays are reused; a row can hold a huge string). */
  release(): void {
    this.tables.length = 0;
    this.rows.length = 0;
  }

  /**
   * With `big`, `text` is a skeleton (src/bigstrings.ts): the envelope's own fields get their
   * real values back, json_encoded and codec_encoded keep their placeholders.
   */
  convert(text: string, big?: BigStrings): void {
    this.tables.length = 0;
    this.rows.length = 0;
    let v: unknown;
    setLineText(text);
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw tooDeep(e, text) ?? new RejectError('invalid_json', `invalid JSON: ${(e as Error).message}`);
    }
    if (this.mayHaveEscapes && text.indexOf('\\u') !== -1) {
      const where = findLoneSurrogate(v, '');
      if (where !== undefined) {
        throw new RejectError('invalid_unicode', `${where} holds a lone surrogate (a \\uD800-\\uDFFF escape without its pair): valid JSON but not Unicode; rejected rather than replaced`);
      }
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new RejectError('not_an_object', `line is JSON ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}, not an object`);
    }
    const o = v as Record<string, unknown>;
    if (big) {
      for (const k in o) if (k !== 'json_encoded' && k !== 'codec_encoded') o[k] = big.resolve(o[k]);
    }
    const msgType = parseMsgType(o.msg_type);
    const handler = handlerFor(msgType);
    if (!handler) throw new RejectError('unknown_msg_type', `unknown msg_type ${msgType}`);
    const env = readEnvelope(o, msgType, this.teams);
    if (big) env.bytesOf = (x) => big.bytesOf(x);
    handler.map(env, this.emit);
    if (this.rows.length === 0) throw new RejectError('no_rows', `msg_type ${msgType} produced no rows`);
    for (let i = 0; i < this.rows.length; i++) {
      const table = this.tables[i]!;
      const validate = this.validators.get(table)!;
      if (!validate(this.rows[i])) throw schemaReject(table, validate, this.rows[i]!);
    }
  }
}

/**
 * The reject for a row its table's validator refused: `unsafe_integer` for an integer a float
 * cannot hold (quoting the producer's digits), `out_of_range` for one outside the column's real
 * range (src/tables/ranges.ts), else `schema`.
 */
export function schemaReject(table: TableName, validate: RowValidator, row: Row): RejectError {
  const e = validate.errors?.[0];
  const col = e?.instancePath.replace(/^\//, '');
  if (e && col) {
    const v = row[col];
    if (isUnsafeInteger(v)) return unsafeIntegerReject(`${table}.${col}`, v);
    if ((e.keyword === 'minimum' || e.keyword === 'maximum') && typeof v === 'number') {
      const r = rangeOf(col);
      return new RejectError('out_of_range', `${table}.${col} ${v} is out of range: ${r.why}, ${r.min}..${r.max}`);
    }
  }
  return new RejectError('schema', describeValidationError(table, validate));
}

/** A RangeError from a value nested too deeply for the engine's stack, as a reject. */
function tooDeep(err: unknown, text: string | undefined): RejectError | undefined {
  if (!(err instanceof RangeError) || !/call stack/i.test(err.message)) return undefined;
  const depth = text === undefined ? undefined : nestingDepth(text);
  return new RejectError('too_deep', `JSON nesting ${depth === undefined ? 'is' : `of depth ${depth} is`} too deep to convert (its lists and objects must nest far less)`);
}

function isBlank(data: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const b = data[i];
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0b && b !== 0x0c) return false;
  }
  return true;
}

export function rejectOf(code: RejectCode, reason: string, ref: LineRef, raw: Buffer | string): RejectRecord {
  const rec: RejectRecord = { file: ref.file, line: ref.line, code, reason };
  if (typeof raw === 'string') rec.raw = raw;
  else rec.raw_base64 = raw.toString('base64');
  return rec;
}

/**
 * Runs every line of a chunk through the converter, in order. With `big` (whose data is the
 * chunk's), lines of LAZY_LINE_BYTES or more are parsed as skeletons: their accepted rows hold
 * placeholders that the caller must splice (BigStrings#splice) in its serialised output.
 */
export function processChunk(chunk: Chunk, conv: LineConverter, visitor: LineVisitor, counters: Counters, big?: BigStrings): void {
  const { data } = chunk;
  if (chunk.overlong) {
    const ref: LineRef = { file: chunk.file, line: chunk.startLine, offset: chunk.startOffset, end: chunk.startOffset + chunk.overlong.bytes + (chunk.overlong.terminated ? 1 : 0) };
    const rec = rejectOf('line_too_long', `line of ${chunk.overlong.bytes} bytes is longer than the limit; its first ${chunk.overlong.head.length} bytes are kept`, ref, chunk.overlong.head);
    rec.truncated_bytes = chunk.overlong.bytes;
    counters.lines++;
    counters.rejects++;
    counters.rejectsByCode.line_too_long = (counters.rejectsByCode.line_too_long ?? 0) + 1;
    counters.bytes += ref.end - ref.offset;
    visitor.reject(rec, ref);
    return;
  }
  counters.bytes += data.length;
  const allUtf8 = isUtf8(data);
  // A chunk without any `\u` has no lone surrogate: one native search instead of one per line.
  conv.mayHaveEscapes = data.indexOf('\\u') !== -1;
  let line = chunk.startLine;
  let s = 0;
  const len = data.length;
  while (s < len) {
    let nl = data.indexOf(10, s);
    if (nl === -1) nl = len;
    let e = nl;
    if (e > s && data[e - 1] === 0x0d) e--;
    const ref: LineRef = { file: chunk.file, line, offset: chunk.startOffset + s, end: chunk.startOffset + Math.min(nl + 1, len) };
    counters.lines++;
    if (isBlank(data, s, e)) {
      counters.blank++;
    } else if (!allUtf8 && !isUtf8(data.subarray(s, e))) {
      counters.rejects++;
      counters.rejectsByCode.invalid_utf8 = (counters.rejectsByCode.invalid_utf8 ?? 0) + 1;
      visitor.reject(rejectOf('invalid_utf8', 'line is not valid UTF-8', ref, data.subarray(s, e)), ref);
    } else {
      let text: string | undefined;
      let failure: RejectError | undefined;
      try {
        if (!(big && e - s >= LAZY_LINE_BYTES && lazyConvert(big, conv, s, e))) {
          text = data.toString('utf8', s, e);
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
          conv.convert(text);
        }
      } catch (err) {
        // A handler bug must not end the run or lose the line: it is a reject like any other.
        failure = err instanceof RejectError ? err : tooDeep(err, text ?? data.toString('utf8', s, e)) ?? new RejectError('internal', `internal error: ${(err as Error)?.message ?? String(err)}`);
      }
      if (failure) {
        counters.rejects++;
        counters.rejectsByCode[failure.code] = (counters.rejectsByCode[failure.code] ?? 0) + 1;
        visitor.reject(rejectOf(failure.code, failure.message, ref, text ?? data.toString('utf8', s, e)), ref);
      } else {
        counters.rowLines++;
        for (const t of conv.tables) counters.rows[t]++;
        visitor.accept(ref, conv.tables, conv.rows);
      }
    }
    line++;
    s = nl + 1;
  }
}

// A huge line as a skeleton; true when its rows were accepted. Anything else (no long strings,
// any reject) forgets its placeholders: the line is then converted the ordinary way, so rejects
// and their reasons are exactly those of the ordinary path.
function lazyConvert(big: BigStrings, conv: LineConverter, s: number, e: number): boolean {
  const first = big.size;
  try {
    let text = big.skeleton(s, e);
    if (text === undefined) return false;
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    conv.convert(text, big);
    return true;
  } catch {
    conv.release();
    big.truncate(first);
    return false;
  }
}
