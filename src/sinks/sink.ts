// The one life cycle every destination shares (JSONL files for Dune, DuckDB, BigQuery stream and
// load): the pipeline opens a sink, hands it each converted chunk in input order, and commits or
// aborts it. Resume is one model for all of them: per input file identity, the byte position up
// to which every row (and every reject) of that file is durably stored in *that* destination.
import type { Counters } from '../telemetry/convert.js';
import type { TableName } from '../tables/schema.js';

/** A place in an input file: the byte offset of a line and its 1-based line number. */
export interface FilePosition {
  offset: number;
  line: number;
}

/** One converted chunk of one input file, handed to the sink in input order. */
export interface SinkBatch {
  /** The input file's identity (stable across paths and copies): the resume key. */
  fileId: string;
  /** The path it was read from (for people and reject records). */
  path: string;
  /** Where the chunk began in the file. */
  start: FilePosition;
  /** The first byte and line after it: once the batch is durably stored, the file resumes here. */
  end: FilePosition;
  /** The rows, as JSONL bytes per table (a table without rows in the chunk is absent). */
  tables: [TableName, string | Uint8Array | Uint8Array[]][];
  /** The chunk's reject records, as JSONL (empty when none). */
  rejects: string | Uint8Array;
  counters: Counters;
  /**
   * Only for a sink that sets `rowRefs`: per table (same order as `tables`), three numbers per
   * row, aligned with its JSONL lines: the input line number, the row's index among that line's
   * rows (0-based, across tables), and the byte offset where the next line starts.
   */
  rowRefs?: [TableName, Float64Array][];
}

/**
 * What a sink already holds, per file identity: every row and reject before the position is
 * durably stored there. `watermark`, when set, is a collector layout name (`YYYY/MM/DD/HHMM.log`):
 * every file whose layout name sorts at or before it is wholly stored (their entries were
 * collapsed into it, see Sink.collapse) and is not read again.
 */
export type ResumePositions = Map<string, FilePosition> & { watermark?: string };

/** What a sink reports when it is done; commands put it in the run summary. */
export interface SinkResult {
  /** Per table: rows stored by this run, and where (a file path, a table name, a URL). */
  tables: { table: TableName; rows: number; bytes?: number; location?: string }[];
  /** Where this run's rejects went, if anywhere. */
  rejects?: string | undefined;
  /** Rows the destination refused or could not store (they make the run exit 1). */
  failed?: number;
  /** Anything else a command wants to print or put in --json. */
  extra?: Record<string, unknown>;
}

export interface Sink {
  /** For messages: `jsonl`, `duckdb`, `bigquery-stream`, `bigquery-load`. */
  readonly name: string;
  /**
   * Checks every output path and takes the destination's lock before a line is read (a problem
   * is a ConfigError: one line, exit 2, nothing changed); creates or migrates tables. Returns
   * the positions already durably stored, per file identity (empty for a sink without resume,
   * such as the JSONL export, which rewrites everything each run).
   */
  open(): Promise<ResumePositions>;
  /**
   * True when what it stored stays and counts (positions): a run stopped by SIGINT/SIGTERM then
   * commits what it wrote, so a rerun continues. False or absent (the JSONL export, which is
   * all or nothing): a stopped run aborts, removing its temporary output.
   */
  readonly resumable?: boolean;
  /** Set by a sink that needs SinkBatch.rowRefs (BigQuery's insertIds are per line). */
  readonly rowRefs?: boolean;
  /** Takes one batch; a returned promise holds the pipeline until it settles (backpressure). */
  write(batch: SinkBatch): void | Promise<void>;
  /**
   * Called by the driver at the end of every `--follow` poll that wrote something, and every
   * `checkpointMs` (default 5 s) while writing, between two writes: makes what was written so
   * far durable, with its positions. Optional.
   */
  checkpoint?(): Promise<void>;
  /**
   * `--follow` over a collector tree, right after a checkpoint: the files `ids` are wholly
   * stored and behind `watermark`; the sink may drop their entries and store the watermark
   * instead (durable with its next checkpoint or commit). Optional: without it every file keeps
   * its entry.
   */
  collapse?(watermark: string, ids: readonly string[]): void;
  /** Makes everything durable, records the final positions and releases the lock. */
  commit(): Promise<SinkResult>;
  /** Gives up: removes temporary output, keeps what was durably stored before, releases the lock. */
  abort(): Promise<void>;
}
