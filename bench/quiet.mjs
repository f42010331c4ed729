// Other processes on a shared machine (a test suite, another benchmark) distort timings. Before
// each measured run, wait until the CPUs have been < 10% busy for half a second (at most a
// minute unless told otherwise; a run that had to go ahead anyway is counted, and the report
// says so).
import { existsSync, readFileSync } from 'node:fs';

function cpuTimes() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}

let noisy = 0;

/** How many runs started without a quiet minute. */
export function noisyRuns() {
  return noisy;
}

export async function quiet(maxWaitMs = 60_000) {
  if (!existsSync('/proc/stat')) return;
  const until = Date.now() + maxWaitMs;
  while (Date.now() < until) {
    const a = cpuTimes();
    await new Promise((r) => setTimeout(r, 500));
    const b = cpuTimes();
    if (1 - (b.idle - a.idle) / Math.max(1, b.total - a.total) < 0.1) return;
  }
  noisy++;
}
