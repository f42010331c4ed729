// `jam-etl bigquery` with --method stream, as a Sink: each batch's rows go out in insertAll
// requests (src/sinks/bigquery/sink.ts) with deterministic insertIds (file identity, line, index
// in the line); a file's resume position moves past a line once every row of it and of the lines
// before is acknowledged (src/sinks/bigquery/tracker.ts), and the state file records it. Rejects
// are exactly once: a line's rejects (its own, or BigQuery's refusal of a row) are appended only
// when the position moves past the line, and the state records the rejects file's length with
// the positions (run-common.ts RejectsLog), so a rerun after a crash cuts what came after.
import { ConfigError } from '../../errors.js';
import type { RejectRecord } from '../../pipeline/rejects.js';
import { TABLE_NAMES, type TableName } from '../../tables/schema.js';
import type { ResumePositions, Sink, SinkBatch, SinkResult } from '../sink.js';
import { BigQueryStreamSink, rowBytes, type InsertAll, type InsertError } from './sink.js';
import { connect } from './connect.js';
import { insertIdOf } from './identity.js';
import { checkDestination, defaultRejectsPath, FLUSH_BYTES, RejectsLog, RunIncompleteError, type BigQueryRunOptions } from './run-common.js';
import { StateStore } from './state.js';
import { FileTracker, type Ticket } from './tracker.js';

/** A reject waiting for its file's position to move past its line. */
interface HeldReject {
  line: number;
  data: string;
}

function joined(data: string | Uint8Array | Uint8Array[]): Buffer {
  if (typeof data === 'string') return Buffer.from(data);
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export class BigQueryStreamDestination implements Sink {
  readonly name = 'bigquery-stream';
  readonly resumable = true;
  readonly rowRefs = true;
  private state: StateStore | undefined;
  private rejects: RejectsLog;
  private streamer: BigQueryStreamSink | undefined;
  private readonly teardown = new AbortController();
  private readonly trackers = new Map<string, FileTracker>();
  private readonly held = new Map<string, HeldReject[]>();
  private destination = '';
  private readonly sinceFlush = { lines: 0, bytes: 0 };
  private closed = false;
  rejectsCut = 0;

  constructor(private readonly opts: BigQueryRunOptions) {
    this.rejects = new RejectsLog(opts.rejects ?? defaultRejectsPath(opts.statePath));
  }

  async open(): Promise<ResumePositions> {
    const opts = this.opts;
    const target = { location: opts.location, ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint } : {}) };
    const { bq, projectId } = await connect({ ...target, ...(opts.project ? { project: opts.project } : {}) });
    await checkDestination(bq, projectId, opts.dataset);
    // insertAll goes through a client that never retries by itself: the sink owns retries, so
    // that they are bounded, jittered, and every request is counted.
    const { bq: sender } = await connect({ ...target, project: projectId, autoRetry: false });
    const dataset = sender.dataset(opts.dataset);
    const tables = new Map(TABLE_NAMES.map((t) => [t, dataset.table(t)]));
    const insertAll: InsertAll = async (table, body) => {
      const [resp] = await tables.get(table)!.request({ method: 'POST', uri: '/insertAll', body, headers: { 'Content-Type': 'application/json' } });
      return resp as { insertErrors?: InsertError[] };
    };
    this.destination = `${projectId}.${opts.dataset}`;
    const state = (this.state = StateStore.open(opts.statePath, this.destination));
    try {
      this.rejectsCut = this.rejects.open(state.rejectsMark);
      if (this.rejectsCut) opts.note?.(`cut ${this.rejectsCut} bytes of rejects a stopped run wrote after its last saved state from ${this.rejects.path}; their lines are read again`);
      state.setRejectsMark(this.rejects.mark);
      state.save();
    } catch (e) {
      state.close();
      throw e;
    }
    this.streamer = new BigQueryStreamSink(insertAll, {
      batchRows: opts.batchRows,
      batchBytes: opts.batchBytes,
      concurrency: opts.concurrency,
      retry: opts.retry,
      timeoutMs: opts.timeoutMs,
      signal: this.teardown.signal,
      onReject: (row, code, reason) => {
        const rec: RejectRecord = { file: row.file, line: row.line, code, reason, table: row.table, raw: typeof row.json === 'string' ? row.json : Buffer.from(row.json).toString('utf8') };
        this.hold(row.ticket.file.id, row.line, JSON.stringify(rec) + '\n');
      },
      onAcknowledged: () => this.save(),
    });
    const positions: ResumePositions = state.positions();
    if (state.watermark) positions.watermark = state.watermark;
    return positions;
  }

  private hold(id: string, line: number, data: string): void {
    let h = this.held.get(id);
    if (!h) this.held.set(id, (h = []));
    h.push({ line, data });
  }

  /** The position of a file moved: its rejects before it go to the file, then the position to the state. */
  private advanced(ft: FileTracker): void {
    const h = this.held.get(ft.id);
    if (h?.length) {
      const out: HeldReject[] = [];
      const keep: HeldReject[] = [];
      for (const r of h) (r.line < ft.acked.line ? out : keep).push(r);
      if (out.length) {
        out.sort((a, b) => a.line - b.line);
        this.rejects.writeLines(out.map((r) => r.data).join(''), out.length);
      }
      if (keep.length) this.held.set(ft.id, keep);
      else this.held.delete(ft.id);
    }
    this.state!.setPosition(ft.id, ft.path, ft.acked);
  }

  /** Saves the state; the rejects it counts are synced first. */
  private save(): void {
    this.rejects.sync();
    this.state!.setRejectsMark(this.rejects.mark);
    this.state!.save();
  }

  write(batch: SinkBatch): Promise<void> | undefined {
    const streamer = this.streamer!;
    if (streamer.failure) throw this.failureError();
    let ft = this.trackers.get(batch.fileId);
    if (!ft) {
      ft = new FileTracker(batch.fileId, batch.path, batch.start, (t) => this.advanced(t));
      this.trackers.set(batch.fileId, ft);
    }
    // This batch's rejects wait for the position to pass their lines.
    if (batch.rejects.length) {
      const text = typeof batch.rejects === 'string' ? batch.rejects : Buffer.from(batch.rejects.buffer, batch.rejects.byteOffset, batch.rejects.byteLength).toString('utf8');
      for (const l of text.split('\n')) if (l) this.hold(ft.id, (JSON.parse(l) as RejectRecord).line, l + '\n');
    }
    // One ticket per line with rows (in line order), then the rows.
    const refs = batch.rowRefs ?? [];
    const perLine = new Map<number, { end: number; rows: number }>();
    for (const [, r] of refs) {
      for (let k = 0; k < r.length; k += 3) {
        const e = perLine.get(r[k]!);
        if (e) e.rows++;
        else perLine.set(r[k]!, { end: r[k + 2]!, rows: 1 });
      }
    }
    const tickets = new Map<number, Ticket>();
    for (const line of [...perLine.keys()].sort((a, b) => a - b)) {
      const e = perLine.get(line)!;
      tickets.set(line, ft.lineTicket(e.end, line + 1, e.rows));
    }
    for (let i = 0; i < batch.tables.length; i++) {
      const [table, data] = batch.tables[i]!;
      const r = refs[i]?.[1];
      if (!r || refs[i]![0] !== table) throw new Error(`internal: rows of ${table} came without their lines`);
      const buf = joined(data);
      let s = 0;
      for (let k = 0; k < r.length; k += 3) {
        const nl = buf.indexOf(10, s);
        const json = buf.subarray(s, nl === -1 ? buf.length : nl);
        s = nl + 1;
        const line = r[k]!;
        const insertId = insertIdOf(ft.id, line, r[k + 1]!);
        streamer.add({ table: table as TableName, insertId, json, bytes: rowBytes(insertId, json), ticket: tickets.get(line)!, file: batch.path, line });
      }
    }
    ft.markRead(batch.end);
    this.sinceFlush.lines += batch.counters.lines;
    this.sinceFlush.bytes += batch.end.offset - batch.start.offset;
    if (this.sinceFlush.lines >= this.opts.flushLines || this.sinceFlush.bytes >= FLUSH_BYTES) {
      streamer.flush();
      this.sinceFlush.lines = 0;
      this.sinceFlush.bytes = 0;
    }
    return streamer.waitForRoom().then(() => {
      if (streamer.failure) throw this.failureError();
    });
  }

  private failureError(): Error {
    const f = this.streamer!.failure!;
    const msg = `${f.message}; what BigQuery acknowledged is recorded in ${this.opts.statePath}, rerun to continue`;
    if (f.kind === 'not_found' || f.kind === 'auth') return new ConfigError(msg);
    return new RunIncompleteError(msg);
  }

  async checkpoint(): Promise<void> {
    const streamer = this.streamer!;
    streamer.flush();
    await streamer.drain();
    this.save();
    if (streamer.failure) throw this.failureError();
  }

  collapse(watermark: string, ids: readonly string[]): void {
    const state = this.state!;
    for (const id of ids) {
      const ft = this.trackers.get(id);
      if (ft && !ft.settled) continue; // not possible right after a checkpoint; kept to be safe
      this.trackers.delete(id);
      state.deletePosition(id);
    }
    state.setWatermark(watermark);
    this.save();
  }

  async commit(): Promise<SinkResult> {
    const streamer = this.streamer!;
    try {
      streamer.flush();
      await streamer.drain();
    } finally {
      this.close();
    }
    if (streamer.failure) throw this.failureError();
    const stored: Record<string, number> = {};
    const refused: Record<string, number> = {};
    let refusedTotal = 0;
    for (const t of TABLE_NAMES) {
      stored[t] = streamer.stats.stored[t];
      refused[t] = streamer.stats.rejected[t];
      refusedTotal += streamer.stats.rejected[t];
    }
    const unsettled = [...this.trackers.values()].filter((t) => !t.settled).length;
    return {
      tables: TABLE_NAMES.filter((t) => stored[t]! > 0).map((t) => ({ table: t, rows: stored[t]!, location: `${this.destination}.${t}` })),
      rejects: this.rejects.count ? this.rejects.path : undefined,
      extra: {
        method: 'stream',
        destination: this.destination,
        rows_stored: stored,
        rows_refused: refused,
        rows_refused_total: refusedTotal,
        insert_requests: streamer.stats.requests,
        retries: streamer.stats.retries,
        rows_resent_after_stopped: streamer.stats.resent,
        files_unsettled: unsettled,
        state: this.opts.statePath,
        state_entries: this.state!.positions().size,
        rejects_cut_bytes: this.rejectsCut,
        rejects_file: this.rejects.count ? (this.opts.rejects ?? defaultRejectsPath(this.opts.statePath)) : null,
      },
    };
  }

  async abort(): Promise<void> {
    // Stop sending, let what is in flight settle, keep what was acknowledged.
    this.teardown.abort();
    try {
      await this.streamer?.drain();
    } finally {
      this.close();
    }
  }

  private close(): void {
    if (this.closed || !this.state) return;
    this.closed = true;
    try {
      this.save();
    } finally {
      this.state.close();
      this.rejects.close();
    }
  }
}
