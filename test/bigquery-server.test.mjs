// Proves the local BigQuery server (test/servers/bigquery-server.mjs) against the REAL
// @google-cloud/bigquery client, built through jam-etl's own makeBigQueryClient.
// Needs `npx tsc -p .` first (imports ../dist).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBigQueryServer } from './servers/bigquery-server.mjs';
import { makeBigQueryClient } from '../dist/sinks/bigquery/client.js';

const PROJECT = 'test-project';
const DATASET = 'crypto_jam';
const blocksSchema = JSON.parse(readFileSync(new URL('../schema/blocks.json', import.meta.url), 'utf8'));
// Fast client-side retries so fault tests do not wait for the default 2 s/4 s/8 s backoff.
const FAST_RETRY = { retryDelayMultiplier: 0.001, maxRetries: 3 };

function blockRow(i, extra = {}) {
  return {
    time: `2025-01-01T12:00:${String(i % 60).padStart(2, '0')}.123456Z`, slot: i, team: 'team-a',
    header_slot: String(i), parent: `0xparent${i}`, parent_state_root: '0xroot', extrinsic_hash: '0xext',
    author_index: 1, entropy_source: '0xentropy', seal: '0xseal', num_tickets: 0, num_preimages: 0,
    num_guarantees: 0, num_assurances: 0, num_verdicts: 0, num_culprits: 0, num_faults: 0, ...extra,
  };
}
const raw = (rows) => rows.map((json, i) => ({ insertId: `id-${json.slot ?? i}`, json }));

let server;
let bq;
let tmp;
before(async () => {
  server = await startBigQueryServer({ projectId: PROJECT });
  bq = makeBigQueryClient({ projectId: PROJECT, apiEndpoint: server.url, retryOptions: FAST_RETRY });
  tmp = mkdtempSync(join(tmpdir(), 'bq-server-test-'));
});
after(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  server.reset();
  server.createTable(DATASET, 'blocks', { schema: blocksSchema, timePartitioning: { type: 'DAY', field: 'time' }, clustering: { fields: ['team'] } });
});
const blocks = () => bq.dataset(DATASET).table('blocks');

test('dataset and table: create with schema, partitioning, clustering; read back; 409 and 404', async () => {
  server.reset();
  const [ds] = await bq.createDataset(DATASET, { location: 'US' });
  await assert.rejects(bq.createDataset(DATASET), (e) => e.code === 409 && e.errors[0].reason === 'duplicate' && e.message === `Already Exists: Dataset ${PROJECT}:${DATASET}`);
  await ds.createTable('blocks', { schema: { fields: blocksSchema }, timePartitioning: { type: 'DAY', field: 'time' }, clustering: { fields: ['team', 'slot'] } });
  const [md] = await ds.table('blocks').getMetadata();
  assert.deepEqual(md.timePartitioning, { type: 'DAY', field: 'time' });
  assert.deepEqual(md.clustering, { fields: ['team', 'slot'] });
  assert.deepEqual(md.schema.fields.map((f) => [f.name, f.type, f.mode]), blocksSchema.map((f) => [f.name, f.type, f.mode]));
  assert.equal(md.schema.fields[0].description, blocksSchema[0].description);
  const [tables] = await ds.getTables();
  assert.deepEqual(tables.map((t) => t.id), ['blocks']);
  await assert.rejects(ds.table('nope').getMetadata(), (e) => e.code === 404 && e.errors[0].reason === 'notFound' && /Not found: Table test-project:crypto_jam\.nope/.test(e.message));
  await assert.rejects(bq.dataset('missing').get(), (e) => e.code === 404);
  const [exists] = await bq.dataset('missing').exists();
  assert.equal(exists, false);
  // Partitioning on a column that is not a TIMESTAMP is refused like BigQuery does.
  await assert.rejects(ds.createTable('bad', { schema: { fields: blocksSchema }, timePartitioning: { type: 'DAY', field: 'team' } }), (e) => e.code === 400 && e.errors[0].reason === 'invalid');
});

test('insertAll with raw {insertId, json} rows stores typed rows that read back', async () => {
  const [resp] = await blocks().insert(raw([blockRow(1), blockRow(2, { elapsed: '17', sender_id: 'k' })]), { raw: true });
  assert.equal(resp.kind, 'bigquery#tableDataInsertAllResponse');
  assert.equal(resp.insertErrors, undefined);
  const rows = server.rows(DATASET, 'blocks');
  assert.equal(rows.length, 2);
  assert.equal(rows[0].time, '2025-01-01T12:00:01.123456Z');
  assert.equal(rows[0].header_slot, 1); // numeric string accepted for INTEGER
  assert.equal(rows[0].elapsed, null);
  assert.equal(rows[1].elapsed, 17);
  assert.equal(server.rows(DATASET, 'blocks', { raw: true })[1].elapsed, '17');
  const [read] = await blocks().getRows();
  assert.equal(read.length, 2);
  assert.equal(read[1].slot, 2);
  assert.equal(read[1].sender_id, 'k');
  assert.equal(read[0].time.value, '2025-01-01T12:00:01.123456000Z');
  const log = server.requests.filter((r) => r.path.endsWith('/insertAll'));
  assert.equal(log.length, 1);
  assert.equal(log[0].rowCount, 2);
  assert.ok(log[0].bytes > 100);
});

test('a row whose insertId was already stored is silently dropped', async () => {
  await blocks().insert(raw([blockRow(1), blockRow(2)]), { raw: true });
  const [resp] = await blocks().insert(raw([blockRow(2), blockRow(3), blockRow(3)]), { raw: true });
  assert.equal(resp.insertErrors, undefined);
  assert.deepEqual(server.rows(DATASET, 'blocks').map((r) => r.slot), [1, 2, 3]);
  const last = server.requests.at(-1);
  assert.equal(last.stored, 1);
  assert.equal(last.deduped, 2);
});

test('one invalid row: PartialFailureError, invalid + stopped reasons, nothing stored', async () => {
  const rows = raw([blockRow(1), blockRow(2, { slot: 'two' }), blockRow(3)]);
  const err = await blocks().insert(rows, { raw: true, partialRetries: 0 }).then(() => assert.fail('insert should fail'), (e) => e);
  assert.equal(err.name, 'PartialFailureError');
  assert.equal(err.errors.length, 3);
  const byIndex = new Map(err.response.insertErrors.map((e) => [e.index, e.errors[0]]));
  assert.equal(byIndex.get(1).reason, 'invalid');
  assert.equal(byIndex.get(1).location, 'slot');
  assert.match(byIndex.get(1).message, /Cannot convert value to integer/);
  assert.equal(byIndex.get(0).reason, 'stopped');
  assert.equal(byIndex.get(2).reason, 'stopped');
  // the client maps errors back to the rows it sent
  assert.deepEqual(err.errors.find((e) => e.errors[0].reason === 'invalid').row, rows[1]);
  assert.deepEqual(server.rows(DATASET, 'blocks'), []);
  // insertIds of refused rows are not remembered: resending the good rows stores them
  await blocks().insert([rows[0], rows[2]], { raw: true });
  assert.deepEqual(server.rows(DATASET, 'blocks').map((r) => r.slot), [1, 3]);
});

test('client gotcha: default partialRetries=3 resends the failed rows 3 more times', async () => {
  await assert.rejects(blocks().insert(raw([blockRow(1), blockRow(2, { team: null })]), { raw: true }), { name: 'PartialFailureError' });
  assert.equal(server.requests.filter((r) => r.path.endsWith('/insertAll')).length, 4);
  assert.deepEqual(server.rows(DATASET, 'blocks'), []);
});

test('schema checks: unknown field, missing REQUIRED, bad TIMESTAMP, ignoreUnknownValues', async () => {
  const err = await blocks().insert(raw([
    blockRow(1, { bogus: 1 }), blockRow(2, { team: undefined }), blockRow(3, { time: '2025-13-01T00:00:00Z' }), blockRow(4, { time: 1735732800123456 }),
  ]), { raw: true, partialRetries: 0 }).catch((e) => e);
  const errs = new Map(err.response.insertErrors.map((e) => [e.index, e.errors[0]]));
  assert.deepEqual([errs.get(0).reason, errs.get(0).location, errs.get(0).message], ['invalid', 'bogus', 'no such field: bogus.']);
  assert.deepEqual([errs.get(1).location, errs.get(1).message], ['team', 'Missing required field: team.']);
  assert.equal(errs.get(2).location, 'time');
  assert.equal(errs.get(3).location, 'time'); // microseconds sent as a number = seconds far beyond year 9999
  await blocks().insert(raw([blockRow(1, { bogus: 1 })]), { raw: true, ignoreUnknownValues: true });
  assert.equal(server.rows(DATASET, 'blocks').length, 1);
});

test('skipInvalidRows stores the valid rows and reports only the invalid ones', async () => {
  const err = await blocks().insert(raw([blockRow(1), blockRow(2, { num_faults: 1.5 }), blockRow(3)]), { raw: true, skipInvalidRows: true, partialRetries: 0 }).catch((e) => e);
  assert.equal(err.name, 'PartialFailureError');
  assert.deepEqual(err.response.insertErrors.map((e) => [e.index, e.errors[0].reason]), [[1, 'invalid']]);
  assert.deepEqual(server.rows(DATASET, 'blocks').map((r) => r.slot), [1, 3]);
});

test('request limits: > 50,000 rows and > 10 MB are refused with 400', async () => {
  const many = Array.from({ length: 50_001 }, (_, i) => ({ json: { x: i } }));
  await assert.rejects(blocks().insert(many, { raw: true }), (e) => e.code === 400 && e.errors[0].reason === 'invalid' && /too many rows present in the request, limit: 50000 row count: 50001/.test(e.message));
  const big = raw([blockRow(1, { codec_encoded: 'ab'.repeat(5.3 * 1024 * 1024) })]);
  await assert.rejects(blocks().insert(big, { raw: true }), (e) => e.code === 400 && e.errors[0].reason === 'badRequest' && e.message === 'Request payload size exceeds the limit: 10485760 bytes.');
  assert.deepEqual(server.rows(DATASET, 'blocks'), []);
  // 400s are not retried by the client
  assert.equal(server.requests.filter((r) => r.path.endsWith('/insertAll')).length, 2);
});

test('table.load of an NDJSON file (multipart upload); the same jobId again is 409', async () => {
  const file = join(tmp, 'blocks.ndjson');
  writeFileSync(file, [blockRow(1), blockRow(2)].map((r) => JSON.stringify(r)).join('\n') + '\n');
  const [job] = await blocks().load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON', jobId: 'jam_blocks_1' });
  assert.equal(job.status.state, 'DONE');
  assert.equal(job.statistics.load.outputRows, '2');
  assert.equal(server.job('jam_blocks_1').configuration.load.destinationTable.tableId, 'blocks');
  assert.ok(server.requests.some((r) => r.path.startsWith('/upload/') && r.query.uploadType === 'multipart'));
  await assert.rejects(blocks().load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON', jobId: 'jam_blocks_1' }),
    (e) => e.code === 409 && e.errors[0].reason === 'duplicate' && e.message === `Already Exists: Job ${PROJECT}:US.jam_blocks_1`);
  assert.equal(server.rows(DATASET, 'blocks').length, 2);
  // WRITE_TRUNCATE replaces the rows
  await blocks().load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON', jobId: 'jam_blocks_2', writeDisposition: 'WRITE_TRUNCATE' });
  assert.equal(server.rows(DATASET, 'blocks').length, 2);
  await blocks().load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON', jobId: 'jam_blocks_3' });
  assert.equal(server.rows(DATASET, 'blocks').length, 4);
});

test('a load with one bad row fails the job and stores nothing', async () => {
  const file = join(tmp, 'bad.ndjson');
  writeFileSync(file, `${JSON.stringify(blockRow(1))}\n${JSON.stringify(blockRow(2, { seal: undefined }))}\n{not json\n`);
  await assert.rejects(blocks().load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON', jobId: 'bad_1' }), (e) => /JSON table encountered too many errors, giving up\. Rows: 3; errors: 2/.test(e.message));
  const job = server.job('bad_1');
  assert.equal(job.status.state, 'DONE');
  assert.equal(job.status.errorResult.reason, 'invalid');
  assert.match(job.status.errors[1].message, /Missing required field: seal/);
  assert.deepEqual(server.rows(DATASET, 'blocks'), []);
});

test('load creates a missing table from the job schema; jobs that stay RUNNING are polled', async () => {
  const slow = await startBigQueryServer({ projectId: PROJECT, jobRunningPolls: 1 });
  try {
    const client = makeBigQueryClient({ projectId: PROJECT, apiEndpoint: slow.url });
    slow.createDataset(DATASET);
    const file = join(tmp, 'new.ndjson');
    writeFileSync(file, '{"a": 1}\n{"a": "2"}\n');
    const table = client.dataset(DATASET).table('fresh');
    const [job] = await table.load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON', schema: { fields: [{ name: 'a', type: 'INTEGER', mode: 'REQUIRED' }] } });
    assert.equal(job.status.state, 'DONE');
    assert.deepEqual(slow.rows(DATASET, 'fresh'), [{ a: 1 }, { a: 2 }]);
    assert.equal(slow.requests.filter((r) => r.method === 'GET' && /\/jobs\//.test(r.path)).length, 2);
    await assert.rejects(client.dataset(DATASET).table('other').load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON' }), /No schema specified on job or table/);
  } finally {
    await slow.close();
  }
});

test('resumable upload: POST gives a session Location, PUT chunks answer 308 then the job', async () => {
  const body = [blockRow(1), blockRow(2), blockRow(3)].map((r) => JSON.stringify(r)).join('\n');
  const meta = { jobReference: { jobId: 'resumable_1' }, configuration: { load: { sourceFormat: 'NEWLINE_DELIMITED_JSON', destinationTable: { projectId: PROJECT, datasetId: DATASET, tableId: 'blocks' } } } };
  const init = await fetch(`${server.url}/upload/bigquery/v2/projects/${PROJECT}/jobs?uploadType=resumable`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(meta) });
  assert.equal(init.status, 200);
  const session = init.headers.get('location');
  assert.match(session, /upload_id=/);
  const buf = Buffer.from(body);
  const half = 100;
  const r1 = await fetch(session, { method: 'PUT', headers: { 'content-range': `bytes 0-${half - 1}/*` }, body: buf.subarray(0, half) });
  assert.equal(r1.status, 308);
  assert.equal(r1.headers.get('range'), `bytes=0-${half - 1}`);
  const r2 = await fetch(session, { method: 'PUT', headers: { 'content-range': `bytes ${half}-${buf.length - 1}/${buf.length}` }, body: buf.subarray(half) });
  assert.equal(r2.status, 200);
  const job = await r2.json();
  assert.equal(job.status.state, 'DONE');
  assert.equal(job.statistics.load.outputRows, '3');
  assert.equal(server.rows(DATASET, 'blocks').length, 3);
  const again = await fetch(`${server.url}/upload/bigquery/v2/projects/${PROJECT}/jobs?uploadType=resumable`, { method: 'POST', body: JSON.stringify(meta) });
  assert.equal(again.status, 409);
  assert.equal((await again.json()).error.errors[0].reason, 'duplicate');
});

test('fault 503 twice: the client retries insertAll by itself and succeeds', async () => {
  const fault = { match: { method: 'POST', path: /insertAll/ }, times: 2, status: 503 };
  server.faults.push(fault);
  await blocks().insert(raw([blockRow(1)]), { raw: true });
  assert.equal(fault.hits, 2);
  assert.deepEqual(server.requests.filter((r) => r.path.endsWith('/insertAll')).map((r) => r.status), [503, 503, 200]);
  assert.equal(server.rows(DATASET, 'blocks').length, 1);
});

test('fault 429 with autoRetry off: the error surfaces (ApiError code 429), a manual retry succeeds', async () => {
  const noRetry = makeBigQueryClient({ projectId: PROJECT, apiEndpoint: server.url, retryOptions: { autoRetry: false } });
  server.faults.push({ match: { path: 'insertAll' }, status: 429 });
  const table = noRetry.dataset(DATASET).table('blocks');
  await assert.rejects(table.insert(raw([blockRow(1)]), { raw: true }), (e) => e.code === 429 && e.errors[0].reason === 'rateLimitExceeded');
  assert.deepEqual(server.rows(DATASET, 'blocks'), []);
  await table.insert(raw([blockRow(1)]), { raw: true });
  assert.equal(server.rows(DATASET, 'blocks').length, 1);
});

test('dropped connection: an error when it persists; dropAfter + client retry stores the rows once', async () => {
  server.faults.push({ match: { path: /insertAll/ }, times: Infinity, action: 'drop' });
  const err = await blocks().insert(raw([blockRow(1)]), { raw: true }).catch((e) => e);
  assert.ok(err instanceof Error);
  assert.notEqual(err.name, 'PartialFailureError');
  assert.equal(server.requests.filter((r) => r.status === 'dropped').length, 4); // 1 + 3 client retries
  assert.deepEqual(server.rows(DATASET, 'blocks'), []);
  server.faults.length = 0;
  // the reply is lost after the rows were stored; the client resends, the insertIds dedup it
  server.faults.push({ match: { path: /insertAll/ }, action: 'dropAfter' });
  await blocks().insert(raw([blockRow(1), blockRow(2)]), { raw: true });
  assert.deepEqual(server.requests.filter((r) => r.path.endsWith('/insertAll')).slice(-2).map((r) => [r.status, r.stored, r.deduped]), [['dropped', 2, 0], [200, 0, 2]]);
  assert.equal(server.rows(DATASET, 'blocks').length, 2);
});

test('delayMs slows the reply down', async () => {
  server.faults.push({ match: { method: 'GET' }, delayMs: 300 });
  const t0 = Date.now();
  await blocks().getMetadata();
  assert.ok(Date.now() - t0 >= 290);
});

test('patch: adding a NULLABLE column works; type change, removal, new REQUIRED are refused', async () => {
  const table = blocks();
  const [md] = await table.getMetadata();
  const fields = md.schema.fields;
  await table.setMetadata({ schema: { fields: [...fields, { name: 'extra', type: 'STRING', mode: 'NULLABLE' }] } });
  assert.equal(server.table(DATASET, 'blocks').schema.fields.at(-1).name, 'extra');
  const changed = fields.map((f) => (f.name === 'slot' ? { ...f, type: 'STRING' } : f));
  await assert.rejects(table.setMetadata({ schema: { fields: changed } }), (e) => e.code === 400 && e.errors[0].reason === 'invalid' && /Field slot has changed type from INTEGER to STRING/.test(e.message));
  await assert.rejects(table.setMetadata({ schema: { fields: fields.slice(1) } }), (e) => e.code === 400 && /Field time is missing in new schema/.test(e.message));
  await assert.rejects(table.setMetadata({ schema: { fields: [...fields, { name: 'extra', type: 'STRING' }, { name: 'req', type: 'STRING', mode: 'REQUIRED' }] } }), (e) => e.code === 400 && /Cannot add required fields/.test(e.message));
  // the failed patches left the schema as it was after the good one
  assert.equal(server.table(DATASET, 'blocks').schema.fields.length, blocksSchema.length + 1);
  await table.insert(raw([blockRow(1, { extra: 'x' })]), { raw: true });
  assert.equal(server.rows(DATASET, 'blocks')[0].extra, 'x');
});

test('BIGQUERY_EMULATOR_HOST (no /bigquery/v2 prefix) works for requests and uploads', async () => {
  const saved = process.env.BIGQUERY_EMULATOR_HOST;
  process.env.BIGQUERY_EMULATOR_HOST = server.url;
  try {
    const emu = makeBigQueryClient({ projectId: PROJECT });
    const [md] = await emu.dataset(DATASET).table('blocks').getMetadata();
    assert.equal(md.id, `${PROJECT}:${DATASET}.blocks`);
    const file = join(tmp, 'emu.ndjson');
    writeFileSync(file, JSON.stringify(blockRow(7)) + '\n');
    await emu.dataset(DATASET).table('blocks').load(file, { sourceFormat: 'NEWLINE_DELIMITED_JSON' });
    assert.equal(server.rows(DATASET, 'blocks')[0].slot, 7);
    assert.ok(server.requests.some((r) => r.path.startsWith(`/projects/${PROJECT}/`)));
    assert.ok(server.requests.every((r) => r.auth), 'every request carries the static bearer token');
    // an explicit apiEndpoint wins over the environment variable
    const other = await startBigQueryServer({ projectId: PROJECT });
    try {
      other.createTable(DATASET, 'only_here', { schema: [{ name: 'a', type: 'STRING' }] });
      const explicit = makeBigQueryClient({ projectId: PROJECT, apiEndpoint: other.url });
      const [exists] = await explicit.dataset(DATASET).table('only_here').exists();
      assert.equal(exists, true);
    } finally {
      await other.close();
    }
  } finally {
    if (saved === undefined) delete process.env.BIGQUERY_EMULATOR_HOST;
    else process.env.BIGQUERY_EMULATOR_HOST = saved;
  }
});

test('requireAuth: requests without a bearer token get 401, the client passes', async () => {
  const authed = await startBigQueryServer({ projectId: PROJECT, requireAuth: true });
  try {
    const res = await fetch(`${authed.url}/bigquery/v2/projects/${PROJECT}/datasets`);
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.status, 'UNAUTHENTICATED');
    const client = makeBigQueryClient({ projectId: PROJECT, apiEndpoint: authed.url });
    const [ds] = await client.createDataset('x');
    assert.equal(ds.id, 'x');
  } finally {
    await authed.close();
  }
});
