// `jam-etl collect`: receive telemetry from nodes (syslog over TCP, WebSocket), write the minute
// files jam-etl reads, serve /metrics, /api/nodes and /healthz. Runs until SIGINT/SIGTERM, then
// stops accepting, writes every whole message received, syncs and exits 0.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { startCollector, parseHostPort, type HostPort } from '../collect/collector.js';
import { ConfigError, describeError } from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, listenJip3, type Jip3Listener } from '../collect/jip3.js';
import { EXIT_OK, intArg, type CliIO } from './common.js';

interface CollectFlags {
  syslog: string;
  ws?: string;
  http: string;
  out: string;
  program: string;
  maxMessageBytes: number;
  fsyncMs: number;
  maxConnections: number;
  idleTimeout: number;
  maxBytesPerSecond: number;
  duplicateWindowMs: number;
  maxPendingBytes: number;
  json: boolean;
  quiet: boolean;
  jip3?: string | true;
  maxFrameBytes: number;
  jip3CollectorId: number;
}

function hostPortOrOff(name: string) {
  return (v: string): string => {
    if (v === 'off') return v;
    try {
      parseHostPort(v, name);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
    return v;
  };
}

function secondsArg(name: string) {
  return (v: string): number => {
    if (!/^\d+(\.\d+)?$/.test(v)) throw new InvalidArgumentError(`${name} must be a number of seconds >= 0`);
    return Number(v);
  };
}

function fmtRate(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : n.toFixed(0);
}

export function registerCollect(program: Command, io: CliIO): void {
  program
    .command('collect')
    .description('receive telemetry from nodes (syslog TCP, WebSocket; JIP-3 with --jip3) into DIR/YYYY/MM/DD/HHMM.log (and HHMM.jip3); serve /metrics, /api/nodes, /healthz')
    .addOption(new Option('--syslog <host:port>', 'syslog over TCP listener ("off": none)').default('0.0.0.0:5000').argParser(hostPortOrOff('--syslog')))
    .addOption(new Option('--ws <host:port>', 'WebSocket listener (path /submit); off unless given').argParser(hostPortOrOff('--ws')))
    .addOption(new Option('--http <host:port>', 'HTTP for /metrics, /api/nodes, /healthz ("off": none)').default('127.0.0.1:9615').argParser(hostPortOrOff('--http')))
    .option('-o, --out <dir>', 'where the minute files go', './telemetry')
    .option('--program <tags>', 'syslog tags (programs) to keep, comma-separated', 'jamtart,jametl')
    .addOption(new Option('--max-message-bytes <n>', 'longest message; a longer one closes its connection').argParser(intArg('--max-message-bytes', 1)).default(25_000_000))
    .addOption(new Option('--max-pending-bytes <n>', 'bytes of unfinished messages held over all connections; above it the connection holding the most is closed').argParser(intArg('--max-pending-bytes', 1)).default(1 << 30))
    .addOption(new Option('--fsync-ms <n>', 'fdatasync the current file this often (0: after every write)').argParser(intArg('--fsync-ms', 0)).default(1000))
    .addOption(new Option('--max-connections <n>', 'connections open at once (all listeners)').argParser(intArg('--max-connections', 1)).default(1024))
    .addOption(new Option('--idle-timeout <seconds>', 'close a connection silent this long (0: never)').argParser(secondsArg('--idle-timeout')).default(120))
    .addOption(new Option('--max-bytes-per-second <n>', 'per-connection byte-rate limit: a faster sender is paused (0: off)').argParser(intArg('--max-bytes-per-second', 0)).default(0))
    .addOption(new Option('--duplicate-window-ms <n>', "drop a reconnect's first message byte-identical to the peer's last one within this window (0: off)").argParser(intArg('--duplicate-window-ms', 0)).default(10_000))
    .option('--jip3 [host:port]', 'JIP-3 binary telemetry listener (nodes\' --telemetry HOST:PORT), writing HHMM.jip3 capture files (docs/jip3.md); off unless given, 0.0.0.0:9000 without a value')
    .addOption(new Option('--jip3-collector-id <n>', 'this collector\'s number, 0..15, when several load into the same tables (keeps JIP-3 connection IDs apart)').argParser(intArg('--jip3-collector-id', 0)).default(0))
    .addOption(new Option('--max-frame-bytes <n>', 'longest JIP-3 frame; a longer one closes its connection').argParser(intArg('--max-frame-bytes', 1)).default(DEFAULT_MAX_FRAME_BYTES))
    .option('--json', 'print a machine-readable summary on stdout at exit', false)
    .option('-q, --quiet', 'no status line and no summary on stderr', false)
    .action(async (o: CollectFlags) => {
      // Signal handlers first: a SIGTERM that comes as soon as the start line is out (or during
      // start-up) is a clean stop, never the default kill.
      let stop = () => {};
      const stopRequested = new Promise<void>((resolve) => {
        stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      const hp = (v: string | undefined, name: string): HostPort | null => (v === undefined || v === 'off' ? null : parseHostPort(v, name));
      const programs = o.program.split(',').map((s) => s.trim()).filter((s) => s !== '');
      if (programs.length === 0) throw new ConfigError('--program needs at least one tag');
      const syslog = hp(o.syslog, '--syslog');
      const ws = hp(o.ws, '--ws');
      let jip3Addr: HostPort | null = null;
      try {
        jip3Addr = o.jip3 === undefined ? null : parseHostPort(o.jip3 === true ? '0.0.0.0:9000' : o.jip3, '--jip3');
      } catch (e) {
        throw new ConfigError(describeError(e));
      }
      if (!syslog && !ws && !jip3Addr) throw new ConfigError('nothing to listen on: give --syslog, --ws or --jip3');
      const log = (l: string) => io.stderr(`${statusShown ? '\n' : ''}jam-etl collect: ${l}\n`);
      let statusShown = false;
      let collector;
      try {
        collector = await startCollector({
          out: o.out,
          syslog,
          ws,
          http: hp(o.http, '--http'),
          programs,
          maxMessageBytes: o.maxMessageBytes,
          fsyncMs: o.fsyncMs,
          limits: { maxConnections: o.maxConnections, idleTimeoutMs: Math.round(o.idleTimeout * 1000), maxBytesPerSecond: o.maxBytesPerSecond, duplicateWindowMs: o.duplicateWindowMs, maxPendingBytes: o.maxPendingBytes },
          log: (l) => {
            log(l);
            statusShown = false;
          },
        });
      } catch (e) {
        stop();
        throw new ConfigError(`cannot start: ${describeError(e)}`);
      }
      let jip3: Jip3Listener | undefined;
      if (jip3Addr) {
        try {
          jip3 = await listenJip3(collector, { ...jip3Addr, maxFrameBytes: o.maxFrameBytes, fsyncMs: o.fsyncMs, collectorId: o.jip3CollectorId });
        } catch (e) {
          await collector.close();
          throw new ConfigError(`cannot start the JIP-3 listener: ${describeError(e)}`);
        }
        io.stderr(`jam-etl collect: jip3 ${jip3.address.host}:${jip3.address.port}; writing ${o.out}/YYYY/MM/DD/HHMM.jip3\n`);
      }
      const a = collector.addresses;
      const show = (x?: HostPort) => (x ? `${x.host}:${x.port}` : 'off');
      io.stderr(`jam-etl collect: syslog ${show(a.syslog)}, ws ${show(a.ws)}${a.ws ? '/submit' : ''}, http ${show(a.http)}; writing ${o.out}/YYYY/MM/DD/HHMM.log\n`);
      const tty = !o.quiet && process.stderr.isTTY === true;
      let last = { t: performance.now(), m: 0, b: 0 };
      const timer = tty
        ? setInterval(() => {
            const now = performance.now();
            const tot = collector.metrics.totals();
            const dt = (now - last.t) / 1000;
            io.stderr(`\r\x1b[2Kconnections ${collector.manager.open.size} | ${fmtRate((tot.messages - last.m) / dt)} msg/s | ${((tot.bytes - last.b) / dt / 1e6).toFixed(1)} MB/s | written ${tot.messages} | refused ${collector.manager.refusedMessageCount} msg, ${collector.manager.refusedConnectionCount} conn | queued ${(collector.writer.queuedBytes / 1e6).toFixed(1)} MB${collector.writer.paused ? ' (paused)' : ''}`);
            statusShown = true;
            last = { t: now, m: tot.messages, b: tot.bytes };
          }, 1000)
        : null;
      await stopRequested;
      if (timer) clearInterval(timer);
      if (statusShown) io.stderr('\n');
      await collector.close();
      const m = collector.metrics;
      const byReason = async (c: typeof m.refusedMessages) => Object.fromEntries((await c.get()).values.map((v) => [String(v.labels.reason), v.value]));
      const summary = {
        command: 'collect',
        seconds: (Date.now() - collector.startedAt) / 1000,
        messages: collector.writer.writtenMessages,
        bytes: collector.writer.writtenBytes,
        files: collector.writer.files.size,
        nodes: collector.nodes.size,
        refusedMessages: await byReason(m.refusedMessages),
        refusedConnections: await byReason(m.refusedConnections),
        incompleteMessages: await m.counterValue(m.incompleteMessages),
        partialLinesRecovered: collector.recovered.length,
        ...(jip3 ? { jip3: { events: jip3.metrics.total(), records: jip3.writer.writtenRecords, bytes: jip3.writer.writtenBytes, files: jip3.writer.files.size } } : {}),
      };
      if (o.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
      if (!o.quiet) {
        const kv = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
        io.stderr(`jam-etl collect: ${summary.messages} messages (${(summary.bytes / 1e6).toFixed(1)} MB) into ${summary.files} file(s) from ${summary.nodes} node(s) in ${summary.seconds.toFixed(1)} s; refused messages: ${kv(summary.refusedMessages)}; refused connections: ${kv(summary.refusedConnections)}; cut mid-message: ${summary.incompleteMessages}\n`);
      }
      io.setExitCode(EXIT_OK);
    });
}
