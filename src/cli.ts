// Commander wiring only: each command registers itself from src/commands/; this file maps
// typed errors to exit codes (0 done, 1 data problems, 2 usage/config/I/O) and never lets a
// stack trace reach the user.
import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE, type CliIO } from './commands/common.js';
import { registerDune } from './commands/dune.js';
import { registerGenerate } from './commands/generate.js';
import { registerSchema } from './commands/schema.js';
import { registerBigquery } from './commands/bigquery.js';
import { registerCollect } from './commands/collect.js';
import { registerReplay } from './commands/replay.js';
import { registerDuckdb } from './commands/duckdb.js';
import { registerSql } from './commands/sql.js';
import { registerReport } from './commands/report.js';
import { ConfigError, describeError, UsageError } from './errors.js';

export function buildProgram(io: CliIO): Command {
  const program = new Command('jam-etl')
    .description('Turn JAM telemetry (JSON envelopes in .log files, JIP-3 captures in .jip3 files) into tables for Dune, BigQuery and DuckDB; collect it from nodes; rank the implementations.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride()
    // `dune` has options of its own and an `upload` subcommand with the same names: options
    // after a subcommand belong to it.
    .enablePositionalOptions();
  registerDune(program, io);
  registerGenerate(program, io);
  registerSchema(program, io);
  registerBigquery(program, io);
  registerCollect(program, io);
  registerReplay(program, io);
  registerDuckdb(program, io);
  registerSql(program, io);
  registerReport(program, io);
  return program;
}

let epipeHandled = false;

/** Runs the CLI; returns the exit code. Never throws. */
export async function main(argv: string[], io: Omit<CliIO, 'setExitCode'> = { stdout: (s) => void process.stdout.write(s), stderr: (s) => void process.stderr.write(s) }): Promise<number> {
  let code = EXIT_OK;
  // `jam-etl ... | head` closes stdout early: that is the reader's choice, not a crash.
  // (Once per process: tests call main() many times.)
  if (!epipeHandled) {
    epipeHandled = true;
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    });
  }
  const program = buildProgram({ ...io, setExitCode: (c) => (code = c) });
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (e instanceof UsageError || e instanceof ConfigError || (e instanceof Error && (e as { exitCode?: unknown }).exitCode === EXIT_USAGE)) {
      io.stderr(`jam-etl: ${describeError(e)}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`jam-etl: unexpected error: ${describeError(e)}\n`);
    return EXIT_USAGE;
  }
}
