// The built CLI end to end: `jam-etl replay` of the real fixtures into `jam-etl collect` in every
// framing, then `jam-etl dune` on the collected files equals `jam-etl dune` on the fixtures; a
// restart after SIGKILL with an unterminated line on disk; SIGTERM with a connection half-way
// through a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { BIN, FIXTURE, ROOT, needsShared, runCli, tempDir } from './helpers.mjs';

/** Starts `jam-etl collect` on ephemeral ports; resolves once it listens. */
function startCollect(t, out, extra = []) {
  const p = spawn(process.execPath, [BIN, 'collect', '--syslog', '127.0.0.1:0', '--ws', '127.0.0.1:0', '--http', '127.0.0.1:0', '--out', out, '--fsync-ms', '20', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const exited = new Promise((r) => p.on('close', (code, signal) => r({ code, signal, stderr })));
  t.after(() => p.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    p.stderr.on('data', (d) => {
      stderr += d;
      const m = /syslog 127\.0\.0\.1:(\d+), ws 127\.0\.0\.1:(\d+)\/submit, http 127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve({ p, syslog: +m[1], ws: +m[2], http: +m[3], exited, stderr: () => stderr });
    });
    p.on('close', () => reject(new Error(`collect exited early: ${stderr}`)));
  });
}

async function written(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^jam_etl_collect_written_messages_total (\d+)$/m.exec(text)[1]);
}

async function until(what, cond, ms = 15_000) {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function logFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== '_partial') walk(join(d, e.name));
      else if (e.name.endsWith('.log')) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

/** table -> sorted rows (JSON text), from a dune output folder. */
function tables(dir) {
  const res = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.jsonl') && n !== '_rejects.jsonl')) {
    res[f] = readFileSync(join(dir, f), 'utf8').split('\n').filter((l) => l !== '').sort();
  }
  return res;
}

test('replay the fixtures into collect in every framing: jam-etl dune on the collected files = on the fixtures (each row once per framing)', needsShared(), async (t) => {
  const d = tempDir(t);
  const col = await startCollect(t, join(d, 'tel'));
  const framings = ['go', 'rust3164', 'rfc5424', 'octet', 'ws'];
  for (const f of framings) {
    const r = await runCli(['replay', join(FIXTURE, 'logs'), '--to', `127.0.0.1:${f === 'ws' ? col.ws : col.syslog}`, '--framing', f, '--nodes', '3', '--json', '-q']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).lines, 276);
  }
  await until('all written', async () => (await written(col.http)) >= 276 * framings.length);
  const nodes = await (await fetch(`http://127.0.0.1:${col.http}/api/nodes`)).json();
  assert.ok(nodes.length >= 3 && nodes.every((n) => n.nodeId.startsWith('0x') && n.blockHeight > 1634000));
  col.p.kill('SIGTERM');
  const ex = await col.exited;
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stderr, new RegExp(`${276 * framings.length} messages`));
  const a = await runCli(['dune', join(FIXTURE, 'logs'), '-o', join(d, 'a'), '-q', '-w', '1']);
  const b = await runCli(['dune', join(d, 'tel'), '-o', join(d, 'b'), '-q', '-w', '1']);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const ta = tables(join(d, 'a'));
  const tb = tables(join(d, 'b'));
  assert.deepEqual(Object.keys(tb).sort(), Object.keys(ta).sort());
  assert.ok(Object.keys(ta).length >= 9);
  for (const [name, rows] of Object.entries(ta)) {
    const times = rows.flatMap((r) => framings.map(() => r)).sort();
    assert.equal(tb[name].length, times.length, name);
    assert.deepEqual(tb[name], times, name);
  }
});

test('restart after SIGKILL: the unterminated last line is cut off, kept in _partial/ and counted; writing goes on with whole lines', needsShared(), async (t) => {
  const d = tempDir(t);
  const out = join(d, 'tel');
  const first = await startCollect(t, out);
  const file2339 = join(FIXTURE, 'logs', '2339.log');
  const sentLines = readFileSync(file2339).toString().split('\n').filter((l) => l.trim() !== '');
  assert.equal((await runCli(['replay', file2339, '--to', `127.0.0.1:${first.syslog}`, '-q'])).code, 0);
  await until('written', async () => (await written(first.http)) === sentLines.length);
  await new Promise((r) => setTimeout(r, 100)); // > --fsync-ms
  first.p.kill('SIGKILL');
  assert.equal((await first.exited).signal, 'SIGKILL');
  const file = logFiles(out).at(-1);
  // What a crash in the middle of a write leaves: a line without its end.
  const cut = '{"time":"2025-04-24T23:39:00.1Z","sender_id":"0xab","msg_type":"128","json_encoded":{"hea';
  appendFileSync(file, cut);
  const second = await startCollect(t, out);
  assert.match(second.stderr(), new RegExp(`unterminated last line \\(${Buffer.byteLength(cut)} bytes`));
  const metrics = await (await fetch(`http://127.0.0.1:${second.http}/metrics`)).text();
  assert.match(metrics, /^jam_etl_collect_partial_lines_total 1$/m);
  const partial = readdirSync(join(out, '_partial'));
  assert.equal(partial.length, 1);
  assert.equal(readFileSync(join(out, '_partial', partial[0]), 'utf8'), cut);
  assert.deepEqual(logFiles(out).flatMap((f) => readFileSync(f, 'utf8').split('\n').slice(0, -1)), sentLines);
  // A connection half-way through a message when SIGTERM comes: its whole messages are kept.
  const s = await new Promise((r) => {
    const c = connect({ host: '127.0.0.1', port: second.syslog }, () => r(c));
  });
  s.on('error', () => {});
  const now = new Date().toISOString();
  s.write(`<14>${now} h jamtart[1]: {"whole":1}\n<14>${now} h jamtart[1]: {"half":`);
  await until('whole written', async () => (await written(second.http)) === 1);
  second.p.kill('SIGTERM');
  const ex = await second.exited;
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stderr, /cut mid-message: 1/);
  const all = logFiles(out).flatMap((f) => {
    const text = readFileSync(f, 'utf8');
    assert.ok(text.endsWith('\n'), `${f} ends with a whole line`);
    return text.split('\n').slice(0, -1);
  });
  assert.deepEqual(all, [...sentLines, '{"whole":1}']);
});

test('SIGKILL under load, then restart: every file ends in a whole line and every line is one that was sent, whole', async (t) => {
  const d = tempDir(t);
  const out = join(d, 'tel');
  // 20,000 distinct envelopes of ~1-3 KB in one .log file.
  const sent = Array.from({ length: 20_000 }, (_, i) => JSON.stringify({ time: '2025-04-24T23:39:00Z', sender_id: `0x${(i % 7).toString(16).padStart(64, '0')}`, msg_type: '141', json_encoded: { i, pad: 'z'.repeat(1000 + (i % 2000)) } }));
  writeFileSync(join(d, 'in.log'), sent.join('\n') + '\n');
  const first = await startCollect(t, out);
  const rep = runCli(['replay', join(d, 'in.log'), '--to', `127.0.0.1:${first.syslog}`, '--nodes', '7', '--framing', 'rust3164', '-q']);
  await until('some written', async () => (await written(first.http)) > 2000);
  first.p.kill('SIGKILL');
  await first.exited;
  await rep; // fails once the collector is gone; what matters is what is on disk
  const second = await startCollect(t, out);
  second.p.kill('SIGTERM');
  const ex = await second.exited;
  assert.equal(ex.code, 0, JSON.stringify(ex));
  const known = new Set(sent);
  let n = 0;
  for (const f of logFiles(out)) {
    const text = readFileSync(f, 'utf8');
    assert.ok(text.endsWith('\n'), `${f} ends with a whole line`);
    for (const line of text.split('\n').slice(0, -1)) {
      assert.ok(known.has(line), `a line that was sent, whole (${line.slice(0, 60)}...)`);
      n++;
    }
  }
  assert.ok(n > 2000, `${n} lines kept`);
});

test('replay --rate N sends at most N messages per second (all of them arrive)', needsShared(), async (t) => {
  const d = tempDir(t);
  const col = await startCollect(t, join(d, 'tel'));
  const r = await runCli(['replay', join(FIXTURE, 'logs'), '--to', `127.0.0.1:${col.syslog}`, '--rate', '400', '--nodes', '2', '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.lines, 276);
  assert.ok(res.seconds >= 275 / 400 - 0.05, `${res.seconds} s for 276 lines at 400/s`);
  await until('all written', async () => (await written(col.http)) === 276);
  col.p.kill('SIGTERM');
  assert.equal((await col.exited).code, 0);
});
