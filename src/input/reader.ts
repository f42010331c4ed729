// The streaming reader: cuts each input file into chunks of whole lines, so memory stays flat whatever
// the input size, while lines of tens of megabytes still arrive whole.
import { close as fsClose, open as fsOpen, read as fsRead } from 'node:fs';
import { open } from 'node:fs/promises';
import { ConfigError, describeError } from '../errors.js';

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
  /**
   * True when nothing but `data` uses its ArrayBuffer any more (not Node's shared pool, and the
   * reader keeps no view of it): a consumer may transfer it to another thread instead of copying.
   */
  owned?: boolean;
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

/** Number of \n in buf. */
export function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/** Streams one file as chunks of whole lines. */
export async function* readChunks(file: string, opts: ReadOptions = {}): AsyncGenerator<Chunk> {
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  // Lines are measured only where they cross a read; reads no longer than the limit make every
  // over-long line cross one.
  const chunkBytes = Math.min(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, maxLine);
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw new ConfigError(`cannot open ${file}: ${describeError(e)}`);
  }
  // The next read is always under way while the consumer works on the current chunk, so reading
  // overlaps converting. Every read gets a buffer of its own (a chunk's bytes stay valid however
  // long the consumer keeps them), and a short unfinished line is copied to the front of the next
  // buffer before the read lands behind it: the lines that straddle two reads cost one small copy
  // instead of concatenating the whole chunk.
  let inflight: Promise<{ buf: Buffer; pre: number; n: number }> | undefined;
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
    // Whether a chunk may be transferred (see Chunk.owned): a buffer of a read, once no pending
    // piece is a view of it; a joined buffer, unless it came from the shared pool.
    const readBufOwned = (b: Buffer): boolean => !pending.some((p) => p.buffer === b.buffer);
    const joinedOwned = (b: Buffer): boolean => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
    const startRead = (): void => {
      // Only a short pending line is copied ahead (a long one would be copied again and again);
      // a long one stays in pieces, joined once when its \n arrives.
      const pre = !overlongHead && pendingBytes > 0 && pendingBytes <= chunkBytes ? pendingBytes : 0;
      // Never from the shared pool, so a chunk's ArrayBuffer can be handed to a worker thread.
      const buf = Buffer.allocUnsafeSlow(pre + chunkBytes);
      if (pre > 0) {
        let o = 0;
        for (const p of pending) o += p.copy(buf, o);
        // From here on the pending line lives in the new buffer only.
        pending = [buf.subarray(0, pre)];
      }
      const at = pos;
      const p = fh!.read(buf, pre, chunkBytes, at).then(
        ({ bytesRead }) => ({ buf, pre, n: bytesRead }),
        (e: unknown) => {
          throw new ConfigError(`cannot read ${file}: ${describeError(e)}`);
        },
      );
      // Awaited below; this only keeps an abandoned read's failure from being unhandled.
      p.catch(() => {});
      inflight = p;
    };
    // A line longer than one read: rather than gathering it read by read and joining the pieces
    // (twice its size at once, and as much garbage), look ahead for its \n with one reused buffer,
    // then read the rest of it once into a buffer of its exact size. Undefined when it is longer
    // than maxLine: the reads above then keep its head and count the rest.
    let scratch: Buffer | undefined;
    let lookedAhead = -1; // the start of the last line looked ahead for (not again: over-long or unterminated)
    const readLongLine = async (): Promise<Chunk | undefined> => {
      lookedAhead = pendingStart;
      scratch ??= Buffer.allocUnsafeSlow(chunkBytes);
      const from = pos;
      const room = maxLine - pendingBytes;
      let at = from;
      let end = -1;
      for (;;) {
        const { bytesRead } = await fh!.read(scratch, 0, scratch.length, at);
        if (bytesRead === 0) break;
        const i = scratch.subarray(0, bytesRead).indexOf(10);
        if (i !== -1) {
          end = at + i + 1;
          break;
        }
        at += bytesRead;
        if (at - from > room) return undefined;
      }
      // A last line without its \n (a collector may still be writing it) is left to the reads
      // above, which give it out only once the file has ended, as the file's last chunk.
      if (end === -1 || end - from - 1 > room) return undefined;
      const data = Buffer.allocUnsafeSlow(pendingBytes + (end - from));
      let o = 0;
      for (const p of pending) o += p.copy(data, o);
      while (o < data.length) {
        const { bytesRead } = await fh!.read(data, o, data.length - o, from + o - pendingBytes);
        if (bytesRead === 0) throw new ConfigError(`${file} became shorter while it was read`);
        o += bytesRead;
      }
      const c: Chunk = { file, startLine: line, startOffset: pendingStart, data, lines: 1, owned: true };
      pos = end;
      pending = [];
      pendingBytes = 0;
      pendingStart = end;
      return c;
    };
    startRead();
    for (;;) {
      const { buf, pre, n } = await inflight!;
      inflight = undefined;
      if (n === 0) break;
      const data = buf.subarray(pre, pre + n);
      const readAt = pos;
      pos += n;
      const last = data.lastIndexOf(10);
      if (last === -1) {
        if (pre > 0) {
          // The pending line and this read are already side by side in buf.
          pending = [];
          pendingBytes = 0;
          addPending(buf.subarray(0, pre + n));
        } else {
          addPending(data);
        }
        const whole = !overlongHead && pendingBytes > chunkBytes && lookedAhead !== pendingStart ? await readLongLine() : undefined;
        startRead();
        if (whole) {
          yield whole;
          line += 1;
        }
        continue;
      }
      let from = 0;
      let lead: Buffer | undefined; // the pending line, completed by this read
      let leadInBuf = false; // ... and already in front of data in buf
      if (pendingBytes > 0 || overlongHead) {
        const first = data.indexOf(10);
        if (overlongHead || pendingBytes + first > maxLine) {
          const c = overlong(pendingBytes + first, true);
          from = first + 1;
          pending = [];
          pendingBytes = 0;
          overlongHead = undefined;
          const body = data.subarray(from, last + 1);
          const tail = data.subarray(last + 1);
          pendingStart = readAt + last + 1;
          if (tail.length > 0) addPending(tail);
          startRead();
          yield c;
          line += 1;
          if (body.length > 0) {
            const lines = countLines(body);
            yield { file, startLine: line, startOffset: readAt + from, data: body, lines, owned: readBufOwned(buf) };
            line += lines;
          }
          continue;
        }
        if (pre > 0) leadInBuf = true;
        else {
          pending.push(data.subarray(0, first + 1));
          lead = Buffer.concat(pending);
        }
        from = first + 1;
        pending = [];
        pendingBytes = 0;
        overlongHead = undefined;
      }
      let out: Buffer;
      let startOffset: number;
      if (leadInBuf) {
        out = buf.subarray(0, pre + last + 1);
        startOffset = pendingStart;
      } else if (lead) {
        // A long line joined from pieces goes out as a chunk of its own: the body after it is
        // not copied again.
        out = lead;
        startOffset = pendingStart;
      } else {
        out = data.subarray(from, last + 1);
        startOffset = readAt + from;
      }
      const body = lead ? data.subarray(from, last + 1) : undefined;
      pendingStart = readAt + last + 1;
      if (last + 1 < n) addPending(data.subarray(last + 1));
      startRead();
      if (out.length > 0) {
        const lines = countLines(out);
        yield { file, startLine: line, startOffset, data: out, lines, owned: lead ? joinedOwned(lead) : readBufOwned(buf) };
        line += lines;
      }
      if (body && body.length > 0) {
        const lines = countLines(body);
        yield { file, startLine: line, startOffset: readAt + from, data: body, lines, owned: readBufOwned(buf) };
        line += lines;
      }
    }
    if (overlongHead) yield overlong(pendingBytes, false);
    else if (pendingBytes > 0) {
      const data = Buffer.concat(pending);
      yield { file, startLine: line, startOffset: pendingStart, data, lines: 1, owned: joinedOwned(data) };
    }
  } finally {
    // Never close the file under a read that is still running.
    if (inflight) await inflight.catch(() => {});
    await fh.close();
  }
}

/** A file for readFiles: its path, its size when known (from the listing), where to start. */
export interface FileToRead {
  path: string;
  size?: number;
  start?: { offset: number; line: number };
}

// How far readFiles runs ahead: at most this many files beyond the current one, and no more
// than about this many bytes of them.
const AHEAD_FILES = 8;
const AHEAD_BYTES = 4 << 20;

/**
 * A file listed shorter than one read, read whole from its start: open, one read into a buffer
 * of its listed size plus one byte, close. Undefined when the file has grown past that since it
 * was listed (the caller then reads it the ordinary way).
 */
async function readWhole(f: { path: string; size?: number }, chunkBytes: number): Promise<Buffer | undefined> {
  // The callback API: a FileHandle per file (its object, its close tracking) costs more than
  // the read of a 170 KB file from the page cache.
  const fd = await new Promise<number>((res, rej) => fsOpen(f.path, 'r', (e, d) => (e ? rej(new ConfigError(`cannot open ${f.path}: ${describeError(e)}`)) : res(d))));
  let n = 0;
  // One byte more than listed: a read that fills it means the file has grown.
  const buf = Buffer.allocUnsafeSlow(Math.min(chunkBytes, Math.max(0, f.size ?? chunkBytes) + 1));
  try {
    for (;;) {
      const r = await new Promise<number>((res, rej) => fsRead(fd, buf, n, buf.length - n, n, (e, k) => (e ? rej(new ConfigError(`cannot read ${f.path}: ${describeError(e)}`)) : res(k))));
      if (r === 0) break;
      n += r;
      if (n === buf.length) return undefined; // grown since listed
    }
  } finally {
    await new Promise<void>((res) => fsClose(fd, () => res()));
  }
  return buf.subarray(0, n);
}

/**
 * The chunks readChunks gives for a whole file's bytes `data` (from offset 0) from `start` on:
 * its whole lines, then an unterminated last line on its own. `owned` as readChunks means it:
 * the chunk is the only user of data's ArrayBuffer.
 */
export function wholeFileChunks(file: string, data: Buffer, start: { offset: number; line: number } = { offset: 0, line: 1 }, owned = true): Chunk[] {
  const out: Chunk[] = [];
  if (start.offset >= data.length) return out;
  const rest = data.subarray(start.offset);
  const last = rest.lastIndexOf(10);
  const body = rest.subarray(0, last + 1);
  const lines = body.length > 0 ? countLines(body) : 0;
  const tail = rest.subarray(last + 1);
  if (body.length > 0) out.push({ file, startLine: start.line, startOffset: start.offset, data: body, lines, owned: owned && tail.length === 0 });
  if (tail.length > 0) out.push({ file, startLine: start.line + lines, startOffset: start.offset + last + 1, data: tail, lines: 1, owned: owned && body.length === 0 });
  return out;
}

async function readSmallFile(f: FileToRead, chunkBytes: number): Promise<Chunk[] | undefined> {
  const data = await readWhole(f, chunkBytes);
  return data && wholeFileChunks(f.path, data, f.start);
}

/**
 * Reads small files whole before they are needed, for a driver that goes through a list of
 * files one after the other and does more per file than read it (identity, positions): up to
 * AHEAD_FILES files / AHEAD_BYTES beyond the one taken last are being read in the thread pool
 * while the current one is converted. One file per minute is ~170 KB; opening, reading and
 * closing each only once the previous one was done left the converting thread idle a third
 * of the time.
 */
export class ReadAhead {
  private readonly queue: { path: string; size: number }[] = [];
  private readonly reads = new Map<string, { p: Promise<Buffer | undefined>; cost: number; at: number }>();
  private next = 0;
  private bytes = 0;
  private readonly chunkBytes: number;

  constructor(files: readonly { path: string; size: number }[], opts: Omit<ReadOptions, 'start'> = {}) {
    this.chunkBytes = Math.min(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    for (const f of files) this.queue.push(f);
    this.fill();
  }

  private fill(): void {
    while (this.next < this.queue.length && this.reads.size < AHEAD_FILES && (this.reads.size === 0 || this.bytes < AHEAD_BYTES)) {
      const f = this.queue[this.next++]!;
      if (f.size >= this.chunkBytes || f.size === 0 || this.reads.has(f.path)) continue;
      const p = readWhole(f, this.chunkBytes);
      p.catch(() => {}); // a failure is the ordinary path's to report, when the file is reached
      this.reads.set(f.path, { p, cost: f.size, at: this.next - 1 });
      this.bytes += f.size;
    }
  }

  /**
   * The whole file as read ahead (its bytes from offset 0), or undefined: not read ahead (large,
   * empty, or not in the list), grown since listed, or failed (the caller reads it the ordinary
   * way, which reports the failure). Each file is given once.
   */
  async take(path: string): Promise<Buffer | undefined> {
    const r = this.reads.get(path);
    if (!r) return undefined;
    // Files before this one that were not taken (skipped by the caller) leave the window.
    for (const [p, o] of this.reads) {
      if (o.at > r.at) continue;
      this.reads.delete(p);
      this.bytes -= o.cost;
    }
    this.fill();
    try {
      return await r.p;
    } catch {
      return undefined;
    }
  }

  /** Waits for the reads still under way (their files are closed) and forgets them. */
  async close(): Promise<void> {
    this.next = this.queue.length;
    const left = [...this.reads.values()];
    this.reads.clear();
    await Promise.all(left.map((r) => r.p.catch(() => {})));
  }
}

/**
 * Every file's chunks, file after file, with the next files already being read while the
 * current one is consumed: one file per minute is ~170 KB, and opening, reading and closing each
 * only when the previous one was done left the converting thread idle a third of the time. A
 * file listed shorter than one read is read whole (readSmallFile: one buffer of its size, where
 * readChunks takes two of the read size); of a larger one, the first chunk is read ahead.
 * Errors surface in file order, when the file they belong to is reached.
 */
export async function* readFiles(files: readonly FileToRead[], opts: Omit<ReadOptions, 'start'> = {}): AsyncGenerator<Chunk> {
  const maxLine = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const chunkBytes = Math.min(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES, maxLine);
  const readOpts = (f: FileToRead): ReadOptions => (f.start ? { ...opts, start: f.start } : opts);
  interface Ahead {
    f: FileToRead;
    cost: number;
    whole?: Promise<Chunk[] | undefined>;
    gen?: AsyncGenerator<Chunk>;
    first?: Promise<IteratorResult<Chunk>>;
  }
  const ahead: Ahead[] = [];
  let next = 0;
  let aheadBytes = 0;
  const fill = (): void => {
    while (next < files.length && ahead.length <= AHEAD_FILES && (ahead.length <= 1 || aheadBytes < AHEAD_BYTES)) {
      const f = files[next++]!;
      const a: Ahead = { f, cost: 0 };
      if (f.size !== undefined && f.size < chunkBytes) {
        a.cost = f.size;
        a.whole = readSmallFile(f, chunkBytes);
        a.whole.catch(() => {}); // awaited in order below
      } else {
        a.cost = 2 * chunkBytes;
        a.gen = readChunks(f.path, readOpts(f));
        a.first = a.gen.next();
        a.first.catch(() => {});
      }
      aheadBytes += a.cost;
      ahead.push(a);
    }
  };
  try {
    fill();
    while (ahead.length > 0) {
      const cur = ahead[0]!;
      const whole = cur.whole ? await cur.whole : undefined;
      if (whole) {
        ahead.shift();
        aheadBytes -= cur.cost;
        fill();
        for (const c of whole) yield c;
        continue;
      }
      if (!cur.gen) {
        cur.gen = readChunks(cur.f.path, readOpts(cur.f));
        cur.first = cur.gen.next();
      }
      for (let r = await cur.first!; !r.done; r = await cur.gen.next()) yield r.value;
      ahead.shift();
      aheadBytes -= cur.cost;
      fill();
    }
  } finally {
    // Files read ahead and not reached (an error, or the consumer stopped): let their reads end
    // and close them.
    for (const a of ahead) {
      await a.whole?.catch(() => {});
      if (a.gen) {
        await a.first!.catch(() => {});
        await a.gen.return(undefined).catch(() => {});
      }
    }
  }
}
