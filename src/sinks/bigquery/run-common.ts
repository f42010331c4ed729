// What `jam-etl bigquery` needs in both methods (stream, load): options, the destination check,
// the append-only rejects log (exactly once across crashes).
import { makeDirs } from '../../fsutil.js';
import { closeSync, fsyncSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { BigQuery } from '@google-cloud/bigquery';
import { ConfigError, describeError } from '../../errors.js';
import type { RejectRecord } from '../../pipeline/rejects.js';
import { TABLE_NAMES } from '../../tables/schema.js';
import { apiFailure, statusOf } from './connect.js';
import type { RetryPolicy } from './retry.js';
import type { RejectsMark } from './state.js';

export interface BigQueryRunOptions {
  project?: string;
  dataset: string;
  location: string;
  apiEndpoint?: string;
  /** Resume state file. */
  statePath: string;
  /** Rejects file (appended to); default next to the state file. */
  rejects?: string;
  method: 'stream' | 'load';
  batchRows: number;
  batchBytes: number;
  concurrency: number;
  /**
   * Partly filled batches are sent after this many lines (or FLUSH_BYTES) read, so that a table
   * with rare rows does not hold every file's resume position back until the end of the run.
   */
  flushLines: number;
  retry: RetryPolicy;
  /** Per insertAll request. */
  timeoutMs: number;
  /** Notes for people (stderr). */
  note?: (s: string) => void;
}

export function defaultRejectsPath(statePath: string): string {
  return join(dirname(statePath), 'bigquery-rejects.jsonl');
}

/** Stopped for a reason a rerun can fix (BigQuery kept failing, a load job failed): exit 1. */
export class RunIncompleteError extends Error {
  override name = 'RunIncompleteError';
}

/** Fails early, with one line, when the dataset or a table is missing. */
export async function checkDestination(bq: BigQuery, projectId: string, dataset: string): Promise<void> {
  let names: Set<string>;
  try {
    const [tables] = await bq.dataset(dataset).getTables();
    names = new Set(tables.map((t) => t.id ?? ''));
  } catch (e) {
    if (statusOf(e) === 404) throw new ConfigError(`dataset ${projectId}:${dataset} not found: run "jam-etl schema create" first`);
    throw apiFailure(`cannot list the tables of ${projectId}:${dataset}`, e);
  }
  const missing = TABLE_NAMES.filter((t) => !names.has(t));
  if (missing.length) throw new ConfigError(`dataset ${projectId}:${dataset} has no table ${missing.join(', ')}: run "jam-etl schema create" first`);
}

/**
 * Rejects of `jam-etl bigquery`, appended (not renamed into place at the end like the dune
 * export), exactly once across crashes: the state records the file's length with the positions
 * (RejectsMark), and open() cuts away whatever a killed run appended after its last save, whose
 * lines the rerun reads again. The caller syncs (sync()) before it saves a length.
 */
export class RejectsLog {
  private fd: number | undefined;
  private unsynced = false;
  count = 0;
  /** The file's length: what it held at open (after the cut) plus what this run wrote. */
  bytes = 0;
  readonly path: string;

  constructor(path: string) {
    this.path = resolve(path);
  }

  /** Cuts the file back to the length `mark` recorded for it (if it is this file); returns the bytes cut. */
  open(mark: RejectsMark | undefined): number {
    let size = 0;
    try {
      size = statSync(this.path).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`cannot use rejects file ${this.path}: ${describeError(e)}`);
    }
    let cut = 0;
    if (mark && mark.path === this.path && size > mark.bytes) {
      try {
        truncateSync(this.path, mark.bytes);
      } catch (e) {
        throw new ConfigError(`cannot truncate rejects file ${this.path}: ${describeError(e)}`);
      }
      cut = size - mark.bytes;
      size = mark.bytes;
    }
    this.bytes = size;
    return cut;
  }

  /** Appends reject records as JSONL (one or more whole lines). */
  writeLines(data: string | Uint8Array, records: number): void {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    if (buf.length === 0) return;
    try {
      if (this.fd === undefined) {
        makeDirs(dirname(this.path), 'rejects folder');
        this.fd = openSync(this.path, 'a');
      }
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    } catch (e) {
      throw new ConfigError(`cannot write rejects file ${this.path}: ${describeError(e)}`);
    }
    this.bytes += buf.length;
    this.count += records;
    this.unsynced = true;
  }

  write(rec: RejectRecord): void {
    this.writeLines(JSON.stringify(rec) + '\n', 1);
  }

  /** Makes what was written durable (before a state that records `bytes` is saved). */
  sync(): void {
    if (!this.unsynced || this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
    } catch (e) {
      throw new ConfigError(`cannot write rejects file ${this.path}: ${describeError(e)}`);
    }
    this.unsynced = false;
  }

  get mark(): RejectsMark {
    return { path: this.path, bytes: this.bytes };
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      this.sync();
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** See BigQueryRunOptions.flushLines. */
export const FLUSH_BYTES = 64 << 20;
