// `npm run bench`: jam-etl against a parse-only baseline, side by side, on the same files in the
// same run. A benchmark, not a test: it measures and reports, it asserts nothing except that
// --workers 2 wrote exactly the bytes --workers 1 did.
//
//   node bench/run.mjs [--reps N] [--only w1m,w1,w2,mem,long,profile,bq] [--no-write] [--quick]
//                      [--quiet-wait S]
//
// --quick (for iterating): 3 repetitions, only W1 as minute files and W2, only (a), (p) and
// jam-etl --workers 1 and 2 to tmpfs, at most 5 s of waiting for a quiet machine per run, and
// BENCHMARKS.md is left alone unless --write is given.
//
// Every measured run is a fresh `node` process (startup included, for all alike), timed from
// spawn to exit, with its peak RSS from getrusage via bench/rusage.mjs. Variants are
// interleaved within each repetition so drift hits all of them alike; one unrecorded warm-up
// round first (page cache, disk). The table and the profile summary are written between the
// markers in BENCHMARKS.md; the prose around them is kept.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA, ROOT, prepareBig, prepareLong, prepareW1, prepareW1Minutes, prepareW2 } from './data.mjs';
import { summariseProfile } from './profile.mjs';
import { benchBigQuery } from './bigquery.mjs';
import { noisyRuns, quiet } from './quiet.mjs';
import { runMeasured } from './measure.mjs';

// bench/data/big/ is 160 symlinks to W1's 8 files: jam-etl reads a file once however it is named
// (issue 10, item 5), so the 5 GB memory run asks it to read each name.
process.env.JAM_ETL_ALLOW_DUPLICATE_INPUTS = '1';

// ---- options
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const value = (name, dflt) => {
  const i = argv.findIndex((a) => a === name || a.startsWith(name + '='));
  if (i < 0) return dflt;
  return argv[i].includes('=') ? argv[i].slice(name.length + 1) : argv[i + 1];
};
const quick = flag('--quick');
const reps = Number(value('--reps', quick ? 3 : 5));
const only = new Set(String(value('--only', quick ? 'w1m,w2' : 'w1m,w1,w2,mem,long,profile,bq')).split(','));
const writeReport = quick ? flag('--write') : !flag('--no-write');
const quietWait = Number(value('--quiet-wait', quick ? 5 : 60));
const log = (s) => process.stderr.write(s + '\n');

const CLI = join(ROOT, 'bin', 'jam-etl.js');
const DISK_OUT = join(DATA, 'out');
const TMPFS = existsSync('/dev/shm') ? '/dev/shm' : undefined;
const TMPFS_OUT = TMPFS ? mkdtempSync(join(TMPFS, 'jam-etl-bench-')) : undefined;
const scratch = mkdtempSync(join(tmpdir(), 'jam-etl-bench-'));
process.on('exit', () => {
  if (TMPFS_OUT) rmSync(TMPFS_OUT, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

// ---- one measured process
let runNo = 0;
/** Runs `node <args>`; resolves {sec, rssMiB, cpuSec, stdout}. Throws on a non-zero exit. */
async function measure(args, { nodeFlags = [] } = {}) {
  const usageFile = join(scratch, `rusage-${++runNo}.json`);
  await quiet(quietWait * 1000);
  return runMeasured(args, { usageFile, nodeFlags });
}

function syncDisk() {
  try {
    execFileSync('sync');
  } catch {
    // Not fatal: only makes disk runs noisier.
  }
}

// ---- variants
/** (a) and the readline reference: rows = lines parsed. */
function baseline(script, ...flags) {
  return async (input) => {
    const r = await measure([join(ROOT, 'bench', script), ...flags, ...input.files]);
    const j = JSON.parse(r.stdout);
    return { ...r, lines: j.lines, rows: undefined };
  };
}

/** (p): bench/poc-like.mjs, the PoC's loop as POC.md describes it. */
async function pocLike(input, tag) {
  const out = join(TMPFS_OUT ?? DISK_OUT, `${tag}-poc`);
  const r = await measure([join(ROOT, 'bench', 'poc-like.mjs'), out, ...input.files]);
  rmSync(out, { recursive: true, force: true });
  const j = JSON.parse(r.stdout);
  return { ...r, lines: j.lines, rows: j.rows };
}

/** (b)/(c): jam-etl dune with N workers into a fresh output folder. */
function dune(workers, where) {
  return async (input, tag) => {
    const out = join(where === 'disk' ? DISK_OUT : TMPFS_OUT, `${tag}-w${workers}`);
    rmSync(out, { recursive: true, force: true });
    if (where === 'disk') syncDisk();
    const r = await measure([CLI, 'dune', input.dir, '-o', out, '--workers', String(workers), '--quiet', '--json']);
    const j = JSON.parse(r.stdout);
    if (j.bytes !== input.bytes) throw new Error(`jam-etl read ${j.bytes} bytes of ${input.bytes}`);
    return { ...r, lines: j.lines, rows: j.rows_total, rejects: j.rejects, out };
  };
}

function variants() {
  const v = [{ key: 'a', label: '(a) baseline: read lines + JSON.parse', run: baseline('baseline-parse.mjs') }];
  if (!quick) {
    v.push({ key: 'a-rl', label: '(a\u2032) readline + JSON.parse (reference only)', run: baseline('baseline-readline.mjs') });
    v.push({ key: 'a-rs', label: '(a\u2033) JSON.parse + JSON.stringify per line (reference only)', run: baseline('baseline-parse.mjs', '--reserialize') });
  }
  v.push({ key: 'p', label: '(p) PoC stand-in: the PoC\u2019s loop, one appendFileSync per row \u2192 ' + (TMPFS_OUT ? 'tmpfs' : 'disk'), run: pocLike });
  if (TMPFS_OUT) {
    v.push({ key: 'b-tmpfs', label: '(b) jam-etl dune --workers 1 \u2192 tmpfs', run: dune(1, 'tmpfs') });
    v.push({ key: 'c-tmpfs', label: '(c) jam-etl dune --workers 2 (the default here) \u2192 tmpfs', run: dune(2, 'tmpfs') });
  }
  if (!quick || !TMPFS_OUT) {
    v.push({ key: 'b-disk', label: '(b) jam-etl dune --workers 1 \u2192 disk', run: dune(1, 'disk') });
    v.push({ key: 'c-disk', label: '(c) jam-etl dune --workers 2 (the default here) \u2192 disk', run: dune(2, 'disk') });
  }
  return v;
}

// ---- statistics
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function summarise(runs) {
  const secs = runs.map((r) => r.sec);
  const med = median(secs);
  return {
    n: runs.length,
    med,
    min: Math.min(...secs),
    max: Math.max(...secs),
    cpu: median(runs.map((r) => r.cpuSec)),
    rss: Math.max(...runs.map((r) => r.rssMiB)),
    lines: runs[0].lines,
    rows: runs[0].rows,
  };
}

async function hashDir(dir) {
  const out = {};
  for (const f of readdirSync(dir).sort()) {
    const h = createHash('sha256');
    for await (const b of createReadStream(join(dir, f))) h.update(b);
    out[f] = h.digest('hex');
  }
  return out;
}

async function sameOutput(dirs) {
  const hashes = await Promise.all(dirs.map(hashDir));
  const first = JSON.stringify(hashes[0]);
  return { identical: hashes.every((h) => JSON.stringify(h) === first), files: Object.keys(hashes[0]).length };
}

// ---- workloads
async function benchWorkload(name, input) {
  const vs = variants();
  log(`\n${name}: ${input.files.length} files, ${(input.bytes / 1e6).toFixed(1)} MB; ${reps} repetitions of ${vs.length} variants`);
  const runs = new Map(vs.map((v) => [v.key, []]));
  for (let rep = 0; rep <= reps; rep++) {
    for (const v of vs) {
      const r = await v.run(input, name);
      if (rep > 0) runs.get(v.key).push(r);
      log(`  ${rep === 0 ? 'warm-up' : `rep ${rep}`} ${v.key.padEnd(8)} ${r.sec.toFixed(3)} s  ${r.rssMiB.toFixed(0)} MiB`);
    }
  }
  const stats = vs.map((v) => ({ ...v, ...summarise(runs.get(v.key)) }));
  // Parallelism must not reorder rows: the last outputs of every dune variant, compared.
  const outs = vs.filter((v) => /^[bc]-/.test(v.key)).map((v) => runs.get(v.key).at(-1).out);
  const same = await sameOutput(outs);
  if (!same.identical) log(`  !! outputs differ between ${outs.join(', ')}`);
  for (const o of outs) rmSync(o, { recursive: true, force: true });
  return { name, input, stats, same, rejects: runs.get(vs.find((v) => /^b-/.test(v.key)).key)[0].rejects };
}

async function benchMemory(name, input, what) {
  log(`\n${name}: ${input.files.length} files, ${(input.bytes / 1e9).toFixed(2)} GB (${what})`);
  const rows = [];
  const a = await baseline('baseline-parse.mjs')(input);
  log(`  (a) baseline: ${a.sec.toFixed(1)} s, peak RSS ${a.rssMiB.toFixed(0)} MiB`);
  rows.push({ label: '(a) baseline', ...a });
  for (const w of [1, 2]) {
    const r = await dune(w, 'disk')(input, name);
    rmSync(r.out, { recursive: true, force: true });
    log(`  --workers ${w}: ${r.sec.toFixed(1)} s, peak RSS ${r.rssMiB.toFixed(0)} MiB`);
    rows.push({ label: `jam-etl dune --workers ${w}`, ...r });
  }
  return { name, input, what, rows };
}

// ---- report
const f2 = (x) => x.toFixed(2);
const f3 = (x) => x.toFixed(3);
const int = (x) => Math.round(x).toLocaleString('en-US');

function workloadTable(w) {
  const a = w.stats.find((s) => s.key === 'a');
  const lines = [
    `| variant | median s | min–max s | MB/s | lines/s | rows/s | CPU s | peak RSS MiB | × (a) |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const s of w.stats) {
    lines.push(`| ${s.label} | ${f3(s.med)} | ${f3(s.min)}–${f3(s.max)} | ${int(w.input.bytes / 1e6 / s.med)} | ${int(s.lines / s.med)} | ${s.rows === undefined ? '—' : int(s.rows / s.med)} | ${f2(s.cpu)} | ${int(s.rss)} | ${f2(s.med / a.med)} |`);
  }
  return lines.join('\n');
}

// Issue 11's targets. The PoC's own ratios, measured in the issue on this machine: 7.2 x (a) on
// W1 as minute files and 3.3 x (a) on W2; jam-etl by default (--workers = cores = 2 here) must
// have >= 3 x and >= 2 x its throughput; --workers 2 must be >= 1.6 x faster than --workers 1.
const POC_RATIO = { W1m: 7.2, W2: 3.3 };
const POC_SPEEDUP = { W1m: 3, W2: 2 };

function targets(workloads) {
  const out = [];
  for (const w of workloads) {
    const get = (k) => w.stats.find((s) => s.key === k);
    const a = get('a');
    const p = get('p');
    for (const where of ['tmpfs', 'disk']) {
      const b = get(`b-${where}`);
      const c = get(`c-${where}`);
      if (!b || !c) continue;
      if (POC_RATIO[w.name]) {
        const limit = POC_RATIO[w.name] / POC_SPEEDUP[w.name];
        const r = c.med / a.med;
        out.push(`| ${w.name} → ${where} | default (c) ≥ ${POC_SPEEDUP[w.name]} × the PoC's throughput: ≤ ${f2(limit)} × (a) (the PoC measured ${POC_RATIO[w.name]} × in the issue) | ${f2(r)} × (a) | ${r <= limit ? 'met' : 'not met'} |`);
        if (p) {
          const rp = p.med / c.med;
          out.push(`| ${w.name} → ${where} | the same against the stand-in (p) measured here: (p) ÷ (c) ≥ ${POC_SPEEDUP[w.name]} | ${f2(rp)} | ${rp >= POC_SPEEDUP[w.name] ? 'met' : 'not met'} |`);
        }
      }
      const sp = b.med / c.med;
      out.push(`| ${w.name} → ${where} | --workers 2 ≥ 1.6 × faster than --workers 1: (b) ÷ (c) | ${f2(sp)} | ${sp >= 1.6 ? 'met' : 'not met'} |`);
    }
    if (p && POC_RATIO[w.name]) out.push(`| ${w.name} | stand-in calibration: (p) ÷ (a), the PoC measured ${POC_RATIO[w.name]} | ${f2(p.med / a.med)} | ${Math.abs(p.med / a.med / POC_RATIO[w.name] - 1) <= 0.15 ? 'within 15 %' : 'off by more than 15 %'} |`);
  }
  return ['| workload | target | measured | |', '|---|---|---:|---|', ...out].join('\n');
}

function memoryTable(ms) {
  const lines = ['| input | run | time s | MB/s | peak RSS MiB | ≤ 200 MiB |', '|---|---|---:|---:|---:|---|'];
  for (const m of ms) {
    for (const r of m.rows) {
      lines.push(`| ${m.name} (${(m.input.bytes / 1e9).toFixed(2)} GB): ${m.what} | ${r.label} | ${r.sec.toFixed(1)} | ${int(m.input.bytes / 1e6 / r.sec)} | ${int(r.rssMiB)} | ${r.rssMiB <= 200 ? 'yes' : 'no'} |`);
    }
  }
  return lines.join('\n');
}

function machine() {
  const c = cpus();
  let disk = '';
  try {
    const s = statfsSync(ROOT);
    disk = `output on disk: ${DISK_OUT} (${(s.bavail * s.bsize / 1e9).toFixed(0)} GB free)`;
  } catch {
    disk = `output on disk: ${DISK_OUT}`;
  }
  return [
    `- CPU: ${c[0]?.model ?? 'unknown'}, ${availableParallelism()} cores available; RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Linux ${release()}`,
    `- Node ${process.version}; jam-etl built from git ${gitDescribe()}`,
    `- ${disk}; tmpfs: ${TMPFS ?? 'none'}`,
  ].join('\n');
}

function gitDescribe() {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT }).toString().trim() !== '';
    return sha + (dirty ? ' + uncommitted changes in src/' : '');
  } catch {
    return 'unknown';
  }
}

function render(results) {
  const out = [];
  out.push(`Command: \`npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}\` (${reps} repetitions after one warm-up; ${new Date().toISOString().slice(0, 16)}Z)${noisyRuns() ? `; ${noisyRuns()} of ${runNo} run(s) started on a busy machine after waiting ${quietWait} s for a quiet one (the machine is shared with other engineers)` : '; every run started on a quiet machine'}`);
  out.push('', machine());
  for (const w of results.workloads) {
    out.push('', `### ${w.name}: ${w.input.desc} — ${(w.input.bytes / 1e6).toFixed(1)} MB, ${int(w.stats[0].lines)} lines, ${int(w.stats.find((s) => s.rows !== undefined)?.rows ?? 0)} rows`);
    out.push('', workloadTable(w));
    out.push('', `Output of every (b) and (c) run above byte-identical: ${w.same.identical ? 'yes' : '**NO**'} (${w.same.files} files compared by SHA-256); rejects: ${w.rejects}.`);
  }
  if (results.workloads.length) out.push('', '### Targets (issue 11)', '', targets(results.workloads));
  if (results.memory.length) out.push('', '### Memory (output on disk)', '', memoryTable(results.memory));
  if (results.bq) out.push('', '### jam-etl bigquery into the local test server', '', results.bq);
  if (results.profile) out.push('', '### Profile: `node --cpu-prof bin/jam-etl.js dune <W1m>` → tmpfs', '', results.profile);
  return out.join('\n');
}

const BEGIN = '<!-- BEGIN bench/run.mjs output: regenerated by `npm run bench`, edit outside -->';
const END = '<!-- END bench/run.mjs output -->';

function writeBenchmarks(text) {
  const path = join(ROOT, 'BENCHMARKS.md');
  const block = `${BEGIN}\n${text}\n${END}`;
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  doc = i >= 0 && j > i ? doc.slice(0, i) + block + doc.slice(j + END.length) : doc + '\n' + block + '\n';
  writeFileSync(path, doc);
  log(`\nwrote ${path}`);
}

// ---- main
const results = { workloads: [], memory: [], bq: undefined, profile: undefined };
mkdirSync(DISK_OUT, { recursive: true });
const w1m = prepareW1Minutes(log);
w1m.desc = 'the real fixtures ×200 as 1,600 minute files YYYY/MM/DD/HHMM.log, as the collector writes them (the headline workload)';
if (only.has('w1m')) results.workloads.push(await benchWorkload('W1m', w1m));
const w1 = prepareW1(log);
w1.desc = 'the same bytes as 8 files of 33 MB (the fixtures ×25 per file)';
if (only.has('w1')) results.workloads.push(await benchWorkload('W1', w1));
if (only.has('w2')) {
  const w2 = prepareW2(log);
  if (w2.missing) log(`W2 skipped: ${w2.missing}`);
  else {
    w2.desc = `one minute at toaster scale (\`${w2.command}\`)`;
    results.workloads.push(await benchWorkload('W2', w2));
  }
}
if (only.has('mem')) {
  const big = prepareBig(w1);
  results.memory.push(await benchMemory('5 GB', big, `${big.files.length} symlinks to W1's files`));
}
if (only.has('long')) {
  const long = await prepareLong(log);
  results.memory.push(await benchMemory('32 MiB lines', long, 'eight 32 MiB lines (preimage blob, block codec, segment data) between ordinary lines'));
}
if (only.has('bq')) {
  try {
    results.bq = await benchBigQuery(Object.assign(w1m, { name: 'W1m' }), { measure, log, CLI });
  } catch (e) {
    log(`bigquery failed: ${e.stack ?? e}`);
    results.bq = `_Failed: ${String(e.message ?? e).split('\n')[0]}_`;
  }
}
if (only.has('profile') && TMPFS_OUT) {
  const parts = [];
  for (const workers of [1, 2]) {
    log(`\nprofiling jam-etl dune --workers ${workers} on W1m`);
    const dir = join(scratch, `prof-${workers}`);
    const out = join(TMPFS_OUT, 'prof');
    await measure([CLI, 'dune', w1m.dir, '-o', out, '--workers', String(workers), '--quiet'], { nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] });
    rmSync(out, { recursive: true, force: true });
    // One profile per thread: CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort((x, y) => Number(x.split('.')[4]) - Number(y.split('.')[4]));
    files.forEach((f, i) => {
      if (i > 1) return; // the main thread and the first worker
      const who = i === 0 ? 'main thread' : 'worker thread 1';
      parts.push(summariseProfile(JSON.parse(readFileSync(join(dir, f), 'utf8')), workers === 1 ? 15 : 10, `\`--workers ${workers}\`, ${who}`));
    });
  }
  results.profile = parts.join('\n\n');
}
const text = render(results);
process.stdout.write('\n' + text + '\n');
if (writeReport) writeBenchmarks(text);
rmSync(DISK_OUT, { recursive: true, force: true });
