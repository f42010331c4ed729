// What `jam-etl bigquery` needs in both methods (stream, load): options, the destination check,
// the append-only rejects log, and reading one file's lines from a resume position.
import { makeDirs } from '../../fsutil.js';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { BigQuery } from '@google-cloud/bigquery';
import { ConfigError, describeError } from '../../errors.js';
import { countLines, readChunks, type Chunk } from '../../input/reader.js';
import type { RejectRecord } from '../../pipeline/rejects.js';
import { TABLE_NAMES } from '../../tables/schema.js';
import { apiFailure, statusOf } from './connect.js';
import type { RetryPolicy } from './retry.js';
import type { FilePosition } from './state.js';

export interface BigQueryRunOptions {
  paths: string[];
  project?: string;
  dataset: string;
  location: string;
  apiEndpoint?: string;
  /** Resume state file. */
  statePath: string;
  /** Rejects file (appended to); default next to the state file. */
  rejects?: string;
  teams?: string;
  method: 'stream' | 'load';
  batchRows: number;
  batchBytes: number;
  concurrency: number;
  /**
   * Partly filled batches are sent after this many lines (or FLUSH_BYTES) read, so that a table
   * with rare rows does not hold every file's resume position back until the end of the run.
   */
  flushLines: number;
  follow: boolean;
  pollMs: number;
  progress: boolean;
  maxLineBytes: number;
  retry: RetryPolicy;
  /** Per insertAll request. */
  timeoutMs: number;
  /** Aborting it stops the run cleanly: no new lines, flush, wait, save state. */
  signal?: AbortSignal;
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
 * Rejects of `jam-etl bigquery`, appended as they happen (not renamed into place at the end like
 * the dune export): a line's position is saved only after its reject is written, so a killed run
 * must not lose them. A line re-read after a crash can repeat its reject record.
 */
export class RejectsLog {
  private fd: number | undefined;
  count = 0;

  constructor(readonly path: string) {}

  write(rec: RejectRecord): void {
    try {
      if (this.fd === undefined) {
        makeDirs(dirname(this.path), 'rejects folder');
        this.fd = openSync(this.path, 'a');
      }
      const buf = Buffer.from(JSON.stringify(rec) + '\n');
      let off = 0;
      while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    } catch (e) {
      throw new ConfigError(`cannot write rejects file ${this.path}: ${describeError(e)}`);
    }
    this.count++;
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** See BigQueryRunOptions.flushLines. */
export const FLUSH_BYTES = 64 << 20;

/** How long a file must be unchanged before its last line, without a newline, counts as whole. */
export const SETTLE_MS = 30_000;

export interface ReadPiece {
  chunk: Chunk;
  /** Position after the chunk. */
  next: FilePosition;
}

/**
 * The chunks of one file from `start`, stopping before `end` if given. With `holdPartial`, a
 * last line without its newline is left for later unless the file has been quiet for SETTLE_MS
 * (a collector may be in the middle of writing it).
 */
export async function* readFrom(path: string, start: FilePosition, opts: { maxLineBytes: number; end?: number; holdPartial: boolean }): AsyncGenerator<ReadPiece> {
  for await (const chunk of readChunks(path, { start, maxLineBytes: opts.maxLineBytes })) {
    let c = chunk;
    if (opts.end !== undefined) {
      if (c.startOffset >= opts.end) return;
      if (!c.overlong && c.startOffset + c.data.length > opts.end) {
        const data = c.data.subarray(0, opts.end - c.startOffset);
        const lines = countLines(data) + (data.length && data[data.length - 1] !== 10 ? 1 : 0);
        c = { ...c, data, lines };
      }
    }
    const size = c.overlong ? c.overlong.bytes : c.data.length;
    const terminated = c.overlong ? c.overlong.terminated : c.data[c.data.length - 1] === 10;
    if (!terminated && opts.holdPartial && opts.end === undefined && !(await quiet(path))) return;
    const endOffset = c.startOffset + size + (c.overlong && terminated ? 1 : 0);
    yield { chunk: c, next: { offset: endOffset, line: c.startLine + c.lines } };
    if (opts.end !== undefined && endOffset >= opts.end) return;
  }
}

async function quiet(path: string): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  return !!st && Date.now() - st.mtimeMs >= SETTLE_MS;
}
