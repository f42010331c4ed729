// Collector benchmark: `jam-etl collect` against syslog-ng (the reference's configuration), the
// same load in the same run, on loopback, writing to disk. A benchmark, not a test.
//
//   node bench/collect.mjs [--reps N] [--small N] [--large N] [--conns N] [--no-syslog-ng] [--no-nosync] [--no-prime | --fresh] [--threads] [--json]
//
// Load: Go log/syslog framing (`<14>RFC3339 host jamtart[pid]: msg\n`, what syslog-ng's numbers
// in COLLECTORS.md were measured with) from 64 connections, 200-byte and 8 KB envelopes, each
// connection's messages unique (connection id + sequence number). The load generator is a
// separate process writing pre-built buffers (1 MiB writes, socket backpressure honoured), so it
// costs little CPU; it is still on the same 2 cores as the collector, and the machine is shared.
// Throughput = messages / (first byte sent -> every byte on disk: the output files' total size
// reaches exactly what was sent, newlines included; then the lines are counted). Zero loss =
// lines and bytes on disk equal what was sent. Peak RSS of the collector from /proc (VmHWM).
// Fairness: the servers' order turns with each repetition, and before each measured run the page
// cache is primed (see primePageCache) so that no server's run lands on never-touched memory.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, openSync, readSync, closeSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { primePageCache } from './quiet.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const value = (name, dflt) => {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : argv[i + 1];
};

// ---------------------------------------------------------------- generator (child process)
if (argv[0] === '--gen') {
  const [, port, conns, size, count] = argv.map(Number);
  const sockets = await Promise.all(
    Array.from({ length: conns }, () => new Promise((r, j) => {
      const s = connect({ host: '127.0.0.1', port }, () => r(s));
      s.on('error', j);
    })),
  );
  const bufs = sockets.map((_, c) => buildLoad(c, size, count));
  process.send({ ready: true, bytes: bufs.reduce((a, b) => a + b.bytes, 0), lines: conns * count, messageBytes: bufs.reduce((a, b) => a + b.messageBytes, 0) });
  await new Promise((r) => process.once('message', r));
  await Promise.all(
    sockets.map(async (s, c) => {
      const b = bufs[c].buf;
      for (let p = 0; p < b.length; p += 1 << 20) {
        if (!s.write(b.subarray(p, p + (1 << 20)))) await new Promise((r) => s.once('drain', r));
      }
      await new Promise((r) => s.end(r));
    }),
  );
  process.send({ done: true });
  process.exit(0);
}

/** One connection's whole load: `count` Go-framed messages of exactly `size` bytes (message text). */
function buildLoad(conn, size, count) {
  const now = new Date().toISOString();
  const header = Buffer.from(`<14>${now} benchhost jamtart[${1000 + conn}]: `);
  const frame = header.length + size + 1;
  const buf = Buffer.allocUnsafe(frame * count);
  const sender = conn.toString(16).padStart(64, '0');
  for (let i = 0; i < count; i++) {
    const o = i * frame;
    header.copy(buf, o);
    const head = `{"time":"${now}","team":"bench","sender_id":"0x${sender}","msg_type":"141","json_encoded":{"p":"${i}.`;
    const tail = `"},"elapsed":${i % 1000}}`;
    const padLen = size - head.length - tail.length;
    if (padLen < 0) throw new Error(`size ${size} too small`);
    const m = o + header.length;
    buf.write(head, m, 'latin1');
    buf.fill(0x61 + (i % 26), m + head.length, m + head.length + padLen);
    buf.write(tail, m + head.length + padLen, 'latin1');
    buf[o + frame - 1] = 10;
  }
  return { buf, bytes: buf.length, messageBytes: (size + 1) * count };
}

// ---------------------------------------------------------------- orchestration
const reps = Number(value('--reps', 2));
const conns = Number(value('--conns', 64));
const smallCount = Number(value('--small', 1_600_000));
const largeCount = Number(value('--large', 48_000));
const useSyslogNg = !argv.includes('--no-syslog-ng');
const prime = !argv.includes('--no-prime');
// --fresh: the opposite condition, also the same for every server: wait 5 s before the load, so
// that the pages freed by the previous run have gone back to the host and every run's page cache
// is never-touched memory.
const fresh = argv.includes('--fresh');
const log = (s) => process.stderr.write(s + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function walkSize(dir) {
  let total = 0;
  let files = [];
  const walk = (d) => {
    let ents;
    try {
      ents = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.log')) {
        try {
          total += statSync(p).size;
          files.push(p);
        } catch {}
      }
    }
  };
  walk(dir);
  return { total, files };
}

function countLines(files) {
  let n = 0;
  const buf = Buffer.allocUnsafe(4 << 20);
  for (const f of files) {
    const fd = openSync(f, 'r');
    for (;;) {
      const r = readSync(fd, buf, 0, buf.length, null);
      if (r <= 0) break;
      const b = r === buf.length ? buf : buf.subarray(0, r);
      for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
    }
    closeSync(fd);
  }
  return n;
}

function rssOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** CPU seconds (user + system, all threads) the process has used. */
function cpuOf(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

function waitPort(port, ms = 10_000) {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const tryIt = () => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => (Date.now() - t0 > ms ? reject(new Error(`port ${port} never opened`)) : setTimeout(tryIt, 50)));
    };
    tryIt();
  });
}

// Below Linux's ephemeral range (32768-60999 by default): the senders' own connections take
// ports from that range, and one of them could hold a port we are about to listen on.
let nextPort = 20000 + Math.floor(Math.random() * 10000);

async function startJamEtl(out, dir, extra = []) {
  const port = nextPort++;
  const http = nextPort++;
  const p = spawn(process.execPath, [join(ROOT, 'bin', 'jam-etl.js'), 'collect', '--syslog', `127.0.0.1:${port}`, '--http', `127.0.0.1:${http}`, '--out', out, '-q', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  await waitPort(port);
  return { name: 'jam-etl collect', pid: p.pid, port, stop: async () => { p.kill('SIGTERM'); await new Promise((r) => p.once('close', r)); }, err: () => err };
}

async function startSyslogNg(out, dir) {
  const port = nextPort++;
  const conf = join(dir, 'syslog-ng.conf');
  // The reference README's configuration (TCP source, log_msg_size(25000000), flush_lines(0),
  // the program filter, the minute-file destination with ${MESSAGE}\n); max-connections raised
  // from syslog-ng's default of 10 so that 64 senders can connect at all.
  writeFileSync(
    conf,
    `@version: 3.38
options { flush_lines(0); };
source s_jam { network(ip("127.0.0.1") port(${port}) transport("tcp") log_msg_size(25000000) max-connections(256)); };
filter f_jam { match("^jamtart" value("PROGRAM")); };
destination d_jam { file("${out}/\${YEAR}/\${MONTH}/\${DAY}/\${HOUR}\${MIN}.log" template("\${MESSAGE}\\n") create-dirs(yes)); };
log { source(s_jam); filter(f_jam); destination(d_jam); };
`,
  );
  const p = spawn('syslog-ng', ['-F', '-f', conf, '-R', join(dir, 'persist'), '-p', join(dir, 'pid'), '-c', join(dir, 'ctl'), '--no-caps'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const failed = new Promise((_, j) => p.once('close', (code) => j(new Error(`syslog-ng exited ${code}: ${err}`))));
  await Promise.race([waitPort(port), failed]);
  failed.catch(() => {});
  return { name: 'syslog-ng 3.38', pid: p.pid, port, stop: async () => { p.kill('SIGTERM'); await new Promise((r) => (p.exitCode !== null ? r() : p.once('close', r))); }, err: () => err };
}

// primePageCache (bench/quiet.mjs): without it, a jam-etl run (4 MiB writes) landed on pages the
// VM's host had taken back or on recycled ones depending on timing; syslog-ng (one write per
// message) mostly reuses recycled pages either way. --fresh measures the other extreme for every
// server alike (BENCHMARKS.md, Collector).
async function runLoad(server, out, size, count) {
  const gen = fork(fileURLToPath(import.meta.url), ['--gen', String(server.port), String(conns), String(size), String(Math.ceil(count / conns))], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise((r) => gen.once('message', r));
  const expected = ready.messageBytes;
  if (fresh) await sleep(5000);
  else if (prime) primePageCache(dirname(out), Math.ceil(expected * 1.25) + (64 << 20));
  let peak = 0;
  const cpu0 = cpuOf(server.pid);
  const t0 = performance.now();
  gen.send('go');
  let sentAt = 0;
  gen.once('message', () => (sentAt = performance.now()));
  const deadline = t0 + 120_000;
  let total = 0;
  let last = { t: t0, total: 0 };
  while (performance.now() < deadline) {
    await sleep(20);
    total = walkSize(out).total;
    peak = Math.max(peak, rssOf(server.pid).rss);
    if (total >= expected) break;
    if (sentAt && total === last.total && performance.now() - last.t > 10_000) break; // stalled: loss
    if (total !== last.total) last = { t: performance.now(), total };
  }
  const sec = (performance.now() - t0) / 1000;
  const cpuSec = cpuOf(server.pid) - cpu0;
  // --threads: each thread's CPU over its whole life (start-up included), server and generator.
  if (argv.includes('--threads')) {
    const per = (pid) =>
      readdirSync(`/proc/${pid}/task`)
        .map((t) => {
          const f = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
          const r = f.slice(f.lastIndexOf(')') + 2).split(' ');
          return `${f.slice(f.indexOf('(') + 1, f.lastIndexOf(')'))}:${t} user ${(Number(r[11]) / 100).toFixed(2)} sys ${(Number(r[12]) / 100).toFixed(2)}`;
        })
        .filter((x) => !/user 0\.00 sys 0\.00/.test(x));
    log(`  threads of ${server.name}: ${per(server.pid).join(' | ')}`);
    if (gen.exitCode === null) log(`  threads of the generator: ${per(gen.pid).join(' | ')}`);
  }
  await new Promise((r) => (gen.exitCode !== null ? r() : gen.once('exit', r)));
  const { files } = walkSize(out);
  const lines = countLines(files);
  return { sec, cpuSec, msgPerCpuSec: ready.lines / cpuSec, lines, expectedLines: ready.lines, bytes: total, expectedBytes: expected, msgPerSec: ready.lines / sec, mbPerSec: expected / sec / 1e6, peakRssMiB: peak, hwmMiB: rssOf(server.pid).hwm };
}

const servers = [['jam-etl', startJamEtl]];
if (!argv.includes('--no-nosync')) servers.push(['jam-etl-nosync', (out, dir) => startJamEtl(out, dir, ['--fsync-ms', '86400000'])]);
if (useSyslogNg) {
  try {
    const v = spawn('syslog-ng', ['--version'], { stdio: 'ignore' });
    await new Promise((r, j) => (v.once('close', r), v.once('error', j)));
    servers.push(['syslog-ng', startSyslogNg]);
  } catch {
    log('syslog-ng is not installed (apt-get install -y syslog-ng-core): measuring jam-etl alone');
  }
}

const loads = [
  ['8 KB', 8192, largeCount],
  ['200 B', 200, smallCount],
];
const results = [];
log(`collector benchmark: ${conns} connections, ${cpus().length} cores (shared with other work), ${reps} repetitions, servers interleaved in turn${fresh ? ', every run into never-touched pages (--fresh)' : prime ? ', page cache primed before each run' : ''}`);
for (let rep = 1; rep <= reps; rep++) {
  for (const [lname, size, count] of loads) {
    // The order of the servers turns with each repetition, so none is always first.
    const order = servers.map((_, i) => servers[(i + rep - 1) % servers.length]);
    for (const [sname, start] of order) {
      const dir = mkdtempSync(join(tmpdir(), `collect-bench-${sname}-`));
      const out = join(dir, 'out');
      // Ports are random: on a shared machine one may be taken meanwhile; try the next ones.
      let server;
      for (let attempt = 1; ; attempt++) {
        try {
          server = await start(out, dir);
          break;
        } catch (e) {
          if (attempt >= 3 || !/in use|never opened/i.test(String(e?.message))) throw e;
          log(`${sname}: ${String(e.message).split('\n').find((l) => /in use|never opened/i.test(l)) ?? e.message}; retrying on another port`);
        }
      }
      try {
        const r = await runLoad(server, out, size, count);
        const lost = r.expectedLines - r.lines;
        results.push({ rep, load: lname, server: sname, ...r, lost });
        log(`rep ${rep} ${lname.padEnd(5)} ${sname.padEnd(14)} ${r.sec.toFixed(2)} s  ${Math.round(r.msgPerSec).toLocaleString('en-US').padStart(9)} msg/s  ${r.mbPerSec.toFixed(1).padStart(6)} MB/s  lines ${r.lines}/${r.expectedLines}  peak RSS ${r.peakRssMiB.toFixed(0)} MiB (HWM ${r.hwmMiB.toFixed(0)})`);
      } finally {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}
if (argv.includes('--json')) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
// Median per (load, server).
const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
log('\nmedians:');
for (const [lname] of loads) {
  for (const [sname] of servers) {
    const rs = results.filter((r) => r.load === lname && r.server === sname);
    log(`${lname.padEnd(5)} ${sname.padEnd(14)} ${Math.round(med(rs.map((r) => r.msgPerSec))).toLocaleString('en-US').padStart(9)} msg/s  ${med(rs.map((r) => r.mbPerSec)).toFixed(1).padStart(6)} MB/s  ${Math.round(med(rs.map((r) => r.msgPerCpuSec))).toLocaleString('en-US').padStart(9)} msg/CPU-s  ${(med(rs.map((r) => r.mbPerSec * r.sec / r.cpuSec))).toFixed(0).padStart(5)} MB/CPU-s  lost ${rs.reduce((a, r) => a + r.lost, 0)}  peak RSS ${Math.max(...rs.map((r) => r.hwmMiB)).toFixed(0)} MiB`);
  }
}
