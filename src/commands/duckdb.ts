// `jam-etl duckdb [paths...]`: convert .log files and load the rows into a DuckDB database file,
// exactly once (rows, rejects and resume positions commit together; see src/sinks/duckdb/).
import { type Command, Option } from 'commander';
import { fileIdentity } from '../sinks/bigquery/identity.js';
import { listLogFiles, type InputFile } from '../input/list.js';
import { defaultWorkers, runPipeline, type PipelineOptions } from '../pipeline/pipeline.js';
import { startProgress, summarise, type RunSummary } from '../pipeline/summary.js';
import { addCounters, newCounters, type Counters } from '../telemetry/convert.js';
import { loadTeams } from '../telemetry/teams.js';
import type { FilePosition, Sink } from '../sinks/sink.js';
import { DEFAULT_FLUSH_BYTES, DuckDbSink } from '../sinks/duckdb/sink.js';
import { DEFAULT_DB } from '../sinks/duckdb/warehouse.js';
import { intArg, report, type CliIO } from './common.js';

export interface DuckdbRunOptions {
  paths: string[];
  db: string;
  workers: number;
  teams?: string;
  progress: boolean;
  maxLineBytes?: number;
  flushBytes?: number;
  memoryLimit?: string;
  threads?: number;
}

function rowsOf(c: Counters): number {
  let n = 0;
  for (const t in c.rows) n += c.rows[t as keyof typeof c.rows];
  return n;
}

// A plain loop over runPipeline until the shared driver (src/pipeline/, one for every sink) is
// merged: per file identity, resume from the stored position; copies of a file load once.
async function runIntoSink(files: InputFile[], sink: Sink, popts: PipelineOptions, onChunk: (c: Counters, bytes: number) => void): Promise<number> {
  const stored = await sink.open();
  const fresh: { file: InputFile; id: string }[] = [];
  const resumed: { file: InputFile; id: string; start: FilePosition }[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const id = await fileIdentity(file.path, true);
    if (id === undefined || seen.has(id)) continue; // empty, or a copy of a file already listed
    seen.add(id);
    const start = stored.get(id);
    if (!start) fresh.push({ file, id });
    else if (start.offset < file.size) resumed.push({ file, id, start });
  }
  const run = async (list: { file: InputFile; id: string; start?: FilePosition }[], start?: FilePosition): Promise<void> => {
    const byPath = new Map(list.map((f) => [f.file.path, { id: f.id, pos: { ...(f.start ?? { offset: 0, line: 1 }) } }]));
    await runPipeline(list.map((f) => f.file), { ...popts, read: { ...popts.read, ...(start ? { start } : {}) } }, (o, info) => {
      const f = byPath.get(info.file)!;
      const begin = f.pos;
      const end = { offset: begin.offset + info.bytes, line: begin.line + o.counters.lines };
      f.pos = end;
      onChunk(o.counters, info.bytes);
      return sink.write({ fileId: f.id, path: info.file, start: begin, end, tables: o.tables, rejects: o.rejects, counters: o.counters });
    });
  };
  try {
    if (fresh.length > 0) await run(fresh);
    for (const r of resumed) await run([r], r.start);
  } catch (e) {
    await sink.abort();
    throw e;
  }
  return fresh.length + resumed.length;
}

export async function loadIntoDuckdb(opts: DuckdbRunOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const teams = loadTeams(opts.teams);
  const files = await listLogFiles(opts.paths);
  const sink = new DuckDbSink({
    db: opts.db,
    ...(opts.flushBytes ? { flushBytes: opts.flushBytes } : {}),
    ...(opts.memoryLimit ? { memoryLimit: opts.memoryLimit } : {}),
    ...(opts.threads ? { threads: opts.threads } : {}),
  });
  const totals = newCounters();
  const progress = startProgress('duckdb', files.reduce((a, f) => a + f.size, 0), opts.progress);
  let read: number;
  let result;
  try {
    read = await runIntoSink(files, sink, { workers: opts.workers, ...(teams ? { teams } : {}), read: { ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}) } }, (c, bytes) => {
      addCounters(totals, c);
      progress.tick(bytes, rowsOf(c));
    });
    result = await sink.commit();
  } finally {
    progress.stop();
  }
  return summarise('duckdb', files.length, totals, (performance.now() - t0) / 1000, {
    db: opts.db,
    files_read: read,
    tables_created: sink.plan?.create ?? [],
    columns_added: sink.plan?.add ?? [],
    stored: Object.fromEntries(result.tables.map((t) => [t.table, t.rows])),
    rejects_stored: result.extra?.rejects_stored ?? 0,
    transactions: result.extra?.transactions ?? 0,
    workers: opts.workers,
  });
}

interface DuckdbFlags {
  db: string;
  workers: number;
  teams?: string;
  strict: boolean;
  json: boolean;
  quiet: boolean;
  maxLineBytes: number;
  flushMb: number;
  memoryLimit: string;
  threads?: number;
}

export function registerDuckdb(program: Command, io: CliIO): Command {
  return program
    .command('duckdb')
    .description('convert .log files (or folders of them) and load the rows into a DuckDB database file, exactly once, resuming where it stopped')
    .argument('[paths...]', 'log files or folders', ['./logs'])
    .option('--db <file>', 'the DuckDB database file (created when missing)', DEFAULT_DB)
    .addOption(new Option('-w, --workers <n>', 'worker threads (1 = single thread)').argParser(intArg('--workers', 1)).default(defaultWorkers(), 'number of cores'))
    .option('--teams <file>', 'JSON map sender_id -> team name, for producers that do not name their team')
    .option('--strict', 'exit 1 when any line was rejected', false)
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('-q, --quiet', 'no progress bar and no summary on stderr', false)
    .addOption(new Option('--max-line-bytes <n>', 'longest line kept whole; longer lines become rejects').argParser(intArg('--max-line-bytes', 1024)).default(64 << 20))
    .addOption(new Option('--flush-mb <n>', 'MiB of rows gathered per load transaction').argParser(intArg('--flush-mb', 1)).default(DEFAULT_FLUSH_BYTES >> 20))
    .option('--memory-limit <size>', "DuckDB's memory_limit", '256MB')
    .addOption(new Option('--threads <n>', "DuckDB's threads (default: the number of cores)").argParser(intArg('--threads', 1)))
    .action(async (paths: string[], o: DuckdbFlags) => {
      const s = await loadIntoDuckdb({
        paths,
        db: o.db,
        workers: o.workers,
        progress: !o.quiet,
        maxLineBytes: o.maxLineBytes,
        flushBytes: o.flushMb << 20,
        memoryLimit: o.memoryLimit,
        ...(o.threads ? { threads: o.threads } : {}),
        ...(o.teams ? { teams: o.teams } : {}),
      });
      io.setExitCode(report(s, o, io));
    });
}
