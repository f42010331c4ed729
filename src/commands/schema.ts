// `jam-etl schema create`: make the BigQuery dataset and its 11 tables match schema/*.json.
// Idempotent (CI runs it on every build): create what is missing, add new columns, leave the
// rest; a conflict changes nothing and exits 2.
import { type Command } from 'commander';
import { EXIT_OK, EXIT_USAGE, type CliIO } from './common.js';

export interface BigQueryTargetFlags {
  project?: string;
  dataset: string;
  location: string;
  apiEndpoint?: string;
}

/** --project, --dataset, --location, --api-endpoint: shared by `schema create` and `bigquery`. */
export function addBigQueryTargetOptions(cmd: Command): Command {
  return cmd
    .option('--project <id>', "Google Cloud project (default: the client's default project, e.g. GOOGLE_CLOUD_PROJECT)")
    .option('--dataset <name>', 'BigQuery dataset', 'crypto_jam')
    .option('--location <loc>', 'BigQuery location of the dataset and jobs', 'US')
    .option('--api-endpoint <url>', 'BigQuery API endpoint instead of Google (also: BIGQUERY_EMULATOR_HOST)');
}

export function targetOf(o: BigQueryTargetFlags): { project?: string; dataset: string; location: string; apiEndpoint?: string } {
  return {
    dataset: o.dataset,
    location: o.location,
    ...(o.project ? { project: o.project } : {}),
    ...(o.apiEndpoint ? { apiEndpoint: o.apiEndpoint } : {}),
  };
}

export function registerSchema(program: Command, io: CliIO): Command {
  const schema = program.command('schema').description('manage the BigQuery tables');
  const create = schema
    .command('create')
    .description('create the dataset and the tables from schema/*.json, or add the columns they are missing (additive only)')
    .option('--dry-run', 'print the plan (create / add columns / unchanged, per table) and change nothing', false)
    .option('--json', 'print the plan as JSON on stdout', false)
    .option('--schema-dir <dir>', "folder of <table>.json schema files (default: the package's schema/)");
  addBigQueryTargetOptions(create).action(async (o: BigQueryTargetFlags & { dryRun: boolean; json: boolean; schemaDir?: string }) => {
    try {
      // Loaded lazily: see commands/bigquery.ts.
      const { createSchema, formatPlan } = await import('../sinks/bigquery/schema-plan.js');
      const r = await createSchema({ ...targetOf(o), dryRun: o.dryRun, ...(o.schemaDir ? { schemaDir: o.schemaDir } : {}) });
      if (o.json) io.stdout(JSON.stringify({ ...r.plan, dry_run: o.dryRun, applied: r.applied }, null, 2) + '\n');
      else io.stdout(formatPlan(r.plan, { dryRun: o.dryRun, applied: r.applied }) + '\n');
      io.setExitCode(EXIT_OK);
    } catch (e) {
      const { formatPlan, SchemaConflictError } = await import('../sinks/bigquery/schema-plan.js');
      if (!(e instanceof SchemaConflictError)) throw e;
      if (o.json && e.plan) io.stdout(JSON.stringify({ ...e.plan, dry_run: o.dryRun, applied: false }, null, 2) + '\n');
      else if (e.plan) io.stdout(formatPlan(e.plan, { dryRun: o.dryRun, applied: false }) + '\n');
      for (const c of e.conflicts) io.stderr(`jam-etl: schema conflict: ${c.message}\n`);
      io.stderr(`jam-etl: ${e.conflicts.length} conflict(s); nothing was changed\n`);
      io.setExitCode(EXIT_USAGE);
    }
  });
  return schema;
}
