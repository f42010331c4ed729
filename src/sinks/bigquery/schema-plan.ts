// `jam-etl schema create` as a library: compare the dataset with schema/*.json, decide per table
// (create / add columns / unchanged / conflict), and change BigQuery only when the whole plan is
// free of conflicts. Changes are additive: columns are added or relaxed, never dropped or retyped.
import type { BigQuery, TableField, TableMetadata } from '@google-cloud/bigquery';
import { ConfigError, describeError } from '../../errors.js';
import { loadSchemas, TABLE_NAMES, type Column, type TableName } from '../../tables/schema.js';
import { apiFailure, connect, statusOf } from './connect.js';

/**
 * Clustering per table. Every table is partitioned by DAY on `time`, so clustering serves the
 * filters dashboards use inside a day range. Most questions are "per team / per node over time",
 * hence `team, sender_id` (in that order: few teams, many nodes per team). Tables with a
 * natural key that queries join or look up on get it first when it is low-cardinality and
 * always filtered on (statistics: validator, core, service), or last as a tie-breaker.
 * Work reports, work packages and segments are joined on `work_package_hash`, a point-lookup
 * key, so it leads for those tables (blocks of one hash are then read, not the whole day).
 */
export const CLUSTERING: Record<TableName, readonly string[]> = {
  blocks: ['team', 'sender_id', 'author_index'],
  validatorstatistics: ['validator_id', 'team', 'sender_id'],
  corestatistics: ['core', 'team', 'sender_id'],
  servicestatistics: ['service_id', 'team', 'sender_id'],
  workreports: ['work_package_hash', 'core_index', 'team', 'sender_id'],
  preimages: ['requester', 'team', 'sender_id'],
  assurances: ['team', 'sender_id', 'validator_index'],
  tickets: ['team', 'sender_id'],
  workpackages: ['team', 'sender_id'],
  services: ['service_index', 'team', 'sender_id'],
  segments: ['work_package_hash', 'core_index', 'team', 'sender_id'],
  // JIP-3 (docs/jip3.md): events link by (connection, event_id), so those cluster every event
  // table after the node; the events table leads with the discriminator most queries filter on.
  jip3_connections: ['node', 'implementation_name'],
  jip3_events: ['discriminator', 'node', 'connection', 'event_id'],
  jip3_dropped: ['node', 'connection', 'event_id'],
  jip3_status: ['node', 'connection', 'event_id'],
  jip3_blocks: ['node', 'connection', 'event_id'],
  jip3_workpackages: ['node', 'connection', 'event_id'],
  jip3_availability: ['node', 'connection', 'event_id'],
};

export const PARTITION_FIELD = 'time';

export interface ColumnConflict {
  table: TableName;
  column: string;
  /** What BigQuery has ("INTEGER NULLABLE", or "missing"). */
  bigquery: string;
  /** What the schema file says. */
  schema: string;
  message: string;
}

export type TableAction = 'create' | 'update' | 'unchanged' | 'conflict';

export interface TablePlan {
  table: TableName;
  action: TableAction;
  /** Columns to add (create: all of them). */
  add: Column[];
  /** REQUIRED in BigQuery, NULLABLE in the schema file: relaxed to NULLABLE. */
  relax: string[];
  /** New clustering, when the table's differs (create: always set). */
  clustering?: string[];
  conflicts: ColumnConflict[];
  /** Differences that are reported but left alone (extra columns, partitioning). */
  notes: string[];
}

export interface SchemaPlan {
  projectId: string;
  dataset: string;
  location: string;
  createDataset: boolean;
  notes: string[];
  tables: TablePlan[];
  /**
   * Set when a dry run could not reach BigQuery (no project, no credentials, …): why. The plan
   * is then against an empty dataset, i.e. what `schema create` would do in a new project.
   */
  offline?: string;
}

export class SchemaConflictError extends ConfigError {
  override name = 'SchemaConflictError';
  constructor(
    readonly conflicts: ColumnConflict[],
    readonly plan?: SchemaPlan,
  ) {
    super(`${conflicts.length} schema conflict(s), nothing was changed: ${conflicts.map((c) => c.message).join('; ')}`);
  }
}

const describeField = (f: { type?: string | null; mode?: string | null }): string => `${f.type ?? '?'} ${f.mode ?? 'NULLABLE'}`;

/** BigQuery's legacy and standard SQL names for the same type. */
function canonicalType(t: string | null | undefined): string {
  const u = (t ?? '').toUpperCase();
  return ({ INT64: 'INTEGER', FLOAT64: 'FLOAT', BOOL: 'BOOLEAN' } as Record<string, string>)[u] ?? u;
}

function fieldOf(c: Column): TableField {
  const f: TableField = { name: c.name, type: c.type, mode: c.mode };
  if (c.description) f.description = c.description;
  return f;
}

/** Compares one existing table with its schema file. */
export function planTable(table: TableName, cols: readonly Column[], meta: TableMetadata | undefined): TablePlan {
  const clustering = [...CLUSTERING[table]];
  if (!meta) return { table, action: 'create', add: [...cols], relax: [], clustering, conflicts: [], notes: [] };
  const fields = meta.schema?.fields ?? [];
  const byName = new Map(fields.map((f) => [(f.name ?? '').toLowerCase(), f]));
  const conflicts: ColumnConflict[] = [];
  const add: Column[] = [];
  const relax: string[] = [];
  const notes: string[] = [];
  const conflict = (column: string, bigquery: string, schema: string, why: string): void => {
    conflicts.push({ table, column, bigquery, schema, message: `${table}.${column}: BigQuery has ${bigquery}, schema/${table}.json says ${schema}: ${why}` });
  };
  for (const c of cols) {
    const f = byName.get(c.name.toLowerCase());
    if (!f) {
      if (c.mode === 'REQUIRED') conflict(c.name, 'no such column', `${c.type} REQUIRED`, 'a column added to an existing table must be NULLABLE (mark it NULLABLE in the schema file)');
      else add.push(c);
      continue;
    }
    const type = canonicalType(f.type);
    const mode = (f.mode ?? 'NULLABLE').toUpperCase();
    if (type !== c.type) {
      conflict(c.name, describeField({ type, mode }), `${c.type} ${c.mode}`, 'the type differs and jam-etl never retypes a column');
    } else if (mode === 'REPEATED') {
      conflict(c.name, describeField({ type, mode }), `${c.type} ${c.mode}`, 'a REPEATED column cannot hold these rows');
    } else if (mode === 'REQUIRED' && c.mode === 'NULLABLE') {
      relax.push(c.name);
    } else if (mode === 'NULLABLE' && c.mode === 'REQUIRED') {
      conflict(c.name, describeField({ type, mode }), `${c.type} ${c.mode}`, 'BigQuery cannot make a column REQUIRED again (mark it NULLABLE in the schema file)');
    }
  }
  const known = new Set(cols.map((c) => c.name.toLowerCase()));
  for (const f of fields) {
    if (known.has((f.name ?? '').toLowerCase())) continue;
    if ((f.mode ?? 'NULLABLE').toUpperCase() === 'REQUIRED') {
      conflict(f.name ?? '?', describeField(f), 'no such column', 'every insert would fail without it (relax it to NULLABLE in BigQuery, or add it to the schema file)');
    } else {
      notes.push(`column ${f.name} (${describeField(f)}) is not in schema/${table}.json; kept`);
    }
  }
  const tp = meta.timePartitioning;
  if (!tp || (tp.type ?? 'DAY') !== 'DAY' || tp.field !== PARTITION_FIELD) {
    notes.push(`partitioning is ${tp ? `${tp.type ?? 'DAY'} on ${tp.field ?? '_PARTITIONTIME'}` : 'none'}, not DAY on ${PARTITION_FIELD}; BigQuery cannot change it in place (recreate the table to fix)`);
  }
  const current = meta.clustering?.fields ?? [];
  const wantClustering = current.join(',') !== clustering.join(',');
  const plan: TablePlan = { table, action: 'unchanged', add, relax, conflicts, notes };
  if (wantClustering) plan.clustering = clustering;
  if (conflicts.length) plan.action = 'conflict';
  else if (add.length || relax.length || wantClustering) plan.action = 'update';
  return plan;
}

export interface PlanOptions {
  dataset: string;
  location: string;
  schemas: ReadonlyMap<TableName, readonly Column[]>;
}

/** Reads the dataset and its tables (no changes) and plans every table. */
export async function planSchema(bq: BigQuery, projectId: string, opts: PlanOptions): Promise<SchemaPlan> {
  const ds = bq.dataset(opts.dataset);
  const plan: SchemaPlan = { projectId, dataset: opts.dataset, location: opts.location, createDataset: false, notes: [], tables: [] };
  let dsMeta: { location?: string } | undefined;
  try {
    [dsMeta] = await ds.getMetadata();
  } catch (e) {
    if (statusOf(e) !== 404) throw apiFailure(`cannot read dataset ${projectId}:${opts.dataset}`, e);
  }
  if (!dsMeta) plan.createDataset = true;
  else if (dsMeta.location && dsMeta.location.toUpperCase() !== opts.location.toUpperCase()) {
    plan.notes.push(`dataset ${projectId}:${opts.dataset} is in ${dsMeta.location}, not ${opts.location}; kept where it is`);
  }
  for (const table of TABLE_NAMES) {
    const cols = opts.schemas.get(table);
    if (!cols) throw new ConfigError(`no schema for table ${table}`);
    let meta: TableMetadata | undefined;
    if (dsMeta) {
      try {
        [meta] = await ds.table(table).getMetadata();
      } catch (e) {
        if (statusOf(e) !== 404) throw apiFailure(`cannot read table ${opts.dataset}.${table}`, e);
      }
    }
    plan.tables.push(planTable(table, cols, meta));
  }
  return plan;
}

export function conflictsOf(plan: SchemaPlan): ColumnConflict[] {
  return plan.tables.flatMap((t) => t.conflicts);
}

/** True when the dataset exists and every table has the schema files' columns. */
export function isInSync(plan: SchemaPlan): boolean {
  return !plan.createDataset && plan.tables.every((t) => t.action === 'unchanged');
}

/** Applies a conflict-free plan. */
export async function applySchemaPlan(bq: BigQuery, plan: SchemaPlan, schemas: ReadonlyMap<TableName, readonly Column[]>): Promise<void> {
  const conflicts = conflictsOf(plan);
  if (conflicts.length) throw new SchemaConflictError(conflicts);
  const ds = bq.dataset(plan.dataset);
  if (plan.createDataset) {
    try {
      await ds.create({ location: plan.location });
    } catch (e) {
      // Another CI job may have created it a moment ago: that is the state we want.
      if (statusOf(e) !== 409) throw apiFailure(`cannot create dataset ${plan.projectId}:${plan.dataset}`, e);
    }
  }
  for (const t of plan.tables) {
    if (t.action === 'create') {
      const cols = schemas.get(t.table)!;
      try {
        await ds.createTable(t.table, {
          schema: { fields: cols.map(fieldOf) },
          timePartitioning: { type: 'DAY', field: PARTITION_FIELD },
          clustering: { fields: [...CLUSTERING[t.table]] },
          description: `jam-etl table ${t.table} (schema/${t.table}.json)`,
        });
      } catch (e) {
        if (statusOf(e) !== 409) throw apiFailure(`cannot create table ${plan.dataset}.${t.table}`, e);
      }
    } else if (t.action === 'update') {
      const table = ds.table(t.table);
      let meta: TableMetadata;
      try {
        [meta] = await table.getMetadata();
      } catch (e) {
        throw apiFailure(`cannot read table ${plan.dataset}.${t.table}`, e);
      }
      const relax = new Set(t.relax);
      const fields: TableField[] = (meta.schema?.fields ?? []).map((f) => (relax.has(f.name ?? '') ? { ...f, mode: 'NULLABLE' } : f));
      for (const c of t.add) fields.push(fieldOf(c));
      const patch: TableMetadata = { schema: { fields } };
      if (t.clustering) patch.clustering = { fields: t.clustering };
      try {
        await table.setMetadata(patch);
      } catch (e) {
        throw apiFailure(`cannot update table ${plan.dataset}.${t.table}`, e);
      }
    }
  }
}

/** The plan for a dataset that does not exist yet (a dry run without a connection). */
export function emptyDatasetPlan(projectId: string, opts: PlanOptions, why: string): SchemaPlan {
  const plan: SchemaPlan = { projectId, dataset: opts.dataset, location: opts.location, createDataset: true, notes: [], tables: [], offline: why };
  plan.notes.push(`not connected to BigQuery (${why}): planned against an empty dataset`);
  for (const table of TABLE_NAMES) {
    const cols = opts.schemas.get(table);
    if (!cols) throw new ConfigError(`no schema for table ${table}`);
    plan.tables.push(planTable(table, cols, undefined));
  }
  return plan;
}

/** The plan as lines for people. */
export function formatPlan(plan: SchemaPlan, how: { dryRun: boolean; applied: boolean }): string {
  const out: string[] = [];
  out.push(`dataset ${plan.projectId}:${plan.dataset} (${plan.location}): ${plan.createDataset ? 'create' : 'exists'}`);
  for (const n of plan.notes) out.push(`  note: ${n}`);
  const w = Math.max(...plan.tables.map((t) => t.table.length));
  for (const t of plan.tables) {
    const name = t.table.padEnd(w);
    switch (t.action) {
      case 'create':
        out.push(`  ${name}  create: ${t.add.length} columns, partitioned by DAY on ${PARTITION_FIELD}, clustered by ${CLUSTERING[t.table].join(', ')}`);
        break;
      case 'unchanged':
        out.push(`  ${name}  unchanged`);
        break;
      case 'update': {
        const parts: string[] = [];
        if (t.add.length) parts.push(`add columns ${t.add.map((c) => `${c.name} ${c.type} ${c.mode}`).join(', ')}`);
        if (t.relax.length) parts.push(`relax to NULLABLE ${t.relax.join(', ')}`);
        if (t.clustering) parts.push(`cluster by ${t.clustering.join(', ')}`);
        out.push(`  ${name}  ${parts.join('; ')}`);
        break;
      }
      case 'conflict':
        out.push(`  ${name}  CONFLICT`);
        for (const c of t.conflicts) out.push(`    ${c.message}`);
        break;
    }
    for (const n of t.notes) out.push(`    note: ${n}`);
  }
  const changes = plan.createDataset || plan.tables.some((t) => t.action === 'create' || t.action === 'update');
  const conflicts = conflictsOf(plan).length;
  if (conflicts) out.push(`${conflicts} conflict(s): nothing was changed`);
  else if (!changes) out.push('dataset matches the schemas: nothing to do');
  else if (how.dryRun) out.push(plan.offline ? 'dry run against an empty dataset (not connected): nothing was changed' : 'dry run: nothing was changed');
  else if (how.applied) out.push('done: the dataset matches the schemas');
  return out.join('\n');
}

export interface CreateSchemaOptions {
  project?: string;
  dataset: string;
  location: string;
  apiEndpoint?: string;
  dryRun: boolean;
  /** Folder of <table>.json files; default: the package's schema/. */
  schemaDir?: string;
}

export interface CreateSchemaResult {
  plan: SchemaPlan;
  applied: boolean;
}

/**
 * Plans, and unless dry-run applies, then reads the dataset back to check it matches.
 * Throws SchemaConflictError (nothing changed) when any table conflicts.
 */
export async function createSchema(opts: CreateSchemaOptions): Promise<CreateSchemaResult> {
  let schemas: Map<TableName, Column[]>;
  try {
    schemas = opts.schemaDir ? loadSchemas(opts.schemaDir) : loadSchemas();
  } catch (e) {
    throw new ConfigError(`cannot read schemas${opts.schemaDir ? ` from ${opts.schemaDir}` : ''}: ${describeError(e)}`);
  }
  const planOpts = { dataset: opts.dataset, location: opts.location, schemas };
  let bq: BigQuery, projectId: string, plan: SchemaPlan;
  try {
    ({ bq, projectId } = await connect({ location: opts.location, ...(opts.project ? { project: opts.project } : {}), ...(opts.apiEndpoint ? { apiEndpoint: opts.apiEndpoint } : {}) }));
    plan = await planSchema(bq, projectId, planOpts);
  } catch (e) {
    // A dry run shows its plan without a connection (CI without credentials, a first look):
    // against an empty dataset, and it says so.
    if (!opts.dryRun || !(e instanceof ConfigError)) throw e;
    return { plan: emptyDatasetPlan(opts.project ?? '(no project)', planOpts, e.message), applied: false };
  }
  const conflicts = conflictsOf(plan);
  if (conflicts.length) throw new SchemaConflictError(conflicts, plan);
  if (opts.dryRun || isInSync(plan)) return { plan, applied: false };
  await applySchemaPlan(bq, plan, schemas);
  const after = await planSchema(bq, projectId, planOpts);
  if (!isInSync(after)) {
    throw new ConfigError(`dataset ${projectId}:${opts.dataset} still differs from the schemas after the changes (changed concurrently?): ${formatPlan(after, { dryRun: false, applied: false }).split('\n').filter((l) => !/unchanged$/.test(l)).slice(1).map((l) => l.trim()).join('; ')}`);
  }
  return { plan, applied: true };
}
