import { DuckDBInstance } from '@duckdb/node-api';
import { loadSchemas } from './dist/tables/schema.js';
import { readJsonColumnsSql, createTableSql } from './dist/tables/duckdb-types.js';
import { existsSync, rmSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
const db = '/tmp/ddbt/ing.duckdb'; rmSync(db, { force: true }); rmSync(db + '.wal', { force: true });
const [threads='2', mem='256MB', chunkMB='32', extra=''] = process.argv.slice(2);
const cfg = { threads, memory_limit: mem }; for (const kv of extra.split(',').filter(Boolean)) { const [k,v]=kv.split('='); cfg[k]=v; }
const inst = await DuckDBInstance.create(db, cfg);
const c = await inst.connect();
const s = loadSchemas();
for (const [t, cols] of s) await c.run(createTableSql(t, cols));
// split each table's output into chunks of chunkMB
mkdirSync('/tmp/ddbt/chunks', { recursive: true });
const jobs = [];
if (process.env.PREP) for (const [t] of s) { const f = `/tmp/ddbt/w1out/${t}.jsonl`; if (!existsSync(f)) continue; const b = readFileSync(f); let start = 0, i = 0; const lim = Number(chunkMB) << 20;
  while (start < b.length) { let end = Math.min(b.length, start + lim); if (end < b.length) end = b.indexOf(10, end) + 1; const p = `/tmp/ddbt/chunks/${t}-${i++}.jsonl`; writeFileSync(p, b.subarray(start, end)); jobs.push([t, p]); start = end; } }
if (process.env.PREP) { writeFileSync('/tmp/ddbt/chunks/jobs.json', JSON.stringify(jobs)); process.exit(0); }
if (!process.env.NOJOBS) jobs.push(...JSON.parse(readFileSync('/tmp/ddbt/chunks/jobs.json','utf8')));
const t0 = performance.now();
let maxRss = 0;
for (let k = 0; k < jobs.length; k += 1) {
  const [t, p] = jobs[k];
  await c.run('BEGIN');
  await c.run(`INSERT INTO ${t} SELECT * FROM read_json('${p}', format='newline_delimited', columns=${readJsonColumnsSql(s.get(t))}, maximum_object_size=${process.env.MOS ?? 16777216})`);
  await c.run('COMMIT');
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
}
const m = await c.runAndReadAll('select tag, memory_usage_bytes from duckdb_memory() where memory_usage_bytes > 0'); console.log(m.getRowObjectsJson());
const tc = performance.now(); c.closeSync(); inst.closeSync(); console.log('close ms', (performance.now()-tc).toFixed(0)); const ru = process.resourceUsage(); console.log('cpu', ru.userCPUTime/1e6, ru.systemCPUTime/1e6); console.log('total', (performance.now() - t0).toFixed(0), 'ms', 'maxrss', process.resourceUsage().maxRSS >> 10, 'MiB', 'polled', maxRss >> 20, 'heap', process.memoryUsage().heapUsed >> 20);
