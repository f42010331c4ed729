// `jam-etl bigquery --method load`: one load job per table with a deterministic job id; the
// stored rows equal the dune export; reruns (with or without the state, after a crash, after a
// failed job) never load a row twice.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { schemas } from '../dist/tables/schema.js';
import { CLUSTERING } from '../dist/sinks/bigquery/schema-plan.js';
import { assertSameRows, cli, DATASET, duneRows, LOGS, PROJECT, schemaCreate, sleep, spawnCli, startServer, target, until } from './bigquery-helpers.mjs';
import { envelope, needsShared, tempDir } from './helpers.mjs';

const uploads = (server) => server.requests.filter((r) => r.method === 'POST' && r.path.includes('/upload/'));

async function setup(t, paths = [LOGS]) {
  const dir = tempDir(t);
  const server = await startServer(t);
  await schemaCreate(server);
  server.requests.length = 0;
  const expected = await duneRows(paths, dir);
  const state = join(dir, 'state.json');
  const args = ['bigquery', ...paths, ...target(server), '--method', 'load', '--state', state, '--rejects', join(dir, 'rejects.jsonl'), '--retry-base-ms', '5'];
  const run = async (extra = []) => {
    const r = await cli([...args, '--json', '-q', ...extra]);
    return { ...r, s: r.code === 0 ? JSON.parse(r.stdout) : undefined };
  };
  return { dir, server, expected, state, args, run };
}

test('--method load: one load job per table, the same rows as jam-etl dune; a rerun loads nothing twice', needsShared(), async (t) => {
  const { server, expected, run, state } = await setup(t);
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  assertSameRows(server, expected);
  assert.equal(uploads(server).length, 10, 'one job per table with rows (tickets has none)');
  assert.equal(server.requests.filter((q) => q.path.endsWith('/insertAll')).length, 0, 'no streaming');
  const ids = r.s.jobs.map((j) => j.job_id);
  assert.ok(ids.every((id) => /^jam_etl_[a-z]+_[0-9a-f]{32}$/.test(id)));
  for (const j of r.s.jobs) {
    assert.equal(j.output_rows, expected[j.table].length);
    assert.equal(server.job(j.job_id).configuration.load.sourceFormat, 'NEWLINE_DELIMITED_JSON');
  }
  // Rerun with the state: nothing new, no job.
  const again = await run();
  assert.equal(again.code, 0, again.stderr);
  assert.equal(uploads(server).length, 10);
  assert.deepEqual(again.s.jobs, []);
  assertSameRows(server, expected);
  // Rerun without the state: the same job ids, which BigQuery already has (409): no row twice.
  rmSync(state);
  const blind = await run();
  assert.equal(blind.code, 0, blind.stderr);
  assert.equal(uploads(server).length, 20);
  assert.ok(uploads(server).slice(10).every((q) => q.status === 409));
  assert.deepEqual(blind.s.jobs.map((j) => j.job_id), ids);
  assert.ok(blind.s.jobs.every((j) => j.existed && j.state === 'done'));
  assertSameRows(server, expected);
});

test('--method load after lines were appended: only the new lines are loaded, in a new job', async (t) => {
  const dir = tempDir(t);
  const logs = join(dir, 'logs', '2025', '04', '29');
  mkdirSync(logs, { recursive: true });
  const file = join(logs, '0044.log');
  const line = (i) => envelope(141, { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', validator_index: i, signature: '0x' + '22'.repeat(64) }) + '\n';
  writeFileSync(file, line(1) + line(2));
  const { server, run } = await setup(t, [join(dir, 'logs')]);
  const a = await run();
  assert.equal(a.code, 0, a.stderr);
  appendFileSync(file, line(3) + 'not json\n' + line(4));
  const b = await run();
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.s.lines, 3, 'only the appended lines were read');
  assert.equal(b.s.rejects, 1);
  assert.notEqual(b.s.jobs[0].job_id, a.s.jobs[0].job_id);
  assert.deepEqual(server.rows(DATASET, 'assurances').map((r) => r.validator_index), [1, 2, 3, 4]);
});

test('--method load killed while its jobs are being submitted: the rerun finishes the same jobs, every row exactly once', needsShared(), async (t) => {
  const { server, expected, args, run, state } = await setup(t);
  // Slow answers while it waits for its jobs: it is killed with jobs created but not recorded done.
  server.faults.push({ match: { method: 'GET', path: '/jobs/' }, delayMs: 200, times: Infinity });
  const { child, done } = spawnCli([...args, '-q', '--concurrency', '2']);
  await until(() => server.state.jobs.size >= 3, 20_000, '3 jobs');
  child.kill('SIGKILL');
  assert.equal((await done).signal, 'SIGKILL');
  await sleep(300);
  assert.ok(server.state.jobs.size < 10, 'killed before all jobs were submitted');
  const pending = Object.values(JSON.parse(readFileSync(state, 'utf8')).destinations)[0].load;
  assert.ok(pending, 'the jobs were recorded before they were submitted');
  const firstIds = Object.values(pending.tables).map((j) => j.jobId);
  server.faults.length = 0;
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.s.resumed_unfinished_load, true);
  assert.ok(r.s.jobs.some((j) => j.existed), 'some jobs were already there');
  for (const j of r.s.jobs) assert.ok(firstIds.includes(j.job_id), 'the same job ids as before the crash');
  assertSameRows(server, expected);
  assert.equal(Object.values(JSON.parse(readFileSync(state, 'utf8')).destinations)[0].load, undefined, 'finished: nothing pending');
});

test('--method load with a job that fails: exit 1 naming it, the other tables loaded; after the fix the rerun loads only that table', needsShared(), async (t) => {
  const { server, expected, run } = await setup(t);
  // services with code_hash as INTEGER: its load job fails on every row.
  const tables = server.state.datasets.get(`${PROJECT}:${DATASET}`).tables;
  tables.delete('services');
  server.createTable(DATASET, 'services', { schema: schemas().get('services').map((c) => ({ name: c.name, type: c.name === 'code_hash' ? 'INTEGER' : c.type, mode: c.mode })) });
  const r = await run();
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /load job\(s\) failed: services \(job jam_etl_services_[0-9a-f]+\): invalid: .*a rerun retries only these/);
  assert.equal(server.rows(DATASET, 'services').length, 0);
  assert.equal(server.rows(DATASET, 'blocks').length, expected.blocks.length);
  tables.delete('services');
  await schemaCreate(server);
  const before = uploads(server).length;
  const again = await run();
  assert.equal(again.code, 0, again.stderr);
  assert.equal(uploads(server).length, before + 1, 'one new job, for services');
  assert.deepEqual(again.s.jobs.map((j) => j.table), ['services']);
  assertSameRows(server, expected);
  void CLUSTERING;
});
