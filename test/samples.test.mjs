// The repository's own samples stay true: logs/ is what its README's generate command writes,
// and dune_exports/ is what the README's main command (`jam-etl dune logs`) writes from it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, runCli, tempDir } from './helpers.mjs';

function sameFiles(a, b, filter = () => true) {
  const fa = readdirSync(a).filter(filter).sort();
  assert.deepEqual(readdirSync(b).filter(filter).sort(), fa);
  for (const f of fa) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
  return fa;
}

test('logs/ is exactly `jam-etl generate --out logs --minutes 3 --validators 6 --cores 2 --seed 1`', async (t) => {
  const d = tempDir(t);
  const r = await runCli(['generate', '--out', d, '--minutes', '3', '--validators', '6', '--cores', '2', '--seed', '1', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(sameFiles(join(ROOT, 'logs'), d, (f) => f.endsWith('.log')).length, 3);
});

test('dune_exports/ is exactly what `jam-etl dune logs` writes, every table present', async (t) => {
  const d = tempDir(t);
  const r = await runCli(['dune', 'logs', '--out', d, '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.rejects, 0);
  // logs/ holds the JSON samples (11 tables) and logs/jip3/ the JIP-3 capture (7 jip3_ tables).
  assert.ok(Object.values(s.rows).every((n) => n > 0), 'the samples fill all 18 tables');
  assert.equal(Object.keys(s.rows).length, 18);
  assert.equal(sameFiles(join(ROOT, 'dune_exports'), d).length, 18);
});
