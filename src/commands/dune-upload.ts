// `jam-etl dune upload` (and `jam-etl dune ./logs --upload`): create, clear and fill the Dune
// tables from the JSONL export through Dune's uploads API.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../errors.js';
import { startProgress } from '../pipeline/summary.js';
import { isTableName, TABLE_NAMES, type TableName } from '../tables/schema.js';
import { DUNE_NAMESPACE_RE, DUNE_PREFIX_RE, DuneAuthError, DuneConfigError, NAMESPACE_RULE, PREFIX_RULE, uploadToDune, type UploadSummary } from '../sinks/dune/upload.js';
import { EXIT_DATA, EXIT_OK, intArg, type CliIO } from './common.js';

export interface UploadFlags {
  namespace?: string;
  prefix: string;
  tables?: string;
  replace: boolean;
  private: boolean;
  dryRun: boolean;
  chunkMb: number;
  concurrency: number;
}

/** Checks a flag's value against a rule when it is parsed, before anything is read or sent. */
function matching(flag: string, re: RegExp, rule: string) {
  return (v: string): string => {
    if (!re.test(v)) throw new InvalidArgumentError(`${flag} ${JSON.stringify(v)}: ${rule}`);
    return v;
  };
}

/** The upload options shared by `dune upload` and `dune --upload` (their own group in --help). */
export function addUploadOptions(cmd: Command, group = 'Upload options (with --upload, or `jam-etl dune upload`):'): Command {
  const opts = [
    new Option('--namespace <ns>', 'Dune namespace (your user or team handle)').argParser(matching('--namespace', DUNE_NAMESPACE_RE, NAMESPACE_RULE)),
    new Option('--prefix <prefix>', 'prepended to every table name').argParser(matching('--prefix', DUNE_PREFIX_RE, PREFIX_RULE)).default('jam_'),
    new Option('--tables <list>', `comma-separated tables to upload (default: every table with a file): ${TABLE_NAMES.join(',')}`),
    new Option('--replace', 'clear each table before inserting, so a rerun replaces instead of appending').default(false),
    new Option('--private', 'create the tables as private').default(false),
    new Option('--dry-run', 'make no request; print the equivalent curl commands (with $DUNE_API_KEY, never the key; on stderr with --json)').default(false),
    new Option('--chunk-mb <n>', 'largest insert request, in MB; lines are never split').argParser(intArg('--chunk-mb', 1)).default(64),
    new Option('--concurrency <n>', 'insert requests in flight per table').argParser(intArg('--concurrency', 1)).default(2),
  ];
  for (const o of opts) cmd.addOption(o.helpGroup(group));
  return cmd;
}

function parseTables(list: string | undefined): TableName[] | undefined {
  if (!list) return undefined;
  const out: TableName[] = [];
  for (const t of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!isTableName(t)) throw new ConfigError(`--tables: unknown table ${t} (tables: ${TABLE_NAMES.join(', ')})`);
    out.push(t);
  }
  return out;
}

function formatUpload(s: UploadSummary): string {
  const lines = [`dune upload${s.dry_run ? ' (dry run)' : ''}: namespace ${s.namespace}, ${s.totals.tables} table(s)`];
  if (s.dry_run) {
    // The figures of --json's rows_read and chunks: what a real run would send.
    for (const t of s.tables) lines.push(`  ${t.dune_table.padEnd(40)} would send ${String(t.rows_read).padStart(10)} ${t.rows_read === 1 ? 'row ' : 'rows'} in ${t.chunks} ${t.chunks === 1 ? 'chunk' : 'chunks'}`);
    lines.push(`  total: would send ${s.totals.rows_read} rows in ${s.totals.chunks} chunks; nothing was sent`);
    return lines.join('\n');
  }
  for (const t of s.tables) {
    lines.push(`  ${t.dune_table.padEnd(40)} ${t.status.padEnd(15)} ${String(t.rows_written).padStart(10)} rows ${String(t.bytes_written).padStart(12)} bytes${t.cleared ? ' (cleared first)' : ''}${t.chunks_failed ? `, ${t.chunks_failed} chunk(s) failed` : ''}`);
    for (const e of t.errors) lines.push(`    ${e.stage} failed${e.first_line ? ` (lines ${e.first_line}-${e.last_line})` : ''}: ${e.status ? `HTTP ${e.status}: ` : ''}${e.message}`);
  }
  lines.push(`  total: ${s.totals.rows_written} rows, ${s.totals.bytes_written} bytes, ${s.totals.chunks_ok}/${s.totals.chunks} chunks ok`);
  return lines.join('\n');
}

/** Runs an upload for the CLI; returns the exit code. */
export async function runUpload(from: string, f: UploadFlags & { json: boolean; quiet: boolean }, io: CliIO): Promise<number> {
  if (!f.namespace) throw new ConfigError('--namespace is required (your Dune user or team handle)');
  let progress: ReturnType<typeof startProgress> | undefined;
  let summary: UploadSummary;
  try {
    summary = await uploadToDune({
      from,
      namespace: f.namespace,
      prefix: f.prefix,
      replace: f.replace,
      isPrivate: f.private,
      dryRun: f.dryRun,
      chunkBytes: f.chunkMb * 1024 * 1024,
      concurrency: f.concurrency,
      ...(parseTables(f.tables) ? { tables: parseTables(f.tables)! } : {}),
      // A dry run's curl commands go to stdout (to pipe into sh), except with --json: stdout then
      // holds only the JSON summary, and the commands go to stderr.
      log: (line) => (f.dryRun && !f.json ? io.stdout(line + '\n') : f.quiet && !f.dryRun ? undefined : io.stderr(line + '\n')),
      onProgress: (ev) => {
        if (ev.type === 'table-start') {
          progress?.stop();
          progress = startProgress(`upload ${ev.dune_table}`, ev.file_bytes, !f.quiet && !f.dryRun);
        } else if (ev.type === 'chunk-done') progress?.tick(ev.bytes, ev.rows);
      },
    });
  } catch (e) {
    if (e instanceof DuneConfigError) throw new ConfigError(e.message);
    if (e instanceof DuneAuthError) throw new ConfigError(`Dune refused the API key (HTTP ${e.status}): ${e.message}`);
    throw e;
  } finally {
    progress?.stop();
  }
  if (f.json) io.stdout(JSON.stringify(summary, null, 2) + '\n');
  if (!f.quiet) io.stderr(formatUpload(summary) + '\n');
  return summary.ok ? EXIT_OK : EXIT_DATA;
}

export function registerDuneUpload(dune: Command, io: CliIO): void {
  const up = dune
    .command('upload')
    .description('create, (optionally) clear and fill the Dune tables from the JSONL files; needs DUNE_API_KEY')
    .option('--from <dir>', 'folder with the <table>.jsonl files', './dune_exports')
    .option('--json', 'print a machine-readable summary on stdout', false)
    .option('-q, --quiet', 'no progress bar and no summary on stderr', false)
    .addHelpText('after', '\nEnvironment:\n  DUNE_API_KEY   the API key (required unless --dry-run)\n  DUNE_API_URL   base URL (default https://api.dune.com/api)\n');
  addUploadOptions(up, 'Upload options:').action(async (o: UploadFlags & { from: string; json: boolean; quiet: boolean }) => {
    io.setExitCode(await runUpload(o.from, o, io));
  });
}
