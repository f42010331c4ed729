// The collector over real sockets (in-process, 127.0.0.1, ephemeral ports): every framing from
// several connections at once with writes cut at random places, sent = written byte for byte in
// each connection's order; 25 MB messages and one over the limit; a connection cut mid-message;
// Go's reconnect re-send; an idle client; the wrong tag; invalid UTF-8; the connection cap;
// backpressure; WebSocket; /metrics, /api/nodes, /healthz.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { startCollector } from '../dist/collect/collector.js';
import { frameMessage } from '../dist/collect/replay.js';
import { tempDir } from './helpers.mjs';

const T = new Date();

async function start(t, extra = {}) {
  const out = tempDir(t, 'jam-collect-');
  const logs = [];
  const c = await startCollector({
    out,
    syslog: { host: '127.0.0.1', port: 0 },
    ws: { host: '127.0.0.1', port: 0 },
    http: { host: '127.0.0.1', port: 0 },
    programs: ['jamtart', 'jametl'],
    maxMessageBytes: 25_000_000,
    fsyncMs: 50,
    limits: { idleTimeoutMs: 10_000, ...(extra.limits ?? {}) },
    log: (l) => logs.push(l),
    defaultMetrics: false,
    ...extra,
  });
  t.after(() => c.close());
  return { c, out, logs };
}

/** Every line of every minute file, in path order. */
function lines(out) {
  const files = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory() && e.name !== '_partial') walk(join(d, e.name));
      else if (e.name.endsWith('.log')) files.push(join(d, e.name));
    }
  };
  walk(out);
  const all = [];
  for (const f of files) {
    const buf = readFileSync(f);
    assert.ok(buf.length === 0 || buf[buf.length - 1] === 10, `${f} ends in a whole line`);
    let p = 0;
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, p)) {
      all.push(buf.subarray(p, i));
      p = i + 1;
    }
  }
  return all;
}

async function until(what, cond, ms = 10_000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function tcp(port) {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.setNoDelay(true);
    s.on('error', reject);
  });
}

function closed(s) {
  return new Promise((r) => (s.destroyed && s.closed ? r() : s.once('close', r)));
}

async function metricsText(c) {
  const r = await fetch(`http://127.0.0.1:${c.addresses.http.port}/metrics`);
  assert.equal(r.status, 200);
  return r.text();
}

function metric(text, name, labels = '') {
  const re = new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} (\\S+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

function envelope(conn, i, extra = {}) {
  return Buffer.from(JSON.stringify({ time: new Date().toISOString(), team: `team${conn % 3}`, sender_id: `0x${String(conn).padStart(64, '0')}`, msg_type: i % 5 === 0 ? '128' : '141', json_encoded: { header: { slot: 1000 + i }, note: `c${conn} m${i} {"}\\` }, elapsed: i * 10, ...extra }));
}

test('every framing over several connections at once, writes cut at random: sent = written, byte for byte, in each connection order', async (t) => {
  const { c, out } = await start(t);
  const framings = ['go', 'rust3164', 'rfc5424', 'octet'];
  const perConn = 60;
  const sent = new Map();
  let seed = 7;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  await Promise.all(
    framings.flatMap((fr, k) =>
      [0, 1].map(async (j) => {
        const conn = k * 2 + j;
        const msgs = Array.from({ length: perConn }, (_, i) => envelope(conn, i));
        sent.set(conn, msgs);
        const stream = Buffer.concat(msgs.flatMap((m, i) => frameMessage(fr, m, T, `host${conn}`, 'jamtart', i)));
        const s = await tcp(c.addresses.syslog.port);
        // Writes of 1 to 300 bytes, several messages per write now and then.
        for (let p = 0; p < stream.length; ) {
          const n = rnd(5) === 0 ? 5000 : 1 + rnd(300);
          s.write(stream.subarray(p, p + n));
          p += n;
          if (rnd(10) === 0) await new Promise((r) => setTimeout(r, 1));
        }
        s.end();
        await closed(s);
      }),
    ),
  );
  await until('all lines written', () => c.writer.writtenMessages >= framings.length * 2 * perConn);
  await c.writer.flush();
  const got = lines(out);
  assert.equal(got.length, framings.length * 2 * perConn);
  for (const [conn, msgs] of sent) {
    const mine = got.filter((l) => l.includes(`"sender_id":"0x${String(conn).padStart(64, '0')}"`));
    assert.deepEqual(mine.map((l) => l.toString('hex')), msgs.map((m) => m.toString('hex')), `connection ${conn}`);
  }
  const text = await metricsText(c);
  assert.equal(metric(text, 'jam_etl_collect_written_messages_total'), framings.length * 2 * perConn);
  assert.equal(metric(text, 'jam_etl_collect_messages_total', 'team="team0",msg_type="128"'), sent.size > 0 ? [0, 3, 6].length * perConn / 5 : -1);
  assert.match(text, /jam_etl_collect_producer_elapsed_seconds_bucket\{team="team1",msg_type="141",le="\+Inf"\} \d+/);
  const nodes = await (await fetch(`http://127.0.0.1:${c.addresses.http.port}/api/nodes`)).json();
  assert.equal(nodes.length, 8);
  const n3 = nodes.find((n) => n.nodeId === `0x${'3'.padStart(64, '0')}`);
  assert.equal(n3.nodeClientType, 'team0');
  assert.equal(n3.blockHeight, 1000 + 55);
  assert.equal(n3.nodeIp, '127.0.0.1');
  assert.equal(n3.nodeName, 'host3');
  assert.equal(n3.framing, 'rfc3164');
  assert.equal(n3.messagesPerMinute, perConn);
  const h = await (await fetch(`http://127.0.0.1:${c.addresses.http.port}/healthz`)).json();
  assert.equal(h.status, 'ok');
});

test('a 25,000,000-byte message is written whole; one byte more closes that connection (counted), never a partial line', async (t) => {
  const { c, out } = await start(t);
  const head = '{"time":"2025-04-24T23:39:00Z","team":"big","msg_type":"142","json_encoded":{"blob":"0x';
  const tail = '"}}';
  const exact = Buffer.alloc(25_000_000, 0x61);
  exact.write(head, 0);
  exact.write(tail, exact.length - tail.length);
  const over = Buffer.alloc(25_000_001, 0x62);
  over.write(head, 0);
  over.write(tail, over.length - tail.length);
  const ok = await tcp(c.addresses.syslog.port);
  const bad = await tcp(c.addresses.syslog.port);
  const badClosed = closed(bad);
  bad.on('error', () => {});
  for (const p of frameMessage('rust3164', over, T, 'h', 'jamtart', 1)) bad.write(p);
  for (const p of frameMessage('go', exact, T, 'h', 'jamtart', 1)) ok.write(p);
  ok.end(frameMessage('go', Buffer.from('{"after":1}'), T, 'h', 'jamtart', 1).reduce((a, b) => Buffer.concat([a, b])));
  await badClosed;
  await closed(ok);
  await until('written', () => c.writer.writtenMessages >= 2, 20_000);
  await c.writer.flush();
  const got = lines(out);
  assert.equal(got.length, 2);
  assert.ok(got[0].equals(exact));
  assert.equal(got[1].toString(), '{"after":1}');
  const text = await metricsText(c);
  assert.equal(metric(text, 'jam_etl_collect_refused_connections_total', 'reason="message_too_long"'), 1);
});

test('a connection cut mid-message writes nothing of it; Go re-sends: a whole duplicate is dropped (counted), a cut copy re-sent is kept', async (t) => {
  const { c, out } = await start(t);
  const m = [1, 2, 3, 4, 5].map((i) => envelope(1, i));
  const frame = (x) => Buffer.concat(frameMessage('go', x, T, 'h', 'jamtart', 1));
  // Connection A: m1, m2 whole, then half of m3, dropped.
  const a = await tcp(c.addresses.syslog.port);
  const f3 = frame(m[2]);
  a.write(Buffer.concat([frame(m[0]), frame(m[1]), f3.subarray(0, f3.length >> 1)]));
  await until('A read', () => c.writer.writtenMessages >= 2);
  await new Promise((r) => setTimeout(r, 30));
  a.destroy();
  await until('A released', () => c.manager.open.size === 0);
  // Go reconnects and re-sends m3 (its cut copy never reached disk), then m4.
  const b = await tcp(c.addresses.syslog.port);
  b.end(Buffer.concat([frame(m[2]), frame(m[3])]));
  await closed(b);
  await until('B written', () => c.writer.writtenMessages >= 4);
  // Connection C: m4 was delivered whole, but Go saw an error and re-sends it: a duplicate.
  const d = await tcp(c.addresses.syslog.port);
  d.end(Buffer.concat([frame(m[3]), frame(m[4])]));
  await closed(d);
  await until('C written', () => c.writer.writtenMessages >= 5);
  await c.writer.flush();
  assert.deepEqual(lines(out).map((l) => l.toString()), m.map(String));
  const text = await metricsText(c);
  assert.equal(metric(text, 'jam_etl_collect_refused_messages_total', 'reason="duplicate_resend"'), 1);
  assert.equal(metric(text, 'jam_etl_collect_incomplete_messages_total', 'transport="syslog"'), 1);
  assert.ok(metric(text, 'jam_etl_collect_incomplete_bytes_total') > 0);
});

test('idle clients are closed after the idle timeout (counted, logged once per peer); the wrong tag and invalid UTF-8', async (t) => {
  const { c, out, logs } = await start(t, { limits: { idleTimeoutMs: 300 } });
  const t0 = Date.now();
  const idle = await Promise.all([tcp(c.addresses.syslog.port), tcp(c.addresses.syslog.port)]);
  const s = await tcp(c.addresses.syslog.port);
  const bad = Buffer.concat([Buffer.from('{"msg_type":"0","x":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
  s.write(Buffer.concat([...frameMessage('go', Buffer.from('{"tag":"wrong"}'), T, 'h', 'sshd', 1), ...frameMessage('go', bad, T, 'h', 'jametl', 1)]));
  await Promise.all([...idle, s].map(closed));
  const took = Date.now() - t0;
  assert.ok(took >= 250 && took < 5000, `closed after ${took} ms`);
  await c.writer.flush();
  const got = lines(out);
  assert.equal(got.length, 1);
  assert.ok(got[0].equals(bad), 'invalid UTF-8 kept byte for byte');
  const text = await metricsText(c);
  assert.equal(metric(text, 'jam_etl_collect_refused_connections_total', 'reason="idle_timeout"'), 3);
  assert.equal(metric(text, 'jam_etl_collect_refused_messages_total', 'reason="program"'), 1);
  assert.equal(logs.filter((l) => l.includes('idle_timeout')).length, 1);
});

test('--max-connections: the surplus connection is closed and counted; backpressure under a tiny queue loses nothing', async (t) => {
  const { c, out, logs } = await start(t, { limits: { maxConnections: 3 }, highWaterBytes: 4096, lowWaterBytes: 1024 });
  const held = await Promise.all([1, 2, 3].map(() => tcp(c.addresses.syslog.port)));
  for (let i = 0; i < 3; i++) {
    const extra = await tcp(c.addresses.syslog.port);
    extra.on('error', () => {});
    await closed(extra);
  }
  const text = await metricsText(c);
  assert.equal(metric(text, 'jam_etl_collect_refused_connections_total', 'reason="max_connections"'), 3);
  assert.equal(logs.filter((l) => l.includes('max_connections')).length, 1);
  // The held connections send 3 x 2,000 messages through a 4 KiB writer queue.
  const sent = held.map((_, k) => Array.from({ length: 2000 }, (_, i) => envelope(k, i)));
  await Promise.all(
    held.map(async (s, k) => {
      s.end(Buffer.concat(sent[k].flatMap((m) => frameMessage('rfc5424', m, T, 'h', 'jamtart', 1))));
      await closed(s);
    }),
  );
  await until('all written', () => c.writer.writtenMessages >= 6000);
  await c.writer.flush();
  const got = lines(out);
  assert.equal(got.length, 6000);
  for (let k = 0; k < 3; k++) {
    const mine = got.filter((l) => l.includes(`"sender_id":"0x${String(k).padStart(64, '0')}"`));
    assert.deepEqual(mine.map(String), sent[k].map(String));
  }
  assert.ok(metric(await metricsText(c), 'jam_etl_collect_backpressure_pauses_total') > 0, 'the writer paused the sockets');
});

test('WebSocket /submit: text messages written (LF becomes a space), binary refused, over the limit closes', async (t) => {
  const { c, out } = await start(t, { maxMessageBytes: 1000 });
  const ws = new WebSocket(`ws://127.0.0.1:${c.addresses.ws.port}/submit`);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  const m1 = envelope(9, 1);
  ws.send(m1, { binary: false });
  ws.send('{"a":\n1}');
  ws.send(Buffer.from('{"bin":1}'), { binary: true });
  await until('two written', () => c.writer.writtenMessages >= 2);
  const closedWith = new Promise((r) => ws.once('close', (code) => r(code)));
  ws.send('{"x":"' + 'y'.repeat(2000) + '"}');
  assert.equal(await closedWith, 1009);
  await c.writer.flush();
  assert.deepEqual(lines(out).map(String), [String(m1), '{"a": 1}']);
  const text = await metricsText(c);
  assert.equal(metric(text, 'jam_etl_collect_refused_messages_total', 'reason="ws_binary"'), 1);
  assert.equal(metric(text, 'jam_etl_collect_refused_connections_total', 'reason="message_too_long"'), 1);
  const nodes = await (await fetch(`http://127.0.0.1:${c.addresses.http.port}/api/nodes`)).json();
  assert.equal(nodes.find((n) => n.nodeId.endsWith('9')).transport, 'ws');
});

test('WebSocket port: what never becomes a WebSocket is refused, counted by reason, and the listener keeps serving', async (t) => {
  const { c, out } = await start(t);
  const port = c.addresses.ws.port;
  const send = async (bytes) => {
    const s = await tcp(port);
    const got = [];
    s.on('data', (b) => got.push(b));
    s.end(bytes);
    await closed(s);
    return Buffer.concat(got).toString();
  };
  assert.match(await send('\x00\x01 not http at all\r\n\r\n'), /^HTTP\/1\.1 400/);
  assert.match(await send('GET /submit HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1\.1 426/);
  assert.match(await send('GET /other HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'), /^HTTP\/1\.1 400/);
  assert.match(await send('GET /submit HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n'), /^HTTP\/1\.1 400/);
  const text = await metricsText(c);
  for (const reason of ['ws_bad_request', 'ws_not_upgrade', 'ws_bad_path', 'ws_bad_handshake']) {
    assert.equal(metric(text, 'jam_etl_collect_refused_connections_total', `reason="${reason}"`), 1, reason);
  }
  const ws = new WebSocket(`ws://127.0.0.1:${port}/submit`);
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  ws.send(envelope(3, 1), { binary: false });
  await until('written', () => c.writer.writtenMessages >= 1);
  ws.close();
  await c.writer.flush();
  assert.equal(lines(out).length, 1);
});

test('the minute is the receive time (UTC): messages stamped long ago land in the current minute file', async (t) => {
  const { c, out } = await start(t);
  const s = await tcp(c.addresses.syslog.port);
  const before = Math.floor(Date.now() / 60000);
  s.end(Buffer.concat(frameMessage('go', Buffer.from('{"time":"2001-01-01T00:00:00Z"}'), new Date(Date.UTC(2001, 0, 1)), 'h', 'jamtart', 1)));
  await closed(s);
  await until('written', () => c.writer.writtenMessages >= 1);
  await c.writer.flush();
  const after = Math.floor(Date.now() / 60000);
  const [file] = [...c.writer.files];
  const rel = file.slice(out.length + 1);
  const ok = [before, after].map((m) => {
    const d = new Date(m * 60000);
    const p = (n) => String(n).padStart(2, '0');
    return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCHours())}${p(d.getUTCMinutes())}.log`;
  });
  assert.ok(ok.includes(rel), `${rel} is one of ${ok}`);
  assert.ok(statSync(file).size > 0);
});

test('--max-bytes-per-second pauses a fast sender (TCP backpressure) instead of cutting it: everything arrives, later', async (t) => {
  const { c, out } = await start(t, { limits: { maxBytesPerSecond: 40_000 } });
  const msgs = Array.from({ length: 150 }, (_, i) => Buffer.from(JSON.stringify({ msg_type: '141', i, pad: 'x'.repeat(960) })));
  const s = await tcp(c.addresses.syslog.port);
  const t0 = Date.now();
  s.end(Buffer.concat(msgs.flatMap((m) => frameMessage('go', m, T, 'h', 'jamtart', 1))));
  await until('all written', () => c.writer.writtenMessages >= msgs.length);
  const took = Date.now() - t0;
  // ~154 KB at 40 KB/s, 40 KB of burst, and a read (up to 64 KiB) may overdraw before the pause:
  // at least (154 - 40 - 64) / 40 = 1.25 s; unthrottled it takes a few ms.
  assert.ok(took >= 1000, `took ${took} ms`);
  await c.writer.flush();
  assert.deepEqual(lines(out).map(String), msgs.map(String));
  assert.ok(metric(await metricsText(c), 'jam_etl_collect_throttled_total') >= 1);
  assert.equal(metric(await metricsText(c), 'jam_etl_collect_refused_connections_total', 'reason="idle_timeout"'), 0);
});

test('unfinished messages are bounded over all connections: above --max-pending-bytes the connection holding the most is closed', async (t) => {
  const { c, out } = await start(t, { limits: { maxPendingBytes: 300_000 } });
  const small = await tcp(c.addresses.syslog.port);
  const big = await tcp(c.addresses.syslog.port);
  big.on('error', () => {});
  const bigClosed = closed(big);
  small.write(`<14>${T.toISOString()} h jamtart[1]: {"a":"` + 'x'.repeat(100_000));
  await until('small held', () => [...c.manager.open].some((x) => x.pending > 100_000));
  big.write(`<14>${T.toISOString()} h jamtart[1]: {"b":"` + 'y'.repeat(250_000));
  await bigClosed;
  // The small one is still open and can finish its message.
  small.end('"}\n');
  await closed(small);
  await until('written', () => c.writer.writtenMessages >= 1);
  await c.writer.flush();
  assert.deepEqual(lines(out).map(String), ['{"a":"' + 'x'.repeat(100_000) + '"}']);
  assert.equal(metric(await metricsText(c), 'jam_etl_collect_refused_connections_total', 'reason="memory"'), 1);
});
