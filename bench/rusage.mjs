// Preloaded with `node --import` into every measured process (the baselines and jam-etl alike):
// at exit it writes the process's own resource usage to $JAM_BENCH_RUSAGE. maxRSS comes from
// getrusage(RUSAGE_SELF), so it is the peak of the whole process, worker threads included, and
// nothing is missed the way polling /proc would miss a short peak.
import { writeFileSync } from 'node:fs';

const file = process.env.JAM_BENCH_RUSAGE;
if (file) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ maxRSSKiB: u.maxRSS, userSec: u.userCPUTime / 1e6, sysSec: u.systemCPUTime / 1e6 }));
  });
}
