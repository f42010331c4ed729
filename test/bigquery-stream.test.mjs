// `jam-etl bigquery` (streaming) over the real fixtures against the local BigQuery server: the
// stored rows equal the dune export, requests are batched, faults do not double or lose rows,
// rows BigQuery refuses end in the rejects file.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertSameRows, canonical, cli, DATASET, duneRows, insertAlls, LOGS, schemaCreate, spawnCli, startServer, TABLE_NAMES, target } from './bigquery-helpers.mjs';
import { needsShared, readJsonl, tempDir } from './helpers.mjs';

async function setup(t, serverOpts) {
  const dir = tempDir(t);
  const server = await startServer(t, serverOpts);
  await schemaCreate(server);
  server.requests.length = 0;
  const expected = await duneRows([LOGS], dir);
  const state = join(dir, 'state.json');
  const rejects = join(dir, 'rejects.jsonl');
  const run = (extra = [], paths = [LOGS]) => cli(['bigquery', ...paths, ...target(server), '--state', state, '--rejects', rejects, '--json', '-q', '--retry-base-ms', '5', ...extra]);
  return { dir, server, expected, state, rejects, run };
}

test('streaming the fixtures: the stored rows equal, table by table, what jam-etl dune writes', needsShared(), async (t) => {
  const { server, expected, run } = await setup(t);
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.rows_total, 697);
  assert.equal(s.rows_refused_total, 0);
  assertSameRows(server, expected);
  for (const table of TABLE_NAMES) assert.equal(s.rows_stored[table], expected[table].length, table);
  // Each row carried a deterministic insertId (raw rows), none the client's random one.
  const raw = server.state.datasets.get(`test-project:${DATASET}`).tables.get('blocks').rows;
  assert.ok(raw.every((x) => typeof x.insertId === 'string' && x.insertId.length === 22));
});

test('request count: at most one insertAll per 500 rows per table (the reference sends one per row)', needsShared(), async (t) => {
  const { server, expected, run } = await setup(t);
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  let total = 0;
  for (const table of TABLE_NAMES) {
    const reqs = insertAlls(server, table);
    assert.equal(reqs.length, Math.ceil(expected[table].length / 500), `${table}: ${reqs.length} requests for ${expected[table].length} rows`);
    assert.ok(reqs.every((q) => q.rowCount <= 500 && q.status === 200));
    total += reqs.length;
  }
  assert.equal(total, 10, 'tickets has no rows, the other 10 tables one request each');
  assert.equal(JSON.parse(r.stdout).insert_requests, total);
});

test('--batch-rows and --batch-bytes bound every request', needsShared(), async (t) => {
  const { server, expected, run } = await setup(t);
  const r = await run(['--batch-rows', '40', '--batch-bytes', '60000']);
  assert.equal(r.code, 0, r.stderr);
  for (const table of TABLE_NAMES) {
    const reqs = insertAlls(server, table);
    assert.ok(reqs.every((q) => q.rowCount <= 40 && q.bytes <= 60000), table);
    assert.ok(reqs.length >= Math.ceil(expected[table].length / 40), table);
  }
  assert.equal(insertAlls(server, 'validatorstatistics').length, 7, '276 small rows in batches of 40');
  assert.ok(insertAlls(server, 'workpackages').length > 1, '28 rows of up to 30 kB do not fit in 60 kB');
  assertSameRows(server, expected);
});

test('faults: 503s, 429s and dropped connections (before and after storing) are retried; every row exactly once', needsShared(), async (t) => {
  const { server, expected, run } = await setup(t);
  const ins = { method: 'POST', path: '/insertAll' };
  server.faults.push(
    { match: ins, status: 503, times: 3 },
    { match: ins, status: 429, times: 1 },
    { match: ins, action: 'drop', times: 2 },
    // Stored, then the connection dies: the retry must be deduplicated by its insertIds.
    { match: ins, action: 'dropAfter', times: 3 },
    { match: ins, status: 500, times: 1, skip: 2 },
  );
  const r = await run(['--batch-rows', '50']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.ok(server.faults.every((f) => f.times === 0), 'every fault was hit');
  assert.equal(s.retries, 10);
  assertSameRows(server, expected);
  const deduped = insertAlls(server).reduce((n, q) => n + (q.deduped ?? 0), 0);
  assert.ok(deduped > 0, 'the retries after dropAfter were deduplicated, not stored twice');
});

test('faults: a request that does not answer in time is retried with the same insertIds', needsShared(), async (t) => {
  const { server, expected, run } = await setup(t);
  server.faults.push({ match: { path: '/tables/blocks/insertAll' }, delayMs: 1500, times: 1 });
  const r = await run(['--request-timeout', '0.3']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).retries, 1);
  // The slow request also completes (after the retry): BigQuery would store it too.
  await new Promise((res) => setTimeout(res, 1400));
  assertSameRows(server, expected);
});

test('a destination that keeps failing: bounded retries, exit 1, state kept; the rerun completes exactly once', needsShared(), async (t) => {
  const { server, expected, run, state } = await setup(t);
  // validatorstatistics works for 3 requests, then fails for good.
  server.faults.push({ match: { path: '/tables/validatorstatistics/insertAll' }, status: 503, times: Infinity, skip: 3 });
  const r = await run(['--batch-rows', '30', '--max-retries', '3', '--concurrency', '1', '--flush-lines', '20']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /validatorstatistics still failing after 4 attempts.*rerun to continue/);
  assert.equal(insertAlls(server, 'validatorstatistics').length, 3 + 4, '3 good, then first attempt + 3 retries, then stop sending');
  const saved = Object.values(JSON.parse(readFileSync(state, 'utf8')).destinations)[0].files;
  const progress = Object.values(saved).reduce((n, f) => n + f.offset, 0);
  assert.ok(progress > 0, 'the acknowledged part is in the state');
  server.faults.length = 0;
  const sentBefore = insertAlls(server).reduce((n, q) => n + (q.stored ?? 0), 0);
  const again = await run(['--batch-rows', '30']);
  assert.equal(again.code, 0, again.stderr);
  assertSameRows(server, expected);
  const resent = insertAlls(server).slice(-JSON.parse(again.stdout).insert_requests).reduce((n, q) => n + q.rowCount, 0);
  assert.ok(resent < 697 && sentBefore > 0, `the rerun started from the state (sent ${resent} rows)`);
});

test('partial insertErrors: the refused rows go to the rejects file with BigQuery\'s reason, the others are stored', needsShared(), async (t) => {
  // A server whose row limit is 3000 bytes: the big blocks, segments, work packages... are refused.
  const { server, expected, run, rejects } = await setup(t, { maxRowBytes: 3000 });
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  const rej = readJsonl(rejects);
  let refusedTotal = 0;
  for (const table of TABLE_NAMES) {
    const big = expected[table].filter((x) => Buffer.byteLength(x) > 3000);
    const small = expected[table].filter((x) => Buffer.byteLength(x) <= 3000);
    const stored = server.rows(DATASET, table);
    assert.equal(stored.length, small.length, `${table}: every row within the limit stored (also those BigQuery answered "stopped" for)`);
    const mine = rej.filter((x) => x.table === table);
    assert.equal(mine.length, big.length, `${table}: every refused row in the rejects file`);
    for (const x of mine) {
      assert.equal(x.code, 'destination');
      assert.match(x.reason, /invalid: Maximum allowed row size exceeded/);
      assert.ok(x.file.endsWith('.log') && x.line > 0);
      assert.ok(Buffer.byteLength(x.raw) > 3000);
    }
    refusedTotal += big.length;
  }
  assert.ok(refusedTotal > 30, `${refusedTotal} rows refused`);
  assert.equal(s.rows_refused_total, refusedTotal);
  assert.ok(s.rows_resent_after_stopped > 0, 'rows answered "stopped" were sent again');
});

test('413 Request Too Large: the batch is split and re-sent from its body bytes; every row stored or rejected exactly once', needsShared(), async (t) => {
  // A front end that refuses bodies over 100 kB and rows over 3000 bytes: batches are halved
  // (their bodies rebuilt from the rows' byte ranges), "stopped" rows re-sent, refused rows rejected.
  const { server, expected, run, rejects } = await setup(t, { tooLargeBytes: 100_000, maxRowBytes: 3000 });
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.ok(insertAlls(server).some((q) => q.status === 413), 'some bodies were refused as too large');
  assert.ok(s.rows_resent_after_stopped > 0);
  const rej = readJsonl(rejects);
  assert.ok(rej.length > 30 && rej.every((x) => x.code === 'destination'));
  for (const table of TABLE_NAMES) {
    const got = [...server.rows(DATASET, table), ...rej.filter((x) => x.table === table).map((x) => JSON.parse(x.raw))].map((row) => canonical(table, row)).sort();
    assert.deepEqual(got, expected[table], `${table}: stored + rejected = the dune rows, each once`);
  }
});

test('a row larger than one request can carry becomes a row_too_large reject, the others are stored', needsShared(), async (t) => {
  const { server, expected, run, rejects } = await setup(t);
  const r = await run(['--batch-bytes', '8000', '--strict']);
  assert.equal(r.code, 1, '--strict: refused rows make exit 1');
  const rej = readJsonl(rejects);
  assert.ok(rej.length > 10);
  for (const x of rej) {
    assert.equal(x.code, 'row_too_large');
    assert.match(x.reason, /larger than one insertAll request/);
    assert.ok(Buffer.byteLength(x.raw) > 7800);
  }
  let stored = 0;
  for (const table of TABLE_NAMES) stored += server.rows(DATASET, table).length;
  assert.equal(stored + rej.length, 697);
  assert.ok(insertAlls(server).every((q) => q.bytes <= 8000));
});

test('insertIds do not depend on how the file was named: another cwd, file instead of folder, no state', needsShared(), async (t) => {
  const { server, expected, run, state, dir } = await setup(t);
  assert.equal((await run()).code, 0);
  rmSync(state);
  // Same files, named one by one and relative to another working directory, without the state:
  // every row is sent again and every one is recognised as a duplicate.
  const files = ['2339', '2340', '2341', '2342', '2343', '2344', '2345', '2346'].map((m) => join('..', 'logs', `${m}.log`));
  const cwd = join(LOGS, '..', 'samples');
  const p = spawnCli(['bigquery', ...files, ...target(server), '--state', join(dir, 'state2.json'), '--rejects', join(dir, 'r2.jsonl'), '--json', '-q'], { cwd });
  const r = await p.done;
  assert.equal(r.code, 0, r.stderr);
  const second = insertAlls(server).slice(10);
  assert.equal(second.reduce((n, q) => n + q.deduped, 0), 697);
  assert.equal(second.reduce((n, q) => n + q.stored, 0), 0);
  assertSameRows(server, expected);
  // The state written by that run (files named one by one, another cwd) is found by a run
  // over the folder: nothing new, no request.
  const before = insertAlls(server).length;
  const again = await cli(['bigquery', LOGS, ...target(server), '--state', join(dir, 'state2.json'), '--json', '-q']);
  assert.equal(again.code, 0);
  assert.equal(insertAlls(server).length, before + 0, 'nothing new, no request');
  assert.equal(JSON.parse(again.stdout).files_already_done, 8);
});

test('a missing dataset is one line and exit 2, before anything is read', needsShared(), async (t) => {
  const dir = tempDir(t);
  const server = await startServer(t);
  const r = await cli(['bigquery', LOGS, ...target(server), '--state', join(dir, 's.json'), '-q']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^jam-etl: dataset test-project:crypto_jam not found: run "jam-etl schema create" first\n$/);
  assert.equal(insertAlls(server).length, 0);
});

test('a second run on the same state file while one is running is refused', needsShared(), async (t) => {
  const { run, state } = await setup(t);
  mkdirSync(join(state, '..'), { recursive: true });
  // A lock held by a live process (this one).
  const { writeFileSync } = await import('node:fs');
  writeFileSync(`${state}.lock`, `${process.ppid}\n`);
  const r = await run();
  assert.equal(r.code, 2);
  assert.match(r.stderr, /in use by process/);
  rmSync(`${state}.lock`);
  assert.equal((await run()).code, 0);
});
