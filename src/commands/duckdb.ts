// `jam-etl duckdb [paths...]`: convert .log files and load the rows into a DuckDB database file,
// exactly once (rows, rejects and resume positions commit together; see src/sinks/duckdb/). The
// one driver (src/pipeline/run.ts) reads, converts and resumes; this is the sink plus options.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_FLUSH_BYTES, DEFAULT_MEMORY_LIMIT, DEFAULT_THREADS, DuckDbSink } from '../sinks/duckdb/sink.js';
import { DEFAULT_DB } from '../sinks/duckdb/warehouse.js';
import { addFollowOptions, addWorkersOption, intArg, pathArg, runSinkCommand, type CliIO, type SinkRunFlags } from './common.js';

/** A size DuckDB takes for memory_limit (a number and a unit); anything else it answers with a bare "Failed to set config". */
function sizeArg(name: string) {
  return (v: string): string => {
    if (!/^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(v.trim())) throw new InvalidArgumentError(`${name} must be a size with a unit, like 128MB or 2GiB`);
    return v.trim();
  };
}

interface DuckdbFlags extends SinkRunFlags {
  db: string;
  flushMb: number;
  memoryLimit: string;
  threads?: number;
}

export function registerDuckdb(program: Command, io: CliIO): Command {
  const cmd = program
    .command('duckdb')
    .description('convert .log and .jip3 files (or folders of them, recursively) and load the rows into a DuckDB database file, exactly once, resuming where it stopped')
    .argument('[paths...]', '.log / .jip3 files or folders', ['./logs'])
    .addOption(new Option('--db <file>', 'the DuckDB database file (created when missing)').argParser(pathArg('--db')).default(DEFAULT_DB));
  addWorkersOption(cmd);
  addFollowOptions(cmd)
    .option('--teams <file>', 'JSON map sender_id -> team name, for producers that do not name their team')
    .option('--strict', 'exit 1 when any line was rejected', false)
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('-q, --quiet', 'no progress bar and no summary on stderr', false)
    .addOption(new Option('--max-line-bytes <n>', 'longest line kept whole; longer lines become rejects').argParser(intArg('--max-line-bytes', 1024)).default(64 << 20))
    .addOption(new Option('--flush-mb <n>', 'MiB of rows gathered per load transaction').argParser(intArg('--flush-mb', 1)).default(DEFAULT_FLUSH_BYTES >> 20))
    .addOption(new Option('--memory-limit <size>', "DuckDB's memory_limit, e.g. 128MB, 2GiB").argParser(sizeArg('--memory-limit')).default(DEFAULT_MEMORY_LIMIT))
    .addOption(new Option('--threads <n>', "DuckDB's threads").argParser(intArg('--threads', 1)).default(DEFAULT_THREADS));
  return cmd.action(async (paths: string[], o: DuckdbFlags) => {
    const sink = new DuckDbSink({
      db: o.db,
      flushBytes: o.flushMb << 20,
      memoryLimit: o.memoryLimit,
      ...(o.threads ? { threads: o.threads } : {}),
    });
    const onStop = o.follow ? 'stopping: loading what was read, then closing the database' : 'stopping: committing what was read with its positions (rerun to continue)';
    const { code } = await runSinkCommand(sink, { command: 'duckdb', paths, onStop }, o, io);
    io.setExitCode(code);
  });
}
