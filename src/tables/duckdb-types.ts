// DuckDB column types, derived from schema/*.json's BigQuery types (the single source of truth)
// in this one place: the DuckDB sink's DDL, its read_json column list and its migration checks
// all ask here.
//
// TIMESTAMP becomes TIMESTAMPTZ (an instant, microseconds; the warehouse sets TimeZone to UTC so
// it also prints as UTC). The "JSON text" columns (prerequisites, results, work_items, data, …)
// stay VARCHAR, not DuckDB's JSON type: their bytes are then exactly what the Dune and BigQuery
// tables hold (BigQuery has them as STRING too), the load does not parse every one of them a
// second time to validate it, and DuckDB's JSON functions (json_extract, ->>, json_array_length,
// …) take VARCHAR arguments all the same, so nothing is lost for queries.
import type { BigQueryType, Column } from './schema.js';

const DUCKDB_TYPES: Record<BigQueryType, string> = {
  STRING: 'VARCHAR',
  INTEGER: 'BIGINT',
  FLOAT: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMPTZ',
};

// How duckdb_columns().data_type spells each of them (TIMESTAMPTZ is an alias).
const REPORTED: Record<BigQueryType, string> = {
  STRING: 'VARCHAR',
  INTEGER: 'BIGINT',
  FLOAT: 'DOUBLE',
  BOOLEAN: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMP WITH TIME ZONE',
};

/** The DuckDB type of a schema column's BigQuery type. */
export function duckdbType(t: BigQueryType): string {
  return DUCKDB_TYPES[t];
}

/** True when a type as DuckDB reports it (duckdb_columns().data_type) is the one `t` maps to. */
export function isDuckdbTypeOf(t: BigQueryType, reported: string): boolean {
  const r = reported.trim().toUpperCase();
  return r === REPORTED[t] || r === DUCKDB_TYPES[t];
}

/** A SQL identifier, double-quoted (schema names are [a-z][a-z0-9_]*, but keywords need quotes). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL string literal. */
export function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** One column of CREATE TABLE: name, type, NOT NULL when REQUIRED. */
export function duckdbColumnSql(c: Column): string {
  return `${quoteIdent(c.name)} ${duckdbType(c.type)}${c.mode === 'REQUIRED' ? ' NOT NULL' : ''}`;
}

/** `CREATE TABLE IF NOT EXISTS` for a table with these columns, in schema order. */
export function createTableSql(table: string, cols: readonly Column[]): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(table)} (${cols.map(duckdbColumnSql).join(', ')})`;
}

/** read_json's `columns={...}` argument for these columns: names and DuckDB types. */
export function readJsonColumnsSql(cols: readonly Column[]): string {
  return `{${cols.map((c) => `${quoteLiteral(c.name)}: ${quoteLiteral(duckdbType(c.type))}`).join(', ')}}`;
}
