// The BigQuery streaming sink: rows are batched per table into insertAll requests of at most
// `batchRows` rows and `batchBytes` bytes, sent as raw rows with deterministic insertIds, up to
// `concurrency` requests at a time. Each row ends exactly one way: stored (or deduplicated by its
// insertId, which is the same to us), or rejected with BigQuery's reason; only then is it
// acknowledged to its line's ticket, which is what lets the resume position move.
import pLimit from 'p-limit';
import { describeError } from '../../errors.js';
import { backoffMs, classify, sleep, withTimeout, type RetryPolicy } from './retry.js';
import type { Ticket } from './tracker.js';
import type { RejectCode } from '../../pipeline/rejects.js';
import { TABLE_NAMES, type TableName } from '../../tables/schema.js';

export interface StreamRow {
  table: TableName;
  insertId: string;
  /** The row as JSON (text, or its UTF-8 bytes: copied into its batch's request body by add(), not kept). */
  json: string | Uint8Array;
  /** Its share of the request body: `{"insertId":"…","json":…},`. */
  bytes: number;
  ticket: Ticket;
  /** Where it came from, for rejects. */
  file: string;
  line: number;
}

export interface InsertError {
  index: number;
  errors: { reason?: string; message?: string; location?: string }[];
}

/** Sends one insertAll request body; resolves with BigQuery's answer, rejects with the client's error. */
export type InsertAll = (table: TableName, body: Buffer) => Promise<{ insertErrors?: InsertError[] }>;

export interface StreamSinkOptions {
  batchRows: number;
  batchBytes: number;
  concurrency: number;
  retry: RetryPolicy;
  /** Per request; a timed-out request is retried (its rows carry their insertIds). */
  timeoutMs: number;
  /** A row that does not end up in BigQuery; must be durable when it returns. */
  onReject(row: StreamRow, code: RejectCode, reason: string): void;
  /** After each request's rows are acknowledged (to save state). */
  onAcknowledged(): void;
  /** Stops backoff waits early when the run is being torn down. */
  signal?: AbortSignal;
}

export interface StreamStats {
  requests: number;
  retries: number;
  splits: number;
  stored: Record<TableName, number>;
  rejected: Record<TableName, number>;
  /** Rows BigQuery answered `stopped` for (not stored because of another row), sent again. */
  resent: number;
}

/** The fixed part of a request body around the rows. */
const BODY_HEAD = '{"skipInvalidRows":false,"ignoreUnknownValues":false,"rows":[';
const BODY_TAIL = ']}';
export const BODY_OVERHEAD = BODY_HEAD.length + BODY_TAIL.length;

export function rowBytes(insertId: string, json: string | Uint8Array): number {
  return (typeof json === 'string' ? Buffer.byteLength(json) : json.length) + insertId.length + '{"insertId":"","json":},'.length;
}

const COMMA = 0x2c;
const ELEMENT_HEAD = '{"insertId":"'.length;
const ELEMENT_MID = '","json":'.length;
/** First size of a batch's body buffer; it doubles as rows come, up to --batch-bytes. */
const FIRST_BODY_BYTES = 64 << 10;

/** A failure that ends the run (after what is in flight settles). */
export class StreamFailure extends Error {
  override name = 'StreamFailure';
  constructor(
    message: string,
    readonly kind: 'not_found' | 'auth' | 'fatal' | 'exhausted',
  ) {
    super(message);
  }
}

/**
 * A row in a batch. Its JSON is not kept as a string: add() encodes it at once into the batch's
 * request body, `{"insertId":"…","json":…}` at bytes [start, end) of `body`. Strings waiting
 * there for their batch to fill and be acknowledged would outlive V8's young generation and
 * pile up in old space, dead, until a full collection (~100 MB of them on W1).
 */
interface Queued {
  ticket: Ticket;
  file: string;
  line: number;
  start: number;
  /** Where the JSON starts (after `{"insertId":"…","json":`); it ends at end - 1. */
  json: number;
  end: number;
}

interface Batch {
  table: TableName;
  rows: Queued[];
  /** The sum of the rows' `bytes`. */
  bytes: number;
  /** BODY_HEAD and the rows' elements, comma-separated, in body[0, length); room for BODY_TAIL. */
  body: Buffer;
  length: number;
}

/** The request body carrying `rows` of batch `b` (all of them, or the ones still to send). */
function bodyOf(b: Batch, rows: readonly Queued[]): Buffer {
  if (rows.length === b.rows.length) {
    // The whole batch (the rows are its own, in order: subsets are always smaller).
    const end = b.length + b.body.write(BODY_TAIL, b.length, 'latin1');
    return b.body.subarray(0, end);
  }
  let size = BODY_OVERHEAD - 1;
  for (const r of rows) size += r.end - r.start + 1;
  const out = Buffer.allocUnsafeSlow(size);
  let at = out.write(BODY_HEAD, 0, 'latin1');
  for (let i = 0; i < rows.length; i++) {
    if (i) out[at++] = COMMA;
    at += b.body.copy(out, at, rows[i]!.start, rows[i]!.end);
  }
  out.write(BODY_TAIL, at, 'latin1');
  return out;
}

export class BigQueryStreamSink {
  readonly stats: StreamStats;
  /** The first failure that ends the run; later batches are not sent. */
  failure: StreamFailure | undefined;
  private readonly open = new Map<TableName, Batch>();
  private readonly limit;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly insertAll: InsertAll,
    private readonly opts: StreamSinkOptions,
  ) {
    this.limit = pLimit(opts.concurrency);
    const zero = (): Record<TableName, number> => Object.fromEntries(TABLE_NAMES.map((t) => [t, 0])) as Record<TableName, number>;
    this.stats = { requests: 0, retries: 0, splits: 0, stored: zero(), rejected: zero(), resent: 0 };
  }

  /** The largest row a request can carry. */
  get maxRowBytes(): number {
    return this.opts.batchBytes - BODY_OVERHEAD;
  }

  add(row: StreamRow): void {
    if (row.bytes > this.maxRowBytes) {
      this.reject(row, 'row_too_large', `row of ${row.bytes} bytes is larger than one insertAll request may carry (--batch-bytes ${this.opts.batchBytes}); load it with --method load`);
      this.opts.onAcknowledged();
      return;
    }
    let b = this.open.get(row.table);
    if (b && (b.rows.length >= this.opts.batchRows || b.bytes + row.bytes > this.maxRowBytes)) {
      this.send(row.table, b);
      b = undefined;
    }
    if (!b) {
      const body = Buffer.allocUnsafeSlow(Math.min(this.opts.batchBytes, Math.max(FIRST_BODY_BYTES, BODY_OVERHEAD + row.bytes)));
      b = { table: row.table, rows: [], bytes: 0, body, length: body.write(BODY_HEAD, 0, 'latin1') };
      this.open.set(row.table, b);
    }
    // Room for a comma, the element and BODY_TAIL: at most --batch-bytes (see maxRowBytes).
    const need = b.length + row.bytes + BODY_TAIL.length;
    if (need > b.body.length) {
      const body = Buffer.allocUnsafeSlow(Math.min(this.opts.batchBytes, Math.max(need, 2 * b.body.length)));
      b.body.copy(body, 0, 0, b.length);
      b.body = body;
    }
    let at = b.length;
    if (b.rows.length) b.body[at++] = COMMA;
    const start = at;
    at += b.body.write(`{"insertId":"${row.insertId}","json":`, at, 'latin1');
    const json = at;
    if (typeof row.json === 'string') at += b.body.write(row.json, at);
    else {
      b.body.set(row.json, at);
      at += row.json.length;
    }
    b.body[at++] = 0x7d; // }
    if (at - start !== row.bytes - 1) throw new Error(`internal: a row of ${row.table} took ${at - start + 1} bytes, not the ${row.bytes} counted`);
    b.length = at;
    b.rows.push({ ticket: row.ticket, file: row.file, line: row.line, start, json, end: at });
    b.bytes += row.bytes;
    if (b.rows.length >= this.opts.batchRows) this.send(row.table, b);
  }

  /** Sends every partly filled batch. */
  flush(): void {
    for (const [t, b] of [...this.open]) this.send(t, b);
  }

  /** Waits while enough requests are queued or in flight to keep every slot busy. */
  async waitForRoom(): Promise<void> {
    while (this.inflight.size >= this.opts.concurrency * 2 && !this.failure) await Promise.race(this.inflight);
  }

  /** Waits for every request sent so far. */
  async drain(): Promise<void> {
    while (this.inflight.size) await Promise.race(this.inflight);
  }

  /** Rows accepted by add() and not yet sent. */
  get buffered(): number {
    let n = 0;
    for (const b of this.open.values()) n += b.rows.length;
    return n;
  }

  private send(table: TableName, b: Batch): void {
    if (this.open.get(table) === b) this.open.delete(table);
    if (!b.rows.length) return;
    const p = this.limit(async () => {
      try {
        await this.deliver(b, b.rows);
      } catch (e) {
        // Set before p-limit starts the next queued batch, which then is not sent.
        this.failure ??= e instanceof StreamFailure ? e : new StreamFailure(`insertAll into ${table}: ${describeError(e)}`, 'fatal');
      }
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private reject(row: StreamRow, code: RejectCode, reason: string): void {
    this.opts.onReject(row, code, reason);
    this.stats.rejected[row.table]++;
    row.ticket.file.done(row.ticket);
  }

  /** A row of a batch as a StreamRow again, for its reject record. */
  private unpack(b: Batch, r: Queued): StreamRow {
    const insertId = b.body.toString('latin1', r.start + ELEMENT_HEAD, r.json - ELEMENT_MID);
    return { table: b.table, insertId, json: b.body.toString('utf8', r.json, r.end - 1), bytes: r.end - r.start + 1, ticket: r.ticket, file: r.file, line: r.line };
  }

  /** Sends rows until each is stored or rejected; throws StreamFailure when that cannot be. */
  private async deliver(b: Batch, rows: Queued[]): Promise<void> {
    const table = b.table;
    let todo = rows;
    let attempt = 0;
    while (todo.length) {
      // A run that already failed does not keep sending: what is not acknowledged is resent on rerun.
      if (this.failure) return;
      let resp: { insertErrors?: InsertError[] };
      try {
        this.stats.requests++;
        resp = await withTimeout(this.insertAll(table, bodyOf(b, todo)), this.opts.timeoutMs);
      } catch (e) {
        const kind = classify(e);
        if (kind === 'too_large' && todo.length > 1) {
          // Our byte estimate and BigQuery's limit disagree: halve the batch.
          this.stats.splits++;
          const half = Math.ceil(todo.length / 2);
          await this.deliver(b, todo.slice(0, half));
          await this.deliver(b, todo.slice(half));
          return;
        }
        if (kind === 'too_large') {
          this.reject(this.unpack(b, todo[0]!), 'row_too_large', `BigQuery refused a request with only this row: ${describeError(e)}; load it with --method load`);
          this.opts.onAcknowledged();
          return;
        }
        if (kind === 'transient' && attempt < this.opts.retry.maxRetries) {
          attempt++;
          this.stats.retries++;
          await sleep(backoffMs(attempt, this.opts.retry), this.opts.signal);
          continue;
        }
        const what = `insertAll into ${table}`;
        if (kind === 'not_found') throw new StreamFailure(`${what}: ${describeError(e)} (run "jam-etl schema create" first)`, 'not_found');
        if (kind === 'auth') throw new StreamFailure(`${what}: ${describeError(e)}`, 'auth');
        if (kind === 'transient') throw new StreamFailure(`${what} still failing after ${attempt + 1} attempts: ${describeError(e)}`, 'exhausted');
        throw new StreamFailure(`${what}: ${describeError(e)}`, 'fatal');
      }
      const errs = resp.insertErrors ?? [];
      const failed = new Map<number, InsertError>();
      for (const ie of errs) if (typeof ie.index === 'number' && ie.index >= 0 && ie.index < todo.length) failed.set(ie.index, ie);
      const again: Queued[] = [];
      let refused = 0;
      for (let i = 0; i < todo.length; i++) {
        const row = todo[i]!;
        const ie = failed.get(i);
        if (!ie) {
          this.stats.stored[table]++;
          row.ticket.file.done(row.ticket);
          continue;
        }
        const real = (ie.errors ?? []).filter((x) => x.reason !== 'stopped');
        if (!real.length) {
          // Not stored only because another row of the request was invalid: send it again.
          again.push(row);
          continue;
        }
        refused++;
        this.reject(this.unpack(b, row), 'destination', `BigQuery refused the row: ${real.map((x) => `${x.reason ?? 'error'}${x.location ? ` at ${x.location}` : ''}: ${x.message ?? ''}`).join('; ')}`);
      }
      this.opts.onAcknowledged();
      this.stats.resent += again.length;
      if (again.length && !refused) {
        // Every row `stopped` and none invalid: not a state BigQuery should answer; back off
        // as for a transient failure rather than spin.
        if (attempt >= this.opts.retry.maxRetries) throw new StreamFailure(`insertAll into ${table}: BigQuery keeps answering "stopped" without naming an invalid row`, 'exhausted');
        attempt++;
        this.stats.retries++;
        await sleep(backoffMs(attempt, this.opts.retry), this.opts.signal);
      }
      todo = again;
    }
  }
}
