// `jam-etl bigquery` with --method stream: read the files from their resume positions, convert,
// stream rows with insertAll, move each file's position as rows are acknowledged, and with
// --follow keep polling for appended lines and new files until asked to stop.
import { ConfigError } from '../../errors.js';
import { LineConverter, newCounters, processChunk, type LineVisitor } from '../../telemetry/convert.js';
import { listLogFiles, type InputFile } from '../../input/list.js';
import { startProgress, summarise, type RunSummary } from '../../pipeline/summary.js';
import { TABLE_NAMES, type TableName } from '../../tables/schema.js';
import { BigQueryStreamSink, rowBytes, type InsertAll, type InsertError } from './sink.js';
import { loadTeams } from '../../telemetry/teams.js';
import { connect } from './connect.js';
import { fileIdentity, insertIdOf } from './identity.js';
import { sleep } from './retry.js';
import { checkDestination, defaultRejectsPath, FLUSH_BYTES, readFrom, RejectsLog, RunIncompleteError, type BigQueryRunOptions } from './run-common.js';
import { StateStore } from './state.js';
import { FileTracker } from './tracker.js';

export async function streamToBigQuery(opts: BigQueryRunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const note = opts.note ?? (() => {});
  const teams = loadTeams(opts.teams);
  let files = await listLogFiles(opts.paths, { allowEmpty: opts.follow });
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

  const destination = `${projectId}.${opts.dataset}`;
  const state = StateStore.open(opts.statePath, destination);
  const rejectsPath = opts.rejects ?? defaultRejectsPath(opts.statePath);
  const rejects = new RejectsLog(rejectsPath);
  const teardown = new AbortController();
  const sink = new BigQueryStreamSink(insertAll, {
    batchRows: opts.batchRows,
    batchBytes: opts.batchBytes,
    concurrency: opts.concurrency,
    retry: opts.retry,
    timeoutMs: opts.timeoutMs,
    signal: teardown.signal,
    onReject: (row, code, reason) => rejects.write({ file: row.file, line: row.line, code, reason, table: row.table, raw: row.json }),
    onAcknowledged: () => state.save(),
  });
  const counters = newCounters();
  const conv = new LineConverter(teams);
  const trackers = new Map<string, FileTracker>();
  const identities = new Map<string, string>();
  const onAdvance = (ft: FileTracker): void => state.setPosition(ft.id, ft.path, ft.acked);
  let resumed = 0;
  let upToDate = 0;
  const stopping = (): boolean => !!opts.signal?.aborted || !!sink.failure;

  const visitorFor = (ft: FileTracker): LineVisitor => ({
    accept(ref, tbls, rows) {
      const ticket = ft.lineTicket(ref.end, ref.line + 1, rows.length);
      for (let i = 0; i < rows.length; i++) {
        const table = tbls[i] as TableName;
        const json = JSON.stringify(rows[i]);
        const insertId = insertIdOf(ft.id, ref.line, i);
        sink.add({ table, insertId, json, bytes: rowBytes(insertId, json), ticket, file: ref.file, line: ref.line });
      }
    },
    reject(rec) {
      rejects.write(rec);
    },
  });

  const sinceFlush = { lines: 0, bytes: 0 };
  const totalBytes = files.reduce((a, f) => a + f.size, 0);
  const progress = startProgress('bigquery', totalBytes, opts.progress);

  /** Reads what is new in one file. */
  async function pump(file: InputFile): Promise<void> {
    let id = identities.get(file.path);
    if (!id) {
      id = await fileIdentity(file.path, !opts.follow);
      if (!id) return; // nothing complete in it yet
      identities.set(file.path, id);
    }
    let ft = trackers.get(id);
    if (!ft) {
      const start = state.position(id) ?? { offset: 0, line: 1 };
      ft = new FileTracker(id, file.path, start, onAdvance);
      trackers.set(id, ft);
      if (start.offset > 0) {
        if (start.offset >= file.size) upToDate++;
        else resumed++;
        progress.tick(Math.min(start.offset, file.size), 0);
      }
    } else if (ft.path !== file.path) {
      return; // the same file reached by a second path
    }
    if (file.size < ft.read.offset) {
      note(`${file.path} is shorter (${file.size} bytes) than the position already sent (${ft.read.offset}); left alone`);
      return;
    }
    if (file.size === ft.read.offset) return;
    const visitor = visitorFor(ft);
    for await (const { chunk, next } of readFrom(file.path, ft.read, { maxLineBytes: opts.maxLineBytes, holdPartial: opts.follow })) {
      let rowsBefore = 0;
      for (const t of TABLE_NAMES) rowsBefore += counters.rows[t];
      processChunk(chunk, conv, visitor, counters);
      ft.markRead(next);
      let rowsAfter = 0;
      for (const t of TABLE_NAMES) rowsAfter += counters.rows[t];
      const bytes = chunk.overlong ? chunk.overlong.bytes : chunk.data.length;
      progress.tick(bytes, rowsAfter - rowsBefore);
      sinceFlush.lines += chunk.lines;
      sinceFlush.bytes += bytes;
      if (sinceFlush.lines >= opts.flushLines || sinceFlush.bytes >= FLUSH_BYTES) {
        sink.flush();
        sinceFlush.lines = 0;
        sinceFlush.bytes = 0;
      }
      await sink.waitForRoom();
      if (stopping()) return;
    }
  }

  let interrupted = false;
  let polls = 0;
  try {
    for (;;) {
      polls++;
      for (const f of files) {
        if (stopping()) break;
        await pump(f);
      }
      sink.flush();
      state.save();
      if (!opts.follow || stopping()) break;
      if (opts.signal) await sleep(opts.pollMs, opts.signal);
      else await sleep(opts.pollMs);
      if (stopping()) break;
      files = await listLogFiles(opts.paths, { allowEmpty: opts.follow });
    }
    interrupted = !!opts.signal?.aborted;
    sink.flush();
    await sink.drain();
  } catch (e) {
    // Stop sending, let what is in flight settle, keep what was acknowledged.
    teardown.abort();
    await sink.drain();
    throw e;
  } finally {
    progress.stop();
    try {
      state.save();
    } finally {
      state.close();
      rejects.close();
    }
  }

  const f = sink.failure;
  if (f) {
    const msg = `${f.message}; what BigQuery acknowledged is recorded in ${opts.statePath}, rerun to continue`;
    if (f.kind === 'not_found' || f.kind === 'auth') throw new ConfigError(msg);
    throw new RunIncompleteError(msg);
  }
  const stored: Record<string, number> = {};
  const refused: Record<string, number> = {};
  let refusedTotal = 0;
  for (const t of TABLE_NAMES) {
    stored[t] = sink.stats.stored[t];
    refused[t] = sink.stats.rejected[t];
    refusedTotal += sink.stats.rejected[t];
  }
  const unsettled = [...trackers.values()].filter((t) => !t.settled).length;
  return summarise('bigquery', trackers.size, counters, (performance.now() - t0) / 1000, {
    method: 'stream',
    destination,
    rows_stored: stored,
    rows_refused: refused,
    rows_refused_total: refusedTotal,
    insert_requests: sink.stats.requests,
    retries: sink.stats.retries,
    rows_resent_after_stopped: sink.stats.resent,
    files_resumed: resumed,
    files_already_done: upToDate,
    files_unsettled: unsettled,
    polls,
    interrupted,
    state: opts.statePath,
    rejects_file: rejects.count ? rejectsPath : null,
  });
}
