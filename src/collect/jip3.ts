// The JIP-3 listener of `jam-etl collect --jip3 HOST:PORT`: nodes connect with
// `--telemetry HOST:PORT` and send u32-length-prefixed frames, node information first. Each frame
// is kept byte for byte in the per-minute capture files (src/jip3/capture.ts, docs/jip3.md) with
// its receive time, its connection and its Event ID; nothing is decoded beyond the node
// information (checked, so a stream that is not JIP-3 is closed at once) and a peek at the
// discriminator (metrics, the dropped count that numbers events, best/finalized slots for
// /api/nodes). Connection cap, idle timeout and rate limit are the shared ConnectionManager's;
// backpressure pauses the sockets while the capture writer is behind, never drops.
import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, renameSync, write as fsWrite, writeSync, type Stats } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { EventEmitter } from 'node:events';
import type { Metric } from 'prom-client';
import type * as PromClient from 'prom-client';
import type { Counter } from 'prom-client';
import { lazy } from '../lazy.js';
import { checkFileHeader, fileHeader, FILE_HEADER_BYTES, RECORD_HEADER_BYTES, RecordKind, u32At, u64At, writeRecordHeader } from '../jip3/capture.js';
import { DecodeError } from '../jip3/codec.js';
import { decodeNodeInfo, type NodeInfo as Jip3NodeInfo } from '../jip3/node-info.js';
import { eventDef } from '../jip3/events/index.js';
import type { CollectorContext } from './collector.js';
import type { Connection } from './connections.js';
import { makeDirs } from '../fsutil.js';
import { kOnRead, READ_BYTES, readIntoShared, type ReadSocket } from './shared-read.js';
import { SlabArena, type SlabPiece } from './slabs.js';

export const DEFAULT_MAX_FRAME_BYTES = 256 << 10;
const prom = lazy<typeof PromClient>('prom-client');
const SLAB_BYTES = 1 << 20;

/** Cuts a byte stream into JIP-3 frames (u32 LE length ++ content), whatever the read sizes. */
export class Jip3Framer {
  private pending: Buffer | null = null;
  constructor(private readonly maxFrameBytes: number) {}

  /** Bytes of an unfinished frame held (for the "cut mid-frame" count at close). */
  get pendingBytes(): number {
    return this.pending?.length ?? 0;
  }

  /**
   * Calls onFrame(buf, start, end) for every whole frame, its u32 length prefix at start - 4
   * in the same buffer (a view valid until push returns: the chunk may be a read buffer);
   * returns a length that is over the limit (the caller closes), else -1.
   */
  push(chunk: Buffer, onFrame: (buf: Buffer, start: number, end: number) => void): number {
    let o = 0;
    const n = chunk.length;
    if (this.pending) {
      // Finish the held frame from the front of the chunk (not a copy of the whole chunk: with
      // small frames nearly every read ends inside one).
      let p = this.pending;
      if (p.length < 4) {
        const take = Math.min(4 - p.length, n);
        p = Buffer.concat([p, chunk.subarray(0, take)]);
        o = take;
        if (p.length < 4) {
          this.pending = p;
          return -1;
        }
      }
      const len = u32At(p, 0);
      if (len > this.maxFrameBytes) {
        this.pending = p;
        return len;
      }
      const take = Math.min(4 + len - p.length, n - o);
      if (take > 0) p = Buffer.concat([p, chunk.subarray(o, o + take)]);
      o += take;
      if (p.length < 4 + len) {
        this.pending = p;
        return -1;
      }
      this.pending = null;
      onFrame(p, 4, 4 + len);
    }
    while (n - o >= 4) {
      const len = u32At(chunk, o);
      if (len > this.maxFrameBytes) {
        this.pending = Buffer.from(chunk.subarray(o));
        return len;
      }
      if (n - o - 4 < len) break;
      onFrame(chunk, o + 4, o + 4 + len);
      o += 4 + len;
    }
    // What is left is copied: the chunk may be a read buffer that the next read overwrites.
    if (o < n) this.pending = Buffer.from(chunk.subarray(o));
    return -1;
  }
}

/** A piece of a slab (released to the arena once written) and the minute its records belong to. */
interface Batch extends SlabPiece {
  minute: number;
}

/** Written slabs kept for reuse (1 MiB each): a steady load allocates none. */
const SLAB_POOL = 8;

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
/** DIR-relative path of a minute's capture file, `YYYY/MM/DD/HHMM.jip3`. */
export function jip3MinutePath(minute: number): string {
  const d = new Date(minute * 60000);
  return `${d.getUTCFullYear()}/${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())}/${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}.jip3`;
}

/** Per live connection: its node information record and the minute file it last wrote to. */
interface CaptureConn {
  id: number;
  info: Buffer;
  infoRecvUs: number;
  minute: number;
}

/**
 * Appends capture records to DIR/YYYY/MM/DD/HHMM.jip3 of the minute they were received in,
 * through one queue and one descriptor. Records are copied into 1 MiB slabs (one write for
 * thousands of frames). fdatasync every fsyncMs (0: after each write) and before a file is
 * closed. 'pause'/'resume' above/below the queue's high/low water marks.
 */
export class CaptureWriter extends EventEmitter {
  private queue: Batch[] = [];
  private readonly slabs = new SlabArena(SLAB_BYTES, SLAB_POOL);
  private pumpScheduled = false;
  private readonly scheduledPump = (): void => {
    this.pumpScheduled = false;
    this.pump();
  };
  private slabMinute = -1;
  private lastMinute = 0;
  private fd = -1;
  private fdMinute = -1;
  private writing = false;
  private dirty = false;
  private syncTimer: NodeJS.Timeout | null = null;
  queuedBytes = 0;
  paused = false;
  writtenRecords = 0;
  writtenBytes = 0;
  readonly files = new Set<string>();
  private idle: (() => void)[] = [];
  private failure: Error | null = null;

  constructor(
    readonly dir: string,
    private readonly fsyncMs: number,
    private readonly highWater = 64 << 20,
    private readonly lowWater = 16 << 20,
  ) {
    super();
    if (fsyncMs > 0) {
      this.syncTimer = setInterval(() => this.sync(), fsyncMs);
      this.syncTimer.unref();
    }
  }

  private minuteOf(nowMs: number): number {
    // The minute never goes backwards, even if the clock does: a file once left is never reopened.
    const m = Math.floor(nowMs / 60000);
    if (m > this.lastMinute) this.lastMinute = m;
    return this.lastMinute;
  }

  /** One record. A connection's first record in a minute file is preceded by its node information (kind 2). */
  append(c: CaptureConn, kind: RecordKind, eventId: number, src: Buffer, start: number, end: number, nowMs: number, recvUs: number): void {
    const minute = this.minuteOf(nowMs);
    if (kind !== RecordKind.NodeInfo && c.minute !== minute) this.put(minute, RecordKind.NodeInfoRepeat, c.id, c.infoRecvUs, eventId, c.info, 0, c.info.length);
    c.minute = minute;
    this.put(minute, kind, c.id, recvUs, eventId, src, start, end);
  }

  private put(minute: number, kind: RecordKind, conn: number, recvUs: number, eventId: number, src: Buffer, start: number, end: number): void {
    const len = end - start;
    const need = RECORD_HEADER_BYTES + len;
    const sl = this.slabs;
    if (minute !== this.slabMinute || !sl.fits(need)) {
      this.seal();
      this.slabMinute = minute;
      if (!sl.fits(need)) sl.renew(need);
    }
    writeRecordHeader(sl.buf, sl.off, kind, conn, recvUs, eventId, len);
    src.copy(sl.buf, sl.off + RECORD_HEADER_BYTES, start, end);
    sl.off += need;
    this.queuedBytes += need;
    this.writtenRecords++;
    if (!this.paused && this.queuedBytes > this.highWater) {
      this.paused = true;
      this.emit('pause');
    }
    if (!this.writing && !this.pumpScheduled) {
      this.pumpScheduled = true;
      setImmediate(this.scheduledPump);
    }
  }

  /**
   * Queues the records put since the last seal. The slab goes on filling after them (a write
   * made while the disk keeps up holds a few KiB, not a fresh MiB each); a new slab is taken
   * when the records do not fit.
   */
  private seal(): void {
    const p = this.slabs.take();
    if (p !== null) this.queue.push({ minute: this.slabMinute, buf: p.buf, slab: p.slab });
  }

  private open(minute: number): void {
    if (this.fd >= 0) {
      fdatasyncSafe(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
    const rel = jip3MinutePath(minute);
    const path = join(this.dir, rel);
    makeDirs(dirname(path), 'output folder');
    const fd = openSync(path, 'a+');
    const st: Stats = fstatSync(fd);
    if (st.size === 0) {
      const h = fileHeader();
      writeAllSync(fd, h);
    } else {
      // A collector restarted within the same minute: append after the last whole record; a
      // partial one left by a crash is cut off (a reader could not frame what followed it).
      const whole = lastWholeRecord(fd, st.size);
      if (whole < 0) {
        closeSync(fd);
        renameSync(path, `${path}.corrupt-${Date.now()}`);
        this.emit('warn', `${rel} was not a capture file; moved aside`);
        return this.open(minute);
      }
      if (whole < st.size) {
        ftruncateSync(fd, whole);
        this.emit('warn', `${rel} ended inside a record (${st.size - whole} bytes, left by a crash): cut back to its last whole record`);
      }
    }
    this.fd = fd;
    this.fdMinute = minute;
    this.files.add(rel);
  }

  private pump(): void {
    if (this.writing) return;
    this.seal();
    const b = this.queue.shift();
    if (!b) {
      for (const f of this.idle.splice(0)) f();
      return;
    }
    this.writing = true;
    try {
      if (b.minute !== this.fdMinute) this.open(b.minute);
    } catch (e) {
      this.failure = e as Error;
      this.emit('error', e);
      this.writing = false;
      return;
    }
    const fd = this.fd;
    const done = (off: number): void => {
      fsWrite(fd, b.buf, off, b.buf.length - off, null, (err, n) => {
        if (err) {
          this.failure = err;
          this.emit('error', err);
          this.writing = false;
          return;
        }
        if (off + n < b.buf.length) return done(off + n);
        this.slabs.release(b.slab);
        this.writtenBytes += b.buf.length;
        this.queuedBytes -= b.buf.length;
        this.dirty = true;
        if (this.fsyncMs === 0) fdatasyncSafe(fd);
        if (this.paused && this.queuedBytes < this.lowWater) {
          this.paused = false;
          this.emit('resume');
        }
        this.writing = false;
        this.pump();
      });
    };
    done(0);
  }

  private sync(): void {
    if (this.fd >= 0 && this.dirty) {
      this.dirty = false;
      fdatasync(this.fd, () => {});
    }
  }

  /** Resolves once everything appended so far is written. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.seal();
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => {
      this.idle.push(r);
      if (!this.writing) this.pump();
    });
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.fd >= 0) {
      fdatasyncSafe(this.fd);
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

function fdatasyncSafe(fd: number): void {
  // Synchronous on purpose (rollover, close, --fsync-ms 0): the data is on disk once this returns.
  fdatasyncSync(fd);
}

function writeAllSync(fd: number, b: Buffer): void {
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
}

/** Offset after the last whole record of a capture file (-1: no valid header). */
function lastWholeRecord(fd: number, size: number): number {
  const h = Buffer.alloc(FILE_HEADER_BYTES);
  readSync(fd, h, 0, FILE_HEADER_BYTES, 0);
  const hs = checkFileHeader(h);
  if (typeof hs === 'string') return -1;
  let o = hs;
  const rh = Buffer.alloc(RECORD_HEADER_BYTES);
  while (o + RECORD_HEADER_BYTES <= size) {
    readSync(fd, rh, 0, RECORD_HEADER_BYTES, o);
    const len = rh.readUInt32LE(25);
    if (o + RECORD_HEADER_BYTES + len > size) break;
    o += RECORD_HEADER_BYTES + len;
  }
  return o;
}

/** Per-implementation counts, read by Prometheus at scrape time (a prom-client inc per event is too slow). */
class ImplStats {
  readonly events = new Float64Array(256);
  dropped = 0;
  constructor(readonly implementation: string) {}
}

const SAFE_LABEL = /^[A-Za-z0-9_.\-+ ]{1,48}$/;
const MAX_IMPLEMENTATIONS = 64;

export class Jip3Metrics {
  private readonly byImpl = new Map<string, ImplStats>();
  readonly nodeInfoFailures: Counter<'reason'>;
  readonly unknownEvents: Counter<string>;
  constructor(ctx: CollectorContext) {
    const reg = ctx.metrics.registry;
    this.nodeInfoFailures = new (prom().Counter)({ name: 'jam_etl_collect_jip3_node_info_failures_total', help: 'JIP-3 connections closed because their first frame was not a valid node information message, by reason', labelNames: ['reason'] as const, registers: [reg] });
    this.unknownEvents = new (prom().Counter)({ name: 'jam_etl_collect_jip3_unknown_events_total', help: 'JIP-3 frames too short for an event or with an unknown discriminator (kept in the capture; a reject when loaded)', registers: [reg] });
    const metric = (name: string, help: string, values: () => { value: number; labels: Record<string, string> }[]): Metric =>
      ({ name, help, type: 'counter', aggregator: 'sum', get: async () => ({ name, help, type: 'counter', aggregator: 'sum', values: values() }) }) as unknown as Metric;
    reg.registerMetric(
      metric('jam_etl_collect_jip3_events_total', 'JIP-3 events received, by node implementation (from node information) and event name', () => {
        const out: { value: number; labels: Record<string, string> }[] = [];
        for (const s of new Set(this.byImpl.values())) {
          for (let d = 0; d < 256; d++) if (s.events[d]! > 0) out.push({ value: s.events[d]!, labels: { implementation: s.implementation, event: eventDef(d)?.name ?? 'unknown' } });
        }
        return out;
      }),
    );
    reg.registerMetric(
      metric('jam_etl_collect_jip3_dropped_events_total', 'Events the nodes report having dropped (the counts of their "dropped" events), by implementation', () =>
        [...new Set(this.byImpl.values())].map((s) => ({ value: s.dropped, labels: { implementation: s.implementation } })),
      ),
    );
  }

  stats(implementation: string): ImplStats {
    let s = this.byImpl.get(implementation);
    if (!s) {
      const label = SAFE_LABEL.test(implementation) && this.byImpl.size < MAX_IMPLEMENTATIONS ? implementation : 'other';
      s = this.byImpl.get(label) ?? new ImplStats(label);
      this.byImpl.set(label, s);
      this.byImpl.set(implementation, s);
    }
    return s;
  }

  total(): number {
    let n = 0;
    for (const s of new Set(this.byImpl.values())) for (let d = 0; d < 256; d++) n += s.events[d]!;
    return n;
  }
}

export interface Jip3ListenOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  fsyncMs: number;
  /** 0..15: keeps connection IDs of several collectors apart (default 0). */
  collectorId?: number;
  /** Writer queue bounds (bytes), for tests. */
  highWaterBytes?: number;
  lowWaterBytes?: number;
}

export interface Jip3Listener {
  server: Server;
  writer: CaptureWriter;
  metrics: Jip3Metrics;
  address: { host: string; port: number };
}

/** Starts the JIP-3 listener beside the collector's others; it closes with the collector. */
export async function listenJip3(ctx: CollectorContext, opts: Jip3ListenOptions): Promise<Jip3Listener> {
  const writer = new CaptureWriter(ctx.options.out, opts.fsyncMs, opts.highWaterBytes, opts.lowWaterBytes);
  const metrics = new Jip3Metrics(ctx);
  const manager = ctx.manager;
  // Connection IDs unique across restarts and across up to 16 collectors loading into the same
  // tables: the connect time in units of 16 µs (strictly increasing per collector) × 16 + the
  // collector's --jip3-collector-id; below 2^53 until the year 2112.
  const collectorId = opts.collectorId ?? 0;
  if (!Number.isInteger(collectorId) || collectorId < 0 || collectorId > 15) throw new RangeError('--jip3-collector-id must be 0..15');
  let lastTick = 0;
  const newConnectionId = (): number => {
    const tick = Math.max(lastTick + 1, Math.floor((Date.now() * 1000) / 16));
    lastTick = tick;
    return tick * 16 + collectorId;
  };
  const sockets = new Set<Socket>();
  let writerPaused = false;
  writer.on('pause', () => {
    writerPaused = true;
    for (const s of sockets) s.pause();
  });
  writer.on('resume', () => {
    writerPaused = false;
    for (const s of sockets) if (!(s as Socket & { jip3Held?: boolean }).jip3Held) s.resume();
  });
  writer.on('warn', (m: string) => ctx.log(m));
  writer.on('error', (e: Error) => ctx.log(`JIP-3 capture writer failed: ${e.message}`));

  // Every socket reads into one buffer (src/collect/shared-read.ts); the framer copies what outlives a read.
  const shared = Buffer.allocUnsafeSlow(READ_BYTES);
  let sharedReads = false;
  const server = createServer((sock: Socket) => {
    const ip = sock.remoteAddress ?? '?';
    const port = sock.remotePort ?? 0;
    const held = sock as Socket & { jip3Held?: boolean };
    const conn: Connection | null = manager.admit(ip, port, 'jip3', {
      pause: () => {
        held.jip3Held = true;
        sock.pause();
      },
      resume: () => {
        held.jip3Held = false;
        if (!writerPaused) sock.resume();
      },
      close: () => {
        closedBy ??= 'closed by the collector (idle timeout or shutdown)';
        sock.destroy();
      },
    });
    let closedBy: string | undefined;
    sock.on('error', () => {});
    if (conn === null) {
      sock.destroy();
      return;
    }
    sockets.add(sock);
    if (writerPaused) sock.pause();
    conn.framing = 'jip3';
    const framer = new Jip3Framer(opts.maxFrameBytes);
    let cap: CaptureConn | null = null;
    let info: Jip3NodeInfo | null = null;
    let stats: ImplStats | null = null;
    let node: ReturnType<typeof ctx.nodes.entry> | null = null;
    /** This connection's facts in /api/nodes (`jip3`), updated in place. */
    let facts: Record<string, unknown> | null = null;
    let nextId = 0;
    let now = Date.now();
    let closedWritten = false;
    const closeWith = (reason: string): void => {
      if (cap && !closedWritten) {
        closedWritten = true;
        const r = Buffer.from(reason);
        writer.append(cap, RecordKind.Closed, nextId, r, 0, r.length, Date.now(), Date.now() * 1000);
      }
    };
    // The frames of one read that lie back to back in its buffer go into one record (kind 5,
    // prefixes included): one header and one copy per run, not per event.
    let runBuf: Buffer | null = null;
    let runStart = 0;
    let runEnd = 0;
    let runId = 0;
    const flushRun = (): void => {
      if (runBuf === null) return;
      writer.append(cap!, RecordKind.Events, runId, runBuf, runStart, runEnd, now, now * 1000);
      runBuf = null;
    };
    const addToRun = (buf: Buffer, start: number, end: number, id: number): void => {
      // Every frame comes with its length prefix in front of it (the framer's contract).
      if (runBuf === buf && runEnd === start - 4) runEnd = end;
      else {
        flushRun();
        runBuf = buf;
        runStart = start - 4;
        runEnd = end;
        runId = id;
      }
    };
    const onFrame = (buf: Buffer, start: number, end: number): void => {
      const recvUs = now * 1000;
      if (cap === null) {
        // The first frame must be node information; it is kept either way (a loader turns a bad
        // one into a reject with its bytes), and a bad one closes the connection.
        const id = newConnectionId();
        cap = { id, info: Buffer.from(buf.subarray(start, end)), infoRecvUs: recvUs, minute: -1 };
        writer.append(cap, RecordKind.NodeInfo, 0, buf, start, end, now, recvUs);
        try {
          info = decodeNodeInfo(buf.subarray(start, end));
        } catch (e) {
          const reason = e instanceof DecodeError ? e.code : 'bad_value';
          metrics.nodeInfoFailures.inc({ reason });
          manager.refuseConnection(ip, 'jip3', 'bad_node_info', e instanceof Error ? e.message : String(e));
          // Its Closed record goes after the frames that came with it (written on 'close').
          closedBy = 'first frame is not valid node information';
          sock.destroy();
          return;
        }
        conn.hostname = `${info.implementation_name} ${info.implementation_version}`;
        stats = metrics.stats(info.implementation_name);
        node = ctx.nodes.seen(conn, info.peer_id, info.implementation_name, end - start, now, -1, info.implementation_version);
        facts = { protocolVersion: info.version, gpVersion: info.gp_version, peerAddress: info.peer_address, connection: id, connectedSince: new Date(now).toISOString(), bestSlot: null, finalizedSlot: null };
        ctx.nodes.attachExtra(node, 'jip3', facts);
        return;
      }
      if (!info) {
        // The node information did not decode and the connection is closing, but the frames that
        // came with it are kept: the loader rejects each (jip3_no_node_info) with its bytes.
        addToRun(buf, start, end, nextId++);
        return;
      }
      const id = nextId;
      const len = end - start;
      if (len >= 9) {
        const d = buf[start + 8]!;
        stats!.events[d]!++;
        if (d === 0 && len === 25) {
          // A count that would take IDs past 2^53 is no real count: numbered as one event (the
          // loader decodes the frame and shows it as sent).
          const k = u64At(buf, start + 17);
          if (Number.isSafeInteger(nextId + k)) {
            stats!.dropped += k;
            nextId += k;
          } else nextId++;
        } else nextId++;
        // The node's registry entry is kept per connection (no lookup per frame).
        if (node === null || node.removed) {
          node = ctx.nodes.entry(conn, info.peer_id, now);
          ctx.nodes.attachExtra(node, 'jip3', facts!);
        }
        if ((d === 11 || d === 12) && len === 8 + 1 + 4 + 32) {
          const slot = buf.readUInt32LE(start + 9);
          ctx.nodes.record(node, conn, null, len, now, d === 11 ? slot : -1);
          if (d === 11) facts!.bestSlot = slot;
          else facts!.finalizedSlot = slot;
        } else ctx.nodes.record(node, conn, null, len, now);
        if (eventDef(d) === undefined) metrics.unknownEvents.inc();
      } else {
        nextId++;
        metrics.unknownEvents.inc();
      }
      addToRun(buf, start, end, id);
      conn.messages++;
    };
    const onChunk = (chunk: Buffer): void => {
      if (!conn.open) return;
      now = Date.now();
      manager.activity(conn, chunk.length, now);
      ctx.metrics.receivedBytesRaw.inc({ transport: 'jip3' }, chunk.length);
      const over = framer.push(chunk, onFrame);
      flushRun();
      if (over >= 0) {
        manager.refuseConnection(ip, 'jip3', 'frame_too_long', `frame of ${over} bytes, limit ${opts.maxFrameBytes}`);
        closeWith(`frame of ${over} bytes over the limit ${opts.maxFrameBytes}`);
        manager.release(conn, framer.pendingBytes);
        sock.destroy();
      }
    };
    if (sharedReads) (sock as ReadSocket)[kOnRead] = (n) => onChunk(shared.subarray(0, n));
    else sock.on('data', onChunk);
    sock.on('close', () => {
      sockets.delete(sock);
      closeWith(closedBy ?? 'eof');
      manager.release(conn, framer.pendingBytes);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port, backlog: 1024 }, () => {
      server.off('error', reject);
      sharedReads = readIntoShared(server, shared);
      resolve();
    });
  });
  ctx.onClose(async () => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    // Each socket's 'close' writes its Closed record: wait for them (bounded) before the last write.
    for (let i = 0; i < 100 && sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    await closed;
    await writer.close();
  });
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('JIP-3 listener has no address');
  return { server, writer, metrics, address: { host: a.address, port: a.port } };
}
