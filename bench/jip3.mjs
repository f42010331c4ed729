// JIP-3 benchmark: events/s collected by `jam-etl collect --jip3` from simulated node
// connections on loopback (zero loss checked), and events/s decoded from the capture files into
// JSONL by `jam-etl dune` (--workers 1 and 2) and into DuckDB by `jam-etl duckdb` (default
// settings), with each process's peak RSS. A benchmark, not a
// test; bounded in connections, events and time.
//
//   npm run build && node bench/jip3.mjs [--connections 1023] [--events 1000] [--reps 2] [--collect-only]
//
// The events are realistic frames (jam-etl generate --format jip3), cycled per connection;
// every connection sends its node information then its events as fast as TCP takes them, in
// writes of ~64 KiB. Collect time is from the first connection to the collector's exit after
// SIGTERM (every frame written and fsynced). Before each collect, the same load into a baseline
// receiver that only reads and drops the bytes (--discard, below): the rate of the machine's TCP
// and load generator, against which the collector's rate is given as a ratio. Peak RSS from getrusage (bench/rusage.mjs).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');

// ---- the baseline receiver (child process): `--discard PORT` accepts connections, reads and
// drops every byte (no framing, no file), and on SIGTERM prints the bytes it read. What the
// collector does beyond that is its own cost; this is the machine's (TCP on loopback, the
// load generator on the same cores).
if (process.argv[2] === '--discard') {
  const { createServer } = await import('node:net');
  let bytes = 0;
  const srv = createServer((s) => {
    s.on('data', (d) => (bytes += d.length));
    s.on('error', () => {});
  });
  srv.listen({ host: '127.0.0.1', port: Number(process.argv[3]), backlog: 1024 }, () => process.stderr.write('listening\n'));
  process.on('SIGTERM', () => {
    process.stdout.write(JSON.stringify({ bytes }) + '\n');
    process.exit(0);
  });
  await new Promise(() => {});
}

const CLI = join(ROOT, 'bin', 'jam-etl.js');
const RUSAGE = pathToFileURL(join(ROOT, 'bench', 'rusage.mjs')).href;
const argv = process.argv.slice(2);
const arg = (n, d) => {
  const i = argv.indexOf(n);
  return i < 0 ? d : Number(argv[i + 1]);
};
const CONNS = arg('--connections', 1023);
const EVENTS = arg('--events', 1000);
const REPS = arg('--reps', 2);
const log = (s) => process.stderr.write(s + '\n');

const { generateJip3 } = await import(pathToFileURL(join(ROOT, 'dist', 'generate', 'jip3.js')).href);
const { readRecordHeader, FILE_HEADER_BYTES, RECORD_HEADER_BYTES } = await import(pathToFileURL(join(ROOT, 'dist', 'jip3', 'capture.js')).href);

const work = mkdtempSync(join(tmpdir(), 'jip3-bench-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// Frames from a generated capture: one node information per protocol version, then events.
await generateJip3({ out: join(work, 'src'), minutes: 1, nodes: 6, cores: 341, seed: 'bench' });
const infos = [];
const events = [];
for (const f of readdirSync(join(work, 'src'))) {
  const b = readFileSync(join(work, 'src', f));
  for (let o = FILE_HEADER_BYTES; o < b.length; ) {
    const h = readRecordHeader(b, o);
    const p = b.subarray(o + RECORD_HEADER_BYTES, o + RECORD_HEADER_BYTES + h.length);
    if (h.kind === 1) infos.push(p);
    else if (h.kind === 3 && p[8] !== 0 && p[8] !== 61) events.push(p); // no dropped events (IDs stay 1 apart), no 61 (its layout depends on the version)
    o += RECORD_HEADER_BYTES + h.length;
  }
}
const frame = (p) => {
  const b = Buffer.alloc(4 + p.length);
  b.writeUInt32LE(p.length, 0);
  p.copy(b, 4);
  return b;
};
// One connection's whole stream, built once per distinct node information.
const streams = infos.slice(0, 2).map((info, k) => {
  const parts = [frame(info)];
  for (let i = 0; i < EVENTS; i++) parts.push(frame(events[(i * 7 + k) % events.length]));
  return Buffer.concat(parts);
});
const streamBytes = streams[0].length;
log(`jip3 bench: ${CONNS} connections × ${EVENTS} events (${(streamBytes / EVENTS).toFixed(0)} B/event on the wire), ${REPS} rep(s)`);

/** A node process with `args` (the CLI unless `script`), its output and getrusage kept. */
function run(args, env = {}, script = CLI) {
  const rus = join(work, `rus-${Math.random().toString(36).slice(2)}.json`);
  const p = spawn(process.execPath, ['--import', RUSAGE, script, ...args], { env: { ...process.env, JAM_BENCH_RUSAGE: rus, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise((res) => p.on('exit', (code) => res({ code, out, err, rusage: JSON.parse(readFileSync(rus, 'utf8')) })));
  return { p, done, err: () => err };
}

/**
 * The load into a receiver started by run(): once it has said `ready` on stderr, every
 * connection sends its stream; then SIGTERM, and the time until it has exited (all written).
 */
async function timedLoad(server, ready, port) {
  for (let i = 0; i < 100 && !server.err().includes(ready); i++) await new Promise((r) => setTimeout(r, 50));
  const t0 = performance.now();
  await sendAll(port);
  const sent = performance.now();
  server.p.kill('SIGTERM');
  const r = await server.done;
  const t1 = performance.now();
  return { r, seconds: (t1 - t0) / 1000, sendSeconds: (sent - t0) / 1000 };
}

/** The same load into the baseline receiver: events/s of a process that only reads. */
async function discardOnce() {
  const port = 19000 + Math.floor(Math.random() * 1000);
  const { r, seconds, sendSeconds } = await timedLoad(run(['--discard', String(port)], {}, fileURLToPath(import.meta.url)), 'listening', port);
  let want = 0;
  for (let i = 0; i < CONNS; i++) want += streams[i % streams.length].length;
  const read = JSON.parse(r.out).bytes;
  if (read !== want) throw new Error(`discard server read ${read} of ${want} bytes`);
  return { seconds, sendSeconds, events: CONNS * EVENTS, cpu: r.rusage.userSec + r.rusage.sysSec };
}

/** Every connection's stream, all connections at once (they are open together, like a network's nodes). */
async function sendAll(port) {
  let next = 0;
  const sendOne = (i) =>
    new Promise((res, rej) => {
      const s = connect(port, '127.0.0.1', () => {
        const b = streams[i % streams.length];
        for (let o = 0; o < b.length; o += 64 << 10) s.write(b.subarray(o, o + (64 << 10)));
        s.end();
      });
      s.on('error', rej);
      s.on('close', res);
    });
  await Promise.all(Array.from({ length: CONNS }, () => sendOne(next++)));
}

async function collectOnce(rep) {
  const out = join(work, `cap-${rep}`);
  const port = 19000 + Math.floor(Math.random() * 1000);
  const c = run(['collect', '--jip3', `127.0.0.1:${port}`, '--syslog', 'off', '--http', 'off', '--out', out, '--max-connections', String(CONNS + 10), '--json', '-q']);
  const { r, seconds, sendSeconds } = await timedLoad(c, 'jip3 127.0.0.1', port);
  const summary = JSON.parse(r.out);
  const total = CONNS * EVENTS;
  return { out, seconds, sendSeconds, events: summary.jip3?.events ?? 0, records: summary.jip3?.records ?? 0, total, rssMB: r.rusage.maxRSSKiB / 1024, cpu: r.rusage.userSec + r.rusage.sysSec, user: r.rusage.userSec, sys: r.rusage.sysSec };
}

async function decodeOnce(dir, workers, sink = 'dune') {
  const out = join(work, `${sink}-${workers}-${Math.random().toString(36).slice(2)}`);
  const t0 = performance.now();
  const dest = sink === 'dune' ? ['--out', out] : ['--db', `${out}.duckdb`];
  const r = await run([sink, dir, ...dest, '--workers', String(workers), '--json', '-q']).done;
  const t1 = performance.now();
  if (r.code !== 0) throw new Error(`${sink} exited ${r.code}: ${r.err}`);
  const s = JSON.parse(r.out);
  rmSync(out, { recursive: true, force: true });
  rmSync(`${out}.duckdb`, { force: true });
  return { seconds: (t1 - t0) / 1000, events: s.rows.jip3_events, rejects: s.rejects, rssMB: r.rusage.maxRSSKiB / 1024, cpu: r.rusage.userSec + r.rusage.sysSec, user: r.rusage.userSec, sys: r.rusage.sysSec };
}

const results = [];
for (let rep = 0; rep < REPS; rep++) {
  const base = await discardOnce();
  log(`baseline rep ${rep + 1}: a receiver that only reads: ${base.events} events in ${base.seconds.toFixed(2)} s = ${(base.events / base.seconds / 1e3).toFixed(0)}k events/s (sending took ${base.sendSeconds.toFixed(2)} s), CPU ${base.cpu.toFixed(2)} s`);
  const c = await collectOnce(rep);
  c.baseline = base;
  const loss = c.total - c.events;
  log(`collect rep ${rep + 1}: ${c.events}/${c.total} events (loss ${loss}) in ${c.seconds.toFixed(2)} s = ${(c.events / c.seconds / 1e3).toFixed(0)}k events/s (sending took ${c.sendSeconds.toFixed(2)} s; ${(base.seconds / c.seconds).toFixed(2)} x the baseline's rate); collector peak RSS ${c.rssMB.toFixed(0)} MB, CPU ${c.cpu.toFixed(2)} s`);
  if (argv.includes('--collect-only')) {
    results.push({ c });
    rmSync(c.out, { recursive: true, force: true });
    continue;
  }
  const d1 = await decodeOnce(c.out, 1);
  const d2 = await decodeOnce(c.out, 2);
  const db = await decodeOnce(c.out, 2, 'duckdb');
  for (const [w, d, into] of [[1, d1, 'JSONL'], [2, d2, 'JSONL'], [2, db, 'DuckDB']]) log(`decode --workers ${w} rep ${rep + 1}: ${d.events} events in ${d.seconds.toFixed(2)} s = ${(d.events / d.seconds / 1e3).toFixed(0)}k events/s into ${into} (rejects ${d.rejects}); peak RSS ${d.rssMB.toFixed(0)} MB, CPU ${d.cpu.toFixed(2)} s`);
  results.push({ c, d1, d2, db });
  rmSync(c.out, { recursive: true, force: true });
}
const best = (f) => Math.max(...results.map(f));
const rate = (d) => (d ? d.events / d.seconds : NaN);
log(`best: collect ${(best((r) => r.c.events / r.c.seconds) / 1e3).toFixed(0)}k events/s; decode into JSONL w1 ${(best((r) => rate(r.d1)) / 1e3).toFixed(0)}k/s, w2 ${(best((r) => rate(r.d2)) / 1e3).toFixed(0)}k/s; into DuckDB ${(best((r) => rate(r.db)) / 1e3).toFixed(0)}k/s`);
process.stdout.write(JSON.stringify({ connections: CONNS, eventsPerConnection: EVENTS, results }, null, 2) + '\n');
