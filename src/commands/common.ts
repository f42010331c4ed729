// What every command's commander wiring shares: exit codes, output, the run flags that the
// converting commands (dune, bigquery) have in common, and the end-of-run report.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { formatSummary, type RunSummary } from '../pipeline/summary.js';

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
