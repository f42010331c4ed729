// jam-etl bigquery on the one driver: --workers, rejects exactly once across a SIGKILL, and
// --follow over a collector tree (a poll lists what is new; the state collapses into a watermark).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Follower } from '../dist/input/follow.js';
import { assertSameRows, cli, DATASET, duneRows, insertAlls, LOGS, schemaCreate, sleep, spawnCli, startServer, storedRows, target, until } from './bigquery-helpers.mjs';
import { envelope, needsShared, readJsonl, tempDir } from './helpers.mjs';

const ASSURANCE = { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', signature: '0x' + '22'.repeat(64) };
const line = (i, minute = 44) => envelope(141, { ...ASSURANCE, validator_index: i }, { time: `2025-04-29T00:${String(minute % 60).padStart(2, '0')}:00.000001Z` }) + '\n';

test('bigquery streaming: --workers 2 stores the same rows as --workers 1', needsShared(), async (t) => {
  const dir = tempDir(t);
  const expected = await duneRows([LOGS], dir);
  const got = [];
  for (const w of ['1', '2']) {
    const server = await startServer(t);
    await schemaCreate(server);
    const r = await cli(['bigquery', LOGS, ...target(server), '--state', join(dir, `state-${w}.json`), '--rejects', join(dir, `rejects-${w}.jsonl`), '-w', w, '--json', '-q', '--batch-rows', '50']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).workers, Number(w), `ran on ${w} worker(s)`);
    assertSameRows(server, expected, `--workers ${w}: `);
    got.push(storedRows(server));
  }
  assert.deepEqual(got[0], got[1]);
});

/** 12 files of 60 lines, every 7th line not JSON: rejects all through the input. */
function inputWithRejects(dir) {
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const bad = [];
  for (let f = 0; f < 12; f++) {
    let text = '';
    for (let i = 1; i <= 60; i++) {
      if (i % 7 === 0) {
        text += `{"not json ${f} ${i}\n`;
        bad.push(`f${String(f).padStart(2, '0')}.log:${i}`);
      } else text += envelope(141, { ...ASSURANCE, validator_index: f * 100 + i }, { time: `2025-04-29T00:44:${String(f).padStart(2, '0')}.${String(i).padStart(6, '0')}Z` }) + '\n';
    }
    writeFileSync(join(logs, `f${String(f).padStart(2, '0')}.log`), text);
  }
  return { logs, bad: bad.sort() };
}

const rejectKeys = (path) =>
  readJsonl(path)
    .map((r) => `${r.file.split('/').at(-1)}:${r.line}`)
    .sort();

test('rejects exactly once: SIGKILL mid-run and rerun (twice); every reject record is in the file once', async (t) => {
  const dir = tempDir(t);
  const { logs, bad } = inputWithRejects(dir);
  const server = await startServer(t);
  await schemaCreate(server);
  const rejects = join(dir, 'rejects.jsonl');
  const args = ['bigquery', logs, ...target(server), '--state', join(dir, 'state.json'), '--rejects', rejects, '-q', '--batch-rows', '10', '--concurrency', '2', '--flush-lines', '5', '-w', '1'];
  server.faults.push({ match: { path: '/insertAll' }, delayMs: 40, times: Infinity });
  let killedWith = 0;
  for (const n of [6, 20]) {
    const seen = insertAlls(server).length;
    const { child, done } = spawnCli(args);
    await until(() => insertAlls(server).length >= seen + n || child.exitCode !== null, 30_000, `${n} requests`);
    child.kill('SIGKILL');
    const r = await done;
    assert.equal(r.signal, 'SIGKILL', `killed mid-run (it must not have finished): ${r.stderr}`);
    killedWith = Math.max(killedWith, rejectKeys(rejects).length);
    await sleep(100);
  }
  assert.ok(killedWith > 0, 'the killed runs had written rejects');
  server.faults.length = 0;
  const last = await cli([...args, '--json']);
  assert.equal(last.code, 0, last.stderr);
  const keys = rejectKeys(rejects);
  assert.equal(new Set(keys).size, keys.length, 'no reject record twice');
  assert.deepEqual(keys, bad, 'every bad line has its reject');
  assert.equal(server.rows(DATASET, 'assurances').length, 12 * 60 - bad.length, 'every row once');
  // A run with nothing new writes nothing and cuts nothing.
  const again = await cli([...args, '--json']);
  assert.equal(again.code, 0);
  assert.equal(JSON.parse(again.stdout).rejects_cut_bytes, 0);
  assert.deepEqual(rejectKeys(rejects), bad);
});

/** A collector tree: `days` days of `perDay` minute files of one line each, all old. */
function collectorTree(root, days, perDay) {
  const old = (Date.now() - 3600_000) / 1000;
  let n = 0;
  for (let d = 0; d < days; d++) {
    const day = join(root, '2025', '04', String(10 + d).padStart(2, '0'));
    mkdirSync(day, { recursive: true });
    for (let m = 0; m < perDay; m++) {
      const f = join(day, `${String(Math.floor(m / 60)).padStart(2, '0')}${String(m % 60).padStart(2, '0')}.log`);
      writeFileSync(f, line(n++, m));
      utimesSync(f, old, old);
    }
  }
  return n;
}

test('follow: over a collector tree a poll lists only the folders and files after the watermark', async (t) => {
  const root = join(tempDir(t), 'logs');
  collectorTree(root, 20, 30);
  const f = new Follower([root], { settleMs: 1000 });
  const first = await f.poll();
  assert.equal(first.length, 600);
  // Everything is read; all but the newest minute collapse.
  const c = f.collapsible(() => true);
  assert.equal(c.paths.length, 599);
  assert.equal(c.watermark, '2025/04/29/0028.log');
  f.setWatermark(c.watermark);
  const calls = f.readdirCalls;
  const listed = f.entriesListed;
  const next = await f.poll();
  assert.deepEqual(next.map((x) => x.path.split('/').slice(-4).join('/')), ['2025/04/29/0029.log'], 'only what is not behind the watermark');
  assert.equal(f.readdirCalls - calls, 4, 'root, year, month, newest day: not the 20 days');
  assert.ok(f.entriesListed - listed <= 1 + 1 + 20 + 30, `listed ${f.entriesListed - listed} entries`);
});

test('follow: the state keeps a watermark, not one entry per file; a rerun reads nothing again', async (t) => {
  const dir = tempDir(t);
  const root = join(dir, 'logs');
  const total = collectorTree(root, 3, 40);
  const server = await startServer(t);
  await schemaCreate(server);
  const state = join(dir, 'state.json');
  const { child, done } = spawnCli(['bigquery', root, ...target(server), '--state', state, '--follow', '--poll-interval', '0.1', '--json', '-q', '-w', '1']);
  await until(() => server.rows(DATASET, 'assurances').length === total, 30_000, 'every row');
  // A new minute arrives; the older ones collapse once it is read.
  const day = join(root, '2025', '04', '12');
  writeFileSync(join(day, '0100.log'), line(9999));
  await until(() => server.rows(DATASET, 'assurances').length === total + 1, 30_000, 'the new minute');
  await until(() => {
    try {
      const doc = JSON.parse(readFileSync(state, 'utf8'));
      return Object.values(doc.destinations)[0].watermark === '2025/04/12/0039.log';
    } catch {
      return false;
    }
  }, 20_000, 'the watermark');
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  const dest = Object.values(JSON.parse(readFileSync(state, 'utf8')).destinations)[0];
  assert.ok(Object.keys(dest.files).length <= 2, `${Object.keys(dest.files).length} entries for ${total + 1} files`);
  const before = insertAlls(server).length;
  const again = await cli(['bigquery', root, ...target(server), '--state', state, '--json', '-q']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(insertAlls(server).length, before, 'nothing sent again');
  assert.equal(JSON.parse(again.stdout).files_already_done, total + 1);
  assert.equal(server.rows(DATASET, 'assurances').length, total + 1);
});

test('SIGTERM during a streaming run without --follow: "stopped", exit 143, positions saved; the rerun finishes exactly once', needsShared(), async (t) => {
  const dir = tempDir(t);
  const server = await startServer(t);
  await schemaCreate(server);
  const expected = await duneRows([LOGS], dir);
  const state = join(dir, 'state.json');
  const args = ['bigquery', LOGS, ...target(server), '--state', state, '--batch-rows', '20', '--concurrency', '1', '--flush-lines', '10', '-w', '2'];
  server.faults.push({ match: { path: '/insertAll' }, delayMs: 50, times: Infinity });
  const { child, done } = spawnCli(args);
  await until(() => insertAlls(server).length >= 4, 20_000, '4 requests');
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 143, r.stderr);
  assert.match(r.stderr, /jam-etl: stopped \(SIGTERM\): \d+ file\(s\), \d+ lines read/);
  assert.ok(insertAlls(server).every((q) => q.status === 200), 'every request it sent was answered before it stopped');
  const files = Object.values(JSON.parse(readFileSync(state, 'utf8')).destinations)[0].files;
  assert.ok(Object.values(files).some((f) => f.offset > 0), 'positions were saved');
  server.faults.length = 0;
  const again = await cli([...args, '-q', '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(JSON.parse(again.stdout).files_resumed + JSON.parse(again.stdout).files_already_done > 0, 'the rerun continued');
  assertSameRows(server, expected);
});
