// `node bench/duckdb.mjs`: jam-etl duckdb against jam-etl dune and against a do-it-yourself
// DuckDB load, side by side on the same files in the same run (issue 9's targets). A benchmark,
// not a test: it measures and reports.
//
//   node bench/duckdb.mjs [--reps N] [--no-mem] [--write]
//   node bench/duckdb.mjs --alone <folder of JSONL> [reps]   (DuckDB's load alone: memory)
//
// On W1 (bench/data.mjs: the real fixtures x25 x8 files, 267 MB), interleaved in every
// repetition after one unrecorded warm-up round:
//   dune    jam-etl dune W1 -o <folder on disk> (default workers)
//   duckdb  jam-etl duckdb W1 --db <fresh file on disk> (default workers and settings)
//   diy     what a user could do with DuckDB alone: CREATE TABLE raw AS SELECT * FROM
//           read_json('W1/*.log') (one raw table, types auto-detected, no mapping), closed
// Each is a fresh `node` process timed from spawn to exit, with its peak RSS from getrusage
// (bench/rusage.mjs); JAM_ETL_ALLOW_DUPLICATE_INPUTS=1 as in bench/run.mjs, since the 5 GB input
// is symlinks to W1's files. Then (unless --no-mem) one jam-etl duckdb run over >= 5 GB (160
// symlinks to W1's files) for peak RSS. --write puts the tables into BENCHMARKS.md between the
// duckdb markers.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA, ROOT, prepareBig, prepareW1 } from './data.mjs';
import { runMeasured } from './measure.mjs';

// ---- the do-it-yourself load, run as its own child process
if (process.argv[2] === '--diy') {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const [db, dir] = process.argv.slice(3);
  const inst = await DuckDBInstance.create(db);
  const conn = await inst.connect();
  await conn.run(`CREATE TABLE raw AS SELECT * FROM read_json('${dir}/*.log', format = 'newline_delimited')`);
  const n = (await conn.runAndReadAll('SELECT count(*) FROM raw')).getRows()[0][0];
  conn.closeSync();
  inst.closeSync();
  process.stdout.write(JSON.stringify({ lines: Number(n) }) + '\n');
  process.exit(0);
}

// ---- DuckDB's load alone, no pipeline (docs/duckdb.md, "Where the memory goes"):
//   node bench/duckdb.mjs --alone <folder of jam-etl dune JSONL> [reps]
// loads every table's file per round in one transaction, with the sink's settings, and prints the
// process's RSS after each commit and its peak (VmHWM). Env ML, AF, CT, RG, MOS override
// memory_limit, allocator_flush_threshold, checkpoint_threshold, row group size, maximum_object_size.
if (process.argv[2] === '--alone') {
  const { openWarehouse } = await import('../dist/sinks/duckdb/warehouse.js');
  const { applySchema } = await import('../dist/sinks/duckdb/ddl.js');
  const { schemas } = await import('../dist/tables/schema.js');
  const { readJsonColumnsSql, quoteIdent, quoteLiteral } = await import('../dist/tables/duckdb-types.js');
  const { readFileSync: rf, existsSync: ex, mkdtempSync: mk, rmSync: rm } = await import('node:fs');
  const { tmpdir: td } = await import('node:os');
  const { join: j } = await import('node:path');
  const [dir, repsArg] = process.argv.slice(3);
  const E = process.env;
  const status = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(rf('/proc/self/status', 'utf8'))[1]) >> 10;
  const tmp = mk(j(td(), 'jam-etl-alone-'));
  const wh = await openWarehouse(j(tmp, 'a.duckdb'), { memoryLimit: E.ML ?? '64MB', allocatorFlush: E.AF ?? '4MB', checkpointThreshold: E.CT ?? '64MB', rowGroupSize: Number(E.RG ?? 8192), threads: 1 });
  const want = schemas();
  await applySchema(wh.connection, want);
  process.stdout.write(`open: rss ${status('VmRSS')} MiB\n`);
  for (let r = 0; r < Number(repsArg ?? 4); r++) {
    await wh.connection.run('BEGIN TRANSACTION');
    for (const [t, cols] of want) {
      const f = j(dir, `${t}.jsonl`);
      if (!ex(f)) continue;
      const names = cols.map((c) => quoteIdent(c.name)).join(', ');
      await wh.connection.run(`INSERT INTO ${quoteIdent(t)} (${names}) SELECT ${names} FROM read_json(${quoteLiteral(f)}, format = 'newline_delimited', columns = ${readJsonColumnsSql(cols)}, maximum_object_size = ${Number(E.MOS ?? 2 << 20)})`);
    }
    await wh.connection.run('COMMIT');
    process.stdout.write(`round ${r + 1}: rss ${status('VmRSS')} MiB, peak ${status('VmHWM')} MiB\n`);
  }
  wh.close();
  rm(tmp, { recursive: true, force: true });
  process.exit(0);
}

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name, dflt) => {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : argv[i + 1];
};
const reps = Number(value('--reps', 3));
const log = (s) => process.stderr.write(s + '\n');
const CLI = join(ROOT, 'bin', 'jam-etl.js');
const OUT = join(DATA, 'out-duckdb'); // on disk, like a user's database
const scratch = mkdtempSync(join(tmpdir(), 'jam-etl-bench-duckdb-'));
process.on('exit', () => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(OUT, { recursive: true, force: true });
});

function cpuBusy() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}
let noisy = 0;
/** Waits (at most 20 s) for the CPUs to be < 15 % busy for half a second: a shared machine. */
async function quiet() {
  if (!existsSync('/proc/stat')) return;
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const a = cpuBusy();
    await new Promise((r) => setTimeout(r, 500));
    const b = cpuBusy();
    if (1 - (b.idle - a.idle) / Math.max(1, b.total - a.total) < 0.15) return;
  }
  noisy++;
}

let runNo = 0;
async function measure(args) {
  const usageFile = join(scratch, `rusage-${++runNo}.json`);
  try {
    execFileSync('sync');
  } catch {
    // Only makes disk runs noisier.
  }
  await quiet();
  return runMeasured(args, { usageFile, env: { JAM_ETL_ALLOW_DUPLICATE_INPUTS: '1' } });
}

const fresh = (name) => {
  const p = join(OUT, name);
  rmSync(p, { recursive: true, force: true });
  rmSync(`${p}.wal`, { force: true });
  return p;
};

const VARIANTS = {
  dune: async (input) => {
    const r = await measure([CLI, 'dune', input.dir, '-o', fresh('dune'), '--quiet', '--json']);
    const j = JSON.parse(r.stdout);
    return { ...r, rows: j.rows_total, lines: j.lines };
  },
  duckdb: async (input) => {
    const r = await measure([CLI, 'duckdb', input.dir, '--db', fresh('jam.duckdb'), '--quiet', '--json']);
    const j = JSON.parse(r.stdout);
    if (j.bytes !== input.bytes) throw new Error(`jam-etl duckdb read ${j.bytes} bytes of ${input.bytes}`);
    return { ...r, rows: j.rows_total, lines: j.lines };
  },
  diy: async (input) => {
    const r = await measure([join(ROOT, 'bench', 'duckdb.mjs'), '--diy', fresh('diy.duckdb'), input.dir]);
    return { ...r, rows: undefined, lines: JSON.parse(r.stdout).lines };
  },
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

mkdirSync(OUT, { recursive: true });
const w1 = prepareW1(log);
const names = Object.keys(VARIANTS);
const results = Object.fromEntries(names.map((n) => [n, []]));
log(`W1: ${w1.files.length} files, ${(w1.bytes / 1e6).toFixed(1)} MB; warm-up, then ${reps} rounds of ${names.join(', ')}`);
for (const n of names) await VARIANTS[n](w1);
for (let r = 0; r < reps; r++) {
  for (const n of names) {
    const m = await VARIANTS[n](w1);
    results[n].push(m);
    log(`  round ${r + 1} ${n}: ${m.sec.toFixed(2)} s, CPU ${m.cpuSec.toFixed(2)} s, peak RSS ${m.rssMiB.toFixed(0)} MiB`);
  }
}
// Per round ratios (same round, same machine state), then their median.
const ratio = (a, b) => median(results[a].map((m, i) => m.sec / results[b][i].sec));
const w1Table = [
  '| variant | median s | min–max s | CPU s (median) | peak RSS MiB (max) | MB/s | × dune (per-round median) |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...names.map((n) => {
    const xs = results[n].map((m) => m.sec);
    return `| ${n} | ${median(xs).toFixed(2)} | ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)} | ${median(results[n].map((m) => m.cpuSec)).toFixed(2)} | ${Math.max(...results[n].map((m) => m.rssMiB)).toFixed(0)} | ${(w1.bytes / 1e6 / median(xs)).toFixed(0)} | ${ratio(n, 'dune').toFixed(2)} |`;
  }),
];
const targets = [
  '| target (issue 9) | limit | measured | |',
  '|---|---:|---:|---|',
  `| duckdb time ÷ dune time, W1 | ≤ 1.30 | ${ratio('duckdb', 'dune').toFixed(2)} | ${ratio('duckdb', 'dune') <= 1.3 ? 'met' : 'not met'} |`,
  `| duckdb time ÷ do-it-yourself read_json, W1 | < 1.00 | ${ratio('duckdb', 'diy').toFixed(2)} | ${ratio('duckdb', 'diy') < 1 ? 'met' : 'not met'} |`,
];
let memTable = [];
if (!flag('--no-mem')) {
  const big = prepareBig(w1);
  log(`memory: jam-etl duckdb over ${big.files.length} files, ${(big.bytes / 1e9).toFixed(2)} GB`);
  const m = await VARIANTS.duckdb(big);
  rmSync(join(OUT, 'jam.duckdb'), { force: true });
  log(`  ${m.sec.toFixed(1)} s, peak RSS ${m.rssMiB.toFixed(0)} MiB, ${m.rows} rows`);
  memTable = ['', '| input | run | time s | MB/s | rows | peak RSS MiB | < 250 MiB |', '|---|---|---:|---:|---:|---:|---|',
    `| ${(big.bytes / 1e9).toFixed(2)} GB (${big.files.length} symlinks to W1's files) | jam-etl duckdb | ${m.sec.toFixed(1)} | ${(big.bytes / 1e6 / m.sec).toFixed(0)} | ${m.rows} | ${m.rssMiB.toFixed(0)} | ${m.rssMiB < 250 ? 'yes' : 'no'} |`];
}
const rowsNote = `jam-etl dune and duckdb: ${results.dune[0].rows} rows from ${results.dune[0].lines} lines (duckdb: ${results.duckdb[0].rows}); diy: ${results.diy[0].lines} raw rows, one per line.`;
const report = [
  `Measured ${new Date().toISOString().slice(0, 16)} UTC by \`node bench/duckdb.mjs --reps ${reps}\` on ${availableParallelism()} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}; database and JSONL on disk. ${noisy ? `${noisy} run(s) started without a quiet CPU (shared machine): times are noisy, the per-round ratios less so.` : ''}`,
  '',
  `W1: ${w1.files.length} files, ${(w1.bytes / 1e6).toFixed(1)} MB. ${rowsNote}`,
  '',
  ...w1Table,
  '',
  ...targets,
  ...memTable,
].join('\n');
process.stdout.write(report + '\n');
if (flag('--write')) {
  const file = join(ROOT, 'BENCHMARKS.md');
  const md = readFileSync(file, 'utf8');
  const begin = '<!-- duckdb:begin -->';
  const end = '<!-- duckdb:end -->';
  const block = `${begin}\n${report}\n${end}`;
  const out = md.includes(begin) ? md.replace(new RegExp(`${begin}[\\s\\S]*?${end}`), block) : `${md.trimEnd()}\n\n## DuckDB\n\n${block}\n`;
  writeFileSync(file, out);
  log('BENCHMARKS.md updated');
}
