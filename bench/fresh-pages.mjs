// What the first touch of a page costs on this machine: writes the same bytes into the page cache
// twice per round, once into pages freed a moment ago (a file written and deleted just before) and
// once into pages that have been free for a while (the files of earlier rounds are kept, so the
// kernel must take other free pages). On a VM whose balloon reports free pages to the host
// (virtio-balloon free page reporting), memory left free for more than ~2 s goes back to the host
// and its first touch is a host fault; on bare metal the two numbers are about the same.
// A diagnosis for benchmarks that write to disk (bench/collect.mjs primes the page cache because
// of it), not a test.
//
//   node bench/fresh-pages.mjs [--mb N] [--rounds N] [--dir DIR]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFilled } from './quiet.mjs';

const argv = process.argv.slice(2);
const value = (name, dflt) => {
  const i = argv.indexOf(name);
  return i < 0 ? dflt : argv[i + 1];
};
const mb = Number(value('--mb', 400));
const rounds = Number(value('--rounds', 3));
const dir = mkdtempSync(join(value('--dir', tmpdir()), 'fresh-pages-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function write(file) {
  const r0 = process.resourceUsage();
  const t0 = performance.now();
  writeFilled(file, mb << 20);
  const r1 = process.resourceUsage();
  return { wall: performance.now() - t0, sys: (r1.systemCPUTime - r0.systemCPUTime) / 1000 };
}

let reporting = 'no virtio balloon';
try {
  for (const d of readdirSync('/sys/bus/virtio/devices')) {
    const base = `/sys/bus/virtio/devices/${d}`;
    if (readFileSync(`${base}/device`, 'utf8').trim() !== '0x0005') continue; // the balloon
    reporting = readFileSync(`${base}/features`, 'utf8')[5] === '1' ? 'on' : 'off'; // VIRTIO_BALLOON_F_REPORTING
  }
} catch {
  reporting = 'unknown (no /sys/bus/virtio)';
}
console.log(`${mb} MB per write, ${rounds} rounds, in ${dir}; virtio-balloon free page reporting: ${reporting}`);
try {
  for (let r = 1; r <= rounds; r++) {
    const scratch = join(dir, 'scratch');
    write(scratch);
    rmSync(scratch);
    const recycled = write(join(dir, 'recycled'));
    rmSync(join(dir, 'recycled'));
    await sleep(5000); // long enough for the freed pages to be reported
    const fresh = write(join(dir, `kept-${r}`)); // kept: the next round cannot reuse these pages
    console.log(
      `round ${r}: into pages freed just before ${recycled.wall.toFixed(0)} ms (${recycled.sys.toFixed(0)} ms kernel)` +
        ` · into pages free for 5 s ${fresh.wall.toFixed(0)} ms (${fresh.sys.toFixed(0)} ms kernel) · ratio ${(fresh.sys / Math.max(1, recycled.sys)).toFixed(1)} ×`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
