// `jam-etl dune upload` (and `jam-etl dune ./logs --upload`): create, clear and fill the Dune
// tables from the JSONL export through Dune's uploads API.
import { type Command, Option } from 'commander';
import { ConfigError } from '../errors.js';
import { startProgress } from '../pipeline/summary.js';
import { isTableName, TABLE_NAMES, type TableName } from '../tables/schema.js';
import { DuneAuthError, DuneConfigError, uploadToDune, type UploadSummary } from '../sinks/dune/upload.js';
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

/** The upload options shared by `dune upload` and `dune --upload`. */
export function addUploadOptions(cmd: Command): Command {
  return cmd
    .option('--namespace <ns>', 'Dune namespace (your user or team handle)')
    .option('--prefix <prefix>', 'prepended to every table name', 'jam_')
    .option('--tables <list>', `comma-separated tables to upload (default: every table with a file): ${TABLE_NAMES.join(',')}`)
    .option('--replace', 'clear each table before inserting, so a rerun replaces instead of appending', false)
    .option('--private', 'create the tables as private', false)
    .option('--dry-run', 'make no request; print the equivalent curl commands (with $DUNE_API_KEY, never the key)', false)
    .addOption(new Option('--chunk-mb <n>', 'largest insert request, in MB; lines are never split').argParser(intArg('--chunk-mb', 1)).default(64))
    .addOption(new Option('--concurrency <n>', 'insert requests in flight per table').argParser(intArg('--concurrency', 1)).default(2));
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
      log: (line) => (f.dryRun ? io.stdout(line + '\n') : f.quiet ? undefined : io.stderr(line + '\n')),
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
  addUploadOptions(up).action(async (o: UploadFlags & { from: string; json: boolean; quiet: boolean }) => {
    io.setExitCode(await runUpload(o.from, o, io));
  });
}
