// `jam-etl bigquery [paths...]`: convert .log files and put the rows into BigQuery, by
// streaming (insertAll, resumable, --follow) or by load jobs (--method load, for backfills).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_RETRY } from '../sinks/bigquery/retry.js';
import { preflightBigQuery } from '../sinks/bigquery/preflight.js';
import type { BigQueryRunOptions } from '../sinks/bigquery/run-common.js';
import { UsageError, describeError } from '../errors.js';
import { addFollowOptions, addRunOptions, addWorkersOption, EXIT_DATA, intArg, runSinkCommand, type CliIO, type SinkRunFlags } from './common.js';
import type { Sink } from '../sinks/sink.js';
import { loadTeams } from '../telemetry/teams.js';
import { addBigQueryTargetOptions, targetOf, type BigQueryTargetFlags } from './schema.js';

/** BigQuery's own limits for one insertAll request. */
const MAX_REQUEST_ROWS = 50_000;
const MAX_REQUEST_BYTES = 10_000_000;

interface BigQueryFlags extends SinkRunFlags, BigQueryTargetFlags {
  state: string;
  batchRows: number;
  batchBytes: number;
  concurrency: number;
  flushLines: number;
  method: 'stream' | 'load';
  follow: boolean;
  pollInterval: number;
  maxRetries: number;
  retryBaseMs: number;
  requestTimeout: number;
}

function seconds(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number of seconds`);
    return n;
  };
}

export function registerBigquery(program: Command, io: CliIO): Command {
  const cmd = program
    .command('bigquery')
    .description('convert .log and .jip3 files (or folders of them) and put the rows into BigQuery: streaming with resume, or load jobs')
    .argument('[paths...]', 'log files or folders', ['./logs']);
  addBigQueryTargetOptions(cmd)
    .option('--state <file>', 'resume state: per input file, how far BigQuery has acknowledged every row', '.jam-etl/bigquery-state.json')
    .addOption(new Option('--method <method>', 'stream (insertAll) or load (one load job per table, for backfills)').choices(['stream', 'load']).default('stream'))
    .addOption(new Option('--batch-rows <n>', 'rows per insertAll request at most').argParser(intArg('--batch-rows', 1)).default(500))
    .addOption(new Option('--batch-bytes <n>', 'bytes per insertAll request at most').argParser(intArg('--batch-bytes', 1024)).default(9_000_000))
    .addOption(new Option('--concurrency <n>', 'requests in flight at most').argParser(intArg('--concurrency', 1)).default(4))
    .addOption(new Option('--flush-lines <n>', 'send partly filled batches after this many lines read, so resume positions keep moving').argParser(intArg('--flush-lines', 1)).default(10_000))
    .addOption(new Option('--max-retries <n>', 'retries of a failing request (429, 5xx, timeouts, resets)').argParser(intArg('--max-retries', 0)).default(DEFAULT_RETRY.maxRetries))
    .addOption(new Option('--retry-base-ms <n>', 'first retry delay; doubles per retry, with jitter').argParser(intArg('--retry-base-ms', 1)).default(DEFAULT_RETRY.baseMs).hideHelp())
    .addOption(new Option('--request-timeout <seconds>', 'an insertAll request without an answer after this long is retried').argParser(seconds('--request-timeout')).default(60));
  addWorkersOption(cmd);
  addFollowOptions(cmd);
  addRunOptions(cmd, 'bigquery-rejects.jsonl next to --state').action(async (paths: string[], o: BigQueryFlags) => {
    if (o.batchRows > MAX_REQUEST_ROWS) throw new UsageError(`--batch-rows must be at most ${MAX_REQUEST_ROWS} (BigQuery's limit per request)`);
    if (o.batchBytes > MAX_REQUEST_BYTES) throw new UsageError(`--batch-bytes must be at most ${MAX_REQUEST_BYTES} (BigQuery's limit per request)`);
    if (o.follow && o.method === 'load') throw new UsageError('--follow streams; it cannot be combined with --method load');
    const opts: BigQueryRunOptions = {
      ...targetOf(o),
      statePath: o.state,
      method: o.method,
      batchRows: o.batchRows,
      batchBytes: o.batchBytes,
      concurrency: o.concurrency,
      flushLines: o.flushLines,
      retry: { ...DEFAULT_RETRY, maxRetries: o.maxRetries, baseMs: o.retryBaseMs },
      timeoutMs: Math.round(o.requestTimeout * 1000),
      note: (s) => {
        if (!o.quiet) io.stderr(`jam-etl: ${s}\n`);
      },
      ...(o.rejects ? { rejects: o.rejects } : {}),
    };
    // A missing project or credentials is one line now, before Google's client is even loaded.
    preflightBigQuery(targetOf(o));
    try {
      // Loaded here, not at start-up: the Google client costs ~0.1 s to import, which every
      // other command (jam-etl dune above all) would pay for nothing.
      let sink: Sink;
      if (o.method === 'load') {
        const { BigQueryLoadDestination } = await import('../sinks/bigquery/load.js');
        const teams = loadTeams(o.teams);
        sink = new BigQueryLoadDestination({ ...opts, paths, maxLineBytes: o.maxLineBytes, ...(teams ? { teams } : {}) });
      } else {
        const { BigQueryStreamDestination } = await import('../sinks/bigquery/stream.js');
        sink = new BigQueryStreamDestination(opts);
      }
      const onStop = o.method === 'load' ? 'stopping: no job is submitted, the converted files are removed' : 'finishing the requests in flight and saving the state';
      const { summary: s, code } = await runSinkCommand(sink, { command: 'bigquery', paths, onStop }, o, io);
      const refused = typeof s.rows_refused_total === 'number' ? s.rows_refused_total : 0;
      let exit = code;
      if (exit === 0 && o.strict && refused > 0) exit = EXIT_DATA;
      if (!o.quiet && !(s.interrupted && o.method === 'load')) {
        if (o.method === 'stream') io.stderr(`  bigquery: ${s.insert_requests as number} insertAll request(s), ${s.retries as number} retried, ${refused} row(s) refused by BigQuery; state ${o.state}\n`);
        else io.stderr(`  bigquery: ${(s.jobs as unknown[]).length} load job(s); state ${o.state}\n`);
        if (s.rejects_file) io.stderr(`  rejects: ${String(s.rejects_file)}\n`);
        if (s.interrupted && !o.follow) io.stderr('  stopped before the end: rerun to continue\n');
      }
      io.setExitCode(exit);
    } catch (e) {
      const { RunIncompleteError } = await import('../sinks/bigquery/run-common.js');
      if (!(e instanceof RunIncompleteError)) throw e;
      io.stderr(`jam-etl: ${describeError(e)}\n`);
      io.setExitCode(EXIT_DATA);
    }
  });
  return cmd;
}
