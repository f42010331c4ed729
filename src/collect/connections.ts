// Connection machinery every listener shares (syslog TCP, WebSocket, and a JIP-3 listener):
// the connection cap, the idle timeout, the optional per-connection byte-rate limit (a pause,
// never a drop), backpressure (every socket paused while the writer is behind), refusals counted
// by reason and logged once per peer, and the duplicate check for Go's reconnect re-send.
//
// A listener calls, per connection: admit() (null: refused, close the socket), activity() on
// every read, and release() when it closes; it gives admit() a SocketIO so the manager can
// pause, resume and close it.
import type { CollectorMetrics } from './metrics.js';
import type { ConnectionRef } from './nodes.js';

export interface SocketIO {
  pause(): void;
  resume(): void;
  /** Close now (the manager has already counted why). */
  close(): void;
}

export interface ConnectionLimits {
  maxConnections: number;
  /** Close a connection that sent nothing for this long (0: never). */
  idleTimeoutMs: number;
  /** Per-connection byte-rate limit in bytes/s (0: off); a faster sender is paused, not cut. */
  maxBytesPerSecond: number;
  /** A new connection's first message byte-identical to the peer's last one within this window is a re-send. */
  duplicateWindowMs: number;
  /**
   * Bytes of unfinished messages held over all connections (1,024 senders of 25 MB half-messages
   * would be 25 GB): above it the connection holding the most is closed (`memory`).
   */
  maxPendingBytes: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = { maxConnections: 1024, idleTimeoutMs: 120_000, maxBytesPerSecond: 0, duplicateWindowMs: 10_000, maxPendingBytes: 1 << 30 };

const PAUSE_WRITER = 1, PAUSE_RATE = 2;

export class Connection implements ConnectionRef {
  open = true;
  framing: string | null = null;
  hostname: string | null = null;
  lastActive: number;
  bytesIn = 0;
  /** Messages accepted from this connection so far. */
  messages = 0;
  /** The last message accepted (for the re-send check): lastBuf[lastStart, lastEnd), and when. */
  lastBuf: Buffer | null = null;
  lastStart = 0;
  lastEnd = 0;
  lastMsgAt = 0;
  /** Per-connection caches of the intake (label strings, the last stats and node entry). */
  cache: unknown = null;
  pausedMask = 0;
  /** Bytes of an unfinished message this connection holds (see ConnectionManager.holding). */
  pending = 0;
  tokens: number;
  tokenTime: number;
  rateTimer: NodeJS.Timeout | null = null;
  constructor(
    readonly id: number,
    readonly ip: string,
    readonly port: number,
    readonly transport: string,
    readonly io: SocketIO,
    now: number,
    rate: number,
  ) {
    this.lastActive = now;
    this.tokens = rate;
    this.tokenTime = now;
  }
}

interface Recent {
  buf: Buffer;
  start: number;
  end: number;
  at: number;
}

function sameBytes(a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): boolean {
  return ae - as === be - bs && a.compare(b, bs, be, as, ae) === 0;
}

export type Logger = (line: string) => void;

export class ConnectionManager {
  private nextId = 1;
  readonly open = new Set<Connection>();
  private readonly byIp = new Map<string, Set<Connection>>();
  private readonly recentClosed = new Map<string, Recent>();
  private readonly logged = new Set<string>();
  private readonly sweepTimer: NodeJS.Timeout;
  private writerPaused = false;
  private pendingTotal = 0;
  private accepting = true;
  /** Totals for the status line. */
  refusedConnectionCount = 0;
  refusedMessageCount = 0;

  constructor(
    readonly limits: ConnectionLimits,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {
    const every = limits.idleTimeoutMs > 0 ? Math.max(20, Math.min(1000, limits.idleTimeoutMs / 4)) : 1000;
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), every);
    this.sweepTimer.unref();
  }

  /** Logs a line once per (what, peer): a flood of refusals never floods the log. */
  logOnce(what: string, ip: string, line: string): void {
    const k = `${what} ${ip}`;
    if (this.logged.has(k)) return;
    if (this.logged.size > 10_000) this.logged.clear();
    this.logged.add(k);
    this.log(line);
  }

  /** Counts a refused or closed connection by reason (and logs it once per peer). */
  refuseConnection(ip: string, transport: string, reason: string, detail = ''): void {
    this.metrics.refusedConnections.inc({ reason });
    this.refusedConnectionCount++;
    this.logOnce(`conn:${reason}`, ip, `${transport} connection from ${ip} closed: ${reason}${detail ? ` (${detail})` : ''} (logged once per peer)`);
  }

  refuseMessage(conn: ConnectionRef, reason: string, detail = ''): void {
    this.metrics.refusedMessages.inc({ reason });
    this.refusedMessageCount++;
    this.logOnce(`msg:${reason}`, conn.ip, `${conn.transport} message from ${conn.ip} refused: ${reason}${detail ? ` (${detail})` : ''} (logged once per peer)`);
  }

  admit(ip: string, port: number, transport: string, io: SocketIO, now = Date.now()): Connection | null {
    if (!this.accepting) {
      this.refuseConnection(ip, transport, 'shutdown');
      return null;
    }
    if (this.open.size >= this.limits.maxConnections) {
      this.refuseConnection(ip, transport, 'max_connections', `${this.limits.maxConnections} open`);
      return null;
    }
    const c = new Connection(this.nextId++, ip, port, transport, io, now, this.limits.maxBytesPerSecond);
    this.open.add(c);
    let s = this.byIp.get(ip);
    if (s === undefined) this.byIp.set(ip, (s = new Set()));
    s.add(c);
    this.metrics.connections.inc({ transport });
    this.metrics.openConnections.inc({ transport });
    if (this.writerPaused) this.pause(c, PAUSE_WRITER);
    return c;
  }

  /** Every read: keeps the connection alive and applies the byte-rate limit. */
  activity(c: Connection, bytes: number, now: number): void {
    c.lastActive = now;
    c.bytesIn += bytes;
    const rate = this.limits.maxBytesPerSecond;
    if (rate > 0) {
      c.tokens = Math.min(rate, c.tokens + ((now - c.tokenTime) * rate) / 1000);
      c.tokenTime = now;
      c.tokens -= bytes;
      if (c.tokens < 0 && (c.pausedMask & PAUSE_RATE) === 0) {
        this.metrics.throttled.inc();
        this.pause(c, PAUSE_RATE);
        c.rateTimer = setTimeout(() => {
          c.rateTimer = null;
          this.unpause(c, PAUSE_RATE, Date.now());
        }, Math.ceil((-c.tokens * 1000) / rate));
      }
    }
  }

  /**
   * After each read: how many bytes of an unfinished message c now holds. Over maxPendingBytes
   * in total, the connection holding the most is closed (counted as `memory`); returns false
   * when that is c itself.
   */
  holding(c: Connection, bytes: number): boolean {
    this.pendingTotal += bytes - c.pending;
    c.pending = bytes;
    if (this.pendingTotal <= this.limits.maxPendingBytes) return true;
    let big: Connection | null = null;
    for (const o of this.open) if (big === null || o.pending > big.pending) big = o;
    if (big === null) return true;
    this.refuseConnection(big.ip, big.transport, 'memory', `unfinished messages over ${this.limits.maxPendingBytes} bytes in all; this one held ${big.pending}`);
    this.pendingTotal -= big.pending;
    big.pending = 0;
    big.io.close();
    return big !== c;
  }

  private pause(c: Connection, why: number): void {
    if (c.pausedMask === 0) c.io.pause();
    c.pausedMask |= why;
  }

  private unpause(c: Connection, why: number, now: number): void {
    if ((c.pausedMask & why) === 0) return;
    c.pausedMask &= ~why;
    if (c.pausedMask === 0 && c.open) {
      c.lastActive = now; // paused time is not idle time
      c.io.resume();
    }
  }

  /** The writer is behind: stop reading every socket. */
  pauseAll(): void {
    this.writerPaused = true;
    for (const c of this.open) this.pause(c, PAUSE_WRITER);
  }

  resumeAll(): void {
    this.writerPaused = false;
    const now = Date.now();
    for (const c of this.open) this.unpause(c, PAUSE_WRITER, now);
  }

  /**
   * Go's log/syslog re-sends the message whose write failed on a new connection: if the old one
   * had in fact delivered it whole, the new connection's first message is byte-identical to the
   * old connection's last. Only a connection's first message is checked, against the last
   * message of the peer's other connections (open or closed) within duplicateWindowMs.
   */
  isResend(c: Connection, buf: Buffer, start: number, end: number, now: number): boolean {
    const win = this.limits.duplicateWindowMs;
    if (win <= 0 || c.messages !== 0) return false;
    const r = this.recentClosed.get(c.ip);
    if (r !== undefined && now - r.at <= win && sameBytes(buf, start, end, r.buf, r.start, r.end)) return true;
    const peers = this.byIp.get(c.ip);
    if (peers) {
      for (const o of peers) {
        if (o === c || o.lastBuf === null || now - o.lastMsgAt > win) continue;
        if (sameBytes(buf, start, end, o.lastBuf, o.lastStart, o.lastEnd)) return true;
      }
    }
    return false;
  }

  /** The connection ended; `pendingBytes` of a message it had begun are discarded (counted). */
  release(c: Connection, pendingBytes: number, now = Date.now()): void {
    if (!c.open) return;
    c.open = false;
    this.open.delete(c);
    const s = this.byIp.get(c.ip);
    if (s) {
      s.delete(c);
      if (s.size === 0) this.byIp.delete(c.ip);
    }
    if (c.rateTimer) clearTimeout(c.rateTimer);
    this.pendingTotal -= c.pending;
    c.pending = 0;
    this.metrics.openConnections.dec({ transport: c.transport });
    if (pendingBytes > 0) {
      this.metrics.incompleteMessages.inc({ transport: c.transport });
      this.metrics.discardedBytes.inc(pendingBytes);
      this.logOnce('incomplete', c.ip, `${c.transport} connection from ${c.ip} ended in the middle of a message: ${pendingBytes} bytes discarded (logged once per peer)`);
    }
    if (c.lastBuf !== null && this.limits.duplicateWindowMs > 0) {
      if (this.recentClosed.size >= 256) this.pruneRecent(now, true);
      this.recentClosed.set(c.ip, { buf: c.lastBuf, start: c.lastStart, end: c.lastEnd, at: now });
    }
    c.lastBuf = null;
  }

  private pruneRecent(now: number, force: boolean): void {
    for (const [ip, r] of this.recentClosed) if (now - r.at > this.limits.duplicateWindowMs) this.recentClosed.delete(ip);
    if (force && this.recentClosed.size >= 256) this.recentClosed.clear();
  }

  private sweep(now: number): void {
    this.pruneRecent(now, false);
    const idle = this.limits.idleTimeoutMs;
    if (idle <= 0) return;
    for (const c of this.open) {
      if (c.pausedMask === 0 && now - c.lastActive > idle) {
        this.refuseConnection(c.ip, c.transport, 'idle_timeout', `nothing for ${idle} ms`);
        c.io.close();
      }
    }
  }

  /** Shutdown: refuse new connections. */
  stopAccepting(): void {
    this.accepting = false;
  }

  closeAll(): void {
    for (const c of [...this.open]) c.io.close();
  }

  stop(): void {
    clearInterval(this.sweepTimer);
    for (const c of this.open) if (c.rateTimer) clearTimeout(c.rateTimer);
  }
}
