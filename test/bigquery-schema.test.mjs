// `jam-etl schema create` against the local BigQuery server: creates, is idempotent, adds
// columns, refuses conflicts without changing anything, and --dry-run changes nothing.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLUSTERING } from '../dist/sinks/bigquery/schema-plan.js';
import { schemas } from '../dist/tables/schema.js';
import { cli, DATASET, mutations, PROJECT, schemaCreate, spawnCli, startServer, TABLE_NAMES, target } from './bigquery-helpers.mjs';
import { ROOT, tempDir } from './helpers.mjs';

function schemaCopy(t, edit) {
  const dir = join(tempDir(t), 'schema');
  cpSync(join(ROOT, 'schema'), dir, { recursive: true });
  for (const [table, f] of Object.entries(edit)) {
    const path = join(dir, `${table}.json`);
    writeFileSync(path, JSON.stringify(f(JSON.parse(readFileSync(path, 'utf8'))), null, 1));
  }
  return dir;
}

const fieldsOf = (server, table) => server.table(DATASET, table)?.schema.fields.map((f) => `${f.name} ${f.type} ${f.mode}`);
const expectedFields = (table) => schemas().get(table).map((c) => `${c.name} ${c.type} ${c.mode}`);

test('schema create on an empty project: dataset and 11 tables, partitioned by DAY on time, clustered', async (t) => {
  const server = await startServer(t);
  const r = await schemaCreate(server);
  assert.match(r.stdout, /dataset test-project:crypto_jam \(US\): create/);
  for (const table of TABLE_NAMES) {
    const res = server.table(DATASET, table);
    assert.ok(res, `${table} exists`);
    assert.deepEqual(fieldsOf(server, table), expectedFields(table), `${table} columns`);
    assert.deepEqual(res.timePartitioning, { type: 'DAY', field: 'time' }, `${table} partitioning`);
    assert.deepEqual(res.clustering.fields, [...CLUSTERING[table]], `${table} clustering`);
    assert.ok(res.clustering.fields.length <= 4);
    assert.match(r.stdout, new RegExp(`${table}\\s+create`));
  }
  assert.equal(server.state.datasets.get(`${PROJECT}:${DATASET}`).location, 'US');
});

test('schema create twice: the second run changes nothing', async (t) => {
  const server = await startServer(t);
  await schemaCreate(server);
  const etags = TABLE_NAMES.map((x) => server.table(DATASET, x).etag);
  const before = server.requests.length;
  const r = await schemaCreate(server);
  assert.deepEqual(mutations(server).filter((q) => server.requests.indexOf(q) >= before), [], 'no request that changes anything');
  assert.deepEqual(TABLE_NAMES.map((x) => server.table(DATASET, x).etag), etags);
  for (const table of TABLE_NAMES) assert.match(r.stdout, new RegExp(`${table}\\s+unchanged`));
  assert.match(r.stdout, /matches the schemas/);
});

test('schema create after a column was added to a schema file: the column appears, nothing else changes', async (t) => {
  const server = await startServer(t);
  await schemaCreate(server);
  const dir = schemaCopy(t, { blocks: (cols) => [...cols, { name: 'gossip_delay', type: 'INTEGER', mode: 'NULLABLE', description: 'new' }] });
  const dry = await cli(['schema', 'create', ...target(server), '--schema-dir', dir, '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /blocks\s+add columns gossip_delay INTEGER NULLABLE/);
  assert.equal(fieldsOf(server, 'blocks').length, expectedFields('blocks').length, '--dry-run added nothing');
  const others = TABLE_NAMES.filter((x) => x !== 'blocks').map((x) => server.table(DATASET, x).etag);
  const r = await schemaCreate(server, ['--schema-dir', dir]);
  assert.deepEqual(fieldsOf(server, 'blocks'), [...expectedFields('blocks'), 'gossip_delay INTEGER NULLABLE']);
  assert.equal(server.table(DATASET, 'blocks').schema.fields.at(-1).description, 'new');
  assert.deepEqual(TABLE_NAMES.filter((x) => x !== 'blocks').map((x) => server.table(DATASET, x).etag), others, 'other tables untouched');
  assert.match(r.stdout, /blocks\s+add columns gossip_delay/);
  // And once more: in sync.
  const again = await schemaCreate(server, ['--schema-dir', dir]);
  assert.match(again.stdout, /matches the schemas/);
});

test('schema create with a conflicting type: exit 2 naming table, column and both types; nothing changed', async (t) => {
  const server = await startServer(t);
  // An existing blocks table whose slot is a STRING; the other tables do not exist yet.
  const cols = schemas().get('blocks').map((c) => ({ name: c.name, type: c.name === 'slot' ? 'STRING' : c.type, mode: c.mode }));
  server.createTable(DATASET, 'blocks', { schema: cols });
  const etag = server.table(DATASET, 'blocks').etag;
  const before = server.requests.length;
  const r = await cli(['schema', 'create', ...target(server)]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /blocks\.slot: BigQuery has STRING REQUIRED, schema\/blocks\.json says INTEGER REQUIRED/);
  assert.match(r.stderr, /nothing was changed/);
  assert.deepEqual(mutations(server).filter((q) => server.requests.indexOf(q) >= before), [], 'no request that changes anything');
  assert.deepEqual([...server.state.datasets.get(`${PROJECT}:${DATASET}`).tables.keys()], ['blocks'], 'the missing tables were not created either');
  assert.equal(server.table(DATASET, 'blocks').etag, etag);
});

test('schema create: a REQUIRED column new in a schema file is an error for an existing table; nothing changed', async (t) => {
  const server = await startServer(t);
  await schemaCreate(server);
  const dir = schemaCopy(t, {
    tickets: (cols) => [...cols, { name: 'ring_root', type: 'STRING', mode: 'REQUIRED' }],
    assurances: (cols) => [...cols, { name: 'fine', type: 'STRING', mode: 'NULLABLE' }],
  });
  const before = server.requests.length;
  const r = await cli(['schema', 'create', ...target(server), '--schema-dir', dir]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /tickets\.ring_root: .*STRING REQUIRED.*must be NULLABLE/);
  assert.deepEqual(mutations(server).filter((q) => server.requests.indexOf(q) >= before), [], 'not even the valid assurances column was added');
  assert.equal(fieldsOf(server, 'assurances').length, expectedFields('assurances').length);
});

test('schema create --dry-run on an empty project: prints the plan, creates nothing', async (t) => {
  const server = await startServer(t);
  const r = await cli(['schema', 'create', ...target(server), '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  for (const table of TABLE_NAMES) assert.match(r.stdout, new RegExp(`${table}\\s+create: \\d+ columns`));
  assert.match(r.stdout, /dry run: nothing was changed/);
  assert.deepEqual(mutations(server), []);
  assert.equal(server.state.datasets.size, 0);
});

test('schema create --json: the plan as JSON; REQUIRED->NULLABLE is relaxed, extra columns kept', async (t) => {
  const server = await startServer(t);
  await schemaCreate(server);
  // A table with a column BigQuery has REQUIRED but the schema says NULLABLE, and one extra.
  const cols = schemas().get('services').map((c) => ({ name: c.name, type: c.type, mode: c.name === 'elapsed' ? 'REQUIRED' : c.mode }));
  server.state.datasets.get(`${PROJECT}:${DATASET}`).tables.delete('services');
  server.createTable(DATASET, 'services', { schema: [...cols, { name: 'legacy', type: 'STRING', mode: 'NULLABLE' }], timePartitioning: { type: 'DAY', field: 'time' }, clustering: { fields: [...CLUSTERING.services] } });
  const r = await cli(['schema', 'create', ...target(server), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout);
  const services = plan.tables.find((x) => x.table === 'services');
  assert.equal(services.action, 'update');
  assert.deepEqual(services.relax, ['elapsed']);
  assert.match(services.notes.join(' '), /legacy .* kept/);
  assert.equal(plan.applied, true);
  const f = server.table(DATASET, 'services').schema.fields;
  assert.equal(f.find((x) => x.name === 'elapsed').mode, 'NULLABLE');
  assert.ok(f.find((x) => x.name === 'legacy'), 'extra column never dropped');
});

test('schema create: a missing project with an endpoint override, or unusable credentials, is one line and exit 2', async (t) => {
  const server = await startServer(t);
  const env = { GOOGLE_CLOUD_PROJECT: '', GCLOUD_PROJECT: '', BIGQUERY_EMULATOR_HOST: '' };
  const a = spawnCli(['schema', 'create', '--api-endpoint', server.url], { env });
  const ra = await a.done;
  assert.equal(ra.code, 2);
  assert.match(ra.stderr, /^jam-etl: .*project id.*\n$/);
  // (Without --dry-run: a dry run plans against an empty dataset instead, test/hostile.test.mjs.)
  const b = spawnCli(['schema', 'create', '--project', 'p1'], { env: { ...env, GOOGLE_APPLICATION_CREDENTIALS: join(tempDir(t), 'nope.json') } });
  const rb = await b.done;
  assert.equal(rb.code, 2);
  assert.match(rb.stderr, /^jam-etl: BigQuery credentials not usable .*\n$/);
  assert.equal(rb.stderr.split('\n').length, 2, 'one line');
  // BIGQUERY_EMULATOR_HOST is honoured like --api-endpoint.
  const c = spawnCli(['schema', 'create', '--project', PROJECT, '--dry-run', '--json'], { env: { ...env, BIGQUERY_EMULATOR_HOST: server.url } });
  const rc = await c.done;
  assert.equal(rc.code, 0, rc.stderr);
  assert.equal(JSON.parse(rc.stdout).createDataset, true);
  assert.ok(server.requests.length > 0, 'the emulator host got the requests');
});
