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
import { LineConverter, newCounters, processChunk } from '../../telemetry/convert.js';
import { listLogFiles } from '../../input/list.js';
import { startProgress, summarise, type RunSummary } from '../../pipeline/summary.js';
import { isTableName, TABLE_NAMES, type TableName } from '../../tables/schema.js';
import { JsonlSink } from '../jsonl/jsonl.js';
import { loadTeams } from '../../telemetry/teams.js';
import { apiFailure, connect, statusOf } from './connect.js';
import { fileIdentity } from './identity.js';
import { backoffMs, classify, sleep } from './retry.js';
import { checkDestination, defaultRejectsPath, readFrom, RejectsLog, RunIncompleteError, type BigQueryRunOptions } from './run-common.js';
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

async function waitForJob(job: Job, signal: AbortSignal | undefined): Promise<JobMetadata> {
  for (let i = 0; ; i++) {
    let meta: JobMetadata;
    try {
      [meta] = await job.getMetadata();
    } catch (e) {
      if (classify(e) === 'transient' && i < 20) {
        await sleep(backoffMs(Math.min(i + 1, 6), { maxRetries: 0, baseMs: 500, maxMs: 10_000 }), signal);
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
        await sleep(backoffMs(attempt + 1, opts.retry), opts.signal);
      } else if (statusOf(e) === 404) {
        throw new ConfigError(`load into ${dataset}.${table}: ${describeError(e)} (run "jam-etl schema create" first)`);
      } else {
        throw apiFailure(`load job ${jobId} into ${dataset}.${table}`, e);
      }
    }
  }
  const meta = await waitForJob(job, opts.signal);
  const errorResult = meta.status?.errorResult;
  if (errorResult) {
    const errors = (meta.status?.errors ?? [errorResult]).map((x) => `${x.reason ?? 'error'}: ${x.message ?? ''}`);
    return { table, job_id: jobId, state: 'failed', existed, output_rows: null, errors };
  }
  const out = meta.statistics?.load?.outputRows;
  return { table, job_id: jobId, state: 'done', existed, output_rows: out === undefined || out === null ? null : Number(out), errors: [] };
}

export async function loadToBigQuery(opts: BigQueryRunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const teams = loadTeams(opts.teams);
  const files = await listLogFiles(opts.paths);
  const { bq, projectId } = await connect({ location: opts.location, ...(opts.project ? { project: opts.project } : {}), ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint } : {}) });
  await checkDestination(bq, projectId, opts.dataset);
  const destination = `${projectId}.${opts.dataset}`;
  const state = StateStore.open(opts.statePath, destination);
  const rejectsPath = opts.rejects ?? defaultRejectsPath(opts.statePath);
  const rejects = new RejectsLog(rejectsPath);
  const tmp = mkdtempSync(join(tmpdir(), 'jam-etl-load-'));
  const counters = newCounters();
  const outcomes: JobOutcome[] = [];
  let pending = state.pendingLoad;
  const resumedLoad = !!pending;
  try {
    // Which byte ranges this load covers: those of a load that was submitted and not finished,
    // else what is new in every input since its resume position.
    const byId = new Map<string, string>();
    for (const f of files) {
      const id = await fileIdentity(f.path, true);
      if (id && !byId.has(id)) byId.set(id, f.path);
    }
    let ranges: LoadRange[];
    if (pending) {
      ranges = pending.ranges.map((r) => {
        const path = byId.get(r.id) ?? (existsSync(r.path) ? r.path : undefined);
        if (!path) throw new ConfigError(`an unfinished load (${opts.statePath}) covers ${r.path}, which is not found; pass it again`);
        return { ...r, path };
      });
      opts.note?.(`finishing the load started ${pending.created} (${ranges.length} file range(s))`);
    } else {
      ranges = [];
      for (const [id, path] of byId) {
        const start = state.position(id) ?? { offset: 0, line: 1 };
        ranges.push({ id, path, start, end: start });
      }
    }
    const sink = new JsonlSink(tmp, join(tmp, '_rejects.jsonl'));
    const conv = new LineConverter(teams);
    const progress = startProgress('bigquery load', files.reduce((a, f) => a + f.size, 0), opts.progress);
    try {
      for (const r of ranges) {
        const visitor = {
          accept(_ref: unknown, tables: readonly TableName[], rows: readonly unknown[]) {
            for (let i = 0; i < rows.length; i++) sink.write(tables[i]!, JSON.stringify(rows[i]) + '\n');
          },
          reject: (rec: Parameters<RejectsLog['write']>[0]) => {
            // A resumed load re-reads lines whose rejects were written the first time.
            if (!resumedLoad) rejects.write(rec);
          },
        };
        let end = r.start;
        for await (const { chunk, next } of readFrom(r.path, r.start, { maxLineBytes: opts.maxLineBytes, holdPartial: false, ...(pending ? { end: r.end.offset } : {}) })) {
          processChunk(chunk, conv, visitor, counters);
          await sink.ready();
          end = next;
          progress.tick(chunk.overlong ? chunk.overlong.bytes : chunk.data.length, 0);
        }
        if (!pending) r.end = end;
        else if (end.offset !== r.end.offset) {
          throw new ConfigError(`${r.path} no longer holds the bytes ${r.start.offset}-${r.end.offset} of the unfinished load recorded in ${opts.statePath}`);
        }
      }
    } finally {
      progress.stop();
    }
    const written = (await sink.commit()).tables;
    const fileOf = new Map(written.map((w) => [w.table, w.path]));
    ranges = ranges.filter((r) => r.end.offset > r.start.offset);

    if (!pending) {
      pending = { created: new Date().toISOString(), ranges, tables: {} };
      for (const t of TABLE_NAMES) if (fileOf.has(t)) pending.tables[t] = { jobId: loadJobId(projectId, opts.dataset, t, ranges, 0), attempt: 0, state: 'pending' };
    } else {
      for (const [t, j] of Object.entries(pending.tables)) {
        // A failed job id cannot be used again; the next attempt gets its own.
        if (j.state === 'failed' && isTableName(t)) pending.tables[t] = { jobId: loadJobId(projectId, opts.dataset, t, ranges, j.attempt + 1), attempt: j.attempt + 1, state: 'pending' };
      }
    }
    const p: PendingLoad = pending;
    if (Object.keys(p.tables).length) {
      // Recorded before the first job is submitted: from here on a rerun repeats these jobs.
      state.setPendingLoad(p);
      state.save();
      const limit = pLimit(opts.concurrency);
      await Promise.all(
        Object.entries(p.tables).map(([t, j]) =>
          limit(async () => {
            if (j.state === 'done' || !isTableName(t)) return;
            const file = fileOf.get(t);
            if (!file) throw new ConfigError(`the unfinished load of ${t} has no rows any more; the input changed since (state ${opts.statePath})`);
            const o = await runJob(bq, opts.dataset, t, file, j.jobId, opts.location, opts);
            outcomes.push(o);
            j.state = o.state;
            state.setPendingLoad(p);
            state.save();
          }),
        ),
      );
    }
    const failed = Object.entries(p.tables).filter(([, j]) => j.state !== 'done');
    if (failed.length) {
      const why = outcomes.filter((o) => o.state === 'failed').map((o) => `${o.table} (job ${o.job_id}): ${o.errors.slice(0, 3).join('; ')}`);
      throw new RunIncompleteError(`load job(s) failed: ${why.join(' | ')}; the other tables are loaded, a rerun retries only these`);
    }
    for (const r of p.ranges) state.setPosition(r.id, r.path, r.end);
    state.setPendingLoad(undefined);
    state.save();
  } finally {
    try {
      state.save();
    } finally {
      state.close();
      rejects.close();
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const loaded: Record<string, number> = {};
  for (const o of outcomes) loaded[o.table] = o.output_rows ?? 0;
  return summarise('bigquery', files.length, counters, (performance.now() - t0) / 1000, {
    method: 'load',
    destination,
    resumed_unfinished_load: resumedLoad,
    jobs: outcomes.sort((a, b) => TABLE_NAMES.indexOf(a.table) - TABLE_NAMES.indexOf(b.table)),
    rows_loaded: loaded,
    state: opts.statePath,
    rejects_file: rejects.count ? rejectsPath : null,
  });
}
