// `jam-etl collect` as a library: wires the listeners (syslog TCP, optional WebSocket), the
// shared connection manager, the intake, the minute-file writer, the metrics and the node
// registry, and the HTTP server. startCollector() resolves once everything listens (with the
// real ports, so port 0 works); close() stops accepting, closes connections (their whole messages
// are already queued; unfinished ones are discarded and counted), writes, syncs and closes.
//
// Extension point for another listener (e.g. JIP-3): give it `ctx` (manager, intake or writer,
// metrics, nodes); it admits connections with ctx.manager.admit(), reports reads with
// activity(), hands messages to ctx.intake.message() (or records them itself), and is closed by
// adding a closer with ctx.onClose().
import type { Server } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { ConnectionManager, DEFAULT_LIMITS, type ConnectionLimits, type Logger } from './connections.js';
import { listenHttp } from './http.js';
import { Intake } from './intake.js';
import { CollectorMetrics } from './metrics.js';
import { NodeRegistry } from './nodes.js';
import { listenSyslog } from './syslog.js';
import { listenWebSocket, type WsListener } from './websocket.js';
import { MinuteWriter, type RecoveredPartial } from './writer.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface CollectorOptions {
  out: string;
  syslog: HostPort | null;
  ws: HostPort | null;
  http: HostPort | null;
  programs: readonly string[];
  maxMessageBytes: number;
  fsyncMs: number;
  limits: Partial<ConnectionLimits>;
  /** Writer queue bounds for backpressure (bytes). */
  highWaterBytes?: number;
  lowWaterBytes?: number;
  log?: Logger;
  defaultMetrics?: boolean;
}

export interface CollectorContext {
  readonly options: CollectorOptions;
  readonly metrics: CollectorMetrics;
  readonly nodes: NodeRegistry;
  readonly writer: MinuteWriter;
  readonly manager: ConnectionManager;
  readonly intake: Intake;
  readonly log: Logger;
  /** Registers something to close at shutdown, after new connections stop and before the writer closes. */
  onClose(fn: () => Promise<void> | void): void;
}

export interface Collector extends CollectorContext {
  readonly addresses: { syslog?: HostPort; ws?: HostPort; http?: HostPort };
  readonly recovered: RecoveredPartial[];
  readonly startedAt: number;
  close(): Promise<void>;
}

function addr(s: Server | HttpServer): HostPort {
  const a = s.address();
  if (a === null || typeof a === 'string') throw new Error('server has no address');
  return { host: a.address, port: a.port };
}

function closeServer(s: Server | HttpServer): Promise<void> {
  return new Promise((r) => s.close(() => r()));
}

export function parseHostPort(v: string, what: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v);
  if (!m || Number(m[3]) > 65535) throw new RangeError(`${what} must be HOST:PORT (got ${JSON.stringify(v)})`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

export async function startCollector(options: CollectorOptions): Promise<Collector> {
  const log = options.log ?? ((l: string) => process.stderr.write(`jam-etl collect: ${l}\n`));
  const metrics = new CollectorMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const nodes = new NodeRegistry();
  const writer = new MinuteWriter({ dir: options.out, fsyncMs: options.fsyncMs, metrics, ...(options.highWaterBytes !== undefined ? { highWaterBytes: options.highWaterBytes } : {}), ...(options.lowWaterBytes !== undefined ? { lowWaterBytes: options.lowWaterBytes } : {}) });
  const recovered = writer.recover();
  for (const r of recovered) log(`an unterminated last line (${r.bytes} bytes, left by a crash) was cut off ${r.file} and kept in ${r.keptAs}`);
  const manager = new ConnectionManager({ ...DEFAULT_LIMITS, ...options.limits }, metrics, log);
  writer.on('pause', () => manager.pauseAll());
  writer.on('resume', () => manager.resumeAll());
  writer.on('warn', (m: string) => log(m));
  writer.on('error', (e: Error) => log(`writer failed: ${e.message}`));
  const queued = metrics.queuedBytes;
  // Read at scrape time.
  (queued as unknown as { collect?: () => void }).collect = () => queued.set(writer.queuedBytes);
  const intake = new Intake(writer, metrics, nodes, manager);
  const closers: Array<() => Promise<void> | void> = [];
  const servers: Array<Server | HttpServer> = [];
  let wss: WsListener | null = null;
  const addresses: Collector['addresses'] = {};
  const startedAt = Date.now();
  const cleanup = async () => {
    manager.stop();
    if (wss) wss.close();
    await Promise.all(servers.map(closeServer));
    await writer.close().catch(() => {});
  };
  try {
    if (options.syslog) {
      const s = await listenSyslog({ ...options.syslog, programs: options.programs, maxMessageBytes: options.maxMessageBytes }, manager, intake);
      servers.push(s);
      addresses.syslog = addr(s);
    }
    if (options.ws) {
      wss = await listenWebSocket({ ...options.ws, maxMessageBytes: options.maxMessageBytes }, manager, intake);
      const a = wss.address();
      if (a !== null && typeof a !== 'string') addresses.ws = { host: a.address, port: a.port };
    }
    if (options.http) {
      const h = await listenHttp(options.http, metrics, nodes, () => ({
        uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
        openConnections: manager.open.size,
        queuedBytes: writer.queuedBytes,
        paused: writer.paused,
        writtenMessages: writer.writtenMessages,
      }));
      servers.push(h);
      addresses.http = addr(h);
    }
  } catch (e) {
    await cleanup();
    throw e;
  }
  let closing: Promise<void> | null = null;
  const ctx: Collector = {
    options,
    metrics,
    nodes,
    writer,
    manager,
    intake,
    log,
    addresses,
    recovered,
    startedAt,
    onClose: (fn) => void closers.push(fn),
    close: () => {
      closing ??= (async () => {
        manager.stopAccepting();
        const listening = servers.slice(0, options.http ? -1 : undefined);
        const stopped = listening.map(closeServer);
        if (wss) {
          const w = wss;
          stopped.push(new Promise<void>((r) => w.close(() => r())));
        }
        for (const f of closers) await f();
        manager.closeAll();
        await Promise.all(stopped);
        manager.stop();
        await writer.close();
        const h = options.http ? servers[servers.length - 1] : undefined;
        if (h) {
          (h as HttpServer).closeAllConnections?.();
          await closeServer(h);
        }
      })();
      return closing;
    },
  };
  return ctx;
}
