// `jam-etl replay` as a library: sends the lines of .log files to a collector as nodes would,
// over K concurrent connections, in one of the senders' framings. A node's lines (same
// sender_id) always go over the same connection, in file order; lines without a sender_id are
// dealt round-robin. Writes respect socket backpressure; the run ends when every connection has
// been closed by both sides (so the collector has read everything).
import { connect, type Socket } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type * as Ws from 'ws';
import { lazy } from '../lazy.js';

const wsLib = lazy<typeof Ws>('ws');
import { isJip3Path, listLogFiles } from '../input/list.js';
import { readChunks } from '../input/reader.js';
import type { HostPort } from './collector.js';

export type ReplayFraming = 'go' | 'rust3164' | 'rfc5424' | 'octet' | 'ws';
export const REPLAY_FRAMINGS: readonly ReplayFraming[] = ['go', 'rust3164', 'rfc5424', 'octet', 'ws'];

export interface ReplayOptions {
  paths: readonly string[];
  to: HostPort;
  framing: ReplayFraming;
  /** Messages per second over all connections; 0: as fast as the collector takes them. */
  rate: number;
  nodes: number;
  program?: string;
  hostname?: string;
}

export interface ReplayResult {
  files: number;
  lines: number;
  bytes: number;
  connections: number;
  seconds: number;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The syslog header a sender puts before a message (the whole frame for octet counting). */
export function frameMessage(framing: Exclude<ReplayFraming, 'ws'>, line: Buffer, t: Date, host: string, tag: string, pid: number): Buffer[] {
  const iso = t.toISOString();
  const json = line[0] === 123; // senders without a terminator only ever send envelopes
  switch (framing) {
    case 'go':
      return [Buffer.from(`<14>${iso} ${host} ${tag}[${pid}]: `), line, NL];
    case 'rust3164': {
      const h = `<14>${MONTHS[t.getUTCMonth()]} ${pad2(t.getUTCDate())} ${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}:${pad2(t.getUTCSeconds())} ${host} ${tag}[${pid}]: `;
      return json ? [Buffer.from(h), line] : [Buffer.from(h), line, NL];
    }
    case 'rfc5424': {
      const h = `<14>1 ${iso} ${host} ${tag} ${pid} - - `;
      return json ? [Buffer.from(h), line] : [Buffer.from(h), line, NL];
    }
    case 'octet': {
      const h = Buffer.from(`<14>1 ${iso} ${host} ${tag} ${pid} - - `);
      return [Buffer.from(`${h.length + line.length} `), h, line];
    }
  }
}
const NL = Buffer.from('\n');

interface Sender {
  write(parts: Buffer[]): boolean;
  waitDrain(): Promise<void>;
  end(): Promise<void>;
}

function tcpSender(to: HostPort): Promise<Sender> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect({ host: to.host, port: to.port });
    s.setNoDelay(true);
    let closed = false;
    let err: Error | null = null;
    s.once('error', (e) => {
      err = e;
      reject(e);
    });
    s.on('close', () => (closed = true));
    s.once('connect', () =>
      resolve({
        write: (parts) => {
          if (err) throw err;
          let ok = true;
          for (const p of parts) ok = s.write(p);
          return ok;
        },
        waitDrain: () =>
          new Promise((r, j) => {
            if (err) return j(err);
            if (!s.writableNeedDrain) return r();
            const done = () => {
              s.off('drain', done);
              s.off('close', done);
              err ? j(err) : r();
            };
            s.on('drain', done);
            s.on('close', done);
          }),
        end: () =>
          new Promise((r, j) => {
            if (closed) return err ? j(err) : r();
            s.once('close', () => (err ? j(err) : r()));
            s.end();
          }),
      }),
    );
  });
}

function wsSender(to: HostPort): Promise<Sender> {
  return new Promise((resolve, reject) => {
    const ws = new (wsLib().WebSocket)(`ws://${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}/submit`, { perMessageDeflate: false });
    let err: Error | null = null;
    ws.once('error', (e) => {
      err = e;
      reject(e);
    });
    ws.once('open', () =>
      resolve({
        write: (parts) => {
          if (err) throw err;
          for (const p of parts) ws.send(p, { binary: false });
          return ws.bufferedAmount < 4 << 20;
        },
        waitDrain: () =>
          new Promise((r, j) => {
            // ws has no drain event: wait for its buffer to empty.
            const check = () => (err ? j(err) : ws.bufferedAmount < 1 << 20 ? r() : setTimeout(check, 5));
            check();
          }),
        end: () =>
          new Promise((r) => {
            if (ws.readyState === ws.CLOSED) return r();
            ws.once('close', () => r());
            ws.close(1000);
          }),
      }),
    );
  });
}

function senderKey(line: Buffer): string | null {
  const i = line.indexOf('"sender_id":"');
  if (i < 0 || i > 4096) return null;
  const s = i + 13;
  const e = line.indexOf(34, s);
  return e > s && e - s < 200 ? line.toString('latin1', s, e) : null;
}

export async function replay(opts: ReplayOptions): Promise<ReplayResult> {
  const t0 = performance.now();
  // .jip3 captures are binary: `--framing jip3` replays them (src/collect/jip3-replay.ts).
  const files = (await listLogFiles(opts.paths)).filter((f) => !isJip3Path(f.path));
  const k = Math.max(1, opts.nodes);
  const senders = await Promise.all(Array.from({ length: k }, () => (opts.framing === 'ws' ? wsSender(opts.to) : tcpSender(opts.to))));
  const host = opts.hostname ?? (osHostname().replace(/\s/g, '') || 'localhost');
  const tag = opts.program ?? 'jamtart';
  const assigned = new Map<string, number>();
  let rr = 0;
  let lines = 0, bytes = 0;
  const start = performance.now();
  for (const f of files) {
    for await (const chunk of readChunks(f.path)) {
      if (!chunk.data) continue;
      const data = chunk.data;
      const t = new Date();
      const full = new Set<number>();
      let pos = 0;
      while (pos < data.length) {
        let e = data.indexOf(10, pos);
        if (e < 0) e = data.length;
        const line = data.subarray(pos, e);
        pos = e + 1;
        if (line.length === 0 || line.every((b) => b === 32 || b === 13 || b === 9)) continue;
        const key = senderKey(line);
        let c: number;
        if (key === null) c = rr++ % k;
        else {
          let a = assigned.get(key);
          if (a === undefined) assigned.set(key, (a = assigned.size % k));
          c = a;
        }
        const parts = opts.framing === 'ws' ? [line] : frameMessage(opts.framing, line, t, host, tag, 1000 + c);
        if (!senders[c]!.write(parts)) full.add(c);
        lines++;
        bytes += line.length;
        if (opts.rate > 0) {
          const due = start + (lines / opts.rate) * 1000;
          const wait = due - performance.now();
          if (wait > 1) {
            await Promise.all([...full].map((i) => senders[i]!.waitDrain()));
            full.clear();
            await new Promise((r) => setTimeout(r, wait));
          }
        }
        if (full.size > 0 && full.size >= Math.min(k, 8)) {
          await Promise.all([...full].map((i) => senders[i]!.waitDrain()));
          full.clear();
        }
      }
      await Promise.all([...full].map((i) => senders[i]!.waitDrain()));
    }
  }
  await Promise.all(senders.map((s) => s.end()));
  return { files: files.length, lines, bytes, connections: k, seconds: (performance.now() - t0) / 1000 };
}
