// `jam-etl sql "SELECT …"`: one query against the warehouse, opened read-only, for people who do
// not have the DuckDB CLI. Output as an aligned table, CSV or a JSON array of objects.
import { type Command, Option } from 'commander';
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBArrayValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBValue,
} from '@duckdb/node-api';
import { readFileSync } from 'node:fs';
import { ConfigError, describeError, UsageError } from '../errors.js';
import { DEFAULT_DB, duckdbMessage, openWarehouse } from '../sinks/duckdb/warehouse.js';
import type { CliIO } from './common.js';

export type SqlFormat = 'table' | 'csv' | 'json';
export type JsonCell = string | number | boolean | null | JsonCell[] | { [k: string]: JsonCell };

export interface QueryResult {
  columns: string[];
  types: string[];
  rows: JsonCell[][];
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function isoOfMicros(micros: bigint, zone: boolean): string {
  // Date keeps milliseconds; the microseconds are put back by hand.
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const us = Number(micros - ms * 1000n);
  const base = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  // Six digits always, as the tables' own JSONL writes time.
  return `${base.slice(0, 19)}.${base.slice(20, 23)}${String(us).padStart(3, '0')}${zone ? 'Z' : ''}`;
}

/** A DuckDB value as JSON: BIGINT a number while it is exact (else a string), timestamps ISO 8601 (µs). */
export function toJsonCell(v: DuckDBValue): JsonCell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof DuckDBTimestampTZValue) return isoOfMicros(v.micros, true);
  if (v instanceof DuckDBTimestampValue) return isoOfMicros(v.micros, false);
  if (v instanceof DuckDBDateValue) return v.toString();
  if (v instanceof DuckDBDecimalValue) return v.toDouble();
  if (v instanceof DuckDBListValue || v instanceof DuckDBArrayValue) return v.items.map(toJsonCell);
  if (v instanceof DuckDBStructValue) return Object.fromEntries(Object.entries(v.entries).map(([k, x]) => [k, toJsonCell(x)]));
  if (v instanceof DuckDBMapValue) return v.entries.map((e) => ({ key: toJsonCell(e.key), value: toJsonCell(e.value) }));
  if (v instanceof DuckDBBlobValue) return `0x${Buffer.from(v.bytes).toString('hex')}`;
  return String(v);
}

/** Runs one statement on a read-only connection to `db`. */
export async function runQuery(db: string, sql: string): Promise<QueryResult> {
  const wh = await openWarehouse(db, { readOnly: true });
  try {
    let statements;
    try {
      statements = await wh.connection.extractStatements(sql);
    } catch (e) {
      throw new ConfigError(duckdbMessage(e).replace(/^Failed to extract statements: /, ''));
    }
    if (statements.count !== 1) throw new UsageError(`give exactly one SQL statement (got ${statements.count})`);
    let reader;
    try {
      reader = await wh.connection.runAndReadAll(sql);
    } catch (e) {
      throw new ConfigError(duckdbMessage(e));
    }
    return {
      columns: reader.columnNames(),
      types: reader.columnTypes().map((t) => t.toString()),
      rows: reader.getRows().map((r) => r.map(toJsonCell)),
    };
  } finally {
    wh.close();
  }
}

function cellText(c: JsonCell): string {
  if (c === null) return '';
  if (typeof c === 'string') return c;
  if (typeof c === 'object') return JSON.stringify(c);
  return String(c);
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Cells longer than this are cut in the table view (hex blobs would make it unreadable). */
const TABLE_CELL_MAX = 66;
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;

export function formatResult(r: QueryResult, format: SqlFormat): string {
  if (format === 'json') {
    const objs = r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i] ?? null])));
    return JSON.stringify(objs, null, 2) + '\n';
  }
  if (format === 'csv') {
    const lines = [r.columns.map(csvField).join(',')];
    for (const row of r.rows) lines.push(row.map((c) => csvField(cellText(c))).join(','));
    return lines.join('\r\n') + '\r\n';
  }
  const cut = (s: string): string => {
    const one = s.replace(/[\r\n\t]/g, ' ');
    return one.length > TABLE_CELL_MAX ? `${one.slice(0, TABLE_CELL_MAX - 1)}…` : one;
  };
  const cells = r.rows.map((row) => row.map((c) => (c === null ? 'NULL' : cut(cellText(c)))));
  const widths = r.columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const right = r.types.map((t) => NUMERIC.test(t));
  const line = (vals: string[], header: boolean): string =>
    vals.map((v, i) => (right[i] && !header ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' │ ').trimEnd();
  const out = [line(r.columns, true), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...cells.map((row) => line(row, false))];
  out.push(`(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}

export function registerSql(program: Command, io: CliIO): Command {
  return program
    .command('sql')
    .description('run one SQL query on the DuckDB database (read-only) and print the result')
    .argument('[query]', 'one SQL statement, e.g. "SELECT team, count(*) FROM blocks GROUP BY team"')
    .option('--db <file>', 'the DuckDB database file', DEFAULT_DB)
    .option('-f, --file <path>', 'read the statement from a file instead (- for stdin); a query starting with -- (a comment) would be taken for an option')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'csv', 'json']).default('table'))
    .action(async (query: string | undefined, o: { db: string; format: SqlFormat; file?: string }) => {
      if (query !== undefined && o.file !== undefined) throw new UsageError('give the query or --file, not both');
      let sql = query;
      if (o.file !== undefined) {
        try {
          sql = readFileSync(o.file === '-' ? 0 : o.file, 'utf8');
        } catch (e) {
          throw new ConfigError(`cannot read ${o.file}: ${describeError(e)}`);
        }
      }
      if (sql === undefined || sql.trim() === '') throw new UsageError('give a query, e.g. jam-etl sql "SELECT count(*) FROM blocks", or --file');
      const r = await runQuery(o.db, sql);
      io.stdout(formatResult(r, o.format));
    });
}
