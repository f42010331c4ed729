// Helpers for the report tests: convert logs with the built CLI, load them into a DuckDB file,
// and an independent JS computation of every figure `jam-etl report --format json` prints.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'bin', 'jam-etl.js');
export const FIXTURE_LOGS = join(ROOT, '..', 'shared', 'fixtures', 'jamduna-2025-04-24', 'logs');
export const SCHEMA_DIR = join(ROOT, 'schema');
export const TABLES = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

export function run(args, opts = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Reads `<dir>/<table>.jsonl` for every table (missing file = no rows). */
export function readTables(dir) {
  const out = {};
  for (const t of TABLES) {
    const f = join(dir, `${t}.jsonl`);
    out[t] = existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l)) : [];
  }
  return out;
}

const DUCK = { STRING: 'VARCHAR', INTEGER: 'BIGINT', TIMESTAMP: 'TIMESTAMPTZ', BOOLEAN: 'BOOLEAN', FLOAT: 'DOUBLE' };

/**
 * Builds a DuckDB warehouse from `jam-etl dune` output. Uses `jam-etl duckdb` when the CLI has it;
 * until then, tables typed from schema/*.json (TIMESTAMP -> TIMESTAMPTZ) filled with read_json.
 */
export async function buildDb(logsPaths, dbFile, workDir, extraArgs = []) {
  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}.wal`, { force: true });
  const hasDuckdb = run(['duckdb', '--help']).code === 0;
  if (hasDuckdb) {
    const r = run(['duckdb', ...logsPaths, '--db', dbFile, '-q', ...extraArgs]);
    if (r.code !== 0) throw new Error(`jam-etl duckdb failed: ${r.stderr}`);
    return;
  }
  const out = join(workDir, 'dune');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  if (logsPaths.length > 0) {
    const r = run(['dune', ...logsPaths, '-o', out, '-q', ...extraArgs]);
    if (r.code !== 0) throw new Error(`jam-etl dune failed: ${r.stderr}`);
  }
  await loadJsonlDir(out, dbFile);
}

export async function loadJsonlDir(dir, dbFile) {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(dbFile);
  const c = await inst.connect();
  try {
    for (const t of TABLES) {
      const cols = JSON.parse(readFileSync(join(SCHEMA_DIR, `${t}.json`), 'utf8'));
      await c.run(`CREATE TABLE ${t} (${cols.map((col) => `"${col.name}" ${DUCK[col.type]}${col.mode === 'REQUIRED' ? ' NOT NULL' : ''}`).join(', ')})`);
      const f = join(dir, `${t}.jsonl`);
      if (existsSync(f)) {
        const spec = cols.map((col) => `"${col.name}": '${DUCK[col.type]}'`).join(', ');
        await c.run(`INSERT INTO ${t} SELECT * FROM read_json('${f.replaceAll("'", "''")}', format = 'newline_delimited', columns = {${spec}})`);
      }
    }
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}
