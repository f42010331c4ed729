// Reading the DuckDB warehouse for the report: open it read-only, make sure every table the SQL
// names exists (an empty or partial warehouse reads as no rows: missing tables become empty
// TEMP tables typed from schema/*.json), set the window and run the SQL files of sql/report/.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';
import { openWarehouse, type Warehouse as DuckWarehouse } from '../sinks/duckdb/warehouse.js';
import { ConfigError, describeError } from '../errors.js';
import { TABLE_NAMES, columnsOf } from '../tables/schema.js';
import { duckdbType, quoteIdent } from '../tables/duckdb-types.js';

/**
 * The SQL files live in the package's top-level `sql/report/` folder (shipped through package.json
 * "files"), not in dist/: they are documentation a user runs by hand as much as code.
 */
export const SQL_DIR = new URL('../../sql/report/', import.meta.url);
export const SQL_FILES = ['window', 'timings', 'activity', 'validators'] as const;
export type SqlFile = (typeof SQL_FILES)[number];

export function sqlPath(name: SqlFile): string {
  return fileURLToPath(new URL(`${name}.sql`, SQL_DIR));
}

export function readSql(name: SqlFile): string {
  return readFileSync(sqlPath(name), 'utf8');
}

export interface SqlWindow {
  since?: Date | undefined;
  until?: Date | undefined;
}

/**
 * The statement of a SQL file with the window written in: each `getvariable('report_since')`
 * (and `_until`) becomes a TIMESTAMPTZ literal or NULL, so that the one statement runs as it is
 * (`jam-etl sql` takes exactly one statement; `jam-etl report --print-sql NAME` prints this).
 * Times come from validated Dates, so the literal cannot carry anything else.
 */
export function sqlFor(name: SqlFile, w: SqlWindow = {}): string {
  const lit = (d: Date | undefined) => (d ? `TIMESTAMPTZ '${d.toISOString()}'` : 'NULL');
  return readSql(name)
    .replaceAll("getvariable('report_since')", lit(w.since))
    .replaceAll("getvariable('report_until')", lit(w.until));
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type SqlRow = Record<string, Json>;

export class Warehouse {
  private constructor(
    private readonly wh: DuckWarehouse,
    private readonly conn: DuckDBConnection,
  ) {}

  /**
   * Opens `file` read-only (never creates it) through the DuckDB sink's opener, whose errors are
   * one-line ConfigErrors (missing file, not DuckDB, held open by a writer such as
   * `jam-etl duckdb --follow`).
   */
  static async open(file: string): Promise<Warehouse> {
    // One thread: parallel aggregation sums in a varying order, so a mean or stddev could
    // differ in its last digit from run to run; the report's output must be stable.
    const wh = await openWarehouse(file, { readOnly: true, threads: 1 });
    const w = new Warehouse(wh, wh.connection);
    try {
      await w.ensureTables();
    } catch (e) {
      w.close();
      throw new ConfigError(`--db ${file}: ${describeError(e)}`);
    }
    return w;
  }

  private async ensureTables(): Promise<void> {
    const r = await this.conn.runAndReadAll("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'");
    const have = new Set(r.getRowObjectsJson().map((x) => String(x['table_name'])));
    for (const t of TABLE_NAMES) {
      if (have.has(t)) continue;
      // The loader's own type mapping, without NOT NULL: these tables stay empty.
      const cols = columnsOf(t).map((c) => `${quoteIdent(c.name)} ${duckdbType(c.type)}`);
      await this.conn.run(`CREATE TEMP TABLE ${quoteIdent(t)} (${cols.join(', ')})`);
    }
  }

  async query(name: SqlFile, window: SqlWindow = {}): Promise<SqlRow[]> {
    try {
      const r = await this.conn.runAndReadAll(sqlFor(name, window));
      return r.getRowObjectsJson() as SqlRow[];
    } catch (e) {
      throw new ConfigError(`sql/report/${name}.sql failed on this warehouse: ${describeError(e)}`);
    }
  }

  close(): void {
    this.wh.close();
  }
}
