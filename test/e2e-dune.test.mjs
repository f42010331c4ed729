// End to end: the built CLI, spawned as a user would run it.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { envelope, FIXTURE, needsShared, readJsonl, runCli, tempDir } from './helpers.mjs';

const GOOD = envelope(141, { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', validator_index: 4, signature: '0x' + '22'.repeat(64) });

test('jam-etl dune on the fixtures: files per table, --json summary, exit 0', needsShared(), async (t) => {
  const out = join(tempDir(t), 'exports');
  const r = await runCli(['dune', join(FIXTURE, 'logs'), '--out', out, '--json', '--workers', '1']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.files, 8);
  assert.equal(s.lines, 276);
  assert.equal(s.rejects, 0);
  assert.equal(s.rows.blocks, 46);
  assert.equal(s.rows_total, 697);
  assert.equal(s.bytes, 1336100);
  assert.ok(s.seconds > 0);
  // Tables with rows get a file; tickets has none, and no rejects file when nothing was rejected.
  assert.deepEqual(readdirSync(out).sort(), Object.entries(s.rows).filter(([, n]) => n > 0).map(([t]) => `${t}.jsonl`).sort());
  assert.equal(readJsonl(join(out, 'validatorstatistics.jsonl')).length, 276);
  assert.match(r.stderr, /validatorstatistics\s+276 rows/, 'summary table on stderr');
  assert.doesNotMatch(r.stderr, /\u001b\[/, 'no progress bar when stderr is not a terminal');
});

test('--workers 2 writes byte-identical files to --workers 1', needsShared(), async (t) => {
  const d = tempDir(t);
  const a = await runCli(['dune', join(FIXTURE, 'logs'), '-o', join(d, 'a'), '-w', '1', '-q']);
  const b = await runCli(['dune', join(FIXTURE, 'logs'), '-o', join(d, 'b'), '-w', '2', '-q']);
  assert.equal(a.code + b.code, 0);
  const files = readdirSync(join(d, 'a')).sort();
  assert.deepEqual(readdirSync(join(d, 'b')).sort(), files);
  for (const f of files) assert.ok(readFileSync(join(d, 'a', f)).equals(readFileSync(join(d, 'b', f))), f);
});

test('rejects: exit 0 and reported; --strict exits 1; --rejects puts them elsewhere', async (t) => {
  const d = tempDir(t);
  mkdirSync(join(d, 'logs', '2025', '04', '24'), { recursive: true });
  writeFileSync(join(d, 'logs', '2025', '04', '24', '2339.log'), `${GOOD}\n{oops\n`);
  writeFileSync(join(d, 'logs', '2025', '04', '24', '2340.log'), `${GOOD}\n`);
  writeFileSync(join(d, 'logs', 'notes.txt'), 'not a log');
  const r = await runCli(['dune', 'logs', '--json', '-q'], { cwd: d });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual([s.files, s.lines, s.rejects, s.rows.assurances], [2, 3, 1, 2]);
  assert.deepEqual(s.rejects_by_reason, { invalid_json: 1 });
  const [rej] = readJsonl(join(d, 'dune_exports', '_rejects.jsonl'));
  assert.deepEqual([rej.file, rej.line, rej.raw], [join('logs', '2025', '04', '24', '2339.log'), 2, '{oops']);
  const strict = await runCli(['dune', 'logs', '--strict', '-q', '--rejects', 'bad.jsonl'], { cwd: d });
  assert.equal(strict.code, 1);
  assert.equal(readJsonl(join(d, 'bad.jsonl')).length, 1);
});

test('a rerun replaces the previous output, including tables that now have no rows', async (t) => {
  const d = tempDir(t);
  writeFileSync(join(d, 'a.log'), `${GOOD}\n${envelope(135, null, { metadata: 'wph=0x01|c=1|len=0' })}\n`);
  assert.equal((await runCli(['dune', 'a.log', '-q'], { cwd: d })).code, 0);
  assert.ok(existsSync(join(d, 'dune_exports', 'segments.jsonl')));
  writeFileSync(join(d, 'a.log'), `${GOOD}\n`);
  assert.equal((await runCli(['dune', 'a.log', '-q'], { cwd: d })).code, 0);
  assert.deepEqual(readdirSync(join(d, 'dune_exports')), ['assurances.jsonl']);
  assert.equal(readJsonl(join(d, 'dune_exports', 'assurances.jsonl')).length, 1);
});

test('usage and I/O errors: exit 2 with one line and no stack trace', async (t) => {
  const d = tempDir(t);
  const missing = await runCli(['dune', join(d, 'nope')]);
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  assert.match(missing.stderr, /^jam-etl: input not found: .*nope/);
  const badFlag = await runCli(['dune', '--workers', 'zero']);
  assert.equal(badFlag.code, 2);
  assert.doesNotMatch(badFlag.stderr, /at .*\.js:\d+/);
  const unknown = await runCli(['frobnicate']);
  assert.equal(unknown.code, 2);
  writeFileSync(join(d, 'teams.json'), '[1,2]');
  writeFileSync(join(d, 'a.log'), GOOD);
  const teams = await runCli(['dune', 'a.log', '--teams', 'teams.json'], { cwd: d });
  assert.equal(teams.code, 2);
  assert.match(teams.stderr, /--teams/);
  const help = await runCli(['dune', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--out <dir>/);
  assert.match(help.stdout, /alias of 133/);
});

test('--teams names the team of senders that do not name it', async (t) => {
  const d = tempDir(t);
  const sender = '0x' + 'ab'.repeat(32);
  const line = JSON.parse(GOOD);
  delete line.team;
  writeFileSync(join(d, 'a.log'), JSON.stringify(line) + '\n');
  writeFileSync(join(d, 'teams.json'), JSON.stringify({ [sender.toUpperCase().replace('0X', '0x')]: 'jamzig' }));
  const r = await runCli(['dune', 'a.log', '--teams', 'teams.json', '-q'], { cwd: d });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readJsonl(join(d, 'dune_exports', 'assurances.jsonl'))[0].team, 'jamzig');
});
