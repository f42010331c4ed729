// Crash and resume: the built CLI is SIGKILLed at several points while streaming the fixtures
// (slow replies keep requests in flight), then rerun: no row missing, none twice. And --follow:
// appended lines and new files are picked up; SIGTERM stops it cleanly with the state saved.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileIdentity, insertIdOf } from '../dist/sinks/bigquery/identity.js';
import { LineConverter } from '../dist/telemetry/convert.js';
import { assertSameRows, cli, DATASET, duneRows, insertAlls, LOGS, schemaCreate, sleep, spawnCli, startServer, TABLE_NAMES, target, until } from './bigquery-helpers.mjs';
import { envelope, needsShared, readJsonl, tempDir } from './helpers.mjs';

/** Every insertId the rows of lines before `line` of a file carry. */
async function insertIdsBefore(path, line) {
  const id = await fileIdentity(path, true);
  const conv = new LineConverter();
  const lines = readFileSync(path, 'utf8').split('\n');
  const ids = [];
  for (let n = 1; n < line; n++) {
    const text = lines[n - 1];
    if (!text || !text.trim()) continue;
    try {
      conv.convert(text);
    } catch {
      continue;
    }
    for (let i = 0; i < conv.rows.length; i++) ids.push(insertIdOf(id, n, i));
  }
  return ids;
}

/** The state's promise: every row before each recorded position is stored. */
async function assertStateIsTrue(server, statePath) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(statePath, 'utf8'));
  } catch {
    return 0; // killed before the first save
  }
  const stored = new Set();
  for (const t of TABLE_NAMES) for (const r of server.state.datasets.get(`test-project:${DATASET}`).tables.get(t).rows) stored.add(r.insertId);
  let covered = 0;
  for (const f of Object.values(doc.destinations['test-project.crypto_jam'].files)) {
    const ids = await insertIdsBefore(f.path, f.line);
    const missing = ids.filter((x) => !stored.has(x));
    assert.deepEqual(missing, [], `${f.path}: state says line ${f.line}, but ${missing.length} rows before it are not stored`);
    covered += ids.length;
  }
  return covered;
}

async function crashRun(t, killPoints) {
  const dir = tempDir(t);
  const server = await startServer(t);
  await schemaCreate(server);
  const expected = await duneRows([LOGS], dir);
  const state = join(dir, 'state.json');
  const args = ['bigquery', LOGS, ...target(server), '--state', state, '--rejects', join(dir, 'rejects.jsonl'), '-q', '--batch-rows', '20', '--concurrency', '3', '--flush-lines', '12'];
  // Slow replies: requests stay in flight long enough for the kill to land among them. The
  // server still processes a request whose client died, like BigQuery would.
  server.faults.push({ match: { path: '/insertAll' }, delayMs: 60, times: Infinity });
  const covered = [];
  for (const n of killPoints) {
    const seen = insertAlls(server).length;
    const { child, done } = spawnCli(args);
    await until(() => insertAlls(server).length >= seen + n || child.exitCode !== null, 30_000, `${n} insertAll requests`);
    child.kill('SIGKILL');
    const r = await done;
    assert.equal(r.signal, 'SIGKILL', `killed after ${n} requests (it must not have finished: ${r.stderr})`);
    await sleep(100); // let the server finish the requests the dead client left behind
    covered.push(await assertStateIsTrue(server, state));
  }
  server.faults.length = 0;
  const before = insertAlls(server).length;
  const last = await cli([...args, '--json']);
  assert.equal(last.code, 0, last.stderr);
  assertSameRows(server, expected, `after kills at ${killPoints.join(', ')}: `);
  await assertStateIsTrue(server, state);
  const rerunRows = insertAlls(server).slice(before).reduce((a, q) => a + q.rowCount, 0);
  return { covered, rerunRows, summary: JSON.parse(last.stdout) };
}

for (const n of [1, 4, 9, 16]) {
  test(`crash and resume: SIGKILL after ${n} insertAll request(s), rerun: every row exactly once`, needsShared(), async (t) => {
    const { covered, rerunRows } = await crashRun(t, [n]);
    if (n >= 9) assert.ok(covered[0] > 0, 'the state recorded acknowledged lines before the kill');
    assert.ok(rerunRows <= 697 - covered[0], `the rerun resumed: sent ${rerunRows} rows, ${covered[0]} were acknowledged before`);
  });
}

test('crash and resume: killed three times in a row, then finished: every row exactly once', needsShared(), async (t) => {
  const { covered, summary } = await crashRun(t, [3, 5, 8]);
  assert.ok(covered.at(-1) >= covered[0], 'positions only move forward');
  assert.ok(summary.files_resumed + summary.files_already_done > 0, 'the last run resumed from the state');
});

const ASSURANCE = { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', signature: '0x' + '22'.repeat(64) };
const line = (i) => envelope(141, { ...ASSURANCE, validator_index: i }, { time: `2025-04-29T00:44:${String(i).padStart(2, '0')}.000001Z` }) + '\n';

test('--follow: appended lines, a partly written line and new files (with gaps) are picked up; SIGTERM stops cleanly', async (t) => {
  const dir = tempDir(t);
  const server = await startServer(t);
  await schemaCreate(server);
  const logs = join(dir, 'logs');
  const day = join(logs, '2025', '04', '29');
  mkdirSync(day, { recursive: true });
  writeFileSync(join(day, '0044.log'), line(1) + line(2) + line(3));
  const state = join(dir, 'state.json');
  const { child, done } = spawnCli(['bigquery', logs, ...target(server), '--state', state, '--follow', '--poll-interval', '0.1', '--json', '-q']);
  const stored = () => server.rows(DATASET, 'assurances').length;
  await until(() => stored() === 3, 20_000, '3 rows');
  appendFileSync(join(day, '0044.log'), line(4) + line(5));
  await until(() => stored() === 5, 20_000, 'appended rows');
  // Half a line: not sent until its newline arrives.
  const six = line(6);
  appendFileSync(join(day, '0044.log'), six.slice(0, 40));
  // A new file two minutes later (no file for the minute in between).
  writeFileSync(join(day, '0046.log'), line(7));
  await until(() => stored() === 6, 20_000, 'the new file');
  await sleep(400);
  assert.equal(stored(), 6, 'the partial line is held back');
  appendFileSync(join(day, '0044.log'), six.slice(40));
  await until(() => stored() === 7, 20_000, 'the completed line');
  mkdirSync(join(logs, '2025', '04', '30'));
  writeFileSync(join(logs, '2025', '04', '30', '0000.log'), line(8) + line(9));
  await until(() => stored() === 9, 20_000, 'a new day folder');
  child.kill('SIGTERM');
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.interrupted, true);
  assert.equal(s.rows.assurances, 9);
  assert.ok(s.polls > 3);
  const ids = server.rows(DATASET, 'assurances').map((x) => x.validator_index).sort((a, b) => a - b);
  assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  // The state was saved on the way out: a rerun sends nothing.
  const before = insertAlls(server).length;
  const again = await cli(['bigquery', logs, ...target(server), '--state', state, '--json', '-q']);
  assert.equal(again.code, 0);
  assert.equal(insertAlls(server).length, before);
  assert.equal(JSON.parse(again.stdout).files_already_done, 3);
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.lock')), [], 'lock released');
});

test('SIGINT during a run without --follow: flushes, saves, exit 130 (stopped, as every command); the rerun finishes exactly once', needsShared(), async (t) => {
  const dir = tempDir(t);
  const server = await startServer(t);
  await schemaCreate(server);
  const expected = await duneRows([LOGS], dir);
  const state = join(dir, 'state.json');
  const args = ['bigquery', LOGS, ...target(server), '--state', state, '--batch-rows', '20', '--concurrency', '1', '--flush-lines', '10'];
  server.faults.push({ match: { path: '/insertAll' }, delayMs: 50, times: Infinity });
  const { child, done } = spawnCli(args);
  await until(() => insertAlls(server).length >= 5, 20_000, '5 requests');
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /SIGINT: finishing the requests in flight/);
  assert.match(r.stderr, /stopped before the end: rerun to continue/);
  const covered = await assertStateIsTrue(server, state);
  assert.ok(covered > 0);
  const sent = insertAlls(server).length;
  assert.ok(insertAlls(server).every((q) => q.status === 200), 'every request it sent was answered before it stopped');
  server.faults.length = 0;
  const again = await cli([...args, '-q']);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(insertAlls(server).length > sent);
  assertSameRows(server, expected);
  assert.deepEqual(readJsonl(join(dir, 'rejects.jsonl')), []);
});
