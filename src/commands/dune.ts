// `jam-etl dune [paths...]`: convert .log files into one JSONL file per table (the Dune export).
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { type Command, Option } from 'commander';
import { addCounters, newCounters } from '../telemetry/convert.js';
import { runPipeline } from '../pipeline/pipeline.js';
import { listLogFiles } from '../input/list.js';
import { startProgress, summarise, type RunSummary } from '../pipeline/summary.js';
import { ALIASES, HANDLERS } from '../telemetry/handlers/index.js';
import { defaultWorkers } from '../pipeline/pipeline.js';
import { addRunOptions, EXIT_DATA, intArg, report, type CliIO, type RunFlags } from './common.js';
import { addUploadOptions, registerDuneUpload, runUpload, type UploadFlags } from './dune-upload.js';
import { JsonlSink } from '../sinks/jsonl/jsonl.js';
import { loadTeams } from '../telemetry/teams.js';

export interface DuneConvertOptions {
  paths: string[];
  out: string;
  rejects?: string;
  teams?: string;
  workers: number;
  progress: boolean;
  maxLineBytes?: number;
  /** Read size; tests make it tiny to cut lines at every possible place. */
  chunkBytes?: number;
}

export async function convertToDune(opts: DuneConvertOptions): Promise<RunSummary> {
  const t0 = performance.now();
  const teams = loadTeams(opts.teams);
  const files = await listLogFiles(opts.paths);
  const rejectsPath = opts.rejects ?? join(opts.out, '_rejects.jsonl');
  const sink = new JsonlSink(opts.out, rejectsPath);
  const totals = newCounters();
  const progress = startProgress('dune', files.reduce((a, f) => a + f.size, 0), opts.progress);
  let committed;
  try {
    await runPipeline(files, { workers: opts.workers, ...(teams ? { teams } : {}), read: { ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}), ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}) } }, (o, info) => {
      for (const [t, text] of o.tables) sink.write(t, text);
      sink.writeRejects(o.rejects);
      addCounters(totals, o.counters);
      let rows = 0;
      for (const t in o.counters.rows) rows += o.counters.rows[t as keyof typeof o.counters.rows];
      progress.tick(info.bytes, rows);
      return sink.ready();
    });
    committed = await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  } finally {
    progress.stop();
  }
  return summarise('dune', files.length, totals, (performance.now() - t0) / 1000, {
    out: opts.out,
    outputs: committed.tables.map((t) => ({ table: t.table, path: t.path, bytes: t.bytes })),
    rejects_file: committed.rejects ?? null,
    workers: opts.workers,
  });
}

const MSG_TYPES_HELP = `\nMessage types:\n${HANDLERS.map((h) => `  ${String(h.msgType).padStart(3)}  ${h.description} -> ${h.tables.join(', ')}`).join('\n')}\n${[...ALIASES].map(([a, t]) => `  ${String(a).padStart(3)}  alias of ${t}`).join('\n')}\n`;

/** `jam-etl dune [paths...]`; returns the command so subcommands (upload) can be added. */
export function registerDune(program: Command, io: CliIO): Command {
  const dune = program
    .command('dune')
    .description('convert .log files (or folders of them, recursively) into one JSONL file per table')
    .argument('[paths...]', 'log files or folders', ['./logs'])
    .option('-o, --out <dir>', 'output folder', './dune_exports')
    .addOption(new Option('-w, --workers <n>', 'worker threads (1 = single thread)').argParser(intArg('--workers', 1)).default(defaultWorkers(), 'number of cores'))
    .addHelpText('after', MSG_TYPES_HELP)
    .enablePositionalOptions();
  addRunOptions(dune);
  dune.option('--upload', 'after converting, upload the files to Dune (see `jam-etl dune upload --help`)', false);
  addUploadOptions(dune);
  dune.action(async (paths: string[], o: RunFlags & UploadFlags & { out: string; workers: number; upload: boolean }) => {
    if (o.upload && !o.namespace && !o.dryRun) throw new ConfigError('--upload needs --namespace (your Dune user or team handle)');
    const s = await convertToDune({
      paths,
      out: o.out,
      workers: o.workers,
      progress: !o.quiet,
      maxLineBytes: o.maxLineBytes,
      ...(o.rejects ? { rejects: o.rejects } : {}),
      ...(o.teams ? { teams: o.teams } : {}),
    });
    const code = report(s, o, io);
    if (!o.upload) return io.setExitCode(code);
    const up = await runUpload(o.out, o, io);
    io.setExitCode(Math.max(code, up === EXIT_DATA ? EXIT_DATA : up));
  });
  registerDuneUpload(dune, io);
  return dune;
}
