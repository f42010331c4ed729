// The DuckDB sink: rows go into the warehouse's tables, each table loaded in bulk by DuckDB's own
// JSON reader, and every load commits its rows, its rejects and the resume positions it completes
// in ONE transaction of the same database. So what is in the tables is exactly what the positions
// say: a rerun reads on from there and adds nothing, and a SIGKILL at any moment loses only a
// transaction that never committed (DuckDB's WAL), whose lines the rerun reads again.
//
// Bulk path: the batches' JSONL bytes (already checked against schema/ by the pipeline) are
// appended, per table, to files in `<db>.load/`; once they hold `flushBytes` (or at a checkpoint,
// or at the end) one transaction runs `INSERT INTO t SELECT … FROM read_json(file, columns={…})`
// per table, with the column types derived from schema/. DuckDB parses them in C++ on its own
// threads while the pipeline converts the next batches into a second set of files: at most two
// sets exist, and a third waits (backpressure).
import { closeSync, openSync, rmSync, writeSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, describeError } from '../../errors.js';
import { schemas as packageSchemas, TABLE_NAMES, type Column, type TableName } from '../../tables/schema.js';
import { quoteIdent, quoteLiteral, readJsonColumnsSql } from '../../tables/duckdb-types.js';
import type { ResumePositions, Sink, SinkBatch, SinkResult, FilePosition } from '../sink.js';
import { applySchema, POSITIONS_TABLE, readPositions, REJECT_COLUMNS, REJECTS_TABLE, STATE_TABLE, type SchemaPlan } from './ddl.js';
import { duckdbMessage, openWarehouse, type Warehouse } from './warehouse.js';
import { makeDirs } from '../../fsutil.js';

export interface DuckDbSinkOptions {
  /** The database file (created when missing). */
  db: string;
  /** JSONL bytes gathered before a load transaction; default DEFAULT_FLUSH_BYTES. */
  flushBytes?: number;
  /** DuckDB's memory_limit (default 256MB here, to keep the process's peak bounded). */
  memoryLimit?: string;
  /** DuckDB's threads (default 1: the conversion needs the other cores; see DEFAULT_THREADS). */
  threads?: number;
  /** The table schemas (default: the package's schema/*.json); tests pass others. */
  schemas?: Map<TableName, Column[]>;
}

/**
 * 64 MiB per load (the driver's checkpoint every 5 s may cut one shorter). A load's commit holds
 * memory DuckDB's memory_limit does not count (its JSON parse and commit allocations, in glibc's
 * arenas: the node-api build has no jemalloc), growing with the load: on 1 GB, 256 MiB loads
 * peaked at ~450 MiB RSS, 128 MiB ~370, 64 MiB ~350-375 (noisy, shared machine), at ~40 % more
 * time than 256 MiB. Earlier measurement, for the time side: fewer, bigger
 * appends mean fewer WAL records and checkpoints, and more tables filling whole row groups,
 * which DuckDB writes straight to the file. 5 GB input: 32 MiB loads took 109 s of CPU and wrote
 * 28.7 GB; 256 MiB loads 70 s and 15.9 GB (W1: 5.6 -> 4.3 s CPU), same peak RSS within ~40 MiB.
 */
export const DEFAULT_FLUSH_BYTES = 64 << 20;
/**
 * DuckDB's buffer pool: it fills up to its limit; 256 MB cost ~100 MB more peak RSS on W1 than
 * 128 MB. 64 MB (with 64 MiB loads): ~365 instead of ~450 MiB peak on 1 GB (see docs/duckdb.md).
 * Below that read_json runs out (it needs a 32 MiB buffer beside the table's blocks).
 */
export const DEFAULT_MEMORY_LIMIT = '64MB';
/**
 * One DuckDB thread: read_json of one load's file gains little from a second one, and on W1 with two
 * conversion workers a second DuckDB thread cost ~1 s more CPU (3.6 -> 4.7 s user) for no gain.
 */
export const DEFAULT_THREADS = 1;
/**
 * The loads' appends are smaller than a DuckDB row group (122,880 rows), so they go through the
 * WAL, and each checkpoint rewrites every table's growing last row group: at DuckDB's default
 * (a checkpoint per 16 MB of WAL) W1 cost ~1 s more CPU and a database a third larger (250 vs
 * 184 MB) than at 64 MB. It also bounds the WAL a killed run leaves for the next open to replay.
 */
const CHECKPOINT_THRESHOLD = '64MB';
/**
 * Rows per row group. A checkpoint rewrites each table's last, growing row group, and with
 * DuckDB's 122,880 rows that is a table's whole data for a long time (a workpackages row is
 * ~7 KB: a row group of ~800 MB): the rewriting grew with the database. With 8,192 rows, 1 GB of
 * JSONL in 32 MB loads took 4.9 instead of 8.2 s of CPU and wrote 1.7 instead of 2.9 GB; 2,048
 * and 16,384 were both slower.
 */
const ROW_GROUP_SIZE = 8192;
/** Freed memory DuckDB's allocator keeps: its default (128 MB) stayed resident, ~100 MB of peak RSS. */
const ALLOCATOR_FLUSH = '4MB';
/**
 * read_json's maximum_object_size floor: each load sets it to its largest piece (a batch's bytes
 * for one table, which no row of it exceeds) + 1, and never below this. read_json's own default
 * (16 MiB) made every load reserve ~3 x 16 MiB of parse buffers, which with the 64 MB memory_limit
 * would raise the limit for every load.
 */
const DEFAULT_MAX_OBJECT = 2 << 20;
/** JAM_ETL_DEBUG=duckdb prints each load's size and times on stderr. */
const DEBUG = (process.env.JAM_ETL_DEBUG ?? '').split(',').includes('duckdb');

type Target = TableName | typeof REJECTS_TABLE;

interface Pending {
  path: string;
  fd: number;
  bytes: number;
  /** The largest piece written: no row in the file is longer. */
  maxPiece: number;
  rows: number;
}

/** One set of load files and what their transaction will record. */
interface Generation {
  n: number;
  files: Map<Target, Pending>;
  /** file identity -> where the last batch of it in this set ended */
  positions: Map<string, { path: string; end: FilePosition }>;
  /** input path -> file identity, for the reject records (they name the path) */
  rejectFiles: Map<string, string>;
  bytes: number;
  /** --follow: a new watermark, and the identities whose positions it replaces. */
  collapse?: { watermark: string; ids: string[] };
}

function byteLength(d: string | Uint8Array | Uint8Array[]): number {
  if (typeof d === 'string') return Buffer.byteLength(d);
  if (Array.isArray(d)) return d.reduce((a, b) => a + b.length, 0);
  return d.length;
}

/** '128MB', '1.5GiB', '200 KB' -> bytes (DuckDB's units: KB/MB/GB/TB are 1000s, KiB… 1024s); undefined if not that. */
export function sizeBytes(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*$/i.exec(s);
  if (!m) return undefined;
  const unit = (m[2] ?? 'B').toUpperCase();
  const pow = { B: 0, K: 1, M: 2, G: 3, T: 4 }[unit[0] as 'B' | 'K' | 'M' | 'G' | 'T'];
  const base = unit.includes('I') ? 1024 : 1000;
  return Math.round(Number(m[1]) * base ** pow);
}

/** Appends all of `data` to the load file (a write to a regular file may still come back short). */
function writeAll(p: Pending, data: string | Uint8Array | Uint8Array[]): void {
  const parts = typeof data === 'string' ? [Buffer.from(data)] : Array.isArray(data) ? data : [data];
  try {
    let total = 0;
    for (const b of parts) total += b.length;
    let done = writevSync(p.fd, parts);
    // Rare: finish a short write part by part.
    for (let i = 0, at = 0; done < total && i < parts.length; i++) {
      const b = parts[i]!;
      if (at + b.length <= done) {
        at += b.length;
        continue;
      }
      let off = done - at;
      while (off < b.length) {
        const n = writeSync(p.fd, b, off);
        off += n;
        done += n;
      }
      at += b.length;
    }
  } catch (e) {
    throw new ConfigError(`cannot write load file ${p.path}: ${describeError(e)}`);
  }
}

export class DuckDbSink implements Sink {
  readonly name = 'duckdb';
  /** What is committed stays: a stopped run commits, and a rerun continues from the positions. */
  readonly resumable = true;
  private readonly flushBytes: number;
  private readonly wanted: Map<TableName, Column[]>;
  private readonly loadDir: string;
  private wh: Warehouse | undefined;
  private gen: Generation | undefined;
  private gens = 0;
  private inflight: Promise<void> | undefined;
  private failure: unknown;
  private readonly stored = new Map<TableName, number>();
  private rejectsStored = 0;
  private transactions = 0;
  /** What open() did to the tables (created, columns added). */
  plan: SchemaPlan | undefined;

  /** The memory_limit in bytes, when it could be read from the option. */
  private readonly limitBytes: number | undefined;

  constructor(private readonly opts: DuckDbSinkOptions) {
    this.limitBytes = sizeBytes(opts.memoryLimit ?? DEFAULT_MEMORY_LIMIT);
    this.flushBytes = opts.flushBytes ?? DEFAULT_FLUSH_BYTES;
    this.wanted = opts.schemas ?? packageSchemas();
    this.loadDir = `${opts.db}.load`;
  }

  async open(): Promise<ResumePositions> {
    this.wh = await openWarehouse(this.opts.db, { memoryLimit: this.opts.memoryLimit ?? DEFAULT_MEMORY_LIMIT, allocatorFlush: ALLOCATOR_FLUSH, checkpointThreshold: CHECKPOINT_THRESHOLD, rowGroupSize: ROW_GROUP_SIZE, threads: this.opts.threads ?? DEFAULT_THREADS });
    try {
      this.plan = await applySchema(this.wh.connection, this.wanted);
      // The load folder is ours while we hold the database's lock: what a killed run left there
      // never committed, and is read again from the positions.
      rmSync(this.loadDir, { recursive: true, force: true });
      makeDirs(this.loadDir, 'load folder');
      return await readPositions(this.wh.connection);
    } catch (e) {
      this.wh.close();
      this.wh = undefined;
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`cannot prepare database ${this.opts.db}: ${duckdbMessage(e)}`);
    }
  }

  write(batch: SinkBatch): void | Promise<void> {
    if (this.failure) throw this.failure;
    const g = this.generation();
    for (const [table, data] of batch.tables) {
      const n = byteLength(data);
      if (n === 0) continue;
      const p = this.pending(g, table);
      writeAll(p, data);
      p.bytes += n;
      p.maxPiece = Math.max(p.maxPiece, n);
      p.rows += batch.counters.rows[table];
      g.bytes += n;
    }
    const nr = byteLength(batch.rejects);
    if (nr > 0) {
      const p = this.pending(g, REJECTS_TABLE);
      writeAll(p, batch.rejects);
      p.bytes += nr;
      p.maxPiece = Math.max(p.maxPiece, nr);
      p.rows += batch.counters.rejects;
      g.bytes += nr;
      g.rejectFiles.set(batch.path, batch.fileId);
    }
    g.positions.set(batch.fileId, { path: batch.path, end: batch.end });
    if (g.bytes >= this.flushBytes) return this.startLoad();
  }

  /** Files wholly stored behind `watermark` (--follow): their positions give way to it, in the next load. */
  collapse(watermark: string, ids: readonly string[]): void {
    const g = this.generation();
    const prev = g.collapse?.ids ?? [];
    g.collapse = { watermark, ids: [...prev, ...ids] };
    for (const id of ids) g.positions.delete(id);
  }

  private generation(): Generation {
    return (this.gen ??= { n: this.gens++, files: new Map(), positions: new Map(), rejectFiles: new Map(), bytes: 0 });
  }

  async checkpoint(): Promise<void> {
    await this.startLoad();
    await this.inflight;
    if (this.failure) throw this.failure;
  }

  async commit(): Promise<SinkResult> {
    try {
      await this.checkpoint();
    } catch (e) {
      // What committed before stays; the database is closed and the load files removed.
      await this.abort();
      throw e;
    }
    this.closeWarehouse();
    rmSync(this.loadDir, { recursive: true, force: true });
    return {
      tables: TABLE_NAMES.filter((t) => this.stored.has(t)).map((t) => ({ table: t, rows: this.stored.get(t)!, location: `${this.opts.db}:${t}` })),
      rejects: this.rejectsStored > 0 ? `${this.opts.db}:${REJECTS_TABLE}` : undefined,
      extra: {
        db: this.opts.db,
        tables_created: this.plan?.create ?? [],
        columns_added: this.plan?.add ?? [],
        stored: Object.fromEntries([...this.stored]),
        rejects_stored: this.rejectsStored,
        transactions: this.transactions,
      },
    };
  }

  async abort(): Promise<void> {
    // A load under way either commits whole (its batches were complete) or not at all.
    await this.inflight;
    if (this.gen) for (const p of this.gen.files.values()) closeSync(p.fd);
    this.gen = undefined;
    this.closeWarehouse();
    rmSync(this.loadDir, { recursive: true, force: true });
  }

  private closeWarehouse(): void {
    this.wh?.close();
    this.wh = undefined;
  }

  private pending(g: Generation, target: Target): Pending {
    let p = g.files.get(target);
    if (!p) {
      const path = join(this.loadDir, `${g.n}-${target}.jsonl`);
      let fd: number;
      try {
        fd = openSync(path, 'w');
      } catch (e) {
        throw new ConfigError(`cannot write load file ${path}: ${describeError(e)}`);
      }
      p = { path, fd, bytes: 0, maxPiece: 0, rows: 0 };
      g.files.set(target, p);
    }
    return p;
  }

  /** Hands the current set of files to a load transaction, once the one before it has finished. */
  private async startLoad(): Promise<void> {
    const g = this.gen;
    if (!g) return;
    this.gen = undefined;
    if (this.inflight) await this.inflight;
    if (this.failure) throw this.failure;
    this.inflight = this.load(g).catch((e: unknown) => {
      this.failure ??= e instanceof ConfigError ? e : new ConfigError(`loading into ${this.opts.db} failed: ${duckdbMessage(e)}`);
    });
  }

  /** One transaction: every table's rows of the set, its rejects and its files' new positions. */
  private async load(g: Generation): Promise<void> {
    const conn = this.wh?.connection;
    if (!conn) throw new Error('the DuckDB sink is not open');
    for (const p of g.files.values()) closeSync(p.fd);
    const t0 = performance.now();
    
    // read_json holds about two buffers of maximum_object_size at once: a load with rows of tens
    // of MB (huge lines) gets a memory_limit that fits them, for this load only.
    let biggest = 0;
    for (const p of g.files.values()) biggest = Math.max(biggest, p.maxPiece);
    const need = 3 * Math.max(DEFAULT_MAX_OBJECT, biggest + 1) + (32 << 20);
    if (DEBUG) process.stderr.write(`duckdb load ${g.n}: begin, biggest piece ${biggest}\n`);
    const raised = this.limitBytes !== undefined && need > this.limitBytes;
    if (raised) await conn.run(`SET memory_limit = '${need}B'`);
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const [target, p] of g.files) {
        const maxObject = Math.max(DEFAULT_MAX_OBJECT, p.maxPiece + 1);
        if (target === REJECTS_TABLE) {
          const cols = REJECT_COLUMNS.map(([n]) => `r.${quoteIdent(n)}`).join(', ');
          const map = [...g.rejectFiles].map(([path, id]) => `(${quoteLiteral(path)}, ${quoteLiteral(id)})`).join(', ');
          const r = await conn.run(
            `INSERT INTO ${REJECTS_TABLE} (file_id, ${REJECT_COLUMNS.map(([n]) => quoteIdent(n)).join(', ')}, loaded)
             SELECT m.file_id, ${cols}, now() FROM read_json(${quoteLiteral(p.path)}, format = 'newline_delimited',
               columns = {${REJECT_COLUMNS.map(([n, t]) => `${quoteLiteral(n)}: ${quoteLiteral(t)}`).join(', ')}}, maximum_object_size = ${maxObject}) r
             LEFT JOIN (VALUES ${map}) m(path, file_id) ON r.file = m.path`,
          );
          if (r.rowsChanged !== p.rows) throw new Error(`${REJECTS_TABLE}: ${r.rowsChanged} records loaded from ${p.rows}`);
          continue;
        }
        const cols = this.wanted.get(target)!;
        const names = cols.map((c) => quoteIdent(c.name)).join(', ');
        const r = await conn.run(
          `INSERT INTO ${quoteIdent(target)} (${names}) SELECT ${names} FROM read_json(${quoteLiteral(p.path)}, format = 'newline_delimited', columns = ${readJsonColumnsSql(cols)}, maximum_object_size = ${maxObject})`,
        );
        // The pipeline counted the rows it wrote; anything else means a line was misread.
        if (r.rowsChanged !== p.rows) throw new Error(`${target}: ${r.rowsChanged} rows loaded from ${p.rows}`);
      }
      if (g.collapse) {
        const { watermark, ids } = g.collapse;
        for (let i = 0; i < ids.length; i += 1000) {
          await conn.run(`DELETE FROM ${POSITIONS_TABLE} WHERE file_id IN (${ids.slice(i, i + 1000).map(quoteLiteral).join(', ')})`);
        }
        await conn.run(
          `INSERT INTO ${STATE_TABLE} (key, value, updated) VALUES ('watermark', ${quoteLiteral(watermark)}, now())
           ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
        );
      }
      if (g.positions.size > 0) {
        const values = [...g.positions].map(([id, { path, end }]) => `(${quoteLiteral(id)}, ${quoteLiteral(path)}, ${end.offset}, ${end.line}, now())`).join(', ');
        await conn.run(
          `INSERT INTO ${POSITIONS_TABLE} (file_id, path, byte_offset, line, updated) VALUES ${values}
           ON CONFLICT (file_id) DO UPDATE SET path = excluded.path, byte_offset = excluded.byte_offset, line = excluded.line, updated = excluded.updated`,
        );
      }
      const t1 = performance.now();
      await conn.run('COMMIT');
      if (DEBUG) {
        const mem = (await conn.runAndReadAll('SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()')).getRows()[0]?.[0];
        const nodeMem = process.memoryUsage();
        process.stderr.write(`duckdb load ${g.n}: committed ${(g.bytes / 1048576).toFixed(1)} MiB, inserts ${(t1 - t0).toFixed(0)} ms, commit ${(performance.now() - t1).toFixed(0)} ms, rss ${nodeMem.rss >> 20} MiB (duckdb buffers ${Number(mem) >> 20} MiB, js heap ${nodeMem.heapUsed >> 20} MiB, external ${nodeMem.external >> 20} MiB)\n`);
      }
    } catch (e) {
      // The load's own error is the one to report; a failed ROLLBACK adds nothing to it.
      await conn.run('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      for (const p of g.files.values()) rmSync(p.path, { force: true });
      if (raised) await conn.run(`SET memory_limit = '${this.limitBytes}B'`);
    }
    this.transactions++;
    for (const [target, p] of g.files) {
      if (target === REJECTS_TABLE) this.rejectsStored += p.rows;
      else this.stored.set(target, (this.stored.get(target) ?? 0) + p.rows);
    }
  }
}
