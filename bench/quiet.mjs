// Other processes on a shared machine (a test suite, another benchmark) distort timings. Before
// each measured run, wait until the CPUs have been < 10% busy for half a second (at most a
// minute unless told otherwise; a run that had to go ahead anyway is counted, and the report
// says so).
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

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

/** Writes `bytes` (rounded up to 4 MiB) of spaces to `file` in 4 MiB writes. */
export function writeFilled(file, bytes) {
  const b = Buffer.alloc(4 << 20, 0x20);
  const fd = openSync(file, 'w');
  try {
    for (let n = 0; n < bytes; n += b.length) writeSync(fd, b);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes and deletes a scratch file of `bytes` in `dir`, so that the page cache a measured run is
 * about to fill comes from pages freed a moment ago. On a VM whose balloon reports free pages to
 * the host (virtio-balloon free page reporting), memory left free for more than ~2 s goes back to
 * the host and the first touch of such a page is a host fault (bench/fresh-pages.mjs measures it).
 */
export function primePageCache(dir, bytes) {
  const f = join(dir, 'prime.tmp');
  writeFilled(f, bytes);
  rmSync(f);
}
