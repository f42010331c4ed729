// The streaming reader: finds the .log files (sorted: the collector's YYYY/MM/DD/HHMM.log paths
// sort in time order) and cuts each into chunks of whole lines, so memory stays flat whatever
// the input size, while lines of tens of megabytes still arrive whole.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, describeError } from './errors.js';

export interface InputFile {
  path: string;
  size: number;
}

/** Expands files and folders (recursively, `*.log`) into a sorted, de-duplicated list. */
export async function listLogFiles(paths: readonly string[]): Promise<InputFile[]> {
  const found = new Map<string, number>();
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw new ConfigError(`cannot read folder ${dir}: ${describeError(e)}`);
    }
    for (const ent of entries) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) await walk(p);
      else if (ent.name.endsWith('.log') && (ent.isFile() || ent.isSymbolicLink())) {
        const st = await stat(p).catch(() => undefined);
        if (st?.isFile()) found.set(p, st.size);
      }
    }
  }
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      throw new ConfigError(`input not found: ${p} (${(e as NodeJS.ErrnoException).code ?? describeError(e)})`);
    }
    if (st.isDirectory()) await walk(p);
    else if (st.isFile()) found.set(p, st.size);
    else throw new ConfigError(`input is neither a file nor a folder: ${p}`);
  }
  return [...found]
    .map(([path, size]) => ({ path, size }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** A run of whole lines of one file. */
export interface Chunk {
  file: string;
  /** Line number (1-based) of the first line in `data`. */
  startLine: number;
  /** Byte offset of `data` in the file. */
  startOffset: number;
  /** Whole lines, each ending in \n except possibly the file's last one. */
  data: Buffer;
  /** Lines in `data` (a last line without \n counts). */
  lines: number;
  /** Set instead of data for a line longer than maxLineBytes: its first bytes and its size. */
  overlong?: { head: Buffer; bytes: number; terminated: boolean };
}

export interface ReadOptions {
  /** Bytes read at a time; chunks are about this size. */
  chunkBytes?: number;
  /** Longest line kept whole; a longer one becomes a `line_too_long` reject. */
  maxLineBytes?: number;
  /** Where to start in the file (resume): byte offset and the line number found there. */
  start?: { offset: number; line: number };
}

export const DEFAULT_CHUNK_BYTES = 1 << 20;
export const DEFAULT_MAX_LINE_BYTES = 64 << 20;
const OVERLONG_HEAD_BYTES = 64 << 10;

function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** Streams one file as chunks of whole lines. */
export async function* readChunks(file: string, opts: ReadOptions = {}): AsyncGenerator<Chunk> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new ConfigError(`cannot open ${file}: ${describeError(e)}`);
  }
  try {
    let pos = opts.start?.offset ?? 0;
    let line = opts.start?.line ?? 1;
    // The line still looking for its \n: its pieces, size and start; once it is longer than
    // maxLine only its head is kept and the rest is counted.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let pendingStart = pos;
    let overlongHead: Buffer | undefined;
    const addPending = (piece: Buffer): void => {
      pendingBytes += piece.length;
      if (overlongHead) return;
      pending.push(piece);
      if (pendingBytes > maxLine) {
        overlongHead = Buffer.concat(pending).subarray(0, OVERLONG_HEAD_BYTES);
        pending = [];
      }
    };
    const overlong = (bytes: number, terminated: boolean): Chunk => ({
      file, startLine: line, startOffset: pendingStart, data: Buffer.alloc(0), lines: 1,
      overlong: { head: overlongHead ?? Buffer.concat(pending).subarray(0, OVERLONG_HEAD_BYTES), bytes, terminated },
    });
    for (;;) {
      const buf = Buffer.allocUnsafe(chunkBytes);
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, chunkBytes, pos));
      } catch (e) {
        throw new ConfigError(`cannot read ${file}: ${describeError(e)}`);
      }
      if (n === 0) break;
      const data = buf.subarray(0, n);
      const readAt = pos;
      pos += n;
      const last = data.lastIndexOf(10);
      if (last === -1) {
        addPending(data);
        continue;
      }
      let from = 0;
      let lead: Buffer | undefined; // the pending line, completed by this read
      if (pendingBytes > 0 || overlongHead) {
        const first = data.indexOf(10);
        if (overlongHead || pendingBytes + first > maxLine) {
          yield overlong(pendingBytes + first, true);
          line += 1;
        } else {
          pending.push(data.subarray(0, first + 1));
          lead = Buffer.concat(pending);
        }
        from = first + 1;
        pending = [];
        pendingBytes = 0;
        overlongHead = undefined;
      }
      const body = data.subarray(from, last + 1);
      const out = lead ? (body.length ? Buffer.concat([lead, body]) : lead) : body;
      if (out.length > 0) {
        const lines = countLines(out);
        const startOffset = lead ? pendingStart : readAt + from;
        yield { file, startLine: line, startOffset, data: out, lines };
        line += lines;
      }
      pendingStart = readAt + last + 1;
      if (last + 1 < n) addPending(data.subarray(last + 1));
    }
    if (overlongHead) yield overlong(pendingBytes, false);
    else if (pendingBytes > 0) yield { file, startLine: line, startOffset: pendingStart, data: Buffer.concat(pending), lines: 1 };
  } finally {
    await fh.close();
  }
}
