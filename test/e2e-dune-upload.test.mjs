// End to end: `jam-etl dune ./logs --upload` and `jam-etl dune upload` as a user runs them,
// against the local Dune uploads-API server.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURE, needsShared, readJsonl, runCli, tempDir } from './helpers.mjs';
import { startDuneServer } from './servers/dune-server.mjs';

const KEY = 'test-key-0123456789';

test('dune --upload converts the fixtures and fills every table in one go; rerun with --replace does not double', needsShared(), async (t) => {
  const server = await startDuneServer({ apiKey: KEY });
  t.after(() => server.close());
  const out = join(tempDir(t), 'exports');
  const env = { DUNE_API_KEY: KEY, DUNE_API_URL: server.url };
  const r = await runCli(['dune', join(FIXTURE, 'logs'), '-o', out, '--upload', '--namespace', 'jamtest', '--json', '-w', '1'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, new RegExp(KEY), 'the key is never printed');
  const files = readdirSync(out).filter((f) => f.endsWith('.jsonl') && !f.startsWith('_'));
  assert.equal(files.length, 10);
  for (const f of files) {
    const table = f.replace('.jsonl', '');
    assert.deepEqual(server.rows('jamtest', `jam_${table}`).length, readJsonl(join(out, f)).length, table);
  }
  const again = await runCli(['dune', 'upload', '--from', out, '--namespace', 'jamtest', '--replace', '-q'], { env });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(server.rows('jamtest', 'jam_validatorstatistics').length, 276);
});

test('dune upload: wrong key exits 2 with one line; a rejected chunk exits 1', needsShared(), async (t) => {
  const server = await startDuneServer({ apiKey: KEY });
  t.after(() => server.close());
  const out = join(tempDir(t), 'exports');
  assert.equal((await runCli(['dune', join(FIXTURE, 'logs'), '-o', out, '-q'])).code, 0);
  const wrong = await runCli(['dune', 'upload', '--from', out, '--namespace', 'jamtest'], { env: { DUNE_API_KEY: 'nope', DUNE_API_URL: server.url } });
  assert.equal(wrong.code, 2);
  assert.equal(wrong.stderr.trim().split('\n').length, 1);
  assert.match(wrong.stderr, /401/);
  const missing = await runCli(['dune', 'upload', '--from', out, '--namespace', 'jamtest'], { env: { DUNE_API_KEY: '', DUNE_API_URL: server.url } });
  assert.equal(missing.code, 2);
  // A table that exists with other columns: its own error, the others still land, exit 1.
  server.seedTable('jamtest', 'jam_services', [{ name: 'x', type: 'varchar', nullable: true }]);
  const conflict = await runCli(['dune', 'upload', '--from', out, '--namespace', 'jamtest', '--json', '-q'], { env: { DUNE_API_KEY: KEY, DUNE_API_URL: server.url } });
  assert.equal(conflict.code, 1);
  const s = JSON.parse(conflict.stdout);
  assert.equal(s.tables.find((x) => x.table === 'services').status, 'conflict');
  assert.equal(server.rows('jamtest', 'jam_blocks').length, 46);
});
