// The JIP-3 listener of jam-etl collect: framing split at every byte, capture files that decode
// to exactly what was sent, node information first, frames over the limit, /api/nodes, /metrics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startCollector } from '../dist/collect/collector.js';
import { Jip3Framer, listenJip3 } from '../dist/collect/jip3.js';
import { readJip3Chunks } from '../dist/input/jip3-reader.js';
import { Jip3ChunkConverter } from '../dist/jip3/convert.js';
import { tempDir } from './helpers.mjs';
import { encodeEvent, encodeNodeInfo, le, Values } from './jip3-spec-encoder.mjs';

const frame = (b) => Buffer.concat([Buffer.from(le(b.length, 4)), Buffer.from(b)]);

function stream(n = 20, version = 1) {
  const v = new Values(11);
  const ctx = { version, cores: 2 };
  const frames = [encodeNodeInfo({ version, cores: 2 })];
  const discs = [11, 12, 10, 47, 94, 61, 126, 0, 199];
  for (let i = 0; i < n; i++) {
    const d = discs[i % discs.length];
    // A dropped event with a realistic count (the spec encoder's u64s are anything).
    const f = d === 0 ? Uint8Array.from([...le(1000 + i, 8), 0, ...le(999 + i, 8), ...le(3 + i, 8)]) : encodeEvent(d, v, ctx).bytes;
    f.set(le(2 ** 45 + i * 1000, 8), 0); // a plausible Timestamp (the spec encoder's are any u64)
    frames.push(f);
  }
  return frames;
}

test('the framer gives the same frames whatever the reads: split at every byte, and byte by byte', () => {
  const frames = stream(12);
  const bytes = Buffer.concat(frames.map(frame));
  const want = frames.map((f) => Buffer.from(f).toString('hex'));
  const run = (pieces) => {
    const fr = new Jip3Framer(1 << 18);
    const got = [];
    for (const p of pieces) assert.equal(fr.push(p, (b, s, e) => got.push(b.subarray(s, e).toString('hex'))), -1);
    assert.equal(fr.pendingBytes, 0);
    return got;
  };
  for (let i = 0; i <= bytes.length; i++) assert.deepEqual(run([bytes.subarray(0, i), bytes.subarray(i)]), want, `split at ${i}`);
  assert.deepEqual(run([...bytes].map((x) => Buffer.from([x]))), want);
  // Reads into one buffer that the next read overwrites (the listener's shared read buffer): the
  // framer keeps nothing of a read past its call but its own copies. Reads of every size 1..97.
  for (let size = 1; size < 98; size++) {
    const fr = new Jip3Framer(1 << 18);
    const shared = Buffer.alloc(size);
    const got = [];
    for (let o = 0; o < bytes.length; o += size) {
      const n = bytes.copy(shared, 0, o, o + size);
      assert.equal(fr.push(shared.subarray(0, n), (b, s, e) => got.push(b.subarray(s, e).toString('hex'))), -1);
      shared.fill(0xee); // what the next read would leave there
    }
    assert.equal(fr.pendingBytes, 0);
    assert.deepEqual(got, want, `reads of ${size} bytes into one buffer`);
  }
  // A length over the limit is reported before any of its bytes arrive.
  const fr = new Jip3Framer(100);
  assert.equal(fr.push(Buffer.from(le(101, 4)), () => assert.fail('no frame')), 101);
});

async function collector(t, extra = {}) {
  const out = tempDir(t);
  const logs = [];
  const c = await startCollector({ out, syslog: null, ws: null, http: { host: '127.0.0.1', port: 0 }, programs: ['jamtart'], maxMessageBytes: 1 << 20, fsyncMs: 50, limits: { idleTimeoutMs: 10_000, ...(extra.limits ?? {}) }, log: (l) => logs.push(l), defaultMetrics: false });
  const j = await listenJip3(c, { host: '127.0.0.1', port: 0, maxFrameBytes: 1 << 10, fsyncMs: 50 });
  t.after(() => c.close());
  return { c, j, out, logs };
}

function send(port, bytes, { pieces = 7, keepOpen = false } = {}) {
  return new Promise((res, rej) => {
    const s = connect(port, '127.0.0.1', async () => {
      const step = Math.max(1, Math.ceil(bytes.length / pieces));
      for (let o = 0; o < bytes.length; o += step) {
        s.write(bytes.subarray(o, o + step));
        await new Promise((r) => setImmediate(r));
      }
      if (!keepOpen) s.end();
    });
    // The collector may close first (a refused or cut connection): that is the point of some tests.
    s.on('error', (e) => (['EPIPE', 'ECONNRESET'].includes(e.code) ? res() : rej(e)));
    s.on('close', () => res());
    s.resume();
  });
}

async function decodeDir(dir) {
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.jip3')) files.push(p);
    }
  };
  walk(dir);
  const conv = new Jip3ChunkConverter();
  const rows = { events: [], connections: [], rejects: [] };
  for (const f of files.sort()) {
    for await (const ch of readJip3Chunks(f)) {
      const r = conv.run(ch);
      for (const [t, b] of r.tables) {
        const list = b.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));
        if (t === 'jip3_events') rows.events.push(...list);
        if (t === 'jip3_connections') rows.connections.push(...list);
      }
      if (r.rejects.length) rows.rejects.push(...r.rejects.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    }
  }
  return { files, ...rows };
}

test('collector: frames of several connections are captured byte for byte and decode with their Event IDs', async (t) => {
  const { c, j, out } = await collector(t);
  const a = stream(40, 1);
  const b = stream(25, 0);
  await Promise.all([send(j.address.port, Buffer.concat(a.map(frame)), { pieces: 13 }), send(j.address.port, Buffer.concat(b.map(frame)), { pieces: 1 })]);
  await new Promise((r) => setTimeout(r, 50));
  // /api/nodes: the node from its node information, with the best and finalized slot of events 11/12.
  const http = c.addresses.http;
  const nodes = await (await fetch(`http://127.0.0.1:${http.port}/api/nodes`)).json();
  const n = nodes.find((x) => x.nodeId === '0x' + '07'.repeat(32));
  assert.ok(n, JSON.stringify(nodes));
  assert.equal(n.nodeClientType, 'PolkaJam');
  assert.equal(typeof n.jip3.bestSlot, 'number');
  assert.equal(typeof n.jip3.finalizedSlot, 'number');
  assert.ok([0, 1].includes(n.jip3.protocolVersion));
  const metrics = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
  assert.match(metrics, /jam_etl_collect_jip3_events_total\{implementation="PolkaJam",event="best_block_changed"\} \d+/);
  assert.match(metrics, /jam_etl_collect_jip3_dropped_events_total\{implementation="PolkaJam"\} \d+/);
  await c.close();
  const d = await decodeDir(out);
  assert.deepEqual(d.rejects, []);
  assert.equal(d.connections.length, 2);
  assert.equal(d.events.length, 65);
  // Event IDs: consecutive, except after a dropped event (+ its count).
  for (const conn of new Set(d.events.map((e) => e.connection))) {
    const evs = d.events.filter((e) => e.connection === conn);
    let next = 0;
    for (const e of evs) {
      assert.equal(e.event_id, next);
      next += e.discriminator === 0 ? JSON.parse(e.fields).dropped : 1;
    }
  }
  assert.equal(j.metrics.total(), 65);
});

test('collector: a first frame that is not node information closes the connection, counted, its bytes and the frames that came with it kept', async (t) => {
  const { c, j, out } = await collector(t);
  const ev = stream(2)[1];
  const bad = Buffer.concat([frame(Buffer.from('{"json": "not jip3"}')), frame(ev), frame(ev)]);
  await send(j.address.port, bad, { pieces: 1, keepOpen: true });
  const metrics = await (await fetch(`http://127.0.0.1:${c.addresses.http.port}/metrics`)).text();
  assert.match(metrics, /jam_etl_collect_jip3_node_info_failures_total\{reason="[a-z_]+"\} 1/);
  await c.close();
  const d = await decodeDir(out);
  assert.equal(d.events.length, 0);
  // The frames that arrived in the same read are not lost: one reject each, with its bytes.
  assert.deepEqual(d.rejects.map((r) => r.code), ['jip3_bad_node_info', 'jip3_no_node_info', 'jip3_no_node_info']);
  assert.equal(d.rejects[0].raw_hex, '0x' + Buffer.from('{"json": "not jip3"}').toString('hex'));
  assert.equal(d.rejects[1].raw_hex, '0x' + Buffer.from(ev).toString('hex'));
  assert.deepEqual(d.rejects.slice(1).map((r) => r.event_id), [0, 1]);
});

test('collector: a frame over --max-frame-bytes closes the connection; what came before it is kept', async (t) => {
  const { c, j, out } = await collector(t);
  const s = stream(5);
  const over = Buffer.concat([...s.map(frame), Buffer.from(le(5000, 4)), Buffer.alloc(100)]);
  await send(j.address.port, over, { pieces: 3, keepOpen: true });
  await c.close();
  const d = await decodeDir(out);
  assert.equal(d.events.length, 5);
  assert.deepEqual(d.rejects, []);
});

test('collector: the connection cap refuses the connection over it', async (t) => {
  const { c, j } = await collector(t, { limits: { maxConnections: 1 } });
  const first = connect(j.address.port, '127.0.0.1');
  await new Promise((r) => first.on('connect', r));
  await new Promise((r) => setTimeout(r, 30));
  await send(j.address.port, Buffer.concat(stream(2).map(frame)), { keepOpen: true });
  const metrics = await (await fetch(`http://127.0.0.1:${c.addresses.http.port}/metrics`)).text();
  assert.match(metrics, /jam_etl_collect_refused_connections_total\{reason="max_connections"\} 1/);
  first.destroy();
});

test('jam-etl collect --jip3 end to end: nodes send, SIGTERM, the summary counts them, jam-etl dune loads the capture', async (t) => {
  const { spawn } = await import('node:child_process');
  const { BIN, ROOT, runCli } = await import('./helpers.mjs');
  const out = tempDir(t);
  const p = spawn(process.execPath, [BIN, 'collect', '--syslog', 'off', '--http', 'off', '--jip3', '127.0.0.1:0', '--out', out, '--fsync-ms', '20', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let stdout = '';
  p.stderr.on('data', (d) => (err += d));
  p.stdout.on('data', (d) => (stdout += d));
  const exited = new Promise((r) => p.on('exit', r));
  let port;
  for (let i = 0; i < 200 && !port; i++) {
    port = /jip3 127\.0\.0\.1:(\d+)/.exec(err)?.[1];
    if (!port) await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(port, err);
  await Promise.all([send(Number(port), Buffer.concat(stream(30, 1).map(frame))), send(Number(port), Buffer.concat(stream(10, 0).map(frame)))]);
  p.kill('SIGTERM');
  assert.equal(await exited, 0, err);
  const s = JSON.parse(stdout);
  assert.equal(s.jip3.events, 40);
  const o = tempDir(t);
  const r = await runCli(['dune', out, '--out', o, '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const d = JSON.parse(r.stdout);
  assert.equal(d.rows.jip3_events, 40);
  assert.equal(d.rows.jip3_connections, 2);
  assert.equal(d.rejects, 0);
});

test('replay --framing jip3 sends logs/jip3 to the collector as its nodes did: the new capture decodes to the same events', async (t) => {
  const { replayJip3 } = await import('../dist/collect/jip3-replay.js');
  const { ROOT } = await import('./helpers.mjs');
  const { c, j, out } = await collector(t);
  const res = await replayJip3([join(ROOT, 'logs', 'jip3')], { host: '127.0.0.1', port: j.address.port });
  assert.equal(res.connections, 4);
  await new Promise((r) => setTimeout(r, 50));
  await c.close();
  const again = await decodeDir(out);
  const orig = await decodeDir(join(ROOT, 'logs', 'jip3'));
  assert.deepEqual(again.rejects, []);
  assert.equal(res.lines, orig.events.length + orig.connections.length, "every event frame and each node information");
  const key = (e) => `${e.node} ${e.event_id} ${e.time} ${e.discriminator} ${e.fields}`;
  assert.deepEqual(again.events.map(key).sort(), orig.events.map(key).sort());
});

test('runToSink --follow over a collector tree picks up a capture while the collector writes it: every event once, none cut', async (t) => {
  const { runToSink } = await import('../dist/pipeline/run.js');
  const { c, j, out } = await collector(t);
  const batches = [];
  const sink = { name: 'test', resumable: true, async open() { return new Map(); }, write(b) { batches.push(b); }, async checkpoint() {}, async commit() { return { tables: [] }; }, async abort() {} };
  const stop = new AbortController();
  const running = runToSink(sink, { command: 'test', paths: [out], workers: 1, progress: false, follow: { pollMs: 20 }, signal: stop.signal, settleMs: 60_000 });
  const events = () => batches.reduce((n, b) => n + b.counters.rows.jip3_events, 0);
  const s = connect(j.address.port, '127.0.0.1');
  await new Promise((r) => s.on('connect', r));
  const frames = stream(60, 1).map(frame);
  // Node information and 20 events, then 40 more in two bursts, one of them cut mid-frame for a while.
  s.write(Buffer.concat(frames.slice(0, 21)));
  const until = async (cond, what) => {
    const t0 = Date.now();
    while (!cond()) {
      assert.ok(Date.now() - t0 < 20_000, what);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until(() => events() === 20, `first 20 events (${events()})`);
  const rest = Buffer.concat(frames.slice(21));
  s.write(rest.subarray(0, 100));
  await new Promise((r) => setTimeout(r, 150));
  s.write(rest.subarray(100));
  s.end();
  await until(() => events() === 60, `all 60 events (${events()})`);
  stop.abort();
  const { summary } = await running;
  assert.equal(summary.rejects, 0);
  assert.equal(events(), 60);
  await c.close();
});

test('collector: an idle connection is closed after --idle-timeout, counted, and its capture says why', async (t) => {
  const { readRecordHeader, RECORD_HEADER_BYTES } = await import('../dist/jip3/capture.js');
  const { c, j, out } = await collector(t, { limits: { idleTimeoutMs: 150 } });
  await send(j.address.port, Buffer.concat(stream(3).map(frame)), { pieces: 1, keepOpen: true });
  const metrics = await (await fetch(`http://127.0.0.1:${c.addresses.http.port}/metrics`)).text();
  assert.match(metrics, /jam_etl_collect_refused_connections_total\{reason="idle_timeout"\} 1/);
  await c.close();
  const d = await decodeDir(out);
  assert.equal(d.events.length, 3);
  const { readFileSync } = await import('node:fs');
  const b = readFileSync(d.files[0]);
  const closed = [];
  for (let o = 16; o < b.length; ) {
    const h = readRecordHeader(b, o);
    if (h.kind === 4) closed.push({ id: h.eventId, why: b.subarray(o + RECORD_HEADER_BYTES, o + RECORD_HEADER_BYTES + h.length).toString() });
    o += RECORD_HEADER_BYTES + h.length;
  }
  assert.deepEqual(closed, [{ id: 3, why: 'closed by the collector (idle timeout or shutdown)' }]);
});
