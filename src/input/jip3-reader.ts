// The JIP-3 capture reader: cuts a .jip3 file (src/jip3/capture.ts) into chunks of whole
// records, each with the node information its connections need, so a chunk decodes on its own
// (inline or on any worker) and a resume from any record boundary decodes exactly as a full run.
import { open, type FileHandle } from 'node:fs/promises';
import { ConfigError, describeError } from '../errors.js';
import { checkFileHeader, FILE_HEADER_BYTES, readRecordHeader, RECORD_HEADER_BYTES, RecordKind } from '../jip3/capture.js';
import type { Chunk } from './reader.js';

export interface Jip3Chunk extends Chunk {
  kind: 'jip3';
  /**
   * Node-information records (kinds 1/2) seen before this chunk for connections that have records
   * in it: decoding state only, they make no rows.
   */
  prelude?: Buffer;
  /** Set for the bytes after the last whole record when the file ends inside a record. */
  tail?: 'truncated' | 'bad_length' | 'bad_header';
}

export interface Jip3ReadOptions {
  chunkBytes?: number;
  /** Records longer than this are taken as a corrupt length: the rest of the file is one reject. */
  maxRecordBytes?: number;
  /** Where to start (resume): a record boundary and that record's number (1-based). */
  start?: { offset: number; line: number };
  /** `wait` leaves a partial last record for a later run (a collector is still writing it). */
  partialTail?: 'reject' | 'wait';
  /** Told the bytes left for a later run by `wait`, so the run can report them as pending. */
  onHeld?: (bytes: number) => void;
}

export function isJip3Chunk(c: Chunk): c is Jip3Chunk {
  return (c as Partial<Jip3Chunk>).kind === 'jip3';
}

export const DEFAULT_MAX_RECORD_BYTES = 64 << 20;
const TAIL_HEAD_BYTES = 64 << 10;

export async function* readJip3Chunks(file: string, opts: Jip3ReadOptions = {}): AsyncGenerator<Jip3Chunk> {
  const chunkBytes = opts.chunkBytes ?? 1 << 20;
  const maxRecord = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new ConfigError(`cannot open ${file}: ${describeError(e)}`);
  }
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(FILE_HEADER_BYTES);
    const { bytesRead } = await fh.read(head, 0, FILE_HEADER_BYTES, 0);
    const hdr = checkFileHeader(head.subarray(0, bytesRead));
    if (typeof hdr === 'string') {
      // Not a capture (or not yet a whole header): nothing in it can be framed, so the whole
      // file is one reject (said once: a resumed run is past it), never an error that stops
      // every load of the tree. An empty file holds nothing; a short header of a file a
      // collector may still be writing waits for the next run.
      if (size === 0 || (opts.start?.offset ?? 0) > 0) return;
      if (bytesRead < FILE_HEADER_BYTES && opts.partialTail === 'wait') {
        opts.onHeld?.(size);
        return;
      }
      const headBytes = Buffer.allocUnsafe(Math.min(size, TAIL_HEAD_BYTES));
      await fh.read(headBytes, 0, headBytes.length, 0);
      yield { kind: 'jip3', file, startLine: 1, startOffset: 0, data: Buffer.alloc(0), lines: 1, tail: 'bad_header', overlong: { head: headBytes, bytes: size, terminated: false } };
      return;
    }
    const resumeAt = Math.max(opts.start?.offset ?? 0, hdr);
    let pos = hdr;
    let recordNo = opts.start?.line ?? 1;
    // Node information by connection, from every kind 1/2 record passed so far.
    const infos = new Map<number, Buffer>();
    let carry: Buffer = Buffer.alloc(0); // bytes of an unfinished record, at file offset pos
    while (pos + carry.length < size || carry.length > 0) {
      // A record longer than a chunk is read whole in one go.
      const want = carry.length >= RECORD_HEADER_BYTES ? Math.max(chunkBytes, RECORD_HEADER_BYTES + readRecordHeader(carry, 0).length - carry.length) : chunkBytes;
      const readAt = pos + carry.length;
      const room = Math.min(want, size - readAt);
      let data: Buffer;
      if (room > 0) {
        data = Buffer.allocUnsafeSlow(carry.length + room);
        carry.copy(data, 0);
        const { bytesRead: n } = await fh.read(data, carry.length, room, readAt);
        if (n < room) data = data.subarray(0, carry.length + n);
      } else data = carry;
      // Whole records in data.
      let o = 0;
      let records = 0;
      const conns = new Set<number>();
      let bad: 'bad_length' | undefined;
      while (o + RECORD_HEADER_BYTES <= data.length) {
        const h = readRecordHeader(data, o);
        if (h.length > maxRecord) {
          bad = 'bad_length';
          break;
        }
        const end = o + RECORD_HEADER_BYTES + h.length;
        if (end > data.length) break;
        if (pos + o >= resumeAt) {
          records++;
          conns.add(h.connection);
        } else if (h.kind === RecordKind.NodeInfo || h.kind === RecordKind.NodeInfoRepeat) {
          infos.set(h.connection, Buffer.from(data.subarray(o, end)));
        }
        o = end;
      }
      const startByte = Math.max(0, resumeAt - pos);
      if (records > 0 && o > startByte) {
        const body = data.subarray(startByte, o);
        const pre: Buffer[] = [];
        for (const c of conns) {
          const r = infos.get(c);
          if (r) pre.push(r);
        }
        const chunk: Jip3Chunk = { kind: 'jip3', file, startLine: recordNo, startOffset: pos + startByte, data: Buffer.from(body), lines: records };
        if (pre.length) chunk.prelude = Buffer.concat(pre);
        // Now the chunk's own node information counts for the chunks after it.
        for (let p = 0; p < body.length; ) {
          const h = readRecordHeader(body, p);
          const e = p + RECORD_HEADER_BYTES + h.length;
          if (h.kind === RecordKind.NodeInfo || h.kind === RecordKind.NodeInfoRepeat) infos.set(h.connection, Buffer.from(body.subarray(p, e)));
          p = e;
        }
        yield chunk;
        recordNo += records;
      }
      pos += o;
      carry = data.subarray(o);
      const atEnd = pos + carry.length >= size;
      if (bad || (atEnd && carry.length > 0 && room <= 0)) {
        // Nothing more will complete this record: the rest of the file is one reject (or, while
        // a collector may still be writing, is left for the next run).
        const rest = size - pos;
        if (!bad && opts.partialTail === 'wait') {
          opts.onHeld?.(rest);
          return;
        }
        const headBytes = Buffer.allocUnsafe(Math.min(rest, TAIL_HEAD_BYTES));
        await fh.read(headBytes, 0, headBytes.length, pos);
        if (pos >= resumeAt) yield { kind: 'jip3', file, startLine: recordNo, startOffset: pos, data: Buffer.alloc(0), lines: 1, tail: bad ?? 'truncated', overlong: { head: headBytes, bytes: rest, terminated: false } };
        return;
      }
      if (room <= 0 && carry.length === 0) break;
    }
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`cannot read ${file}: ${describeError(e)}`);
  } finally {
    await fh.close();
  }
}
