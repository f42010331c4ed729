// A hostile tester's pass over the commands new this session (duckdb, sql, report, collect,
// replay, generate --format jip3): each test runs the built CLI as a user would, bounded in
// time (a hang is killed and fails the test), and asserts a one-line error, an exit code, or
// that nothing is lost.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, tempDir } from './helpers.mjs';

/** Runs the CLI; kills it after `ms` (then `timedOut` is true). */
function run(args, { ms = 20_000, cwd = ROOT, signalAfter, signal = 'SIGINT' } = {}) {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const kill = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, ms);
    const sig = signalAfter === undefined ? null : setTimeout(() => p.kill(signal), signalAfter);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(kill);
      if (sig) clearTimeout(sig);
      res({ code, stdout, stderr, timedOut });
    });
  });
}

/** One line on stderr starting with jam-etl, no stack trace. */
function oneLineError(r, re) {
  assert.equal(r.timedOut, false, `hung: ${r.stderr}`);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('collect -o under /proc: a one-line error, not a 100 % CPU hang in mkdir', async () => {
  const r = await run(['collect', '--syslog', '127.0.0.1:0', '--http', 'off', '-o', '/proc/jam-etl-qa/out'], { ms: 10_000 });
  oneLineError(r, /^jam-etl: cannot start: cannot make output folder \/proc\/jam-etl-qa\/out/);
});

test('collect --jip3 -o under /proc: a one-line error, not a hang', async () => {
  const r = await run(['collect', '--syslog', 'off', '--jip3', '127.0.0.1:0', '--http', 'off', '-o', '/proc/jam-etl-qa/out'], { ms: 10_000 });
  oneLineError(r, /^jam-etl: cannot start.*cannot make output folder \/proc\/jam-etl-qa/);
});

test('generate --format jip3 -o under /proc: a one-line error, not a hang', async () => {
  const r = await run(['generate', '--format', 'jip3', '-o', '/proc/jam-etl-qa/g', '-q'], { ms: 10_000 });
  oneLineError(r, /^jam-etl: cannot make output folder \/proc\/jam-etl-qa\/g/);
});

/** A small warehouse loaded from logs/ (once per file). */
const shared = mkdtempSync(join(tmpdir(), 'jam-etl-qa-'));
after(() => rmSync(shared, { recursive: true, force: true }));
let warehouse;
async function smallDb() {
  if (warehouse) return warehouse;
  const d = shared;
  const db = join(d, 'w.duckdb');
  const r = await run(['duckdb', '--db', db, join(ROOT, 'logs'), '-q', '-w', '1'], { ms: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  warehouse = db;
  return db;
}

test('sql with 600k rows in the table view: printed (widths from the first rows), not "Maximum call stack size exceeded"', async () => {
  const db = await smallDb();
  const r = await run(['sql', '--db', db, 'SELECT range AS n, range::VARCHAR || \'x\' AS s FROM range(600000)'], { ms: 60_000 });
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 0, r.stderr.slice(0, 500));
  assert.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 600_000 + 3);
  assert.equal(lines.at(-1), '(600000 rows)');
  assert.equal(lines.at(-2), '599999 │ 599999x');
  // Widths come from the first rows held (five chunks of 2048: up to 10239, five digits); later rows are wider.
  assert.equal(lines[0], 'n     │ s');
});

test('sql streams: a 100M-row result piped into head ends at once (nothing is gathered first)', async () => {
  const db = await smallDb();
  const r = await new Promise((res) => {
    const p = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" sql --db "${db}" --format csv "SELECT * FROM range(100000000)" | head -3`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const kill = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (clearTimeout(kill), res({ code, out, err })));
  });
  assert.equal(r.out, 'range\r\n0\r\n1\r\n');
  assert.equal(r.err, '');
});

for (const q of [';', '-- only a comment', ' ;; ']) {
  test(`sql ${JSON.stringify(q)}: "got none", not DuckDB's "Error in native callback"`, async () => {
    const db = await smallDb();
    const r = await run(['sql', '--db', db, '--', q]);
    oneLineError(r, /^jam-etl: give exactly one SQL statement \(got none/);
  });
}

test('sql --format json/csv of an empty result and of a few rows', async () => {
  const db = await smallDb();
  const empty = await run(['sql', '--db', db, '--format', 'json', 'SELECT 1 AS a WHERE false']);
  assert.equal(empty.stdout, '[]\n');
  const some = await run(['sql', '--db', db, '--format', 'json', 'SELECT range AS a FROM range(3)']);
  assert.deepEqual(JSON.parse(some.stdout), [{ a: 0 }, { a: 1 }, { a: 2 }]);
  const csv = await run(['sql', '--db', db, '--format', 'csv', 'SELECT range AS a, \'x,y\' AS b FROM range(2)']);
  assert.equal(csv.stdout, 'a,b\r\n0,"x,y"\r\n1,"x,y"\r\n');
});

test('report --html onto a folder: a one-line error and no temporary file left beside it', async () => {
  const db = await smallDb();
  const d = mkdtempSync(join(shared, 'html-'));
  const target = join(d, 'board');
  mkdirSync(target);
  const r = await run(['report', '--db', db, '--html', target]);
  oneLineError(r, /^jam-etl: --html /);
  assert.deepEqual(readdirSync(d), ['board']);
});

test('a folder with neither .log nor .jip3 files: the message names both extensions', async () => {
  const d = mkdtempSync(join(shared, 'empty-'));
  const r = await run(['duckdb', '--db', join(shared, 'x.duckdb'), d, '-q']);
  oneLineError(r, /^jam-etl: no \.log or \.jip3 files under .* \(files must end in \.log or \.jip3;/);
});

test('replay --to without a port: the reason on stderr (it used to exit 2 printing nothing)', async () => {
  const r = await run(['replay', '--to', 'nohost', join(ROOT, 'logs')]);
  oneLineError(r, /^jam-etl: --to must be HOST:PORT \(got "nohost"\)$/);
});

test('replay of .jip3 captures with a line framing: refused, naming --framing jip3 (it used to send 0 lines, exit 0)', async () => {
  const r = await run(['replay', '--to', '127.0.0.1:1', '--framing', 'go', join(ROOT, 'logs', 'jip3')]);
  oneLineError(r, /^jam-etl: no \.log files under .* for --framing go \(the \.jip3 files there need --framing jip3\)$/);
});

test('replay --framing jip3 of a folder with .log files too: says it skips them', async () => {
  const r = await run(['replay', '--to', '127.0.0.1:1', '--framing', 'jip3', join(ROOT, 'logs')]);
  assert.equal(r.code, 2);
  const logs = readdirSync(join(ROOT, 'logs')).filter((n) => n.endsWith('.log')).length;
  assert.ok(logs > 0);
  assert.match(r.stderr, new RegExp(`^replay: skipping ${logs} \\.log file\\(s\\): they need a line framing`, 'm'));
});

for (const cmd of ['duckdb', 'collect', 'replay']) {
  test(`${cmd} --help names .jip3, which it reads or writes`, async () => {
    const r = await run([cmd, '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /\.jip3/);
  });
}

test('duckdb --db "": refused (it loaded into an in-memory database and threw the rows away, exit 0)', async () => {
  const r = await run(['duckdb', '--db', '', join(ROOT, 'logs'), '-q']);
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--db must name a file/);
});

for (const cmd of [['sql', 'SELECT 1'], ['report']]) {
  test(`${cmd[0]} --db "": refused with the flag's name`, async () => {
    const r = await run([cmd[0], '--db', '', ...cmd.slice(1)]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--db must name a file/);
  });
}

test('duckdb --memory-limit abc: names the flag (DuckDB only says "Failed to set config"); a size with a space still works', async () => {
  const bad = await run(['duckdb', '--db', join(shared, 'm.duckdb'), '--memory-limit', 'abc', join(ROOT, 'logs'), '-q']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--memory-limit must be a size with a unit/);
  assert.ok(!existsSync(join(shared, 'm.duckdb')));
  const ok = await run(['duckdb', '--db', join(shared, 'm.duckdb'), '--memory-limit', '64 MB', join(ROOT, 'logs'), '-q', '-w', '1'], { ms: 60_000 });
  assert.equal(ok.code, 0, ok.stderr);
});
