// `jam-etl bigquery --method load`: convert what is new in the files (from their resume
// positions) into one NDJSON file per table, then one load job per table with a deterministic
// job id. The byte ranges and job ids are written to the state before any job is submitted, so
// a rerun after a crash submits the very same jobs: BigQuery answers 409 for a job id it has
// seen, and the job's own outcome tells whether its rows are in. No dedup window is involved.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BigQuery, Job, JobMetadata } from '@google-cloud/bigquery';
import pLimit from 'p-limit';
import { ConfigError, describeError } from '../../errors.js';
import type { TeamMap } from '../../telemetry/envelope.js';
import { listLogFiles } from '../../input/list.js';
import { fileIdentity } from '../../input/identity.js';
import { countLines, readChunks } from '../../input/reader.js';
import { ChunkSerializer } from '../../pipeline/serialize.js';
import { isTableName, TABLE_NAMES, type TableName } from '../../tables/schema.js';
import { JsonlSink } from '../jsonl/jsonl.js';
import type { ResumePositions, Sink, SinkBatch, SinkResult } from '../sink.js';
import { apiFailure, connect, statusOf } from './connect.js';
import { backoffMs, classify, sleep } from './retry.js';
import { checkDestination, defaultRejectsPath, RejectsLog, RunIncompleteError, type BigQueryRunOptions } from './run-common.js';
import { StateStore, type LoadRange, type PendingLoad } from './state.js';

/** Deterministic load job id: the destination table, the exact input byte ranges, the attempt. */
export function loadJobId(projectId: string, dataset: string, table: TableName, ranges: readonly LoadRange[], attempt: number): string {
  const h = createHash('sha256')
    .update(JSON.stringify({ v: 1, projectId, dataset, table, attempt, ranges: ranges.map((r) => [r.id, r.start.offset, r.end.offset]) }))
    .digest('hex')
    .slice(0, 32);
  return `jam_etl_${table}_${h}`;
}

interface JobOutcome {
  table: TableName;
  job_id: string;
  state: 'done' | 'failed';
  /** True when BigQuery already had this job (a rerun of a load that was submitted). */
  existed: boolean;
  output_rows: number | null;
  errors: string[];
}

async function waitForJob(job: Job): Promise<JobMetadata> {
  for (let i = 0; ; i++) {
    let meta: JobMetadata;
    try {
      [meta] = await job.getMetadata();
    } catch (e) {
      if (classify(e) === 'transient' && i < 20) {
        await sleep(backoffMs(Math.min(i + 1, 6), { maxRetries: 0, baseMs: 500, maxMs: 10_000 }));
        continue;
      }
      throw apiFailure(`cannot read load job ${job.id}`, e);
    }
    if (meta.status?.state === 'DONE') return meta;
    await sleep(Math.min(5000, 200 * 2 ** Math.min(i, 5)));
  }
}

async function runJob(bq: BigQuery, dataset: string, table: TableName, file: string, jobId: string, location: string, opts: BigQueryRunOptions): Promise<JobOutcome> {
  let job: Job | undefined;
  let existed = false;
  for (let attempt = 0; !job; attempt++) {
    try {
      [job] = await bq.dataset(dataset).table(table).createLoadJob(file, {
        sourceFormat: 'NEWLINE_DELIMITED_JSON',
        jobId,
        createDisposition: 'CREATE_NEVER',
        writeDisposition: 'WRITE_APPEND',
      });
    } catch (e) {
      if (statusOf(e) === 409) {
        // Submitted before (this run's retry, or a run that was killed): its outcome is the answer.
        job = bq.job(jobId, { location });
        existed = true;
      } else if (classify(e) === 'transient' && attempt < opts.retry.maxRetries) {
        // The upload may or may not have created the job; the same job id makes retrying safe.
        await sleep(backoffMs(attempt + 1, opts.retry));
      } else if (statusOf(e) === 404) {
        throw new ConfigError(`load into ${dataset}.${table}: ${describeError(e)} (run "jam-etl schema create" first)`);
      } else {
        throw apiFailure(`load job ${jobId} into ${dataset}.${table}`, e);
      }
    }
  }
  const meta = await waitForJob(job);
  const errorResult = meta.status?.errorResult;
  if (errorResult) {
    const errors = (meta.status?.errors ?? [errorResult]).map((x) => `${x.reason ?? 'error'}: ${x.message ?? ''}`);
    return { table, job_id: jobId, state: 'failed', existed, output_rows: null, errors };
  }
  const out = meta.statistics?.load?.outputRows;
  return { table, job_id: jobId, state: 'done', existed, output_rows: out === undefined || out === null ? null : Number(out), errors: [] };
}

/** Converts the byte ranges of an unfinished load again, inline, into NDJSON files per table. */
async function convertRanges(ranges: LoadRange[], into: JsonlSink, teams: TeamMap | undefined, maxLineBytes: number, statePath: string): Promise<void> {
  const ser = new ChunkSerializer(teams);
  for (const r of ranges) {
    let end = r.start;
    for await (const chunk of readChunks(r.path, { start: r.start, maxLineBytes })) {
      if (chunk.startOffset >= r.end.offset) break;
      const size = chunk.overlong ? chunk.overlong.bytes + (chunk.overlong.terminated ? 1 : 0) : chunk.data.length;
      let c = chunk;
      if (!c.overlong && c.startOffset + size > r.end.offset) {
        const data = c.data.subarray(0, r.end.offset - c.startOffset);
        c = { ...c, data, lines: countLines(data) + (data.length && data[data.length - 1] !== 10 ? 1 : 0) };
      }
      for (const [t, text] of ser.run(c).tables) into.write(t, text);
      await into.ready();
      end = { offset: c.startOffset + (c.overlong ? size : c.data.length), line: c.startLine + c.lines };
      if (end.offset >= r.end.offset) break;
    }
    if (end.offset !== r.end.offset) {
      throw new ConfigError(`${r.path} no longer holds the bytes ${r.start.offset}-${r.end.offset} of the unfinished load recorded in ${statePath}`);
    }
  }
}

export interface LoadOptions extends BigQueryRunOptions {
  teams?: TeamMap;
  maxLineBytes: number;
  /** The input, to find the files of an unfinished load by identity. */
  paths: readonly string[];
}

/**
 * `--method load` as a Sink. open() first finishes a load a killed or failed run left (the same
 * byte ranges converted again, the same job ids), so the positions it returns are past it; then
 * the batches of what is new go into NDJSON files per table, and commit() records the ranges and
 * job ids in the state before it submits one job per table, and moves the positions once every
 * job is done.
 */
export class BigQueryLoadDestination implements Sink {
  readonly name = 'bigquery-load';
  readonly resumable = false;
  private state: StateStore | undefined;
  private readonly rejects: RejectsLog;
  private bq: BigQuery | undefined;
  private projectId = '';
  private tmp: string | undefined;
  private files: JsonlSink | undefined;
  private readonly ranges = new Map<string, LoadRange>();
  private readonly outcomes: JobOutcome[] = [];
  private resumedLoad = false;
  private closed = false;

  constructor(private readonly opts: LoadOptions) {
    this.rejects = new RejectsLog(opts.rejects ?? defaultRejectsPath(opts.statePath));
  }

  private get destination(): string {
    return `${this.projectId}.${this.opts.dataset}`;
  }

  async open(): Promise<ResumePositions> {
    const opts = this.opts;
    const { bq, projectId } = await connect({ location: opts.location, ...(opts.project ? { project: opts.project } : {}), ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint } : {}) });
    this.bq = bq;
    this.projectId = projectId;
    await checkDestination(bq, projectId, opts.dataset);
    const state = (this.state = StateStore.open(opts.statePath, this.destination));
    try {
      this.rejects.open(state.rejectsMark);
      state.setRejectsMark(this.rejects.mark);
      state.save();
      this.tmp = mkdtempSync(join(tmpdir(), 'jam-etl-load-'));
      const pending = state.pendingLoad;
      if (pending) {
        this.resumedLoad = true;
        await this.finishPending(pending);
      }
      this.files = new JsonlSink(join(this.tmp, 'new'), join(this.tmp, 'new', '_rejects.jsonl'));
    } catch (e) {
      this.close();
      throw e;
    }
    const positions: ResumePositions = state.positions();
    if (state.watermark) positions.watermark = state.watermark;
    return positions;
  }

  private async finishPending(pending: PendingLoad): Promise<void> {
    const opts = this.opts;
    const byId = new Map<string, string>();
    for (const f of await listLogFiles(opts.paths)) {
      const id = await fileIdentity(f.path, true);
      if (id && !byId.has(id)) byId.set(id, f.path);
    }
    const ranges = pending.ranges.map((r) => {
      const path = byId.get(r.id) ?? (existsSync(r.path) ? r.path : undefined);
      if (!path) throw new ConfigError(`an unfinished load (${opts.statePath}) covers ${r.path}, which is not found; pass it again`);
      return { ...r, path };
    });
    opts.note?.(`finishing the load started ${pending.created} (${ranges.length} file range(s))`);
    const into = new JsonlSink(join(this.tmp!, 'pending'), join(this.tmp!, 'pending', '_rejects.jsonl'));
    await convertRanges(ranges, into, opts.teams, opts.maxLineBytes, opts.statePath);
    const written = (await into.commit()).tables;
    for (const [t, j] of Object.entries(pending.tables)) {
      // A failed job id cannot be used again; the next attempt gets its own.
      if (j.state === 'failed' && isTableName(t)) pending.tables[t] = { jobId: loadJobId(this.projectId, opts.dataset, t, ranges, j.attempt + 1), attempt: j.attempt + 1, state: 'pending' };
    }
    await this.runJobs(pending, new Map(written.map((w) => [w.table, w.path])));
  }

  /** Records the load, submits its jobs, and moves the positions once every job is done. */
  private async runJobs(p: PendingLoad, fileOf: Map<TableName, string>): Promise<void> {
    const state = this.state!;
    const opts = this.opts;
    if (Object.keys(p.tables).length) {
      // Recorded before the first job is submitted: from here on a rerun repeats these jobs.
      this.rejects.sync();
      state.setRejectsMark(this.rejects.mark);
      state.setPendingLoad(p);
      state.save();
      const limit = pLimit(opts.concurrency);
      await Promise.all(
        Object.entries(p.tables).map(([t, j]) =>
          limit(async () => {
            if (j.state === 'done' || !isTableName(t)) return;
            const file = fileOf.get(t);
            if (!file) throw new ConfigError(`the unfinished load of ${t} has no rows any more; the input changed since (state ${opts.statePath})`);
            const o = await runJob(this.bq!, opts.dataset, t, file, j.jobId, opts.location, opts);
            this.outcomes.push(o);
            j.state = o.state;
            state.setPendingLoad(p);
            state.save();
          }),
        ),
      );
    }
    const failed = Object.entries(p.tables).filter(([, j]) => j.state !== 'done');
    if (failed.length) {
      const why = this.outcomes.filter((o) => o.state === 'failed').map((o) => `${o.table} (job ${o.job_id}): ${o.errors.slice(0, 3).join('; ')}`);
      throw new RunIncompleteError(`load job(s) failed: ${why.join(' | ')}; the other tables are loaded, a rerun retries only these`);
    }
    for (const r of p.ranges) state.setPosition(r.id, r.path, r.end);
    state.setPendingLoad(undefined);
    this.rejects.sync();
    state.setRejectsMark(this.rejects.mark);
    state.save();
  }

  write(batch: SinkBatch): Promise<void> | undefined {
    const r = this.ranges.get(batch.fileId);
    if (r) r.end = batch.end;
    else this.ranges.set(batch.fileId, { id: batch.fileId, path: batch.path, start: batch.start, end: batch.end });
    for (const [t, text] of batch.tables) this.files!.write(t, text);
    if (batch.rejects.length) {
      let n = 0;
      const b = typeof batch.rejects === 'string' ? Buffer.from(batch.rejects) : batch.rejects;
      for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
      this.rejects.writeLines(b, n);
    }
    return this.files!.ready();
  }

  async commit(): Promise<SinkResult> {
    const opts = this.opts;
    try {
      const written = (await this.files!.commit()).tables;
      const fileOf = new Map(written.map((w) => [w.table, w.path]));
      const ranges = [...this.ranges.values()].filter((r) => r.end.offset > r.start.offset);
      const p: PendingLoad = { created: new Date().toISOString(), ranges, tables: {} };
      for (const t of TABLE_NAMES) if (fileOf.has(t)) p.tables[t] = { jobId: loadJobId(this.projectId, opts.dataset, t, ranges, 0), attempt: 0, state: 'pending' };
      if (Object.keys(p.tables).length) await this.runJobs(p, fileOf);
      else {
        // Only blank lines and rejects: nothing to load, the positions move on.
        for (const r of ranges) this.state!.setPosition(r.id, r.path, r.end);
      }
    } finally {
      this.close();
    }
    const loaded: Record<string, number> = {};
    for (const o of this.outcomes) loaded[o.table] = o.output_rows ?? 0;
    return {
      tables: this.outcomes.map((o) => ({ table: o.table, rows: o.output_rows ?? 0, location: `${this.destination}.${o.table}` })),
      rejects: this.rejects.count ? this.rejects.path : undefined,
      extra: {
        method: 'load',
        destination: this.destination,
        resumed_unfinished_load: this.resumedLoad,
        jobs: this.outcomes.sort((a, b) => TABLE_NAMES.indexOf(a.table) - TABLE_NAMES.indexOf(b.table)),
        rows_loaded: loaded,
        state: opts.statePath,
        rejects_file: this.rejects.count ? (opts.rejects ?? defaultRejectsPath(opts.statePath)) : null,
      },
    };
  }

  async abort(): Promise<void> {
    await this.files?.abort();
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.state) {
        this.rejects.sync();
        this.state.save();
      }
    } finally {
      this.state?.close();
      this.rejects.close();
      if (this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    }
  }
}
