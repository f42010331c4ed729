// `jam-etl dune upload`: pushes the <table>.jsonl files written by `jam-etl dune` into Dune uploaded
// tables (create, optionally clear, then insert in chunks). The CLI only parses flags and prints; all
// behaviour lives here so it can be tested against test/servers/dune-server.mjs.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { TABLE_NAMES, duneColumns, isTableName, type TableName } from '../../tables/schema.js';
import { DEFAULT_DUNE_API_URL, DuneApiError, DuneAuthError, DuneClient, type RetryInfo } from './api.js';

export { DuneApiError, DuneAuthError } from './api.js';

/** Bad or missing input found before any request was made (missing key, bad prefix, no files...). */
export class DuneConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DuneConfigError';
  }
}

// 64 MiB keeps each request far below Dune's 1.2 GB limit, and small enough that a rejected chunk
// (all or nothing) costs little to find and resend.
export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;
// Dune serialises concurrent inserts into one table and suggests staying within 5-10; with the low
// write rate limits of most plans, 2 already keeps the pipe busy.
export const DEFAULT_CONCURRENCY = 2;

const DUNE_NAME_RE = /^[a-z][a-z0-9_]*$/;
/** A Dune user or team handle: letters, digits, _ and -, as in dune.com/<handle>. */
export const DUNE_NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const NAMESPACE_RULE = 'a Dune user or team handle is letters, digits, _ and - (at most 64, not starting with _ or -)';
/** Table names are <prefix><table>: the prefix must keep them valid Dune names. */
export const DUNE_PREFIX_RE = /^(?:[a-z][a-z0-9_]*)?$/;
export const PREFIX_RULE = 'Dune table names use lower case letters, digits and _, starting with a letter';

export interface UploadOptions {
  /** Folder holding <table>.jsonl files (the output of `jam-etl dune`). */
  from: string;
  /** Dune namespace: your user or team handle. */
  namespace: string;
  /** Prepended to each table name, e.g. "jam_" -> jam_blocks. */
  prefix: string;
  /** Only these tables; each must have a file. Default: every table with a file. */
  tables?: TableName[];
  /** Clear existing tables before inserting, so a re-run replaces instead of appending. */
  replace: boolean;
  isPrivate: boolean;
  /** Make no request; log the equivalent curl commands instead. */
  dryRun: boolean;
  /** Default: env DUNE_API_KEY. Not needed for dryRun. */
  apiKey?: string;
  /** Default: env DUNE_API_URL, else https://api.dune.com/api. */
  baseUrl?: string;
  /** Upper bound of one insert request's body; a single longer line is sent alone. Default 64 MiB. */
  chunkBytes?: number;
  /** Insert requests in flight per table. Default 2. */
  concurrency?: number;
  /** Retries per request for 429/5xx/network errors. Default 5. */
  maxRetries?: number;
  onProgress?: (ev: UploadEvent) => void;
  /** Human-readable lines (dry run: the curl commands). */
  log?: (line: string) => void;
}

export type CreateStatus = 'created' | 'already_existed' | 'conflict' | 'error' | 'dry_run';

export interface UploadError {
  table: TableName;
  dune_table: string;
  stage: 'create' | 'clear' | 'insert';
  /** HTTP status; 0 when no response arrived. */
  status: number;
  /** Dune's error text (or ours, for conflicts and network failures). */
  message: string;
  /** For inserts: which chunk (0-based) and the 1-based line range of the file it covered. */
  chunk?: number;
  first_line?: number;
  last_line?: number;
}

export interface TableUploadResult {
  table: TableName;
  /** <namespace>.<prefix><table> */
  dune_table: string;
  file: string;
  status: CreateStatus;
  cleared: boolean;
  /** Non-blank lines read from the file (0 when the table was skipped before reading). */
  rows_read: number;
  /** As Dune reported them, summed over successful inserts. */
  rows_written: number;
  bytes_written: number;
  /** Chunks formed from the file (in a dry run: the ones that would be sent). */
  chunks: number;
  chunks_ok: number;
  chunks_failed: number;
  errors: UploadError[];
}

export interface UploadSummary {
  namespace: string;
  dry_run: boolean;
  tables: TableUploadResult[];
  totals: {
    tables: number;
    rows_read: number;
    rows_written: number;
    bytes_written: number;
    chunks: number;
    chunks_ok: number;
    chunks_failed: number;
    errors: number;
  };
  /** True when every table was created or reused, cleared if asked, and every chunk landed. */
  ok: boolean;
}

export type UploadEvent =
  | { type: 'table-start'; table: TableName; dune_table: string; file: string; file_bytes: number }
  | { type: 'table-created'; table: TableName; dune_table: string; status: 'created' | 'already_existed' }
  | { type: 'table-cleared'; table: TableName; dune_table: string }
  | {
      type: 'chunk-done';
      table: TableName;
      dune_table: string;
      chunk: number;
      first_line: number;
      last_line: number;
      rows: number;
      bytes: number;
      rows_written: number;
      bytes_written: number;
    }
  | { type: 'chunk-failed'; table: TableName; dune_table: string; error: UploadError; rows: number; bytes: number }
  | { type: 'retry'; table: TableName; dune_table: string; retry: RetryInfo }
  | { type: 'table-done'; result: TableUploadResult };

interface Chunk {
  index: number;
  firstLine: number;
  lastLine: number;
  rows: number;
  bytes: number;
  /** Absent in dry runs: only the boundaries are needed. */
  body?: Buffer;
}

const NEWLINE = Buffer.from('\n');

function isBlank(line: Buffer): boolean {
  for (const b of line) if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return false;
  return true;
}

/**
 * Streams a JSONL file into chunks of whole lines, each at most chunkBytes (unless one line alone is
 * longer). Blank lines are skipped but still counted, so line numbers match the file.
 */
async function* readChunks(file: string, chunkBytes: number, collect: boolean): AsyncGenerator<Chunk> {
  let parts: Buffer[] = [];
  let size = 0;
  let rows = 0;
  let firstLine = 0;
  let lastLine = 0;
  let index = 0;
  let lineNo = 0;
  let carry: Buffer[] = [];

  const cut = (): Chunk => {
    const chunk: Chunk = { index: index++, firstLine, lastLine, rows, bytes: size };
    if (collect) chunk.body = Buffer.concat(parts, size);
    parts = [];
    size = 0;
    rows = 0;
    return chunk;
  };
  const add = (line: Buffer): Chunk | undefined => {
    lineNo++;
    if (isBlank(line)) return undefined;
    const out = rows > 0 && size + line.length > chunkBytes ? cut() : undefined;
    if (rows === 0) firstLine = lineNo;
    if (collect) parts.push(line);
    size += line.length;
    rows++;
    lastLine = lineNo;
    return out;
  };

  for await (const data of createReadStream(file, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
      const piece = data.subarray(start, nl + 1);
      const line = carry.length ? Buffer.concat([...carry, piece]) : piece;
      carry = [];
      start = nl + 1;
      const ready = add(line);
      if (ready) yield ready;
    }
    if (start < data.length) carry.push(data.subarray(start));
  }
  if (carry.length) {
    const ready = add(Buffer.concat([...carry, NEWLINE]));
    if (ready) yield ready;
  }
  if (rows > 0) yield cut();
}

/** Single-quotes a word for POSIX shells. */
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// Double quotes so the shell expands the variable: the key's value never appears in our output.
const CURL = `curl -sS -w '\\n' -H "X-DUNE-API-KEY: $DUNE_API_KEY"`;

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

async function findFiles(from: string, only: readonly string[] | undefined): Promise<Array<{ table: TableName; file: string; bytes: number }>> {
  const dir = resolve(from);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new DuneConfigError(`${from} is not a folder; run \`jam-etl dune\` first to write <table>.jsonl files`);
  if (only) {
    const unknown = only.filter((t) => !isTableName(t));
    if (unknown.length) throw new DuneConfigError(`unknown table(s): ${unknown.join(', ')}; known: ${TABLE_NAMES.join(', ')}`);
  }
  const wanted = only ? TABLE_NAMES.filter((t) => only.includes(t)) : TABLE_NAMES;
  const found: Array<{ table: TableName; file: string; bytes: number }> = [];
  const missing: string[] = [];
  for (const table of wanted) {
    const file = join(dir, `${table}.jsonl`);
    const st = await stat(file).catch(() => undefined);
    if (st?.isFile()) found.push({ table, file, bytes: st.size });
    else missing.push(`${table}.jsonl`);
  }
  if (only && missing.length) throw new DuneConfigError(`missing in ${from}: ${missing.join(', ')}`);
  if (found.length === 0) throw new DuneConfigError(`no <table>.jsonl files in ${from}; run \`jam-etl dune\` first`);
  return found;
}

function positiveInt(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1) throw new DuneConfigError(`${name} must be a positive integer, got ${String(v)}`);
  return n;
}

export async function uploadToDune(opts: UploadOptions): Promise<UploadSummary> {
  const log = opts.log ?? (() => {});
  const emit = opts.onProgress ?? (() => {});
  const chunkBytes = positiveInt('chunkBytes', opts.chunkBytes, DEFAULT_CHUNK_BYTES);
  const concurrency = positiveInt('concurrency', opts.concurrency, DEFAULT_CONCURRENCY);
  const namespace = opts.namespace;
  if (typeof namespace !== 'string' || namespace.trim() === '') {
    throw new DuneConfigError('missing Dune namespace: pass your Dune user or team handle');
  }
  if (!DUNE_NAMESPACE_RE.test(namespace)) throw new DuneConfigError(`invalid namespace ${JSON.stringify(namespace)}: ${NAMESPACE_RULE}`);
  const prefix = opts.prefix ?? '';
  // An empty list (e.g. no --tables flag) means all tables.
  const files = await findFiles(opts.from, opts.tables?.length ? opts.tables : undefined);
  for (const { table } of files) {
    if (!DUNE_NAME_RE.test(prefix + table)) {
      throw new DuneConfigError(`invalid prefix ${JSON.stringify(prefix)}: ${PREFIX_RULE}`);
    }
  }
  const baseUrl = (opts.baseUrl ?? process.env.DUNE_API_URL ?? DEFAULT_DUNE_API_URL).replace(/\/+$/, '');
  const apiKey = opts.apiKey ?? process.env.DUNE_API_KEY;
  if (!opts.dryRun && !apiKey) {
    throw new DuneConfigError('missing Dune API key: set DUNE_API_KEY (or do a dry run to only print the requests)');
  }

  const results: TableUploadResult[] = [];
  // Tables go one after another: Dune's write rate limit is per key, so parallel tables would only
  // trade insert concurrency for 429s.
  for (const { table, file, bytes } of files) {
    const dune_table = `${namespace}.${prefix}${table}`;
    emit({ type: 'table-start', table, dune_table, file, file_bytes: bytes });
    const result: TableUploadResult = {
      table,
      dune_table,
      file,
      status: 'dry_run',
      cleared: false,
      rows_read: 0,
      rows_written: 0,
      bytes_written: 0,
      chunks: 0,
      chunks_ok: 0,
      chunks_failed: 0,
      errors: [],
    };
    const ctx = { table, tableName: prefix + table, dune_table, file, namespace, result, emit, log };
    if (opts.dryRun) {
      await planTable(ctx, { baseUrl, chunkBytes, replace: opts.replace, isPrivate: opts.isPrivate });
    } else {
      const client = new DuneClient({
        apiKey: apiKey as string,
        baseUrl,
        ...(opts.maxRetries === undefined ? {} : { maxRetries: opts.maxRetries }),
        onRetry: (retry) => {
          emit({ type: 'retry', table, dune_table, retry });
          const why = retry.status ? `HTTP ${retry.status}` : retry.reason;
          log(`${table}: ${why}, retrying in ${(retry.delayMs / 1000).toFixed(1)} s (${retry.attempt}/${retry.maxRetries})`);
        },
      });
      await uploadTable(ctx, client, { chunkBytes, concurrency, replace: opts.replace, isPrivate: opts.isPrivate });
    }
    results.push(result);
    emit({ type: 'table-done', result });
  }

  const sum = (f: (r: TableUploadResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return {
    namespace,
    dry_run: opts.dryRun,
    tables: results,
    totals: {
      tables: results.length,
      rows_read: sum((r) => r.rows_read),
      rows_written: sum((r) => r.rows_written),
      bytes_written: sum((r) => r.bytes_written),
      chunks: sum((r) => r.chunks),
      chunks_ok: sum((r) => r.chunks_ok),
      chunks_failed: sum((r) => r.chunks_failed),
      errors: sum((r) => r.errors.length),
    },
    ok: results.every((r) => r.errors.length === 0),
  };
}

interface TableContext {
  table: TableName;
  /** Name inside the namespace: prefix + table. */
  tableName: string;
  dune_table: string;
  file: string;
  namespace: string;
  result: TableUploadResult;
  emit: (ev: UploadEvent) => void;
  log: (line: string) => void;
}

function describe(table: TableName): string {
  return `JAM telemetry: ${table} (uploaded by jam-etl)`;
}

async function planTable(
  ctx: TableContext,
  o: { baseUrl: string; chunkBytes: number; replace: boolean; isPrivate: boolean },
): Promise<void> {
  const { namespace, tableName, table, result, log } = ctx;
  const tableUrl = `${o.baseUrl}/v1/uploads/${encodeURIComponent(namespace)}/${encodeURIComponent(tableName)}`;
  const createBody = JSON.stringify({
    namespace,
    table_name: tableName,
    description: describe(table),
    is_private: o.isPrivate,
    schema: duneColumns(table),
  });
  log(`${CURL} -X POST ${shq(`${o.baseUrl}/v1/uploads`)} -H 'Content-Type: application/json' --data-binary ${shq(createBody)}`);
  if (o.replace) {
    // The real run skips this when the create call reports a brand-new table.
    log(`${CURL} -X POST ${shq(`${tableUrl}/clear`)}`);
  }
  for await (const chunk of readChunks(ctx.file, o.chunkBytes, false)) {
    result.chunks++;
    result.rows_read += chunk.rows;
    log(
      `sed -n ${shq(`${chunk.firstLine},${chunk.lastLine}p`)} ${shq(ctx.file)} | ${CURL} -X POST ${shq(`${tableUrl}/insert`)}` +
        ` -H 'Content-Type: application/x-ndjson' --data-binary @-` +
        `  # ${table} chunk ${chunk.index + 1}: lines ${chunk.firstLine}-${chunk.lastLine}, ${chunk.rows} rows, ${formatBytes(chunk.bytes)}`,
    );
  }
}

async function uploadTable(
  ctx: TableContext,
  client: DuneClient,
  o: { chunkBytes: number; concurrency: number; replace: boolean; isPrivate: boolean },
): Promise<void> {
  const { table, tableName, dune_table, namespace, result, emit, log } = ctx;
  const fail = (err: UploadError) => {
    result.errors.push(err);
    const where = err.first_line === undefined ? '' : ` (lines ${err.first_line}-${err.last_line})`;
    log(`${table}: ${err.stage}${where} failed${err.status ? ` with HTTP ${err.status}` : ''}: ${err.message}`);
  };

  try {
    const created = await client.createTable({
      namespace,
      table_name: tableName,
      description: describe(table),
      is_private: o.isPrivate,
      schema: duneColumns(table),
    });
    result.status = created.already_existed ? 'already_existed' : 'created';
    emit({ type: 'table-created', table, dune_table, status: result.status });
    log(`${table}: ${dune_table} ${created.already_existed ? 'already exists' : 'created'}`);
  } catch (e) {
    if (e instanceof DuneAuthError || !(e instanceof DuneApiError)) throw e;
    if (e.status === 409) {
      result.status = 'conflict';
      fail({
        table,
        dune_table,
        stage: 'create',
        status: 409,
        message: `${dune_table} already exists with different columns than schema/${table}.json; drop it on Dune or use another prefix (Dune: ${e.message})`,
      });
    } else {
      result.status = 'error';
      fail({ table, dune_table, stage: 'create', status: e.status, message: e.message });
    }
    return;
  }

  // A table created just now is empty; clearing it would only spend a rate-limited request.
  if (o.replace && result.status === 'already_existed') {
    try {
      await client.clear(namespace, tableName);
      result.cleared = true;
      emit({ type: 'table-cleared', table, dune_table });
      log(`${table}: ${dune_table} cleared`);
    } catch (e) {
      if (e instanceof DuneAuthError || !(e instanceof DuneApiError)) throw e;
      // Inserting into a table we failed to clear would double its rows.
      fail({ table, dune_table, stage: 'clear', status: e.status, message: e.message });
      return;
    }
  }

  const limit = pLimit(o.concurrency);
  const inFlight = new Set<Promise<void>>();
  let fatal: unknown;

  const send = async (chunk: Chunk): Promise<void> => {
    try {
      const res = await client.insert(namespace, tableName, chunk.body ?? Buffer.alloc(0));
      result.chunks_ok++;
      result.rows_written += res.rows_written ?? 0;
      result.bytes_written += res.bytes_written ?? 0;
      emit({
        type: 'chunk-done',
        table,
        dune_table,
        chunk: chunk.index,
        first_line: chunk.firstLine,
        last_line: chunk.lastLine,
        rows: chunk.rows,
        bytes: chunk.bytes,
        rows_written: res.rows_written ?? 0,
        bytes_written: res.bytes_written ?? 0,
      });
    } catch (e) {
      if (e instanceof DuneAuthError || !(e instanceof DuneApiError)) {
        fatal ??= e;
        return;
      }
      result.chunks_failed++;
      const error: UploadError = {
        table,
        dune_table,
        stage: 'insert',
        status: e.status,
        message: e.message,
        chunk: chunk.index,
        first_line: chunk.firstLine,
        last_line: chunk.lastLine,
      };
      fail(error);
      emit({ type: 'chunk-failed', table, dune_table, error, rows: chunk.rows, bytes: chunk.bytes });
    }
  };

  // Waiting for a free slot before reading further bounds memory to a few chunks ((concurrency + 2) x
  // chunkBytes at worst) whatever the file size.
  for await (const chunk of readChunks(ctx.file, o.chunkBytes, true)) {
    if (fatal) break;
    result.chunks++;
    result.rows_read += chunk.rows;
    const p: Promise<void> = limit(() => send(chunk)).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= o.concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (fatal) throw fatal;
  log(`${table}: ${result.rows_written} rows, ${formatBytes(result.bytes_written)} written in ${result.chunks_ok}/${result.chunks} chunks`);
}
