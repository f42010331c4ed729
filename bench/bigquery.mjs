// `jam-etl bigquery` throughput into the local BigQuery test server (test/servers/), on W1:
// rows/s and HTTP requests per 1,000 rows, for streaming (insertAll) and for load jobs. The
// server runs in this (the benchmark's) process: it parses and checks every row it is sent, on
// the same two cores as jam-etl, so the figures are a floor for jam-etl, not a ceiling.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './data.mjs';

export async function benchBigQuery(w1, { measure, log, CLI }) {
  try {
    execFileSync(process.execPath, [CLI, 'bigquery', '--help'], { stdio: 'ignore' });
    execFileSync(process.execPath, [CLI, 'schema', 'create', '--help'], { stdio: 'ignore' });
  } catch {
    log('\nbigquery skipped: `jam-etl bigquery` / `jam-etl schema create` are not in this build');
    return '_Not measured: this build has no `jam-etl bigquery` command._';
  }
  const { startBigQueryServer } = await import(join(ROOT, 'test', 'servers', 'bigquery-server.mjs'));
  const rows = [];
  for (const method of ['stream', 'load']) {
    const server = await startBigQueryServer({ projectId: 'bench' });
    const tmp = mkdtempSync(join(tmpdir(), 'jam-etl-bench-bq-'));
    try {
      const target = ['--api-endpoint', server.url, '--project', 'bench', '--dataset', 'jam'];
      // Asynchronously: the server answers from this process's event loop.
      await promisify(execFile)(process.execPath, [CLI, 'schema', 'create', ...target]);
      const before = server.requests.length;
      log(`\nbigquery --method ${method}: ${w1.dir} → ${server.url}`);
      const r = await measure([CLI, 'bigquery', w1.dir, ...target, '--method', method, '--state', join(tmp, 'state.json'), '--rejects', join(tmp, 'rejects.jsonl'), '--quiet', '--json']);
      const j = JSON.parse(r.stdout);
      const reqs = server.requests.slice(before);
      const n = j.rows_total ?? 0;
      const { TABLE_NAMES } = await import(join(ROOT, 'dist', 'tables', 'schema.js'));
      let stored = 0;
      for (const t of TABLE_NAMES) stored += server.rows('jam', t).length;
      log(`  ${r.sec.toFixed(1)} s, ${n} rows, ${reqs.length} requests`);
      rows.push({ method, ...r, rows: n, reqs: reqs.length, inserts: reqs.filter((q) => q.rowCount !== undefined).length, stored });
    } finally {
      await server.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return [
    `\`jam-etl bigquery <${w1.name ?? 'W1'}> --api-endpoint <local server> --project bench --dataset jam --method stream|load\`, one run each, after \`jam-etl schema create\` (not timed):`,
    '',
    '| method | time s | rows | rows in the server | rows/s | MB/s | HTTP requests | of them insertAll | requests per 1,000 rows | peak RSS MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.method} | ${r.sec.toFixed(1)} | ${r.rows.toLocaleString('en-US')} | ${r.stored.toLocaleString('en-US')} | ${Math.round(r.rows / r.sec).toLocaleString('en-US')} | ${(w1.bytes / 1e6 / r.sec).toFixed(0)} | ${r.reqs} | ${r.inserts} | ${((1000 * r.reqs) / Math.max(r.rows, 1)).toFixed(2)} | ${r.rssMiB.toFixed(0)} |`),
  ].join('\n');
}
