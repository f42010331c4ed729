// The minute-file writer: every listener hands it whole messages; it appends each as one line to
// DIR/YYYY/MM/DD/HHMM.log of the minute it was RECEIVED (UTC), through one queue and one file
// descriptor, so two messages never interleave and a file only grows while it is the current
// minute (once the collector has moved on, a file is never written again: a `--follow` consumer
// that has passed it misses nothing). The minute never goes backwards, even if the clock does.
//
// Durability: fdatasync every `fsyncMs` (0: after every write) and before a file is closed; a
// SIGKILL or power cut loses at most the last interval. A crash can still leave a file ending in
// the middle of a line (a write cut short): `recover()` at start-up cuts that tail off and keeps
// it in DIR/_partial/ (not `*.log`, so loaders never read it), counted.
//
// Backpressure: `queuedBytes` counts what was accepted and not yet written; above `highWater` the
// writer emits 'pause' (listeners stop reading their sockets, so TCP pushes back on the senders),
// and 'resume' once it is below `lowWater`. Nothing is dropped and the queue is bounded by
// highWater plus what the sockets had already delivered.
//
// Small messages are copied into 256 KiB slabs (one syscall for thousands of them); large ones
// are written from their own buffers (writev), never copied.
import { EventEmitter } from 'node:events';
import { closeSync, fsyncSync, fdatasync, fstatSync, ftruncateSync, openSync, readSync, readdirSync, writeSync, writev, close as closeFd, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CollectorMetrics } from './metrics.js';
import { makeDirs } from '../fsutil.js';
import { SlabArena, type Slab } from './slabs.js';

const SLAB_BYTES = 256 << 10;
/** Messages up to this many bytes (LF included) are copied into slabs; longer ones are kept by reference. */
export const COPY_BELOW = 16 << 10;
const NL = Buffer.from('\n');
const MAX_IOV = 1024;
const BATCH_BYTES = 4 << 20;

export interface WriterOptions {
  dir: string;
  fsyncMs: number;
  highWaterBytes?: number;
  lowWaterBytes?: number;
  metrics?: CollectorMetrics;
  /** For tests: the clock. */
  now?: () => number;
}

export interface RecoveredPartial {
  file: string;
  bytes: number;
  keptAs: string;
}

interface Batch {
  minute: number;
  bufs: Buffer[];
  bytes: number;
  messages: number;
  /** Slabs this batch has a piece of (released to the arena once it is written). */
  slabs: Slab[];
}


function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** DIR-relative path of a minute (ms since the epoch / 60000), `YYYY/MM/DD/HHMM.log`. */
export function minutePath(minute: number): string {
  const d = new Date(minute * 60000);
  return `${d.getUTCFullYear()}/${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())}/${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}.log`;
}

export class MinuteWriter extends EventEmitter {
  readonly dir: string;
  private readonly fsyncMs: number;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly metrics: CollectorMetrics | undefined;
  private readonly clock: () => number;

  private queue: Batch[] = [];
  private cur: Batch | null = null;
  /**
   * Copy buffers for small messages. Its pool keeps enough idle slabs for everything the queue can
   * hold (highWater plus the batch being filled and the one being written): a smaller pool threw
   * slabs away on every drain and allocated fresh ones on every refill, at 8 KB messages all
   * 393 MB of a run in fresh external memory, one Mark-Compact per ~64 MB (V8's external-memory
   * trigger) and a page fault per fresh 4 KiB page.
   */
  private readonly slabs: SlabArena;
  private lastMinute = 0;

  private fd = -1;
  private fdMinute = -1;
  private fdSize = 0;
  private safeSize = 0;
  private closing: Promise<void>[] = [];
  private writing = false;
  private syncing = false;
  private dirtySinceSync = false;
  private fsyncTimer: NodeJS.Timeout | null = null;
  private idleWaiters: Array<() => void> = [];
  private madeDirs = new Set<string>();
  private failed: Error | null = null;

  queuedBytes = 0;
  paused = false;
  writtenBytes = 0;
  writtenMessages = 0;
  files = new Set<string>();

  constructor(opts: WriterOptions) {
    super();
    this.dir = opts.dir;
    this.fsyncMs = opts.fsyncMs;
    this.highWater = opts.highWaterBytes ?? 32 << 20;
    this.lowWater = opts.lowWaterBytes ?? 16 << 20;
    this.slabs = new SlabArena(SLAB_BYTES, Math.ceil((this.highWater + 2 * BATCH_BYTES) / SLAB_BYTES));
    this.metrics = opts.metrics;
    this.clock = opts.now ?? Date.now;
    if (this.fsyncMs > 0) {
      this.fsyncTimer = setInterval(() => this.periodicSync(), this.fsyncMs);
      this.fsyncTimer.unref();
    }
  }

  /**
   * Start-up: every `*.log` of the newest two day folders that does not end in LF has its
   * unterminated tail moved to DIR/_partial/YYYY-MM-DD-HHMM.<ms>.partial and is cut back to its
   * last whole line. (Only the file being written at a crash can have one.)
   */
  recover(): RecoveredPartial[] {
    makeDirs(this.dir, 'output folder');
    const found: RecoveredPartial[] = [];
    const days: string[] = [];
    const ls = (p: string) => {
      try {
        return readdirSync(p, { withFileTypes: true }).filter((e) => e.isDirectory() && /^\d+$/.test(e.name)).map((e) => e.name).sort();
      } catch {
        return [];
      }
    };
    for (const y of ls(this.dir).reverse()) {
      for (const m of ls(join(this.dir, y)).reverse()) {
        for (const d of ls(join(this.dir, y, m)).reverse()) {
          days.push(join(y, m, d));
          if (days.length >= 2) break;
        }
        if (days.length >= 2) break;
      }
      if (days.length >= 2) break;
    }
    for (const day of days) {
      let names: string[];
      try {
        names = readdirSync(join(this.dir, day)).filter((n) => n.endsWith('.log')).sort();
      } catch {
        continue;
      }
      for (const name of names) {
        const rel = join(day, name);
        const r = this.cutPartial(rel);
        if (r) found.push(r);
      }
    }
    for (const r of found) this.metrics?.partialLines.inc();
    return found;
  }

  private cutPartial(rel: string): RecoveredPartial | null {
    const file = join(this.dir, rel);
    let st: Stats;
    try {
      st = statSync(file);
    } catch {
      return null;
    }
    if (!st.isFile() || st.size === 0) return null;
    const fd = openSync(file, 'r+');
    try {
      const one = Buffer.alloc(1);
      readSync(fd, one, 0, 1, st.size - 1);
      if (one[0] === 10) return null;
      // Find the last LF, reading backwards.
      const block = Buffer.allocUnsafe(64 << 10);
      let end = st.size;
      let cut = 0;
      while (end > 0) {
        const start = Math.max(0, end - block.length);
        const n = readSync(fd, block, 0, end - start, start);
        const i = block.subarray(0, n).lastIndexOf(10);
        if (i >= 0) {
          cut = start + i + 1;
          break;
        }
        end = start;
      }
      const tailLen = st.size - cut;
      makeDirs(join(this.dir, '_partial'), 'output folder');
      const keptAs = join(this.dir, '_partial', `${rel.replace(/\.log$/, '').split(/[\\/]/).join('-')}.${Date.now()}.partial`);
      const out = openSync(keptAs, 'wx');
      try {
        const buf = Buffer.allocUnsafe(Math.min(tailLen, 1 << 20));
        let off = cut;
        while (off < st.size) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, st.size - off), off);
          if (n <= 0) break;
          writeSync(out, buf, 0, n);
          off += n;
        }
        fsyncSync(out);
      } finally {
        closeSync(out);
      }
      ftruncateSync(fd, cut);
      return { file, bytes: tailLen, keptAs };
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Queues one message, the text buf[start, end) (the writer adds LF; a small one is copied now,
   * a large one is kept by reference until written). `now` is the receive time (ms).
   */
  writeLine(buf: Buffer, now: number = this.clock(), start = 0, end = buf.length): void {
    let minute = Math.floor(now / 60000);
    if (minute < this.lastMinute) minute = this.lastMinute;
    this.lastMinute = minute;
    let b = this.cur;
    // Batches of at most BATCH_BYTES: the queue drains (and paused sockets resume) batch by
    // batch, so reading overlaps writing instead of waiting for one huge write.
    if (b === null || b.minute !== minute || b.bytes >= BATCH_BYTES) {
      if (b !== null) this.seal();
      b = this.cur = { minute, bufs: [], bytes: 0, messages: 0, slabs: [] };
    }
    const len = end - start + 1;
    if (len <= COPY_BELOW) {
      const sl = this.slabs;
      if (!sl.fits(len)) {
        this.flushSlab(b);
        sl.renew(len);
      }
      buf.copy(sl.buf, sl.off, start, end);
      sl.off += len - 1;
      sl.buf[sl.off++] = 10;
    } else {
      this.flushSlab(b);
      b.bufs.push(start === 0 && end === buf.length ? buf : buf.subarray(start, end), NL);
    }
    b.bytes += len;
    b.messages++;
    this.queuedBytes += len;
    if (!this.paused && this.queuedBytes > this.highWater) {
      this.paused = true;
      this.metrics?.pauses.inc();
      this.emit('pause');
    }
    if (!this.writing) queueMicrotask(() => this.pump());
  }

  private flushSlab(b: Batch): void {
    const p = this.slabs.take();
    if (p !== null) {
      b.bufs.push(p.buf);
      b.slabs.push(p.slab);
    }
  }

  private seal(): void {
    const b = this.cur;
    if (b === null) return;
    this.flushSlab(b);
    if (b.bufs.length > 0) this.queue.push(b);
    this.cur = null;
  }

  private pump(): void {
    if (this.writing) return;
    if (this.queue.length === 0) this.seal();
    const b = this.queue.shift();
    if (b === undefined) {
      this.wakeIdle();
      return;
    }
    this.writing = true;
    try {
      this.ensureFile(b.minute);
    } catch (e) {
      this.writeFailed(b, e as Error);
      return;
    }
    this.writeBatch(b);
  }

  /**
   * Writes b.bufs in writev calls of at most MAX_IOV buffers, each ending at a line boundary
   * (every buffer ends in LF except a large message, which is always followed by NL). A chunk
   * written whole is removed from b.bufs and `safeSize` advances, so after a failure the file is
   * cut back to `safeSize` (a whole line) and the batch goes on from the chunk that failed.
   */
  private writeBatch(b: Batch): void {
    if (b.bufs.length === 0) {
      this.batchDone(b);
      return;
    }
    let to = Math.min(b.bufs.length, MAX_IOV);
    const lastBuf = b.bufs[to - 1]!;
    if (lastBuf[lastBuf.length - 1] !== 10 && to > 1) to--;
    const chunk = b.bufs.slice(0, to);
    const go = (bufs: Buffer[]) => {
      let len = 0;
      for (const x of bufs) len += x.length;
      writev(this.fd, bufs, (err, n) => {
        if (err) {
          this.writeFailed(b, err);
          return;
        }
        this.fdSize += n;
        if (n < len) {
          // A short write: the rest of this chunk.
          let skip = n;
          const rest: Buffer[] = [];
          for (const x of bufs) {
            if (skip >= x.length) skip -= x.length;
            else {
              rest.push(skip > 0 ? x.subarray(skip) : x);
              skip = 0;
            }
          }
          go(rest);
          return;
        }
        this.safeSize = this.fdSize;
        b.bufs.splice(0, to);
        this.writeBatch(b);
      });
    };
    go(chunk);
  }

  private batchDone(b: Batch): void {
    for (const sl of b.slabs) this.slabs.release(sl);
    b.slabs = [];
    this.dirtySinceSync = true;
    this.writtenBytes += b.bytes;
    this.writtenMessages += b.messages;
    this.metrics?.writtenBytes.inc(b.bytes);
    this.metrics?.writtenMessages.inc(b.messages);
    this.queuedBytes -= b.bytes;
    this.writing = false;
    if (this.fsyncMs === 0) {
      this.syncNow().then(() => this.afterWrite(), (e: Error) => this.fail(e));
      this.writing = true; // hold the queue while syncing
      return;
    }
    this.afterWrite();
  }

  private afterWrite(): void {
    this.writing = false;
    if (this.paused && this.queuedBytes <= this.lowWater) {
      this.paused = false;
      this.emit('resume');
    }
    this.pump();
  }

  private writeFailed(b: Batch, e: Error): void {
    // Cut the file back to its last whole line (nothing partial stays), keep the batch, retry.
    this.metrics?.writeErrors.inc();
    this.emit('warn', `write to ${this.dir}/${minutePath(b.minute)} failed (${(e as NodeJS.ErrnoException).code ?? e.message}); retrying in 1 s`);
    try {
      if (this.fd >= 0) {
        const size = fstatSync(this.fd).size;
        if (size !== this.safeSize) ftruncateSync(this.fd, this.safeSize);
        this.fdSize = this.safeSize;
      }
    } catch {
      // The next attempt reopens the file.
      this.closeFd();
    }
    this.queue.unshift(b);
    setTimeout(() => {
      this.writing = false;
      this.pump();
    }, 1000).unref();
  }

  private fail(e: Error): void {
    this.failed = e;
    this.emit('error', e);
  }

  private ensureFile(minute: number): void {
    if (this.fd >= 0 && this.fdMinute === minute) return;
    if (this.fd >= 0) this.closeFd(true);
    const rel = minutePath(minute);
    const file = join(this.dir, rel);
    const dir = file.slice(0, file.lastIndexOf('/'));
    if (!this.madeDirs.has(dir)) {
      makeDirs(dir, 'output folder');
      this.madeDirs.add(dir);
    }
    this.fd = openSync(file, 'a');
    this.fdMinute = minute;
    this.fdSize = this.safeSize = fstatSync(this.fd).size;
    this.files.add(file);
  }

  private closeFd(sync = false): void {
    const fd = this.fd;
    if (fd < 0) return;
    this.fd = -1;
    this.fdMinute = -1;
    const t0 = performance.now();
    // The file of a minute that has passed: synced before it is closed (it is never written again).
    const p = new Promise<void>((resolve) => {
      if (sync && this.dirtySinceSync) {
        fdatasync(fd, (err) => {
          this.metrics?.fsyncSeconds.observe((performance.now() - t0) / 1000);
          if (err) this.emit('warn', `fdatasync failed: ${err.message}`);
          closeFd(fd, () => resolve());
        });
      } else closeFd(fd, () => resolve());
    });
    this.closing.push(p);
    void p.then(() => {
      this.closing = this.closing.filter((x) => x !== p);
    });
    this.dirtySinceSync = false;
  }

  private periodicSync(): void {
    if (!this.dirtySinceSync || this.syncing || this.fd < 0) return;
    void this.syncNow().catch((e: Error) => this.emit('warn', `fdatasync failed: ${e.message}`));
  }

  private syncNow(): Promise<void> {
    const fd = this.fd;
    if (fd < 0 || !this.dirtySinceSync) return Promise.resolve();
    this.syncing = true;
    this.dirtySinceSync = false;
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      fdatasync(fd, (err) => {
        this.syncing = false;
        this.metrics?.fsyncSeconds.observe((performance.now() - t0) / 1000);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  /** Resolves once everything queued so far is written. */
  flush(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.writing && this.queue.length === 0 && (this.cur === null || this.cur.bytes === 0)) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      if (!this.writing) this.pump();
    });
  }

  /** Writes everything queued, syncs and closes the file. */
  async close(): Promise<void> {
    await this.flush();
    if (this.fsyncTimer) clearInterval(this.fsyncTimer);
    await this.syncNow();
    await Promise.all(this.closing);
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      await new Promise<void>((r) => closeFd(fd, () => r()));
    }
  }
}
