// jam-etl report: every figure of --format json against an independent JS computation over the
// same rows (test/report-helpers.mjs), on the real fixtures and on generated multi-team logs;
// the other formats; the window; empty and odd warehouses.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACTS, FIXTURE_LOGS, ROOT, assertSame, buildDb, expectedReport, generatedLogs, readTables, run, timeUs } from './report-helpers.mjs';

const work = mkdtempSync(join(tmpdir(), 'jam-report-'));

function reportJson(db, args = []) {
  const r = run(['report', '--db', db, '--format', 'json', ...args]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return JSON.parse(r.stdout);
}

// The fixtures' four nodes send no team name; a --teams map gives them three teams.
const FIXTURE_TEAMS = {
  '0x3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29': 'alpha',
  '0x5c7f34a4bd4f2d04076a8c6f9060a0c8d2c6bdd082ceb3eda7df381cb260faff': 'beta',
  '0x22351e22105a19aabb42589162ad7f1ea0df1c25cebf0e4a9fcd261301274862': 'gamma',
  '0x837ce344bc9defceb0d7de7e9e9925096768b7adb4dad932e532eb6551e0ea02': 'gamma',
};

/** Converts `logs` with the CLI to JSONL (the reference's input) and into a DuckDB file. */
async function prepare(name, logs, extra = []) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const dune = join(dir, 'jsonl');
  const r = run(['dune', logs, '-o', dune, '-q', ...extra]);
  assert.equal(r.code, 0, r.stderr);
  const db = join(dir, 'w.duckdb');
  await buildDb([logs], db, dir, extra);
  return { db, tables: readTables(dune), dir };
}

let fx, fxTeams, gen;
after(() => rmSync(work, { recursive: true, force: true }));
before(async () => {
  const teamsFile = join(work, 'teams.json');
  writeFileSync(teamsFile, JSON.stringify(FIXTURE_TEAMS));
  fx = await prepare('fx', FIXTURE_LOGS);
  fxTeams = await prepare('fx-teams', FIXTURE_LOGS, ['--teams', teamsFile]);
  gen = await prepare('gen', generatedLogs(join(work, 'gen-logs')));
});

test('fixtures (no team names): every figure matches the independent computation; nobody is ranked', () => {
  const got = reportJson(fx.db);
  assertSame(got, expectedReport(fx.tables));
  assert.equal(got.teams.length, 1);
  assert.equal(got.teams[0].team, 'unknown');
  assert.equal(got.teams[0].rank, null);
  assert.match(got.teams[0].unranked_reason, /not attributed/);
  assert.equal(got.nodes.length, 4);
  // Fixture facts: 46 blocks, 96 assurances, 28 work reports, 46 statistics messages (276 rows).
  assert.equal(got.teams[0].blocks_authored, 46);
  assert.equal(got.teams[0].assurances, 96);
  assert.equal(got.teams[0].statistics_messages, 46);
  assert.equal(got.teams[0].activities.statistics.n, 0, 'the fixtures statistics carry no elapsed');
});

test('fixtures with a --teams map: three teams, scores and ranks match', () => {
  const got = reportJson(fxTeams.db);
  assertSame(got, expectedReport(fxTeams.tables));
  assert.deepEqual(got.teams.map((t) => t.team).sort(), ['alpha', 'beta', 'gamma']);
  assert.ok(got.teams.every((t) => t.rank !== null), 'every team has >= 5 samples somewhere');
  assert.equal(got.teams.find((t) => t.team === 'gamma').nodes, 2);
  assert.deepEqual(got.teams.map((t) => t.rank).sort(), [1, 2, 3]);
});

test('generated multi-team logs: every figure matches, statistics are one sample per message', () => {
  const got = reportJson(gen.db);
  assertSame(got, expectedReport(gen.tables));
  const ranked = got.teams.filter((t) => t.rank !== null);
  assert.ok(ranked.length >= 4, `several ranked teams (${ranked.length})`);
  for (const a of ['block', 'statistics', 'refine', 'assurance', 'ticket']) {
    assert.ok(got.teams.filter((t) => t.activities[a].n > 0).length >= 4, `several teams time ${a}`);
  }
  // one statistics message fans out into V + C + S rows but is one sample
  const stats = gen.tables.validatorstatistics.length + gen.tables.corestatistics.length + gen.tables.servicestatistics.length;
  const samples = got.teams.reduce((s, t) => s + t.activities.statistics.n, 0);
  assert.ok(samples > 0 && samples * 6 <= stats, `${samples} samples from ${stats} rows`);
  // the one-ticket team: listed with its one sample, not ranked, and says why
  const solo = got.teams.find((t) => t.team === 'solo');
  assert.equal(solo.activities.ticket.n, 1);
  assert.equal(solo.activities.ticket.p50_ms, 123.456);
  assert.equal(solo.activities.ticket.stddev_ms, null);
  assert.equal(solo.rank, null);
  assert.match(solo.unranked_reason, /fewer than 5 timed samples in every activity \(ticket 1\)/);
  // measured zeros are samples: the all-zero team is scored 0 and ranked first (its log counts as 1e-9)
  const zippy = got.teams.find((t) => t.team === 'zippy');
  assert.equal(zippy.activities.ticket.n, 5);
  assert.equal(zippy.activities.ticket.score, 0);
  assert.equal(zippy.rank, 1);
  // the ranking: sorted by score, rank 1 first
  for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1].score <= ranked[i].score);
  assert.equal(ranked[0].rank, 1);
});

test('--min-samples changes who is scored, and figures still match', () => {
  const got = reportJson(gen.db, ['--min-samples', '1']);
  assertSame(got, expectedReport(gen.tables, { minSamples: 1 }));
  assert.notEqual(got.teams.find((t) => t.team === 'solo').rank, null);
});

test('--since/--until: only rows in the window count, until exclusive', () => {
  const since = '2025-04-24T23:40:00Z';
  const until = '2025-04-24T23:42:00Z';
  const got = reportJson(gen.db, ['--since', since, '--until', until]);
  assertSame(got, expectedReport(gen.tables, { since, until }));
  assert.equal(got.window.minutes, 2);
  assert.equal(got.window.slots, 20);
  for (const m of got.per_minute) assert.ok(m.minute === '2025-04-24T23:40Z' || m.minute === '2025-04-24T23:41Z', m.minute);
  const all = Object.values(gen.tables).flat().filter((r) => { const t = timeUs(r.time); return t >= Date.parse(since) * 1000 && t < Date.parse(until) * 1000; });
  assert.equal(got.teams.reduce((s, t) => s + t.rows, 0), all.length);
});

test('a window with no rows: empty report, every format, exit 0', () => {
  const got = reportJson(gen.db, ['--since', '2030-01-01T00:00:00Z']);
  assert.deepEqual(got.teams, []);
  assert.deepEqual(got.nodes, []);
  assert.deepEqual(got.per_minute, []);
  assert.equal(got.window.first_time, null);
  for (const a of ACTS) assert.equal(got.scoring.reference[a], null);
  const t = run(['report', '--db', gen.db, '--since', '2030-01-01T00:00:00Z']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /No rows in the window/);
  for (const f of ['csv', 'md']) assert.equal(run(['report', '--db', gen.db, '--since', '2030-01-01', '--format', f]).code, 0);
});

test('an empty database (no tables at all) and one with empty tables: sensible output, exit 0', async () => {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const bare = join(work, 'bare.duckdb');
  const inst = await DuckDBInstance.create(bare);
  inst.closeSync();
  const got = reportJson(bare);
  assert.deepEqual(got.teams, []);
  assert.equal(got.window.slots, 0);
  const empty = join(work, 'empty');
  mkdirSync(empty, { recursive: true });
  await buildDb([], join(empty, 'e.duckdb'), empty);
  assert.deepEqual(reportJson(join(empty, 'e.duckdb')).teams, []);
  const t = run(['report', '--db', bare]);
  assert.equal(t.code, 0);
  assert.match(t.stdout, /window: no rows/);
});

test('usage and I/O errors: one line on stderr, exit 2', () => {
  const missing = run(['report', '--db', join(work, 'nope.duckdb')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^jam-etl: no database at .*nope\.duckdb/);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
  const notDb = join(work, 'not-a-db.duckdb');
  writeFileSync(notDb, 'hello');
  const bad = run(['report', '--db', notDb]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  assert.equal(run(['report', '--db', gen.db, '--since', 'yesterday']).code, 2);
  const unwritable = run(['report', '--db', gen.db, '--html', join(work, 'no-such-dir', 'x.html')]);
  assert.equal(unwritable.code, 2);
  assert.match(unwritable.stderr, /^jam-etl: --html /);
  assert.equal(run(['report', '--db', gen.db, '--format', 'xml']).code, 2);
  assert.equal(run(['report', '--db', gen.db, '--since', '2025-04-25', '--until', '2025-04-24']).code, 2);
});

test('a warehouse another process holds open for writing: exit 2, one line saying so', async () => {
  const { spawn } = await import('node:child_process');
  const held = join(work, 'held.duckdb');
  await buildDb([], held, join(work, 'held'));
  const holder = spawn(process.execPath, ['--input-type=module', '-e', `
    import { DuckDBInstance } from '@duckdb/node-api';
    const i = await DuckDBInstance.create(${JSON.stringify(held)});
    await (await i.connect()).run('SELECT 1');
    process.stdout.write('open\\n');
    setTimeout(() => process.exit(0), 20000);`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise((res, rej) => { holder.stdout.once('data', res); holder.once('exit', () => rej(new Error('holder ended early'))); });
    const r = run(['report', '--db', held]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^jam-etl: database .* is in use by another process/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  } finally {
    holder.kill();
  }
});

test('--format table fits in 100 columns and names every team', () => {
  for (const db of [gen.db, fxTeams.db, fx.db]) {
    const r = run(['report', '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    for (const line of r.stdout.split('\n')) assert.ok([...line].length <= 100, `too wide (${[...line].length}): ${line}`);
    for (const t of reportJson(db).teams) assert.ok(r.stdout.includes(t.team), t.team);
  }
});

test('--format csv: one row per team and node, the same figures as the JSON', () => {
  const j = reportJson(gen.db);
  const r = run(['report', '--db', gen.db, '--format', 'csv']);
  assert.equal(r.code, 0);
  const lines = r.stdout.trim().split('\n');
  const head = lines[0].split(',');
  assert.equal(lines.length, 1 + j.teams.length + j.nodes.length);
  // no field of this data set needs quoting except unranked_reason: parse simply, then compare
  const parse = (l) => { const out = []; let cur = '', q = false; for (let i = 0; i < l.length; i++) { const ch = l[i]; if (q) { if (ch === '"' && l[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') q = false; else cur += ch; } else if (ch === '"') q = true; else if (ch === ',') { out.push(cur); cur = ''; } else cur += ch; } out.push(cur); return out; };
  const rows = lines.slice(1).map((l) => Object.fromEntries(parse(l).map((v, i) => [head[i], v])));
  j.teams.forEach((t, i) => {
    const c = rows[i];
    assert.equal(c.level, 'team');
    assert.equal(c.team, t.team);
    assert.equal(c.rank, t.rank === null ? '' : String(t.rank));
    assert.equal(c.blocks_authored, String(t.blocks_authored));
    for (const a of ACTS) for (const k of ['n', 'p50_ms', 'p99_ms', 'score']) {
      const v = t.activities[a][k];
      if (v === null) assert.equal(c[`${a}_${k}`], '', `${t.team} ${a}_${k}`);
      else assert.ok(Math.abs(Number(c[`${a}_${k}`]) - v) <= 1e-9 * Math.max(1, v), `${t.team} ${a}_${k}: ${c[`${a}_${k}`]} vs ${v}`);
    }
  });
  j.nodes.forEach((n, i) => assert.equal(rows[j.teams.length + i].sender_id, n.sender_id ?? ''));
});

test('the output is stable: the same warehouse gives the same bytes', () => {
  const a = run(['report', '--db', gen.db, '--format', 'json']).stdout;
  const b = run(['report', '--db', gen.db, '--format', 'json']).stdout;
  assert.equal(a, b);
});

test('--format md: a leaderboard table with a row per team', () => {
  const j = reportJson(gen.db);
  const r = run(['report', '--db', gen.db, '--format', 'md']);
  assert.equal(r.code, 0);
  const board = r.stdout.split('\n').filter((l) => /^\| (\d+|-) \| /.test(l));
  assert.equal(board.length, j.teams.length);
  assert.ok(board[0].startsWith(`| 1 | ${j.teams[0].team} |`));
});

test('the SQL files run by hand (jam-etl sql, and DuckDB with SET VARIABLE) give the figures the command prints', async () => {
  const since = '2025-04-24T23:40:00Z';
  const j = reportJson(gen.db, ['--since', since]);
  const check = (rows, how) => {
    for (const t of j.teams) for (const a of ACTS) {
      const row = rows.find((r) => r.level === 'team' && r.team === t.team && r.activity === a);
      assert.equal(row ? Number(row.n) : 0, t.activities[a].n, `${how}: ${t.team} ${a}`);
      if (row) assert.ok(Math.abs(row.p90_ms - t.activities[a].p90_ms) <= 5e-7, `${how}: ${t.team} ${a}: ${row.p90_ms} vs ${t.activities[a].p90_ms} (the report rounds to 1e-6 ms)`);
    }
  };
  // jam-etl sql takes one statement: --print-sql writes the window into it
  const printed = run(['report', '--print-sql', 'timings', '--since', since]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.ok(!printed.stdout.includes("getvariable('report_since')"));
  const viaSql = run(['sql', '--db', gen.db, '--format', 'json', printed.stdout]);
  assert.equal(viaSql.code, 0, viaSql.stderr);
  check(JSON.parse(viaSql.stdout), 'jam-etl sql');
  const viaStdin = run(['sql', '--db', gen.db, '--format', 'json', '--file', '-'], { input: printed.stdout });
  assert.equal(viaStdin.code, 0, viaStdin.stderr);
  check(JSON.parse(viaStdin.stdout), 'jam-etl sql --file -');
  // the file itself, unchanged, with the window set as a DuckDB variable
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(gen.db, { access_mode: 'READ_ONLY' });
  const c = await inst.connect();
  try {
    await c.run(`SET VARIABLE report_since = TIMESTAMPTZ '${since}'`);
    await c.run('SET threads = 1');
    check((await c.runAndReadAll(readFileSync(new URL('../sql/report/timings.sql', import.meta.url), 'utf8'))).getRowObjectsJson(), 'SET VARIABLE');
  } finally {
    c.closeSync();
    inst.closeSync();
  }
  // unset, the files cover everything
  const whole = run(['sql', '--db', gen.db, '--format', 'json', readFileSync(new URL('../sql/report/window.sql', import.meta.url), 'utf8')]);
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(JSON.parse(whole.stdout)[0].slots, reportJson(gen.db).window.slots);
  const full = reportJson(gen.db);
  const act = JSON.parse(run(['sql', '--db', gen.db, '--format', 'json', readFileSync(new URL('../sql/report/activity.sql', import.meta.url), 'utf8')]).stdout);
  assert.equal(act.filter((r) => r.level === 'node').length, full.nodes.length);
  assert.equal(act.filter((r) => r.level === 'minute').length, full.per_minute.length);
  const val = JSON.parse(run(['sql', '--db', gen.db, '--format', 'json', '--file', join(ROOT, 'sql', 'report', 'validators.sql')]).stdout);
  assert.deepEqual(val.map((v) => v.blocks), full.validators.map((v) => v.blocks));
});
