// Issue 10: hostile input and careless use. Each numbered item of the issue (except 8-10, which
// belong to the pipeline rewrite) and each "friction" point is a test here; most spawn the built
// CLI, since what they check is what a user sees (exit code, one line on stderr, files on disk).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BIN, ROOT, envelope, readJsonl, runCli, tempDir } from './helpers.mjs';

const ASSURANCE = { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', validator_index: 4, signature: '0x' + '22'.repeat(64) };
const GOOD = envelope(141, ASSURANCE, { elapsed: 10 });
const LOGS = join(ROOT, 'logs');

/** Every file in a folder with its bytes (the "nothing changed" check). */
function snapshot(dir) {
  const out = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    out[name] = lstatSync(p).isFile() ? readFileSync(p, 'utf8') : 'not a file';
  }
  return out;
}

/** A folder with one .log file holding `lines`. */
function logDir(t, lines, name = 'in.log') {
  const d = tempDir(t);
  writeFileSync(join(d, name), lines.join('\n') + '\n');
  return d;
}

/** runCli, but a run still going after `ms` is killed (a hang fails the test instead of blocking it). */
function runCliWithin(args, ms = 10_000) {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), ms);
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', rej);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr });
    });
  });
}

/** A process that stays alive until the test ends: its pid is "another live run". */
function livePid(t) {
  const p = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  t.after(() => p.kill());
  return p.pid;
}

/** A pid that is certainly not alive (a process that has exited). */
async function deadPid() {
  const p = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((res) => p.on('close', res));
  return p.pid;
}

async function firstRun(t) {
  const dir = tempDir(t);
  const out = join(dir, 'o');
  const r = await runCli(['dune', LOGS, '--out', out, '-q']);
  assert.equal(r.code, 0, r.stderr);
  return { dir, out, before: snapshot(out) };
}

// ---- 1. every output path is checked before a line is read; the run is all or nothing ----

test('1: --rejects naming a folder fails before reading, with one line, and the previous output is untouched', async (t) => {
  const { dir, out, before } = await firstRun(t);
  const other = logDir(t, [GOOD, 'not json']);
  const rejectsDir = join(dir, 'rj');
  mkdirSync(rejectsDir);
  const r = await runCli(['dune', other, '--out', out, '--rejects', rejectsDir, '-q']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /is a folder/);
  assert.deepEqual(snapshot(out), before, 'the previous tables are all still there, byte for byte');
  assert.deepEqual(readdirSync(rejectsDir), []);
  assert.ok(!readdirSync('/').some((n) => n.endsWith('.tmp')), 'no temporary file in the root folder');
});

test('1: a rename that fails at commit restores every previous file (library level)', async (t) => {
  const { JsonlSink, failNthRenameForTests } = await import('../dist/sinks/jsonl/jsonl.js');
  const { out, before } = await firstRun(t);
  assert.ok(before['blocks.jsonl'] && before['_rejects.jsonl'] === undefined);
  const sink = new JsonlSink(out, join(out, '_rejects.jsonl'));
  sink.write('blocks', '{"new":1}\n');
  sink.write('tickets', '{"new":2}\n');
  sink.writeRejects('{"reject":1}\n');
  // Renames in order: old tables without rows go to backups first, then the new files go in;
  // fail the last one (the rejects file) so that blocks and tickets were already replaced.
  const removed = Object.keys(before).filter((n) => n !== 'blocks.jsonl' && n !== 'tickets.jsonl').length;
  failNthRenameForTests(removed + 3);
  t.after(() => failNthRenameForTests(0));
  await assert.rejects(sink.commit(), /previous files were kept/);
  assert.deepEqual(snapshot(out), before, 'all previous tables back, no new rejects file, no leftovers');
});

// ---- 2. non-regular targets are refused; symlinks to regular files are written through ----

test('2: a device as --rejects is refused (exit 2, one line) and left a device', async (t) => {
  const out = join(tempDir(t), 'o');
  const r = await runCli(['dune', LOGS, '--out', out, '--rejects', '/dev/null', '-q']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^jam-etl: output file \/dev\/null is a device/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.ok(statSync('/dev/null').isCharacterDevice());
});

test('2: a FIFO or a folder in place of a table file is refused before reading', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'o');
  mkdirSync(out);
  mkdirSync(join(out, 'blocks.jsonl'));
  const r = await runCli(['dune', LOGS, '--out', out, '-q']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /blocks\.jsonl is a folder/);
  assert.deepEqual(readdirSync(out), ['blocks.jsonl'], 'nothing written');
});

test('2: a symlinked table file is written through (the link stays a link)', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'o');
  mkdirSync(out);
  const real = join(dir, 'real-blocks.jsonl');
  writeFileSync(real, 'old\n');
  symlinkSync(real, join(out, 'blocks.jsonl'));
  const r = await runCli(['dune', LOGS, '--out', out, '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(lstatSync(join(out, 'blocks.jsonl')).isSymbolicLink());
  const rows = readJsonl(real);
  assert.ok(rows.length > 0 && rows.every((row) => typeof row.header_slot === 'number'));
});

// ---- 3. an input without .log files ----

for (const [what, files] of [
  ['an empty folder', []],
  ['a folder of .txt and .log.gz', ['a.txt', 'b.log.gz']],
]) {
  test(`3: ${what}: "no .log or .jip3 files under X", exit 2, previous output left alone`, async (t) => {
    const { out, before } = await firstRun(t);
    const input = tempDir(t);
    for (const f of files) writeFileSync(join(input, f), GOOD + '\n');
    const r = await runCli(['dune', input, '--out', out, '-q']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), `jam-etl: no .log or .jip3 files under ${input} (files must end in .log or .jip3; folders are searched recursively)`);
    assert.deepEqual(snapshot(out), before);
  });
}

// ---- 4. a lock on the output folder ----

test('4: a second run on a locked output folder fails at once with one line; its temporaries are kept', async (t) => {
  const { out, before } = await firstRun(t);
  const pid = livePid(t);
  writeFileSync(join(out, '.jam-etl.lock'), `${pid}\n`);
  const liveTmp = join(out, `.blocks.jsonl.${pid}.tmp`);
  writeFileSync(liveTmp, 'being written');
  const r = await runCli(['dune', LOGS, '--out', out, '-q']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`^jam-etl: output folder .* is in use by another jam-etl run \\(pid ${pid};`));
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.equal(readFileSync(liveTmp, 'utf8'), 'being written', "the live run's temporary file is left alone");
  assert.deepEqual(snapshot(out), { ...before, '.jam-etl.lock': `${pid}\n`, [`.blocks.jsonl.${pid}.tmp`]: 'being written' });
});

test("4: a stale lock and temporaries of a dead run are cleaned up; a live run's temporaries are not", async (t) => {
  const { out } = await firstRun(t);
  const dead = await deadPid();
  const live = livePid(t);
  writeFileSync(join(out, '.jam-etl.lock'), `${dead}\n`);
  writeFileSync(join(out, `.blocks.jsonl.${dead}.tmp`), 'x');
  writeFileSync(join(out, `.tickets.jsonl.${live}.tmp`), 'y');
  // A dead run's backup whose file is gone (it died between renames at commit) is put back first.
  writeFileSync(join(out, `.notes.txt.${dead}.bak`), 'previous');
  const r = await runCli(['dune', LOGS, '--out', out, '-q']);
  assert.equal(r.code, 0, r.stderr);
  const names = readdirSync(out);
  assert.ok(!names.includes('.jam-etl.lock'), 'the lock is released at the end');
  assert.ok(!names.includes(`.blocks.jsonl.${dead}.tmp`));
  assert.ok(names.includes(`.tickets.jsonl.${live}.tmp`));
  assert.equal(readFileSync(join(out, 'notes.txt'), 'utf8'), 'previous');
  assert.ok(!names.includes(`.notes.txt.${dead}.bak`));
});

test('4: two runs at once on one folder: one of them is refused, the output is whole', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'o');
  const [a, b] = await Promise.all([runCli(['dune', LOGS, '--out', out, '-q', '-w', '1']), runCli(['dune', LOGS, '--out', out, '-q', '-w', '1'])]);
  const codes = [a.code, b.code].sort();
  // Usually one is refused; when the first ends before the second starts both succeed.
  assert.ok(codes[0] === 0 && (codes[1] === 0 || codes[1] === 2), `${a.stderr}${b.stderr}`);
  for (const r of [a, b]) if (r.code === 2) assert.match(r.stderr, /in use by another jam-etl run/);
  const again = join(dir, 'o2');
  assert.equal((await runCli(['dune', LOGS, '--out', again, '-q'])).code, 0);
  assert.deepEqual(snapshot(out), snapshot(again));
});

// ---- 5. the same file named twice is read once ----

test('5: the same files named twice, by absolute path, through a symlinked folder or a hard link, are read once', async (t) => {
  const dir = tempDir(t);
  const input = logDir(t, [GOOD]);
  symlinkSync(input, join(dir, 'link'));
  linkSync(join(input, 'in.log'), join(dir, 'hard.log'));
  const out = join(dir, 'o');
  const r = await runCli(['dune', input, join(dir, 'link'), join(dir, 'link', 'in.log'), join(dir, 'hard.log'), join(input, '..', input.split('/').pop()), '--out', out, '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.files, 1);
  assert.equal(s.lines, 1);
  assert.equal(readJsonl(join(out, 'assurances.jsonl')).length, 1);
});

test('5: JAM_ETL_ALLOW_DUPLICATE_INPUTS=1 (the benchmark\'s 5 GB of symlinks) reads every name', async (t) => {
  const input = logDir(t, [GOOD]);
  for (const n of ['b', 'c']) symlinkSync(join(input, 'in.log'), join(input, `${n}.log`));
  const out = join(tempDir(t), 'o');
  const once = JSON.parse((await runCli(['dune', input, '--out', out, '--json', '-q'])).stdout);
  const all = JSON.parse((await runCli(['dune', input, '--out', out, '--json', '-q'], { env: { JAM_ETL_ALLOW_DUPLICATE_INPUTS: '1' } })).stdout);
  assert.deepEqual([once.files, all.files, all.lines], [1, 3, 3]);
});

// ---- 7. no hang under /proc ----

for (const args of [
  ['dune', LOGS, '--out', '/proc/jam-etl-x/out', '-q'],
  ['dune', LOGS, '--out', 'TMP', '--rejects', '/proc/jam-etl-x/r.jsonl', '-q'],
  ['generate', '--out', '/proc/jam-etl-x/logs', '--minutes', '1', '-q'],
]) {
  test(`7: ${args.join(' ')} (under /proc): exit 2 with one line, quickly`, async (t) => {
    const t0 = Date.now();
    const r = await runCliWithin(args.map((a) => (a === 'TMP' ? join(tempDir(t), 'o') : a)));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^jam-etl: cannot make (output|rejects) folder \/proc\/jam-etl-x/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.ok(Date.now() - t0 < 10_000);
  });
}

test('7: makeDirs makes nested folders and refuses a file in the way', async (t) => {
  const { makeDirs } = await import('../dist/fsutil.js');
  const d = tempDir(t);
  makeDirs(join(d, 'a', 'b', 'c'));
  assert.ok(statSync(join(d, 'a', 'b', 'c')).isDirectory());
  makeDirs(join(d, 'a', 'b', 'c'));
  writeFileSync(join(d, 'f'), '');
  assert.throws(() => makeDirs(join(d, 'f', 'g'), 'output folder'), /cannot make output folder .*f is not a folder/);
  assert.throws(() => makeDirs('/proc/jam-etl-x/y'), /cannot make folder \/proc\/jam-etl-x\/y: \/proc\/jam-etl-x: .*ENOENT/);
});

// ---- 6, 11, 13: what a line may hold ----

/** A line as the producers write it, with the msg_type and json_encoded given as raw JSON text. */
function rawLine(msgType, json, tail = '') {
  return `{"time":"2025-04-29T00:44:18.381887Z","team":"t","sender_id":"0x${'ab'.repeat(32)}","msg_type":${msgType}${tail},"json_encoded":${json}}`;
}
const assurance = (vi) => `{"anchor":"0x${'11'.repeat(32)}","bitfield":"0x03","validator_index":${vi},"signature":"0x${'22'.repeat(64)}"}`;
const block = (slot, author = 1) =>
  `{"header":{"slot":${slot},"parent":"0x01","parent_state_root":"0x02","extrinsic_hash":"0x03","author_index":${author},"entropy_source":"0x04","seal":"0x05"},` +
  `"extrinsic":{"tickets":[],"preimages":[],"guarantees":[],"assurances":[],"disputes":{"verdicts":[],"culprits":[],"faults":[]}}}`;

// [what, line, code (null: accepted), reason pattern]
const LINE_CASES = [
  ['a good assurance', rawLine('"141"', assurance(4)), null],
  ['validator_index 9007199254740993 (2^53 + 1)', rawLine('"141"', assurance('9007199254740993')), 'unsafe_integer', /^assurances\.validator_index 9007199254740993 is beyond/],
  ['header_slot 9223372036854775807 (INT64 max)', rawLine('"128"', block('9223372036854775807')), 'unsafe_integer', /^blocks\.header_slot 9223372036854775807 is beyond/],
  ['header_slot 9223372036854775808', rawLine('"128"', block('9223372036854775808')), 'unsafe_integer', /^blocks\.header_slot 9223372036854775808 /],
  ['header_slot 1e400', rawLine('"128"', block('1e400')), 'unsafe_integer', /^blocks\.header_slot 1e400 is beyond the range of a JSON number/],
  ['elapsed 18446744073709551615', rawLine('"141"', assurance(4), ',"elapsed":18446744073709551615'), 'unsafe_integer', /^elapsed 18446744073709551615 /],
  ['a u64 inside a list column', rawLine('"135"', '[1,{"gas":18446744073709551615}]'), 'unsafe_integer', /^json_encoded\[1\]\.gas 18446744073709551615 /],
  ['a safe big integer in a list is kept', rawLine('"135"', '[9007199254740991]'), null],
  ['validator_index 65536', rawLine('"141"', assurance(65536)), 'out_of_range', /^assurances\.validator_index 65536 is out of range: a validator index \(u16\), 0\.\.65535$/],
  ['validator_index -1', rawLine('"141"', assurance(-1)), 'out_of_range', /^assurances\.validator_index -1 is out of range/],
  ['validator_index 65535 is fine', rawLine('"141"', assurance(65535)), null],
  ['author_index 70000', rawLine('"128"', block(5, 70000)), 'out_of_range', /^blocks\.author_index 70000 /],
  ['a negative slot', rawLine('"128"', block(-5)), 'out_of_range', /^blocks\.header_slot -5 is out of range: a time slot \(u32\)/],
  ['a time before the JAM common era', rawLine('"141"', assurance(4)).replace('2025-04-29', '2024-12-31'), 'out_of_range', /^time "2024-12-31T00:44:18\.381887Z" is before the JAM common era \(2025-01-01T12:00:00Z\)$/],
  ['100,000 nested [', rawLine('"135"', '['.repeat(100000) + ']'.repeat(100000)), 'too_deep', /^JSON nesting of depth 100001 is too deep/],
  ['msg_type 1e400', rawLine('1e400', assurance(4)), 'bad_msg_type', /^msg_type 1e400 is not a canonical decimal integer/],
  ['msg_type "0141"', rawLine('"0141"', assurance(4)), 'bad_msg_type', /^msg_type "0141" is not a canonical/],
  ['msg_type 141.0', rawLine('141.0', assurance(4)), 'bad_msg_type', /^msg_type 141\.0 is not a canonical/],
  ['msg_type 1.41e2', rawLine('1.41e2', assurance(4)), 'bad_msg_type', /^msg_type 1\.41e2 is not/],
  ['msg_type "-141"', rawLine('"-141"', assurance(4)), 'bad_msg_type', /^msg_type "-141" /],
  ['msg_type 141 (a number)', rawLine('141', assurance(4)), null],
  ['a lone surrogate', rawLine('"141"', assurance(4).replace('"0x03"', '"0x\\ud800"')), 'invalid_unicode', /^json_encoded\.bitfield holds a lone surrogate/],
  ['a lone surrogate in a key', rawLine('"141"', assurance(4)).replace('"team"', '"te\\udc00am"'), 'invalid_unicode', /\(a key\) holds a lone surrogate/],
  ['a surrogate pair is fine', rawLine('"141"', assurance(4)).replace('"team":"t"', '"team":"t\\ud83d\\ude00"'), null],
];

let lineRun;
function runLines(t) {
  lineRun ??= (async () => {
    const dir = tempDir({ after: () => {} }, 'jam-etl-lines-');
    writeFileSync(join(dir, 'in.log'), LINE_CASES.map((c) => c[1]).join('\n') + '\n');
    const r = await runCli(['dune', dir, '--out', join(dir, 'o'), '--json', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const rejects = new Map(readJsonl(join(dir, 'o', '_rejects.jsonl')).map((x) => [x.line, x]));
    const summary = JSON.parse(r.stdout);
    rmSync(dir, { recursive: true, force: true });
    return { rejects, summary };
  })();
  return lineRun;
}

LINE_CASES.forEach(([what, , code, reason], i) => {
  test(`6/11/13: ${what}: ${code ?? 'accepted'}`, async (t) => {
    const { rejects, summary } = await runLines(t);
    assert.equal(summary.lines, summary.row_lines + summary.rejects);
    const rec = rejects.get(i + 1);
    if (code === null) return assert.equal(rec, undefined, rec && rec.reason);
    assert.ok(rec, 'rejected');
    assert.equal(rec.code, code, rec.reason);
    assert.match(rec.reason, reason);
    assert.equal(rec.raw, LINE_CASES[i][1], 'the raw line is kept');
  });
});

test('6: unsafe integers are refused the same way in every INTEGER column of every table', async (t) => {
  const { schemas } = await import('../dist/tables/schema.js');
  const { rowValidators } = await import('../dist/tables/schema.js');
  const { schemaReject } = await import('../dist/telemetry/convert.js');
  const { setLineText } = await import('../dist/telemetry/numbers.js');
  let n = 0;
  for (const [table, cols] of schemas()) {
    const validate = rowValidators().get(table);
    for (const c of cols.filter((c) => c.type === 'INTEGER')) {
      // A valid row of the table, but for this column.
      const row = {};
      for (const k of cols) row[k.name] = k.type === 'INTEGER' ? 1 : k.type === 'TIMESTAMP' ? '2025-04-29T00:44:18.381887Z' : k.type === 'BOOLEAN' ? true : k.type === 'FLOAT' ? 1.5 : 'x';
      assert.ok(validate(row), `${table}: the base row is valid`);
      setLineText(`{"x":9223372036854775807}`);
      row[c.name] = 9223372036854775807;
      assert.equal(validate(row), false, `${table}.${c.name} refuses 2^63`);
      const e = schemaReject(table, validate, row);
      assert.equal(e.code, 'unsafe_integer');
      assert.equal(e.message.split(' ').slice(0, 2).join(' '), `${table}.${c.name} 9223372036854775807`);
      row[c.name] = -1;
      assert.equal(validate(row), false);
      assert.equal(schemaReject(table, validate, row).code, 'out_of_range', `${table}.${c.name} -1`);
      n++;
    }
  }
  assert.ok(n > 50, `${n} integer columns checked`);
});

// ---- 12. dune upload --dry-run --json ----

test('12: dune upload --dry-run --json: stdout is only the JSON, the curl commands go to stderr, and the figures agree', async (t) => {
  const { out } = await firstRun(t);
  const r = await runCli(['dune', 'upload', '--from', out, '--namespace', 'me', '--dry-run', '--json'], { env: { DUNE_API_KEY: '' } });
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout); // throws if anything else is on stdout
  assert.equal(s.dry_run, true);
  const curls = r.stderr.split('\n').filter((l) => l.includes('curl '));
  assert.equal(curls.length, s.totals.tables + s.totals.chunks, 'one create per table and one insert per chunk');
  for (const tb of s.tables) {
    const line = r.stderr.split('\n').find((l) => l.trim().startsWith(tb.dune_table + ' '));
    assert.ok(line, `${tb.dune_table} in the summary`);
    const m = /would send\s+(\d+) rows? in (\d+) chunks?/.exec(line);
    assert.ok(m, line);
    assert.deepEqual([Number(m[1]), Number(m[2])], [tb.rows_read, tb.chunks]);
    assert.equal(tb.rows_read, readJsonl(tb.file).length);
  }
  assert.match(r.stderr, new RegExp(`total: would send ${s.totals.rows_read} rows in ${s.totals.chunks} chunks; nothing was sent`));
  // Without --json the curl commands stay on stdout, ready to pipe into sh.
  const plain = await runCli(['dune', 'upload', '--from', out, '--namespace', 'me', '--dry-run', '-q']);
  assert.equal(plain.stdout.split('\n').filter((l) => l.includes('curl ')).length, curls.length);
});

// ---- Friction a new user meets ----

test('friction: the summary names the output folder and the rejects file, says "1 line", and shows no rate for a tiny input', async (t) => {
  const dir = logDir(t, ['{"a":1}']);
  const out = join(dir, 'o');
  const r = await runCli(['dune', dir, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^dune: 1 file, 1 line \(0 to rows, 1 rejected, 0 blank\), 8 B in /);
  assert.match(r.stderr, new RegExp(`\\n  output: ${out}\\n`));
  assert.match(r.stderr, new RegExp(`\\n  rejects: ${join(out, '_rejects.jsonl')}`));
  assert.doesNotMatch(r.stderr, /MB\/s|1 lines|file\(s\)/);
  const clean = await runCli(['dune', LOGS, '--out', join(dir, 'o2')]);
  // logs/: 3 .log files (348 lines) and logs/jip3/: 2 JIP-3 captures (1,832 records).
  assert.match(clean.stderr, /^dune: 5 files, 2180 lines /);
  assert.match(clean.stderr, /\n  rejects: none \(no file written\)/);
});

test('friction: dune --help puts the upload options in their own group and shows where rejects go by default', async () => {
  const r = await runCli(['dune', '--help']);
  assert.equal(r.code, 0);
  const [conversion, upload] = r.stdout.split(/\nUpload options \(with --upload, or `jam-etl dune upload`\):\n/);
  assert.ok(upload, 'an upload group');
  assert.match(conversion, /--rejects <file>\s+where reject records go \(JSONL\) \(default:\s+<out>\/_rejects\.jsonl\)/);
  for (const flag of ['--namespace', '--prefix', '--tables', '--replace', '--private', '--dry-run', '--chunk-mb', '--concurrency']) {
    assert.ok(!conversion.includes(`  ${flag} `), `${flag} is not among the conversion options`);
    assert.ok(upload.includes(`  ${flag} `), `${flag} is an upload option`);
  }
});

test('friction: --rejects "" is an error, not the default', async (t) => {
  const out = join(tempDir(t), 'o');
  const r = await runCli(['dune', LOGS, '--out', out, '--rejects', '']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--rejects must name a file/);
  assert.ok(!existsSync(out), 'nothing written');
});

test('friction: --namespace is validated like --prefix, before anything is read', async (t) => {
  const out = join(tempDir(t), 'o');
  for (const args of [
    ['dune', 'upload', '--namespace', "a'b c/../x", '--dry-run'],
    ['dune', LOGS, '--out', out, '--upload', '--namespace', 'a/b', '--dry-run'],
    ['dune', 'upload', '--namespace', 'me', '--prefix', 'Bad-', '--dry-run'],
  ]) {
    const r = await runCli(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.stderr, /argument '.*' is invalid\. --(namespace|prefix) /);
  }
  assert.ok(!existsSync(out), 'the conversion did not start');
  const { uploadToDune } = await import('../dist/sinks/dune/upload.js');
  await assert.rejects(uploadToDune({ from: out, namespace: 'x y', prefix: 'jam_', replace: false, isPrivate: false, dryRun: true }), /invalid namespace "x y"/);
});

test('friction: in a 50-column terminal the progress bar keeps the percentage and MB done, within the width', async (t) => {
  const { progressLayout } = await import('../dist/pipeline/summary.js');
  const widest = { percentage: '100', done: '267.1', totalMb: '267.1', rows: '1234567890', rate: '1234567', eta_formatted: '10:00:00' };
  for (const cols of [30, 50, 80, 200]) {
    const { format, barsize } = progressLayout('dune', cols, '267.1');
    const line = format.replace('{bar}', 'x'.repeat(barsize)).replace(/\{(\w+)\}/g, (_, k) => widest[k]);
    assert.ok(line.length < cols, `${cols}: ${line}`);
    assert.match(line, /^dune 100% .*267\.1\/267\.1 MB/);
    if (cols >= 50) assert.ok(format.includes('{bar}') && barsize >= 10, `${cols}: a bar`);
    if (cols >= 120) assert.ok(format.includes('{rows}') && format.includes('{rate}'));
  }
  // And for real, on a pseudo-terminal 50 columns wide (util-linux `script`), when there is one.
  if (!existsSync('/usr/bin/script')) return;
  const dir = tempDir(t);
  const r = await new Promise((res) => {
    const p = spawn('/usr/bin/script', ['-qec', `stty cols 50 rows 20; ${process.execPath} ${BIN} dune ${LOGS} --out ${join(dir, 'o')} -w 1`, join(dir, 'tty.txt')], { stdio: 'ignore' });
    p.on('close', res);
  });
  assert.equal(r, 0);
  // eslint-disable-next-line no-control-regex
  const frames = readFileSync(join(dir, 'tty.txt'), 'utf8').split('\x1b[1G').map((f) => f.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]|\r|\n.*/gs, '')).filter((f) => f.includes('%'));
  assert.ok(frames.length > 0, 'the bar was drawn');
  for (const f of frames) {
    assert.ok([...f].length <= 50, `fits: ${f}`);
    assert.match(f, /^dune \d+% \|.+\| \d+\.\d\/\d+\.\d MB/);
  }
});

/** An environment with no Google project or credentials anywhere. */
function noGoogle(t) {
  const home = tempDir(t);
  const env = { HOME: home, CLOUDSDK_CONFIG: join(home, 'gcloud') };
  for (const k of ['GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'gcloud_project', 'google_cloud_project', 'GOOGLE_APPLICATION_CREDENTIALS', 'BIGQUERY_EMULATOR_HOST', 'CLOUDSDK_CORE_PROJECT', 'METADATA_SERVER_DETECTION']) env[k] = '';
  return env;
}

test('friction: jam-etl bigquery without a project says so at once', async (t) => {
  const { mightBeOnGoogleCloud } = await import('../dist/sinks/bigquery/preflight.js');
  const t0 = Date.now();
  const r = await runCli(['bigquery', LOGS, '-q'], { env: noGoogle(t) });
  const ms = Date.now() - t0;
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'jam-etl: BigQuery project id not found: pass --project or set GOOGLE_CLOUD_PROJECT\n');
  // Off Google Cloud nothing is asked of a metadata server (that lookup alone took ~3 s).
  if (!mightBeOnGoogleCloud()) assert.ok(ms < 2000, `${ms} ms`);
});

test('friction: schema create --dry-run without credentials shows the plan against an empty dataset, and says so', async (t) => {
  const env = noGoogle(t);
  const r = await runCli(['schema', 'create', '--dry-run', '--project', 'p1'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^dataset p1:crypto_jam \(US\): create\n  note: not connected to BigQuery \(BigQuery credentials not found: .*\): planned against an empty dataset\n/);
  // 11 JSON telemetry tables and 7 jip3_ tables.
  assert.equal(r.stdout.split('\n').filter((l) => / create: \d+ columns, partitioned by DAY on time/.test(l)).length, 18);
  assert.match(r.stdout, /\ndry run against an empty dataset \(not connected\): nothing was changed\n$/);
  const j = await runCli(['schema', 'create', '--dry-run', '--json'], { env });
  assert.equal(j.code, 0, j.stderr);
  const plan = JSON.parse(j.stdout);
  assert.match(plan.offline, /project id not found/);
  assert.equal(plan.createDataset, true);
  assert.deepEqual(plan.tables.map((x) => x.action), Array(18).fill('create'));
  // Without --dry-run it is still an error.
  const real = await runCli(['schema', 'create', '--project', 'p1'], { env });
  assert.equal(real.code, 2);
  assert.match(real.stderr, /^jam-etl: BigQuery credentials not found/);
});

test('friction: stream-json is a dev dependency, used only by the test servers', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.dependencies['stream-json'], undefined);
  assert.ok(pkg.devDependencies['stream-json']);
  const users = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.[cm]?[jt]s$/.test(e.name) && readFileSync(p, 'utf8').includes('stream-json')) users.push(p);
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'bin'));
  assert.deepEqual(users, []);
});

test('7: the BigQuery state file under /proc: exit 2 with one line, no hang', async (t) => {
  const { startServer, schemaCreate, target } = await import('./bigquery-helpers.mjs');
  const server = await startServer(t);
  await schemaCreate(server);
  const t0 = Date.now();
  const r = await runCliWithin(['bigquery', LOGS, ...target(server), '--state', '/proc/jam-etl-x/state.json', '-q']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^jam-etl: cannot create the folder of state file \/proc\/jam-etl-x\/state\.json: cannot make state folder \/proc\/jam-etl-x/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.ok(Date.now() - t0 < 10_000);
});
