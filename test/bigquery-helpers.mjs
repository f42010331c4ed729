// Helpers of the BigQuery tests: a local server per test, the CLI run in-process or spawned,
// and the reference rows (what `jam-etl dune` writes for the same input) to compare with.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { convertToDune } from '../dist/commands/dune.js';
import { main } from '../dist/cli.js';
import { schemas, TABLE_NAMES } from '../dist/tables/schema.js';
import { BIN, FIXTURE, readJsonl, ROOT } from './helpers.mjs';
import { startBigQueryServer } from './servers/bigquery-server.mjs';

export { TABLE_NAMES };
export const PROJECT = 'test-project';
export const DATASET = 'crypto_jam';
export const LOGS = join(FIXTURE, 'logs');

export async function startServer(t, opts = {}) {
  const server = await startBigQueryServer({ projectId: PROJECT, ...opts });
  t.after(() => server.close());
  return server;
}

/** Runs the CLI in this process; resolves {code, stdout, stderr}. */
export async function cli(args) {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'jam-etl', ...args], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

export function target(server) {
  return ['--project', PROJECT, '--api-endpoint', server.url];
}

export async function schemaCreate(server, extra = []) {
  const r = await cli(['schema', 'create', ...target(server), ...extra]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  return r;
}

/** Spawns the built CLI; returns the child and a promise of {code, signal, stdout, stderr}. */
export function spawnCli(args, opts = {}) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** A row in schema column order, so that rows compare as text. */
export function canonical(table, row) {
  const out = {};
  for (const c of schemas().get(table)) out[c.name] = row[c.name] ?? null;
  return JSON.stringify(out);
}

/** What `jam-etl dune` writes for the input, per table, canonical and sorted. */
export async function duneRows(paths, dir) {
  const out = join(dir, 'dune');
  await convertToDune({ paths, out, workers: 1, progress: false });
  const rows = {};
  for (const t of TABLE_NAMES) rows[t] = readJsonl(join(out, `${t}.jsonl`)).map((r) => canonical(t, r)).sort();
  return rows;
}

/** What the server stores, per table, canonical and sorted. */
export function storedRows(server) {
  const rows = {};
  for (const t of TABLE_NAMES) rows[t] = server.rows(DATASET, t).map((r) => canonical(t, r)).sort();
  return rows;
}

/** Asserts the server holds exactly the expected rows: none missing, none twice. */
export function assertSameRows(server, expected, what = '') {
  const got = storedRows(server);
  for (const t of TABLE_NAMES) {
    const g = got[t];
    const e = expected[t];
    if (g.length === e.length && g.every((x, i) => x === e[i])) continue;
    const count = (a) => a.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map());
    const gc = count(g);
    const ec = count(e);
    const missing = [...ec].filter(([k, n]) => (gc.get(k) ?? 0) < n).length;
    const extra = [...gc].filter(([k, n]) => (ec.get(k) ?? 0) < n).length;
    assert.fail(`${what}${t}: stored ${g.length} rows, expected ${e.length} (${missing} distinct rows missing, ${extra} stored too often)`);
  }
}

export function insertAlls(server, table) {
  return server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/insertAll') && (!table || r.path.includes(`/tables/${table}/`)));
}

export function mutations(server) {
  return server.requests.filter((r) => r.method !== 'GET');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until cond() is true (polling), or fails after `ms`. */
export async function until(cond, ms = 20_000, what = 'condition') {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
