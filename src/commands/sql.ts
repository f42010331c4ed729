// `jam-etl sql "SELECT …"`: one query against the warehouse, opened read-only, for people who do
// not have the DuckDB CLI. Output as an aligned table, CSV or a JSON array of objects.
import { type Command, Option } from 'commander';
import type * as DuckDB from '@duckdb/node-api';
import type { DuckDBValue } from '@duckdb/node-api';
import { lazy } from '../lazy.js';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { ConfigError, describeError, UsageError } from '../errors.js';
import { DEFAULT_DB, duckdbMessage, openWarehouse } from '../sinks/duckdb/warehouse.js';
import { pathArg, type CliIO } from './common.js';

const duckdb = lazy<typeof DuckDB>('@duckdb/node-api');

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
  const { DuckDBTimestampTZValue, DuckDBTimestampValue, DuckDBDateValue, DuckDBDecimalValue, DuckDBListValue, DuckDBArrayValue, DuckDBStructValue, DuckDBMapValue, DuckDBBlobValue } = duckdb();
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

/** Statements in `sql`; DuckDB's extractStatements throws a bare "Error in native callback" for none. */
async function oneStatement(connection: Awaited<ReturnType<typeof openWarehouse>>['connection'], sql: string): Promise<void> {
  let count;
  try {
    count = (await connection.extractStatements(sql)).count;
  } catch (e) {
    const m = duckdbMessage(e);
    if (/Error in native callback/.test(m)) throw new UsageError('give exactly one SQL statement (got none: only comments or semicolons)');
    throw new ConfigError(m.replace(/^Failed to extract statements: /, ''));
  }
  if (count !== 1) throw new UsageError(`give exactly one SQL statement (got ${count})`);
}

/** Runs one statement on a read-only connection to `db` and returns the whole result (tests, small results). */
export async function runQuery(db: string, sql: string): Promise<QueryResult> {
  const r: QueryResult = { columns: [], types: [], rows: [] };
  await streamQuery(db, sql, (cols, types) => {
    r.columns = cols;
    r.types = types;
  }, (rows) => void r.rows.push(...rows));
  return r;
}

/**
 * Runs one statement on a read-only connection to `db`, handing the rows over a chunk (~2048
 * rows) at a time: a result of any size is never held whole. `onRows` may return a promise
 * (back-pressure from stdout).
 */
export async function streamQuery(db: string, sql: string, onHeader: (columns: string[], types: string[]) => void, onRows: (rows: JsonCell[][]) => void | Promise<void>): Promise<void> {
  const wh = await openWarehouse(db, { readOnly: true });
  try {
    await oneStatement(wh.connection, sql);
    let result;
    try {
      result = await wh.connection.stream(sql);
    } catch (e) {
      throw new ConfigError(duckdbMessage(e));
    }
    onHeader(result.columnNames(), result.columnTypes().map((t) => t.toString()));
    for (;;) {
      let chunk;
      try {
        chunk = await result.fetchChunk();
      } catch (e) {
        throw new ConfigError(duckdbMessage(e));
      }
      if (!chunk || chunk.rowCount === 0) break;
      await onRows(chunk.getRows().map((r) => r.map(toJsonCell)));
    }
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

/** The table view's column widths come from the first this many rows; later rows keep them. */
export const TABLE_WIDTH_ROWS = 10_000;

/**
 * Formats a result as it streams: `header`, then `rows` per chunk, then `end`, each returning
 * the text to print. CSV and JSON print every chunk as it comes; the table view holds the first
 * TABLE_WIDTH_ROWS rows to size its columns, then prints the rest as they come.
 */
export class ResultFormatter {
  private columns: string[] = [];
  private right: boolean[] = [];
  private widths: number[] | null = null;
  private held: string[][] = [];
  private count = 0;

  constructor(private readonly format: SqlFormat, private readonly widthRows = TABLE_WIDTH_ROWS) {}

  header(columns: string[], types: string[]): string {
    this.columns = columns;
    this.right = types.map((t) => NUMERIC.test(t));
    if (this.format === 'csv') return columns.map(csvField).join(',') + '\r\n';
    return '';
  }

  rows(rows: JsonCell[][]): string {
    const first = this.count === 0;
    this.count += rows.length;
    if (this.format === 'json') {
      if (rows.length === 0) return '';
      const objs = rows.map((row) => JSON.stringify(Object.fromEntries(this.columns.map((c, i) => [c, row[i] ?? null])), null, 2).replace(/^/gm, '  '));
      return (first ? '[\n' : ',\n') + objs.join(',\n');
    }
    if (this.format === 'csv') return rows.map((row) => row.map((c) => csvField(cellText(c))).join(',') + '\r\n').join('');
    const cut = (s: string): string => {
      const one = s.replace(/[\r\n\t]/g, ' ');
      return one.length > TABLE_CELL_MAX ? `${one.slice(0, TABLE_CELL_MAX - 1)}…` : one;
    };
    const cells = rows.map((row) => row.map((c) => (c === null ? 'NULL' : cut(cellText(c)))));
    if (this.widths) return cells.map((row) => this.line(row, false) + '\n').join('');
    for (const row of cells) this.held.push(row);
    return this.held.length >= this.widthRows ? this.release() : '';
  }

  end(): string {
    if (this.format === 'json') return this.count === 0 ? '[]\n' : '\n]\n';
    if (this.format === 'csv') return '';
    return (this.widths ? '' : this.release()) + `(${this.count} row${this.count === 1 ? '' : 's'})\n`;
  }

  private release(): string {
    const widths = this.columns.map((c) => c.length);
    for (const row of this.held) for (let i = 0; i < widths.length; i++) widths[i] = Math.max(widths[i]!, row[i]!.length);
    this.widths = widths;
    const out = [this.line(this.columns, true), widths.map((w) => '─'.repeat(w)).join('─┼─'), ...this.held.map((row) => this.line(row, false))];
    this.held = [];
    return out.join('\n') + '\n';
  }

  private line(vals: string[], header: boolean): string {
    const w = this.widths!;
    return vals.map((v, i) => (this.right[i] && !header ? v.padStart(w[i]!) : v.padEnd(w[i]!))).join(' │ ').trimEnd();
  }
}

/** A whole result formatted at once. */
export function formatResult(r: QueryResult, format: SqlFormat): string {
  const f = new ResultFormatter(format, Infinity);
  return f.header(r.columns, r.types) + f.rows(r.rows) + f.end();
}

export function registerSql(program: Command, io: CliIO): Command {
  return program
    .command('sql')
    .description('run one SQL query on the DuckDB database (read-only) and print the result')
    .argument('[query]', 'one SQL statement, e.g. "SELECT team, count(*) FROM blocks GROUP BY team"')
    .addOption(new Option('--db <file>', 'the DuckDB database file').argParser(pathArg('--db')).default(DEFAULT_DB))
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
      const f = new ResultFormatter(o.format);
      // Printed a chunk at a time; when stdout is a pipe that is behind, wait for it to drain.
      const print = async (text: string): Promise<void> => {
        if (text === '') return;
        io.stdout(text);
        if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
      };
      await streamQuery(o.db, sql, (columns, types) => void io.stdout(f.header(columns, types)), (rows) => print(f.rows(rows)));
      io.stdout(f.end());
    });
}
