// `jam-etl dune [paths...]`: convert .log files into one JSONL file per table (the Dune export).
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Command } from 'commander';
import { runToSink } from '../pipeline/run.js';
import type { RunSummary } from '../pipeline/summary.js';
import { ALIASES, HANDLERS } from '../telemetry/handlers/index.js';
import { addRunOptions, addWorkersOption, EXIT_DATA, runSinkCommand, type CliIO, type RunFlags } from './common.js';
import { addUploadOptions, registerDuneUpload, runUpload, type UploadFlags } from './dune-upload.js';
import { JsonlExportSink } from '../sinks/jsonl/sink.js';
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
  const teams = loadTeams(opts.teams);
  const { summary } = await runToSink(duneSink(opts.out, opts.rejects), {
    command: 'dune',
    paths: opts.paths,
    workers: opts.workers,
    ...(teams ? { teams } : {}),
    ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}),
    ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}),
    progress: opts.progress,
  });
  return summary;
}

/** The dune command's sink: the JSONL export into `out`, rejects next to the tables by default. */
export function duneSink(out: string, rejects?: string): JsonlExportSink {
  return new JsonlExportSink(out, rejects ?? join(out, '_rejects.jsonl'));
}

const MSG_TYPES_HELP = `\nMessage types:\n${HANDLERS.map((h) => `  ${String(h.msgType).padStart(3)}  ${h.description} -> ${h.tables.join(', ')}`).join('\n')}\n${[...ALIASES].map(([a, t]) => `  ${String(a).padStart(3)}  alias of ${t}`).join('\n')}\n`;

/** `jam-etl dune [paths...]`; returns the command so subcommands (upload) can be added. */
export function registerDune(program: Command, io: CliIO): Command {
  const dune = program
    .command('dune')
    .description('convert .log and .jip3 files (or folders of them, recursively) into one JSONL file per table')
    .argument('[paths...]', 'log files or folders', ['./logs'])
    .option('-o, --out <dir>', 'output folder', './dune_exports')
    .addHelpText('after', MSG_TYPES_HELP)
    .enablePositionalOptions();
  addWorkersOption(dune);
  addRunOptions(dune);
  dune.option('--upload', 'after converting, upload the files to Dune (see `jam-etl dune upload --help`)', false);
  addUploadOptions(dune);
  dune.action(async (paths: string[], o: RunFlags & UploadFlags & { out: string; workers: number; upload: boolean }) => {
    if (o.upload && !o.namespace && !o.dryRun) throw new ConfigError('--upload needs --namespace (your Dune user or team handle)');
    const { code, summary } = await runSinkCommand(duneSink(o.out, o.rejects), { command: 'dune', paths, onStop: 'stopping: the run is abandoned and its temporary files removed' }, o, io);
    if (!o.upload || summary.interrupted) return io.setExitCode(code);
    const up = await runUpload(o.out, o, io);
    io.setExitCode(Math.max(code, up === EXIT_DATA ? EXIT_DATA : up));
  });
  registerDuneUpload(dune, io);
  return dune;
}
