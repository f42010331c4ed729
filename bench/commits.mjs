// The effect of each commit: builds the given revisions side by side (git archive into a temp
// folder, the project's node_modules linked in) and times `jam-etl dune` on W1 with --workers 1
// and 2, output on tmpfs, interleaving the revisions within each repetition so that a machine
// getting slower or faster shows in all of them alike.
//
//   node bench/commits.mjs [--reps N] <rev> <rev> ...     (oldest first; W1 must be prepared,
//                                                         e.g. by `npm run bench` once)
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA, ROOT } from './data.mjs';
import { noisyRuns, quiet } from './quiet.mjs';

const argv = process.argv.slice(2);
const ri = argv.indexOf('--reps');
const reps = ri >= 0 ? Number(argv.splice(ri, 2)[1]) : 5;
const revs = argv;
if (revs.length === 0) throw new Error('usage: node bench/commits.mjs [--reps N] <rev>...');
const w1 = join(DATA, 'w1');
if (!existsSync(w1)) throw new Error(`${w1} missing: run npm run bench once`);
const shm = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const work = mkdtempSync(join(tmpdir(), 'jam-etl-commits-'));
const out = mkdtempSync(join(shm, 'jam-etl-commits-'));
process.on('exit', () => {
  rmSync(work, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

const builds = revs.map((rev) => {
  const sha = execFileSync('git', ['rev-parse', '--short', rev], { cwd: ROOT }).toString().trim();
  const subject = execFileSync('git', ['log', '-1', '--format=%s', sha], { cwd: ROOT }).toString().trim();
  const dir = join(work, sha);
  mkdirSync(dir);
  execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C ${dir}`], { cwd: ROOT });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  process.stderr.write(`building ${sha} ${subject.slice(0, 60)}\n`);
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { stdio: 'inherit' });
  // The rest of `npm run build` where the revision has it: the precompiled row validators.
  for (const p of [['dist', 'build-validators.js'], ['dist', 'tables', 'build-validators.js']]) if (existsSync(join(dir, ...p))) execFileSync(process.execPath, [join(dir, ...p)], { stdio: 'ignore' });
  return { sha, subject, cli: join(dir, 'bin', 'jam-etl.js'), t: { 1: [], 2: [] } };
});

async function run(cli, workers) {
  const dir = join(out, 'o');
  rmSync(dir, { recursive: true, force: true });
  await quiet();
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [cli, 'dune', w1, '-o', dir, '--workers', String(workers), '--quiet'], { stdio: 'ignore' });
    // Revisions before b3a6e0a could hang at the end with workers: such a run is left out.
    const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
    p.on('error', reject);
    p.on('close', (code, sig) => {
      clearTimeout(timer);
      if (sig === 'SIGKILL') return resolve(undefined);
      return code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`${cli} exited ${code}`));
    });
  });
}

for (let rep = 0; rep <= reps; rep++) {
  for (const b of builds) {
    for (const w of [1, 2]) {
      const s = await run(b.cli, w);
      if (s === undefined) b.hung = (b.hung ?? 0) + 1;
      else if (rep > 0) b.t[w].push(s);
    }
  }
  process.stderr.write(rep === 0 ? 'warm-up done\n' : `rep ${rep}/${reps}\n`);
}

const med = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const lines = [
  `W1 (${w1}), output on tmpfs; median of ${reps} runs (min in brackets); change against the row above${noisyRuns() ? `; ${noisyRuns()} run(s) started on a busy machine` : ''}.`,
  '',
  '| commit | --workers 1 s | change | --workers 2 s | change |',
  '|---|---:|---:|---:|---:|',
];
let prev;
for (const b of builds) {
  const m1 = med(b.t[1]);
  const m2 = med(b.t[2]);
  const pct = (a, p) => (p === undefined ? '' : `${(((a - p) / p) * 100).toFixed(0)} %`);
  lines.push(`| \`${b.sha}\` ${b.subject.slice(0, 90).replace(/\|/g, '\\|')}${b.subject.length > 90 ? '…' : ''}${b.hung ? ` (${b.hung} run(s) hung, left out)` : ''} | ${m1.toFixed(2)} (${Math.min(...b.t[1]).toFixed(2)}) | ${pct(m1, prev?.[0])} | ${m2.toFixed(2)} (${Math.min(...b.t[2]).toFixed(2)}) | ${pct(m2, prev?.[1])} |`);
  prev = [m1, m2];
}
process.stdout.write(lines.join('\n') + '\n');
