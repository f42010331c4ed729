// One measured process, shared by the benchmarks: `node --import bench/rusage.mjs <args>`, timed
// from spawn to exit, with the child's peak RSS and CPU from getrusage (written at exit by
// bench/rusage.mjs into `usageFile`). Resolves {sec, rssMiB, cpuSec, stdout}; rejects on a
// non-zero exit with the end of its stderr.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './data.mjs';

export const RUSAGE = pathToFileURL(join(ROOT, 'bench', 'rusage.mjs')).href;

export function runMeasured(args, { usageFile, nodeFlags = [], env = {} }) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', RUSAGE, ...nodeFlags, ...args], {
      env: { ...process.env, JAM_BENCH_RUSAGE: usageFile, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const sec = (performance.now() - t0) / 1000;
      if (code !== 0) return reject(new Error(`node ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString().slice(-2000)}`));
      const u = JSON.parse(readFileSync(usageFile, 'utf8'));
      resolve({ sec, rssMiB: u.maxRSSKiB / 1024, cpuSec: u.userSec + u.sysSec, stdout: Buffer.concat(out).toString() });
    });
  });
}
