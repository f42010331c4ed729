// JIP-3 captures into BigQuery (the local fake server): streamed rows equal what jam-etl dune
// writes for the same captures, and a rerun (same state) sends nothing twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assertSameRows, cli, duneRows, schemaCreate, startServer, target } from './bigquery-helpers.mjs';
import { ROOT, tempDir } from './helpers.mjs';

test('bigquery streaming of logs/jip3: rows equal the dune export, a rerun stores nothing twice', async (t) => {
  const dir = tempDir(t);
  const server = await startServer(t);
  await schemaCreate(server);
  const caps = join(ROOT, 'logs', 'jip3');
  const expected = await duneRows([caps], dir);
  assert.ok(expected.jip3_events.length > 1000);
  const run = () => cli(['bigquery', caps, ...target(server), '--state', join(dir, 'state.json'), '--rejects', join(dir, 'rejects.jsonl'), '--json', '-q', '--retry-base-ms', '5']);
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.rows_refused_total, 0);
  assertSameRows(server, expected);
  const again = await run();
  assert.equal(again.code, 0, again.stderr);
  assertSameRows(server, expected);
});

test('bigquery --method load of logs/jip3: rows equal the dune export; a rerun loads nothing twice', async (t) => {
  const dir = tempDir(t);
  const server = await startServer(t);
  await schemaCreate(server);
  const caps = join(ROOT, 'logs', 'jip3');
  const expected = await duneRows([caps], dir);
  const run = () => cli(['bigquery', caps, ...target(server), '--method', 'load', '--state', join(dir, 'state.json'), '--rejects', join(dir, 'rejects.jsonl'), '--json', '-q', '--retry-base-ms', '5']);
  const r = await run();
  assert.equal(r.code, 0, r.stderr);
  assertSameRows(server, expected);
  const again = await run();
  assert.equal(again.code, 0, again.stderr);
  assertSameRows(server, expected);
});
