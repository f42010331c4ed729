// Opening the DuckDB warehouse file, for loading (read-write, the sink) and for queries
// (read-only: `jam-etl sql`, `jam-etl report`). Every way it can fail before a row is written (a
// missing or unwritable folder, a file that is not a DuckDB database, a database another process
// holds open) is a ConfigError: one line, exit 2, nothing changed.
import { statSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type * as DuckDB from '@duckdb/node-api';
import type { DuckDBInstance, DuckDBConnection } from '@duckdb/node-api';
import { lazy } from '../../lazy.js';

const duckdb = lazy<typeof DuckDB>('@duckdb/node-api');
import { ConfigError, describeError } from '../../errors.js';
import { quoteLiteral } from '../../tables/duckdb-types.js';

export const DEFAULT_DB = './jam.duckdb';
/** The name the loader attaches the database file under. */
const ATTACHED = 'jam';

export interface WarehouseOptions {
  /** Open for queries only: DuckDB refuses every write, and the file must exist. */
  readOnly?: boolean;
  /** DuckDB's buffer pool limit (e.g. '256MB'); DuckDB's default is 80 % of the machine's memory. */
  memoryLimit?: string;
  /**
   * How much freed memory DuckDB's allocator may keep before giving it back to the system
   * (DuckDB's default, 128 MB, shows as resident memory; the loader sets a few MB).
   */
  allocatorFlush?: string;
  /** WAL size that makes DuckDB checkpoint (its default is 16MB). */
  checkpointThreshold?: string;
  /**
   * Rows per row group of what this session writes (DuckDB's default is 122,880). Read-write only.
   * See DuckDbSink: the loads append a few thousand rows per table at a time.
   */
  rowGroupSize?: number;
  /** DuckDB's worker threads (default: its own, the number of cores). */
  threads?: number;
}

export interface Warehouse {
  readonly path: string;
  readonly instance: DuckDBInstance;
  readonly connection: DuckDBConnection;
  /** Closes the connection and the database (a read-write one checkpoints its WAL first). */
  close(): void;
}

/** DuckDB's message, first line, without its "See also <url>" trailer. */
export function duckdbMessage(e: unknown): string {
  return describeError(e).replace(/\s*See also https?:\S+\s*$/, '').trim();
}

function lockHolder(msg: string): string | undefined {
  return /Conflicting lock is held in (.*?)(?:\.|$)/.exec(msg)?.[1];
}

/** Turns DuckDB's open errors into one-line ConfigErrors that say what to do. */
function openError(path: string, e: unknown, readOnly: boolean): ConfigError {
  const msg = duckdbMessage(e);
  const holder = lockHolder(msg);
  if (holder || /Could not set lock/i.test(msg)) {
    return new ConfigError(`database ${path} is in use by another process${holder ? ` (${holder})` : ''}: stop it, or use another --db`);
  }
  if (/not a valid DuckDB database/i.test(msg)) return new ConfigError(`${path} is not a DuckDB database file (DuckDB: ${msg})`);
  if (readOnly && /database does not exist/i.test(msg)) return new ConfigError(`no database at ${path}: load one first with \`jam-etl duckdb --db ${path}\``);
  return new ConfigError(`cannot open database ${path}: ${msg}`);
}

/** Checks the path before DuckDB creates anything there. */
async function checkPath(path: string, readOnly: boolean): Promise<void> {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new ConfigError(`cannot create database ${path}: a part of its folder is a file`);
    if (code !== 'ENOENT') throw new ConfigError(`cannot open database ${path}: ${describeError(e)}`);
  }
  if (st) {
    if (!st.isFile()) throw new ConfigError(`database ${path} is not a file`);
    return;
  }
  if (readOnly) throw new ConfigError(`no database at ${path}: load one first with \`jam-etl duckdb --db ${path}\``);
  const dir = dirname(resolve(path));
  let dst;
  try {
    dst = statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`cannot create database ${path}: folder ${dirname(path)} does not exist`);
    if (code === 'ENOTDIR') throw new ConfigError(`cannot create database ${path}: a part of its folder is a file`);
    throw new ConfigError(`cannot create database ${path}: ${describeError(e)}`);
  }
  if (!dst.isDirectory()) throw new ConfigError(`cannot create database ${path}: ${dirname(path)} is not a folder`);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new ConfigError(`cannot create database ${path}: folder ${dirname(path)} is not writable`);
  }
}

/**
 * Opens (read-write: creates) the database file. Extensions are never downloaded (the ones used,
 * json and icu, are built into the package's binary); the session's TimeZone is UTC, so
 * TIMESTAMPTZ values print as UTC.
 */
export async function openWarehouse(path: string, opts: WarehouseOptions = {}): Promise<Warehouse> {
  const readOnly = opts.readOnly ?? false;
  await checkPath(path, readOnly);
  const config: Record<string, string> = {
    access_mode: readOnly ? 'READ_ONLY' : 'READ_WRITE',
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  };
  if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
  if (opts.allocatorFlush) {
    config.allocator_flush_threshold = opts.allocatorFlush;
    config.allocator_bulk_deallocation_flush_threshold = opts.allocatorFlush;
  }
  if (opts.threads) config.threads = String(opts.threads);
  if (opts.checkpointThreshold) config.checkpoint_threshold = opts.checkpointThreshold;
  // A row group size for writing can only be given when attaching: the loader opens an
  // in-memory instance and attaches the file (as `jam`, its default database); the read-only
  // path opens the file itself, so nothing else in the session is writable either.
  const attach = !readOnly && opts.rowGroupSize !== undefined;
  if (attach) config.temp_directory = `${path}.tmp`; // where DuckDB would put it for the file itself
  let instance: DuckDBInstance;
  try {
    instance = await duckdb().DuckDBInstance.create(attach ? ':memory:' : path, config);
  } catch (e) {
    throw openError(path, e, readOnly);
  }
  let connection: DuckDBConnection;
  try {
    connection = await instance.connect();
    if (attach) {
      await connection.run(`ATTACH ${quoteLiteral(path)} AS ${ATTACHED} (ROW_GROUP_SIZE ${opts.rowGroupSize})`);
      await connection.run(`USE ${ATTACHED}`);
    }
    await connection.run(`SET TimeZone = 'UTC'`);
  } catch (e) {
    instance.closeSync();
    throw openError(path, e, readOnly);
  }
  let closed = false;
  return {
    path,
    instance,
    connection,
    close() {
      if (closed) return;
      closed = true;
      connection.closeSync();
      instance.closeSync();
    },
  };
}
