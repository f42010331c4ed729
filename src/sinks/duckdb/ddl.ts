// The warehouse's tables: the 11 data tables from schema/*.json, plus the two the loader keeps
// beside them in the same database (so that rows, rejects and resume positions commit together).
//
// A later schema may add columns (ALTER TABLE ADD COLUMN) and relax REQUIRED to NULLABLE; it never
// drops or retypes one. Everything is checked before anything is changed: a conflict (a column
// whose type differs, a NOT NULL column the schema no longer has) is one ConfigError naming it,
// and the database stays as it was. The changes themselves run in one transaction.
import type { DuckDBConnection } from '@duckdb/node-api';
import { ConfigError } from '../../errors.js';
import type { ResumePositions } from '../sink.js';
import { schemas, type Column, type TableName } from '../../tables/schema.js';
import { createTableSql, duckdbColumnSql, duckdbType, isDuckdbTypeOf, quoteIdent } from '../../tables/duckdb-types.js';

/** Per input file identity: the position up to which every row and reject of it is stored. */
export const POSITIONS_TABLE = '_jam_etl_positions';
/** Loader state besides the positions (key -> value): the --follow watermark. */
export const STATE_TABLE = '_jam_etl_state';
export const STATE_DDL = `CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL, updated TIMESTAMPTZ NOT NULL)`;
/** Reject records (file, line, code, reason, raw), stored exactly once like the rows. */
export const REJECTS_TABLE = '_rejects';

export const POSITIONS_DDL = `CREATE TABLE IF NOT EXISTS ${POSITIONS_TABLE} (
  file_id VARCHAR PRIMARY KEY,
  path VARCHAR NOT NULL,
  byte_offset BIGINT NOT NULL,
  line BIGINT NOT NULL,
  updated TIMESTAMPTZ NOT NULL
)`;

/** Columns of the reject table that come from the reject records (see src/pipeline/rejects.ts). */
export const REJECT_COLUMNS: readonly [string, string][] = [
  ['file', 'VARCHAR'],
  ['line', 'BIGINT'],
  ['code', 'VARCHAR'],
  ['reason', 'VARCHAR'],
  ['table', 'VARCHAR'],
  ['raw', 'VARCHAR'],
  ['raw_base64', 'VARCHAR'],
  ['truncated_bytes', 'BIGINT'],
];

export const REJECTS_DDL = `CREATE TABLE IF NOT EXISTS ${REJECTS_TABLE} (
  file_id VARCHAR,
  ${REJECT_COLUMNS.map(([n, t]) => `${quoteIdent(n)} ${t}`).join(',\n  ')},
  loaded TIMESTAMPTZ NOT NULL
)`;

export interface SchemaPlan {
  /** Tables that do not exist yet. */
  create: TableName[];
  /** `table.column` added to existing tables. */
  add: string[];
  /** `table.column` whose NOT NULL is dropped (the schema made it NULLABLE). */
  relax: string[];
  /** What makes the schema impossible to apply; empty when it can be. */
  conflicts: string[];
  /** The statements that apply it, in order. */
  statements: string[];
}

interface ExistingColumn {
  type: string;
  nullable: boolean;
}

async function existingTables(conn: DuckDBConnection): Promise<Map<string, Map<string, ExistingColumn>>> {
  const r = await conn.runAndReadAll(
    `SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns()
     WHERE database_name = current_database() AND schema_name = 'main' ORDER BY table_name, column_index`,
  );
  const out = new Map<string, Map<string, ExistingColumn>>();
  for (const row of r.getRows()) {
    const [table, column, type, nullable] = row as [string, string, string, boolean];
    let t = out.get(table);
    if (!t) out.set(table, (t = new Map()));
    t.set(column, { type, nullable });
  }
  return out;
}

/** What applying `wanted` to the database would do, and what stands in its way. Changes nothing. */
export async function planSchema(conn: DuckDBConnection, wanted: Map<TableName, Column[]> = schemas()): Promise<SchemaPlan> {
  const have = await existingTables(conn);
  const plan: SchemaPlan = { create: [], add: [], relax: [], conflicts: [], statements: [] };
  for (const [table, cols] of wanted) {
    const existing = have.get(table);
    if (!existing) {
      plan.create.push(table);
      plan.statements.push(createTableSql(table, cols));
      continue;
    }
    const names = new Set<string>();
    for (const c of cols) {
      names.add(c.name);
      const e = existing.get(c.name);
      if (!e) {
        // Rows already stored have no value for it: added NULLABLE whatever its mode (DuckDB cannot
        // add a NOT NULL column to a table with rows); new rows are still checked against the mode.
        plan.add.push(`${table}.${c.name}`);
        plan.statements.push(`ALTER TABLE ${quoteIdent(table)} ADD COLUMN ${duckdbColumnSql({ ...c, mode: 'NULLABLE' })}`);
        continue;
      }
      if (!isDuckdbTypeOf(c.type, e.type)) {
        plan.conflicts.push(`${table}.${c.name} is ${e.type} in the database but schema/${table}.json makes it ${c.type} (${duckdbType(c.type)}); columns are never retyped`);
        continue;
      }
      if (!e.nullable && c.mode === 'NULLABLE') {
        plan.relax.push(`${table}.${c.name}`);
        plan.statements.push(`ALTER TABLE ${quoteIdent(table)} ALTER COLUMN ${quoteIdent(c.name)} DROP NOT NULL`);
      }
    }
    for (const [name, e] of existing) {
      if (!names.has(name) && !e.nullable) {
        plan.conflicts.push(`${table}.${name} is NOT NULL in the database but schema/${table}.json has no such column; columns are never dropped`);
      }
    }
  }
  if (!have.has(POSITIONS_TABLE)) plan.statements.push(POSITIONS_DDL);
  if (!have.has(REJECTS_TABLE)) plan.statements.push(REJECTS_DDL);
  if (!have.has(STATE_TABLE)) plan.statements.push(STATE_DDL);
  return plan;
}

/**
 * Creates the tables, or migrates them to `wanted` (default: the package's schema/*.json), in one
 * transaction; a conflict is a ConfigError and nothing is changed. Returns what it did.
 */
export async function applySchema(conn: DuckDBConnection, wanted: Map<TableName, Column[]> = schemas()): Promise<SchemaPlan> {
  const plan = await planSchema(conn, wanted);
  if (plan.conflicts.length > 0) {
    const more = plan.conflicts.length > 1 ? ` (and ${plan.conflicts.length - 1} more conflict${plan.conflicts.length > 2 ? 's' : ''})` : '';
    throw new ConfigError(`the database does not match the schema: ${plan.conflicts[0]}${more}`);
  }
  if (plan.statements.length === 0) return plan;
  await conn.run('BEGIN TRANSACTION');
  try {
    for (const s of plan.statements) await conn.run(s);
    await conn.run('COMMIT');
  } catch (e) {
    // The original error is the one to report; a failed ROLLBACK (the connection is gone) adds nothing.
    await conn.run('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return plan;
}

/** The positions stored per file identity, and the watermark if any (the sink's open() result). */
export async function readPositions(conn: DuckDBConnection): Promise<ResumePositions> {
  const r = await conn.runAndReadAll(`SELECT file_id, byte_offset, line FROM ${POSITIONS_TABLE}`);
  const out: ResumePositions = new Map();
  for (const row of r.getRows()) {
    const [id, offset, line] = row as [string, bigint, bigint];
    out.set(id, { offset: Number(offset), line: Number(line) });
  }
  const w = await conn.runAndReadAll(`SELECT value FROM ${STATE_TABLE} WHERE key = 'watermark'`);
  const wm = w.getRows()[0]?.[0];
  if (typeof wm === 'string') out.watermark = wm;
  return out;
}
