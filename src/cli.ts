// Commander wiring only: parse flags into typed options, call the library, map typed errors to
// exit codes (0 done, 1 data problems with --strict or failed uploads, 2 usage/config/I/O).
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { convertToDune } from './commands/dune.js';
import { ConfigError, describeError, UsageError } from './errors.js';
import { HANDLERS, ALIASES } from './handlers/index.js';
import { defaultWorkers } from './pipeline.js';
import { formatSummary, type RunSummary } from './report.js';

export const EXIT_OK = 0;
export const EXIT_DATA = 1;
export const EXIT_USAGE = 2;

function int(name: string, min: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return Number(v);
  };
}

/** Options every converting command shares. */
function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--rejects <file>', 'where reject records go (JSONL)')
    .option('--teams <file>', 'JSON map sender_id -> team name, for producers that do not name their team')
    .option('--strict', 'exit 1 when any line was rejected', false)
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('-q, --quiet', 'no progress bar and no summary on stderr', false)
    .addOption(new Option('--max-line-bytes <n>', 'longest line kept whole; longer lines become rejects').argParser(int('--max-line-bytes', 1024)).default(64 << 20));
}

interface RunFlags {
  rejects?: string;
  teams?: string;
  strict: boolean;
  json: boolean;
  quiet: boolean;
  maxLineBytes: number;
}

function report(s: RunSummary, flags: RunFlags, out: Output): number {
  if (flags.json) out.stdout(JSON.stringify(s, null, 2) + '\n');
  if (!flags.quiet) out.stderr(formatSummary(s) + '\n');
  return flags.strict && s.rejects > 0 ? EXIT_DATA : EXIT_OK;
}

interface Output {
  stdout(s: string): void;
  stderr(s: string): void;
}

const MSG_TYPES_HELP = `\nMessage types:\n${HANDLERS.map((h) => `  ${String(h.msgType).padStart(3)}  ${h.description} -> ${h.tables.join(', ')}`).join('\n')}\n${[...ALIASES].map(([a, t]) => `  ${String(a).padStart(3)}  alias of ${t}`).join('\n')}\n`;

export function buildProgram(out: Output, setCode: (c: number) => void): Command {
  const program = new Command('jam-etl')
    .description('Turn raw JAM telemetry logs into analytics tables for Dune and BigQuery.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: out.stdout, writeErr: out.stderr })
    .exitOverride();

  const dune = program
    .command('dune')
    .description('convert .log files (or folders of them, recursively) into one JSONL file per table')
    .argument('[paths...]', 'log files or folders', ['./logs'])
    .option('-o, --out <dir>', 'output folder', './dune_exports')
    .addOption(new Option('-w, --workers <n>', 'worker threads (1 = single thread)').argParser(int('--workers', 1)).default(defaultWorkers(), 'number of cores'))
    .addHelpText('after', MSG_TYPES_HELP);
  addRunOptions(dune).action(async (paths: string[], o: RunFlags & { out: string; workers: number }) => {
    const s = await convertToDune({
      paths,
      out: o.out,
      workers: o.workers,
      progress: !o.quiet,
      maxLineBytes: o.maxLineBytes,
      ...(o.rejects ? { rejects: o.rejects } : {}),
      ...(o.teams ? { teams: o.teams } : {}),
    });
    setCode(report(s, o, out));
  });

  return program;
}

/** Runs the CLI; returns the exit code. Never throws, never prints a stack trace. */
export async function main(argv: string[], out: Output = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) }): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram(out, (c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (e instanceof UsageError || e instanceof ConfigError) {
      out.stderr(`jam-etl: ${e.message}\n`);
      return EXIT_USAGE;
    }
    out.stderr(`jam-etl: unexpected error: ${describeError(e)}\n`);
    return EXIT_USAGE;
  }
}
