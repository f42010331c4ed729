// What every command's commander wiring shares: exit codes, output, the run flags that the
// converting commands (dune, bigquery) have in common, and the end-of-run report.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatSummary, type RunSummary } from '../pipeline/summary.js';
import { defaultWorkers } from '../pipeline/pipeline.js';
import { runToSink } from '../pipeline/run.js';
import type { Sink, SinkResult } from '../sinks/sink.js';
import { loadTeams } from '../telemetry/teams.js';

export const EXIT_OK = 0;
export const EXIT_DATA = 1;
export const EXIT_USAGE = 2;

/** Where commands print; tests pass their own. */
export interface CliIO {
  stdout(s: string): void;
  stderr(s: string): void;
  /** Sets the process exit code the command ends with. */
  setExitCode(code: number): void;
}

export function intArg(name: string, min: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return Number(v);
  };
}

export interface RunFlags {
  rejects?: string;
  teams?: string;
  strict: boolean;
  json: boolean;
  quiet: boolean;
  maxLineBytes: number;
}

/** A path flag: an empty value is an error, not "the default". */
export function pathArg(name: string) {
  return (v: string): string => {
    if (v.trim() === '') throw new InvalidArgumentError(`${name} must name a file (leave the flag out for the default)`);
    return v;
  };
}

/** Options every converting command shares; `rejectsDefault` says where rejects go without --rejects. */
export function addRunOptions(cmd: Command, rejectsDefault = '<out>/_rejects.jsonl'): Command {
  return cmd
    .addOption(new Option('--rejects <file>', `where reject records go (JSONL) (default: ${rejectsDefault})`).argParser(pathArg('--rejects')))
    .option('--teams <file>', 'JSON map sender_id -> team name, for producers that do not name their team')
    .option('--strict', 'exit 1 when any line was rejected', false)
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('-q, --quiet', 'no progress bar and no summary on stderr', false)
    .addOption(new Option('--max-line-bytes <n>', 'longest line kept whole; longer lines become rejects').argParser(intArg('--max-line-bytes', 1024)).default(64 << 20));
}

/** Prints the summary (JSON on stdout with --json, a table on stderr unless --quiet); returns the exit code. */
export function report(s: RunSummary, flags: RunFlags, io: CliIO, failed = false): number {
  if (flags.json) io.stdout(JSON.stringify(s, null, 2) + '\n');
  if (!flags.quiet) io.stderr(formatSummary(s) + '\n');
  return failed || (flags.strict && s.rejects > 0) ? EXIT_DATA : EXIT_OK;
}

/** `-w, --workers`, for every converting command. */
export function addWorkersOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('-w, --workers <n>', 'worker threads converting chunks (1 = single thread); capped at the number of cores and at the number of 1 MiB chunks in the input: more cannot help')
      .argParser(intArg('--workers', 1))
      .default(defaultWorkers(), 'number of cores'),
  );
}

export interface FollowFlags {
  follow: boolean;
  pollInterval: number;
}

function seconds(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number of seconds`);
    return n;
  };
}

/** `--follow` and `--poll-interval`, for the commands whose sink resumes (bigquery, duckdb). */
export function addFollowOptions(cmd: Command): Command {
  return cmd
    .option('--follow', 'keep running: pick up appended lines and new files until SIGINT/SIGTERM', false)
    .addOption(new Option('--poll-interval <seconds>', 'with --follow, how often to look for new lines').argParser(seconds('--poll-interval')).default(2));
}

export interface SinkRunFlags extends RunFlags {
  workers: number;
  follow?: boolean;
  pollInterval?: number;
}

export interface SinkCommand {
  /** The summary's `command`. */
  command: string;
  paths: string[];
  /** What the command does on a first SIGINT/SIGTERM, for the note on stderr. */
  onStop: string;
  /** Read size (tests). */
  chunkBytes?: number;
}

/**
 * Runs a sink through the one driver with the flags every converting command shares: a first
 * SIGINT/SIGTERM stops reading and finishes what is in flight (a resumable sink commits, keeping
 * its positions; the JSONL export removes its temporary files), a second gets Node's default.
 * Returns the summary, the sink's result and the exit code (0, 1 data problems / --strict, 130
 * or 143 when stopped by SIGINT or SIGTERM before the end; with --follow a signal is the
 * normal end, 0).
 */
export async function runSinkCommand(sink: Sink, c: SinkCommand, flags: SinkRunFlags, io: CliIO): Promise<{ summary: RunSummary; result: SinkResult; code: number }> {
  const stop = new AbortController();
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    signalled ??= sig;
    if (!flags.quiet) io.stderr(`\njam-etl: ${sig}: ${c.onStop} (again to force)\n`);
    stop.abort();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const teams = loadTeams(flags.teams);
    const r = await runToSink(sink, {
      command: c.command,
      paths: c.paths,
      workers: flags.workers,
      ...(teams ? { teams } : {}),
      maxLineBytes: flags.maxLineBytes,
      ...(c.chunkBytes ? { chunkBytes: c.chunkBytes } : {}),
      ...(flags.follow ? { follow: { pollMs: Math.round((flags.pollInterval ?? 2) * 1000) } } : {}),
      progress: !flags.quiet,
      signal: stop.signal,
      note: (s) => {
        if (!flags.quiet) io.stderr(`jam-etl: ${s}\n`);
      },
    });
    let code = report(r.summary, flags, io, (r.sink.failed ?? 0) > 0);
    if (r.stopped && !flags.follow) {
      code = signalled === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT;
      const s = r.summary;
      const done = `${s.files} file(s), ${s.lines} lines read, ${s.rows_total} rows, ${s.rejects} rejected`;
      io.stderr(`jam-etl: stopped (${signalled ?? 'signal'}): ${done}; ${sink.resumable ? 'what was stored is kept with its positions: rerun to continue' : 'no output written, temporary files removed'}\n`);
    }
    return { summary: r.summary, result: r.sink, code };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;
