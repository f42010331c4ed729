// jam-etl duckdb and jam-etl sql: the built CLI spawned as a user runs it, and the warehouse read
// back with @duckdb/node-api directly (not through the code under test).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { BIN, envelope, FIXTURE, needsShared, readJsonl, ROOT, runCli, tempDir } from './helpers.mjs';
import { loadSchemas, TABLE_NAMES } from '../dist/tables/schema.js';
import { applySchema, planSchema } from '../dist/sinks/duckdb/ddl.js';
import { DuckDbSink } from '../dist/sinks/duckdb/sink.js';
import { openWarehouse } from '../dist/sinks/duckdb/warehouse.js';

const LOGS = join(FIXTURE, 'logs');

/** Opens a database file with the DuckDB client itself; closes it when the test ends. */
async function openDb(t, path, readOnly = true) {
  const inst = await DuckDBInstance.create(path, readOnly ? { access_mode: 'READ_ONLY' } : {});
  const conn = await inst.connect();
  const close = () => {
    conn.closeSync();
    inst.closeSync();
  };
  t.after(close);
  return { conn, close, rows: async (sql) => (await conn.runAndReadAll(sql)).getRowObjects() };
}

async function counts(t, db) {
  const d = await openDb(t, db);
  const out = {};
  for (const table of TABLE_NAMES) out[table] = Number((await d.rows(`SELECT count(*) AS n FROM ${table}`))[0].n);
  out._rejects = Number((await d.rows('SELECT count(*) AS n FROM _rejects'))[0].n);
  d.close();
  return out;
}

/** RFC 3339 UTC text -> microseconds since the epoch, as a BigInt. */
function micros(s) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
  assert.ok(m, `timestamp ${s}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0').slice(0, 6));
}

/** One cell as comparable text: integers exactly, timestamps as instants (µs), text as is. */
function fromDuckdb(v, type) {
  if (v === null) return 'null';
  if (type === 'TIMESTAMP') return `t:${v.micros}`;
  return `${typeof v === 'bigint' ? 'number' : typeof v}:${String(v)}`;
}
function fromJsonl(v, col, line) {
  if (v === null) return 'null';
  if (col.type === 'TIMESTAMP') return `t:${micros(v)}`;
  if (col.type === 'INTEGER' && !Number.isSafeInteger(v)) {
    // JSON.parse rounded it: take its digits from the line itself.
    const m = new RegExp(`"${col.name}":(-?\\d+)[,}]`).exec(line);
    assert.ok(m, `${col.name} in ${line.slice(0, 80)}`);
    return `number:${m[1]}`;
  }
  return `${typeof v}:${String(v)}`;
}

/** The rows of every table, each as a sorted list of canonical row strings. */
async function duckdbTables(t, db) {
  const schemas = loadSchemas();
  const d = await openDb(t, db);
  const out = new Map();
  for (const [table, cols] of schemas) {
    const r = await d.conn.runAndReadAll(`SELECT ${cols.map((c) => `"${c.name}"`).join(', ')} FROM ${table}`);
    out.set(table, r.getRows().map((row) => JSON.stringify(row.map((v, i) => fromDuckdb(v, cols[i].type)))).sort());
  }
  d.close();
  return out;
}
function duneTables(dir) {
  const schemas = loadSchemas();
  const out = new Map();
  for (const [table, cols] of schemas) {
    const path = join(dir, `${table}.jsonl`);
    const lines = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '') : [];
    out.set(table, lines.map((l) => {
      const o = JSON.parse(l);
      return JSON.stringify(cols.map((c) => fromJsonl(o[c.name] ?? null, c, l)));
    }).sort());
  }
  return out;
}

test('the fixtures in DuckDB equal the dune JSONL row for row, per table, column by column; a rerun adds nothing', needsShared(), async (t) => {
  const d = tempDir(t);
  const db = join(d, 'jam.duckdb');
  const dune = await runCli(['dune', LOGS, '-o', join(d, 'dune'), '-q']);
  assert.equal(dune.code, 0, dune.stderr);
  const r = await runCli(['duckdb', LOGS, '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.rows_total, 697);
  assert.equal(s.files, 8);
  assert.equal(s.files_already_done, 0);
  assert.deepEqual(s.tables_created.sort(), [...TABLE_NAMES].sort());
  const want = duneTables(join(d, 'dune'));
  const got = await duckdbTables(t, db);
  let total = 0;
  for (const table of TABLE_NAMES) {
    assert.equal(got.get(table).length, want.get(table).length, `${table}: row count`);
    assert.deepEqual(got.get(table), want.get(table), `${table}: rows`);
    total += got.get(table).length;
  }
  assert.equal(total, 697);
  // The schema's types, NOT NULL where REQUIRED.
  const w = await openDb(t, db);
  const cols = await w.rows(`SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE table_name = 'blocks'`);
  const byName = Object.fromEntries(cols.map((c) => [c.column_name, c]));
  assert.equal(byName.time.data_type, 'TIMESTAMP WITH TIME ZONE');
  assert.equal(byName.slot.data_type, 'BIGINT');
  assert.equal(byName.team.data_type, 'VARCHAR');
  assert.equal(byName.time.is_nullable, false);
  assert.equal(byName.sender_id.is_nullable, true);
  const pos = await w.rows('SELECT file_id, path, byte_offset, line FROM _jam_etl_positions ORDER BY path');
  assert.equal(pos.length, 8);
  for (const p of pos) assert.equal(Number(p.byte_offset), readFileSync(p.path).length, 'each file is stored to its end');
  w.close();

  // Rerun, and a copy of the folder elsewhere (same file identities): nothing added.
  const copy = join(d, 'copy');
  mkdirSync(copy);
  for (const f of readdirSync(LOGS)) copyFileSync(join(LOGS, f), join(copy, f));
  for (const args of [[LOGS], [copy]]) {
    const again = await runCli(['duckdb', ...args, '--db', db, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).rows_total, 0);
    assert.equal(JSON.parse(again.stdout).files_already_done, 8);
    assert.equal(JSON.parse(again.stdout).transactions, 0);
  }
  // What a person reads: where the rows are, and that the rerun found nothing new.
  const human = await runCli(['duckdb', LOGS, '--db', db]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, new RegExp(`^  database: ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.match(human.stderr, /^  rejects: none$/m);
  assert.match(human.stderr, /^  already loaded: 8 files \(nothing new in them since the last run\)$/m);
  const c = await counts(t, db);
  assert.equal(Object.values(c).reduce((a, b) => a + b, 0), 697);
});

/** 20 distinct files (different names, so different identities), a few MB each. */
function twentyFiles(dir) {
  mkdirSync(dir, { recursive: true });
  const one = Buffer.concat(readdirSync(LOGS).filter((f) => f.endsWith('.log')).sort().map((f) => readFileSync(join(LOGS, f))));
  const file = Buffer.concat([one, one, one]);
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, `f${String(i).padStart(2, '0')}.log`), file);
}

/** Spawns jam-etl duckdb and SIGKILLs it `delayMs` after `when(stderr)` holds; resolves how it ended. */
function runAndKill(args, when, delayMs = 0) {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, JAM_ETL_DEBUG: 'duckdb' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    p.stderr.on('data', (b) => {
      stderr += b;
      if (!killed && when(stderr)) {
        killed = true;
        setTimeout(() => p.kill('SIGKILL'), delayMs);
      }
    });
    p.on('error', rej);
    p.on('close', (code, signal) => res({ code, signal, stderr, killed }));
  });
}

test('20 files, SIGKILL in the middle of the load, rerun: every row exactly once', { ...needsShared(), timeout: 240_000 }, async (t) => {
  const d = tempDir(t);
  const input = join(d, 'in');
  twentyFiles(input);
  const dune = await runCli(['dune', input, '-o', join(d, 'dune'), '-q']);
  assert.equal(dune.code, 0, dune.stderr);
  const want = duneTables(join(d, 'dune'));
  // Killed twice: inside a load transaction (its BEGIN has run, its COMMIT has not), and at a
  // random moment later on (each run resumes the previous one's positions). --flush-mb 1: many
  // small transactions.
  const db = join(d, 'jam.duckdb');
  const args = ['duckdb', input, '--db', db, '--flush-mb', '1', '-w', '1', '-q'];
  const first = await runAndKill(args, (s) => /duckdb load 3: begin/.test(s));
  assert.doesNotMatch(first.stderr, /duckdb load 3: committed/, 'killed before load 3 committed');
  assert.equal(first.signal, 'SIGKILL', `killed for real (stderr: ${first.stderr})`);
  const mid = await counts(t, db);
  const midTotal = Object.values(mid).reduce((a, b) => a + b, 0);
  const wantTotal = [...want.values()].reduce((a, b) => a + b.length, 0);
  assert.ok(midTotal > 0 && midTotal < wantTotal, `the killed run stored part of it (${midTotal} of ${wantTotal})`);
  const second = await runAndKill(args, (s) => /duckdb load 2: committed/.test(s), Math.floor(Math.random() * 400));
  assert.equal(second.signal, 'SIGKILL');
  const last = await runCli(args.slice(0, -1).concat(['--json']));
  assert.equal(last.code, 0, last.stderr);
  assert.ok(JSON.parse(last.stdout).rows_total < wantTotal, 'the rerun only loaded what was missing');
  const got = await duckdbTables(t, db);
  for (const table of TABLE_NAMES) assert.deepEqual(got.get(table), want.get(table), `${table}: exactly once`);
  const w = await openDb(t, db);
  assert.equal((await w.rows('SELECT count(*) AS n FROM _jam_etl_positions'))[0].n, 20n);
  assert.equal(readdirSync(d).filter((f) => f.endsWith('.load')).length, 0, 'the load folder is gone after a clean end');
});

test('rejects are stored in _rejects exactly once, with file, line, code and raw line', async (t) => {
  const d = tempDir(t);
  const good = envelope(141, { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', validator_index: 4, signature: '0x' + '22'.repeat(64) });
  writeFileSync(join(d, 'a.log'), `${good}\nnot json\n\n${envelope(999, {})}\n${good}\n`);
  const db = join(d, 'jam.duckdb');
  for (let run = 0; run < 2; run++) {
    const r = await runCli(['duckdb', join(d, 'a.log'), '--db', db, '-q']);
    assert.equal(r.code, 0, r.stderr);
  }
  const strict = await runCli(['duckdb', join(d, 'a.log'), '--db', join(d, 'other.duckdb'), '-q', '--strict']);
  assert.equal(strict.code, 1, '--strict: rejects make it exit 1');
  const w = await openDb(t, db);
  assert.equal((await w.rows('SELECT count(*) AS n FROM assurances'))[0].n, 2n);
  const rej = await w.rows('SELECT file_id, file, line, code, raw FROM _rejects ORDER BY line');
  assert.deepEqual(rej.map((r) => [Number(r.line), r.code]), [[2, 'invalid_json'], [4, 'unknown_msg_type']]);
  assert.equal(rej[0].raw, 'not json');
  assert.equal(rej[0].file, join(d, 'a.log'));
  assert.match(rej[0].file_id, /^a\.log#[0-9a-f]{16}$/);
});

test('a file that grows is read on from where it was stored', async (t) => {
  const d = tempDir(t);
  const line = (i) => envelope(141, { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', validator_index: i, signature: '0x' + '22'.repeat(64) });
  const f = join(d, 'grow.log');
  writeFileSync(f, `${line(1)}\n${line(2)}\n`);
  const db = join(d, 'jam.duckdb');
  assert.equal((await runCli(['duckdb', f, '--db', db, '-q'])).code, 0);
  writeFileSync(f, `${line(1)}\n${line(2)}\n${line(3)}\n`);
  const r = await runCli(['duckdb', f, '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).rows_total, 1);
  const w = await openDb(t, db);
  assert.deepEqual((await w.rows('SELECT validator_index FROM assurances ORDER BY validator_index')).map((x) => Number(x.validator_index)), [1, 2, 3]);
});

/** The package's schemas with one table changed by `edit(columns)`. */
function schemasWith(table, edit) {
  const s = loadSchemas();
  s.set(table, edit(s.get(table).map((c) => ({ ...c }))));
  return s;
}

async function loadWith(db, schemas, files) {
  const sink = new DuckDbSink({ db, schemas });
  await sink.open();
  let n = 0;
  for (const [i, rows] of files.entries()) {
    const blocks = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const counters = { lines: rows.length, blank: 0, rowLines: rows.length, rejects: 0, rows: Object.fromEntries(TABLE_NAMES.map((x) => [x, x === 'blocks' ? rows.length : 0])), rejectsByCode: {}, bytes: blocks.length };
    await sink.write({ fileId: `test-${i}`, path: `test-${i}.log`, start: { offset: 0, line: 1 }, end: { offset: blocks.length, line: rows.length + 1 }, tables: [['blocks', blocks]], rejects: '', counters });
    n += rows.length;
  }
  await sink.commit();
  return n;
}

test('a schema with a new column is applied to an existing database; old rows get NULL there', needsShared(), async (t) => {
  const d = tempDir(t);
  const db = join(d, 'jam.duckdb');
  // An "older" schema without blocks.codec_encoded, with rows loaded through the sink.
  const dune = await runCli(['dune', LOGS, '-o', join(d, 'dune'), '-q']);
  assert.equal(dune.code, 0);
  const blocks = readJsonl(join(d, 'dune', 'blocks.jsonl'));
  const older = schemasWith('blocks', (cols) => cols.filter((c) => c.name !== 'codec_encoded'));
  await loadWith(db, older, [blocks.slice(0, 10).map(({ codec_encoded, ...rest }) => rest)]);
  // The package's schema adds it back: the CLI migrates, then loads.
  const r = await runCli(['duckdb', LOGS, '--db', db, '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).columns_added, ['blocks.codec_encoded']);
  const w = await openDb(t, db);
  const rows = await w.rows(`SELECT count(*) AS n, count(codec_encoded) AS with_codec FROM blocks`);
  assert.equal(rows[0].n, 56n);
  assert.equal(rows[0].with_codec, BigInt(blocks.filter((b) => b.codec_encoded !== null).length));
  // The migration function on its own: planning changes nothing, applying twice is a no-op.
  w.close();
  const wh = await openWarehouse(db);
  t.after(() => wh.close());
  const wider = schemasWith('blocks', (cols) => [...cols, { name: 'note', type: 'STRING', mode: 'REQUIRED' }]);
  const plan = await planSchema(wh.connection, wider);
  assert.deepEqual(plan.add, ['blocks.note']);
  assert.deepEqual(plan.conflicts, []);
  assert.equal((await planSchema(wh.connection, wider)).add.length, 1, 'planning changed nothing');
  await applySchema(wh.connection, wider);
  assert.deepEqual((await planSchema(wh.connection, wider)).statements, []);
  const note = (await wh.connection.runAndReadAll(`SELECT data_type, is_nullable FROM duckdb_columns() WHERE table_name = 'blocks' AND column_name = 'note'`)).getRowObjects();
  assert.deepEqual(note, [{ data_type: 'VARCHAR', is_nullable: true }]);
});

test('a retyped column is refused: exit 2, one line naming it, nothing changed (not even the columns it would add)', async (t) => {
  const d = tempDir(t);
  const db = join(d, 'jam.duckdb');
  // A database whose blocks.slot is VARCHAR and that lacks blocks.codec_encoded.
  const odd = schemasWith('blocks', (cols) => cols.filter((c) => c.name !== 'codec_encoded').map((c) => (c.name === 'slot' ? { ...c, type: 'STRING' } : c)));
  const wh = await openWarehouse(db);
  await applySchema(wh.connection, odd);
  const before = (await wh.connection.runAndReadAll(`SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() ORDER BY ALL`)).getRowObjectsJson();
  wh.close();
  writeFileSync(join(d, 'a.log'), envelope(141, { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', validator_index: 4, signature: '0x' + '22'.repeat(64) }) + '\n');
  const r = await runCli(['duckdb', join(d, 'a.log'), '--db', db, '-q']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^jam-etl: .*blocks\.slot is VARCHAR in the database but schema\/blocks\.json makes it INTEGER/);
  const w = await openDb(t, db);
  assert.deepEqual((await w.conn.runAndReadAll(`SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() ORDER BY ALL`)).getRowObjectsJson(), before);
  assert.equal((await w.rows('SELECT count(*) AS n FROM assurances'))[0].n, 0n, 'no row was loaded');
});

/** Exit 2 and exactly one line on stderr, matching `re`. */
function oneLine(r, re) {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^jam-etl: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.match(lines[0], re);
}

test('a database another process holds open: exit 2, one line (duckdb and sql)', needsShared(), async (t) => {
  const d = tempDir(t);
  const db = join(d, 'jam.duckdb');
  assert.equal((await runCli(['duckdb', LOGS, '--db', db, '-q'])).code, 0);
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `
    import { DuckDBInstance } from '@duckdb/node-api';
    const i = await DuckDBInstance.create(${JSON.stringify(db)}); await i.connect();
    process.stdout.write('open\\n'); setTimeout(() => {}, 60000);`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => holder.kill('SIGKILL'));
  await new Promise((res) => holder.stdout.once('data', res));
  oneLine(await runCli(['duckdb', LOGS, '--db', db, '-q']), /in use by another process.*PID \d+/);
  oneLine(await runCli(['sql', 'SELECT 1', '--db', db]), /in use by another process/);
});

test('a corrupt database file, a missing or unwritable folder: exit 2, one line, nothing created', needsShared(), async (t) => {
  const d = tempDir(t);
  const bad = join(d, 'bad.duckdb');
  writeFileSync(bad, 'this is not a database '.repeat(500));
  oneLine(await runCli(['duckdb', LOGS, '--db', bad, '-q']), /is not a DuckDB database file/);
  oneLine(await runCli(['sql', 'SELECT 1', '--db', bad]), /is not a DuckDB database file/);
  assert.equal(readFileSync(bad, 'utf8'), 'this is not a database '.repeat(500), 'left as it was');
  oneLine(await runCli(['duckdb', LOGS, '--db', join(d, 'no', 'such', 'x.duckdb'), '-q']), /folder .* does not exist/);
  assert.equal(existsSync(join(d, 'no')), false);
  writeFileSync(join(d, 'file'), '');
  oneLine(await runCli(['duckdb', LOGS, '--db', join(d, 'file', 'x.duckdb'), '-q']), /cannot create database/);
  // A folder this user cannot write in: a read-only one (root may write anywhere but in /sys).
  let ro;
  if (process.getuid?.() === 0) ro = '/sys';
  else {
    ro = join(d, 'ro');
    mkdirSync(ro);
    chmodSync(ro, 0o555);
    t.after(() => chmodSync(ro, 0o755));
  }
  oneLine(await runCli(['duckdb', LOGS, '--db', join(ro, 'x.duckdb'), '-q']), /cannot (create|open) database/);
  assert.equal(existsSync(join(ro, 'x.duckdb')), false);
  oneLine(await runCli(['sql', 'SELECT 1', '--db', join(d, 'missing.duckdb')]), /no database at/);
});

test('jam-etl sql: table, csv and json output; one statement; read-only', needsShared(), async (t) => {
  const d = tempDir(t);
  const db = join(d, 'jam.duckdb');
  assert.equal((await runCli(['duckdb', LOGS, '--db', db, '-q'])).code, 0);
  const q = 'SELECT team, count(*) AS blocks, min(time) AS first FROM blocks GROUP BY team ORDER BY team';
  const json = await runCli(['sql', q, '--db', db, '--format', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout);
  const dune = await runCli(['dune', LOGS, '-o', join(d, 'dune'), '-q']);
  assert.equal(dune.code, 0);
  const blocks = readJsonl(join(d, 'dune', 'blocks.jsonl'));
  const teams = [...new Set(blocks.map((b) => b.team))].sort();
  assert.deepEqual(rows.map((r) => r.team), teams);
  for (const r of rows) {
    const mine = blocks.filter((b) => b.team === r.team);
    assert.equal(r.blocks, mine.length, 'BIGINT as a JSON number');
    const first = mine.map((b) => b.time).sort()[0];
    assert.equal(r.first, first, 'TIMESTAMPTZ as ISO 8601 UTC, microseconds');
  }
  const big = JSON.parse((await runCli(['sql', 'SELECT 9007199254740993::BIGINT AS big, 42::BIGINT AS small, NULL AS n', '--db', db, '--format', 'json'])).stdout);
  assert.deepEqual(big, [{ big: '9007199254740993', small: 42, n: null }]);

  const csv = await runCli(['sql', `SELECT team, count(*) AS n, 'a,"b"' AS odd FROM blocks GROUP BY team ORDER BY team`, '--db', db, '--format', 'csv']);
  assert.equal(csv.code, 0, csv.stderr);
  const csvLines = csv.stdout.split('\r\n');
  assert.equal(csvLines[0], 'team,n,odd');
  assert.equal(csvLines[1], `${teams[0]},${blocks.filter((b) => b.team === teams[0]).length},"a,""b"""`);

  const table = await runCli(['sql', 'SELECT header_slot, parent FROM blocks ORDER BY header_slot LIMIT 3', '--db', db]);
  assert.equal(table.code, 0, table.stderr);
  const tl = table.stdout.trimEnd().split('\n');
  assert.match(tl[0], /^header_slot │ parent/);
  assert.match(tl[1], /^─+─┼──+$/);
  assert.equal(tl.length, 6);
  assert.equal(tl[5], '(3 rows)');
  const slots = blocks.map((b) => b.header_slot).sort((a, b) => a - b);
  assert.equal(tl[2].split('│')[0].trim(), String(slots[0]));

  // --file: a statement that starts with a comment (as a positional it would look like an option).
  writeFileSync(join(d, 'q.sql'), `-- teams\n${q}\n`);
  const fromFile = await runCli(['sql', '--file', join(d, 'q.sql'), '--db', db, '--format', 'json']);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  assert.deepEqual(JSON.parse(fromFile.stdout), rows);

  const before = await counts(t, db);
  oneLine(await runCli(['sql', 'DELETE FROM blocks', '--db', db]), /read-only/);
  oneLine(await runCli(['sql', 'CREATE TABLE x (a INT)', '--db', db]), /read-only/);
  oneLine(await runCli(['sql', 'SELECT 1; SELECT 2', '--db', db]), /exactly one SQL statement/);
  oneLine(await runCli(['sql', 'SELEC 1', '--db', db]), /Parser Error: syntax error/);
  oneLine(await runCli(['sql', 'SELECT nope FROM blocks', '--db', db]), /Binder Error/);
  assert.deepEqual(await counts(t, db), before, 'nothing changed');
});

test('--follow loads lines as files grow and appear, and stops cleanly on SIGTERM (exit 0, all committed)', { timeout: 120_000 }, async (t) => {
  const d = tempDir(t);
  const dir = join(d, 'in');
  mkdirSync(dir);
  const line = (i) => envelope(141, { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', validator_index: i, signature: '0x' + '22'.repeat(64) }) + '\n';
  writeFileSync(join(dir, 'a.log'), line(1) + line(2));
  const db = join(d, 'jam.duckdb');
  const p = spawn(process.execPath, [BIN, 'duckdb', dir, '--db', db, '--follow', '--poll-interval', '0.2', '-w', '1', '--json'], { cwd: ROOT, env: { ...process.env, JAM_ETL_DEBUG: 'duckdb' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => p.kill('SIGKILL'));
  let stderr = '';
  let stdout = '';
  p.stdout.on('data', (b) => (stdout += b));
  const commits = () => (stderr.match(/committed/g) ?? []).length;
  const waitFor = (n) => new Promise((res, rej) => {
    const check = () => (commits() >= n ? res() : undefined);
    p.stderr.on('data', (b) => {
      stderr += b;
      check();
    });
    check();
    setTimeout(() => rej(new Error(`no ${n} commits: ${stderr}`)), 60_000).unref();
  });
  await waitFor(1);
  writeFileSync(join(dir, 'a.log'), line(1) + line(2) + line(3));
  writeFileSync(join(dir, 'b.log'), line(4));
  await waitFor(2);
  await new Promise((res) => setTimeout(res, 300));
  p.kill('SIGTERM');
  const code = await new Promise((res) => p.on('close', res));
  assert.equal(code, 0, stderr);
  assert.equal(JSON.parse(stdout).rows_total, 4);
  const w = await openDb(t, db);
  assert.deepEqual((await w.rows('SELECT validator_index FROM assurances ORDER BY validator_index')).map((x) => Number(x.validator_index)), [1, 2, 3, 4]);
  assert.equal((await w.rows('SELECT count(*) AS n FROM _jam_etl_positions'))[0].n, 2n);
});

test('a 24 MB line (bigger than read_json\'s default object size) loads whole, even with a small --memory-limit', async (t) => {
  const d = tempDir(t);
  const blob = '0x' + 'ab'.repeat(12 << 20);
  writeFileSync(join(d, 'big.log'), envelope(142, { requester: 7, blob }) + '\n' + envelope(142, { requester: 8, blob: '0x0102' }) + '\n');
  const db = join(d, 'jam.duckdb');
  const r = await runCli(['duckdb', d, '--db', db, '-q', '--memory-limit', '64MB']);
  assert.equal(r.code, 0, r.stderr);
  const w = await openDb(t, db);
  const rows = await w.rows('SELECT requester, blob_length, length(blob) AS chars, blob = ' + `'${blob}'` + ' AS same FROM preimages ORDER BY requester');
  assert.deepEqual(rows.map((x) => [Number(x.requester), Number(x.blob_length), Number(x.chars), x.same]), [[7, 12 << 20, blob.length, true], [8, 2, 6, false]]);
});

test('sink: a load whose row count differs from the pipeline\'s count fails whole (no rows, no position) and the database stays usable', async (t) => {
  const d = tempDir(t);
  const db = join(d, 'jam.duckdb');
  const row = JSON.parse(JSON.stringify({ time: '2025-04-24T23:39:00.120887Z', slot: 1, team: 't', sender_id: null, elapsed: null, anchor: '0x11', bitfield: '0x03', validator_index: 4, signature: '0x22' }));
  const cols = loadSchemas().get('assurances').map((c) => c.name);
  const text = [row, row].map((r) => JSON.stringify(Object.fromEntries(cols.map((c) => [c, r[c] ?? null])))).join('\n') + '\n';
  const batch = (rows) => ({
    fileId: 'x.log#1', path: 'x.log', start: { offset: 0, line: 1 }, end: { offset: text.length, line: 3 },
    tables: [['assurances', text]], rejects: '',
    counters: { lines: 2, blank: 0, rowLines: 2, rejects: 0, rows: Object.fromEntries(TABLE_NAMES.map((x) => [x, x === 'assurances' ? rows : 0])), rejectsByCode: {}, bytes: text.length },
  });
  const bad = new DuckDbSink({ db });
  assert.equal((await bad.open()).size, 0);
  await bad.write(batch(3)); // the pipeline "counted" 3 rows, the JSONL holds 2
  await assert.rejects(bad.commit(), /assurances: 2 rows loaded from 3/);
  assert.equal(existsSync(`${db}.load`), false, 'load files removed');
  const good = new DuckDbSink({ db });
  assert.equal((await good.open()).size, 0, 'no position was stored');
  await good.write(batch(2));
  const res = await good.commit();
  assert.deepEqual(res.tables, [{ table: 'assurances', rows: 2, location: `${db}:assurances` }]);
  const again = new DuckDbSink({ db });
  assert.deepEqual([...(await again.open())], [['x.log#1', { offset: text.length, line: 3 }]]);
  await again.commit();
  const w = await openDb(t, db);
  assert.equal((await w.rows('SELECT count(*) AS n FROM assurances'))[0].n, 2n);
});
