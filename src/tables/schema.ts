// Loads schema/*.json (BigQuery schema format, the single source of truth for columns) and
// derives everything else from it: the table list, ajv row validators, Dune column types.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ValidateFunction } from 'ajv';
import { rangeOf } from './ranges.js';

const require = createRequire(import.meta.url);

export type BigQueryType = 'STRING' | 'INTEGER' | 'TIMESTAMP' | 'BOOLEAN' | 'FLOAT';
export type Mode = 'REQUIRED' | 'NULLABLE';

export interface Column {
  name: string;
  type: BigQueryType;
  mode: Mode;
  description?: string;
}

/** The tables of the JSON telemetry (.log files), docs/TABLES contract. */
export const JSON_TABLE_NAMES = [
  'blocks',
  'validatorstatistics',
  'corestatistics',
  'servicestatistics',
  'workreports',
  'preimages',
  'assurances',
  'tickets',
  'workpackages',
  'services',
  'segments',
] as const;

/** The tables of JIP-3 binary telemetry (.jip3 capture files), docs/jip3.md. */
export const JIP3_TABLE_NAMES = [
  'jip3_connections',
  'jip3_events',
  'jip3_dropped',
  'jip3_status',
  'jip3_blocks',
  'jip3_workpackages',
  'jip3_availability',
] as const;

/** Every table, JSON telemetry's first: sinks, schema commands and counters cover them all. */
export const TABLE_NAMES = [...JSON_TABLE_NAMES, ...JIP3_TABLE_NAMES] as const;
export type TableName = (typeof TABLE_NAMES)[number];
export type Jip3TableName = (typeof JIP3_TABLE_NAMES)[number];

export type CellValue = string | number | boolean | null;
export type Row = Record<string, CellValue>;

/** Folder that holds schema/*.json: the package's own, next to dist/. */
export const SCHEMA_DIR = new URL('../../schema/', import.meta.url);

const KNOWN_TYPES = new Set<string>(['STRING', 'INTEGER', 'TIMESTAMP', 'BOOLEAN', 'FLOAT']);

export class SchemaError extends Error {}

function parseColumns(table: string, text: string): Column[] {
  const raw: unknown = JSON.parse(text);
  if (!Array.isArray(raw)) throw new SchemaError(`schema/${table}.json: expected an array of columns`);
  return raw.map((c: unknown, i: number) => {
    if (typeof c !== 'object' || c === null) throw new SchemaError(`schema/${table}.json: column ${i} is not an object`);
    const { name, type, mode, description } = c as Record<string, unknown>;
    if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name)) {
      throw new SchemaError(`schema/${table}.json: column ${i} has an invalid name`);
    }
    if (typeof type !== 'string' || !KNOWN_TYPES.has(type)) {
      throw new SchemaError(`schema/${table}.json: column ${name} has unsupported type ${String(type)}`);
    }
    const m = mode === undefined ? 'NULLABLE' : mode;
    if (m !== 'REQUIRED' && m !== 'NULLABLE') {
      throw new SchemaError(`schema/${table}.json: column ${name} has unsupported mode ${String(mode)}`);
    }
    const col: Column = { name, type: type as BigQueryType, mode: m };
    if (typeof description === 'string') col.description = description;
    return col;
  });
}

/** Reads every table's columns from a schema folder (default: the package's schema/). */
export function loadSchemas(dir: URL | string = SCHEMA_DIR): Map<TableName, Column[]> {
  const out = new Map<TableName, Column[]>();
  const files = new Set(readdirSync(dir));
  for (const table of TABLE_NAMES) {
    const file = `${table}.json`;
    if (!files.has(file)) throw new SchemaError(`schema/${file} is missing`);
    const path = typeof dir === 'string' ? `${dir.replace(/\/$/, '')}/${file}` : new URL(file, dir);
    out.set(table, parseColumns(table, readFileSync(path, 'utf8')));
  }
  return out;
}

let cached: Map<TableName, Column[]> | undefined;
/** The package's schemas, read once per process. */
export function schemas(): Map<TableName, Column[]> {
  cached ??= loadSchemas();
  return cached;
}

export function columnsOf(table: TableName): Column[] {
  const cols = schemas().get(table);
  if (!cols) throw new SchemaError(`unknown table ${table}`);
  return cols;
}

// RFC 3339 as the tool writes it: UTC, microseconds.
const TIMESTAMP_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$';

export function jsonSchemaFor(cols: Column[]): object {
  const properties: Record<string, object> = {};
  for (const c of cols) {
    // Nullable as a type list rather than anyOf: the keywords (bounds, pattern) only apply to
    // values of their own type, so null passes them, and ajv's generated code stays one branch.
    const t = (type: string): string | string[] => (c.mode === 'NULLABLE' ? [type, 'null'] : type);
    switch (c.type) {
      case 'STRING':
        properties[c.name] = { type: t('string') };
        break;
      case 'INTEGER': {
        // The column's real range (src/tables/ranges.ts), never beyond what a float holds exactly.
        const r = rangeOf(c.name);
        properties[c.name] = { type: t('integer'), minimum: r.min, maximum: r.max };
        break;
      }
      case 'FLOAT':
        properties[c.name] = { type: t('number') };
        break;
      case 'BOOLEAN':
        properties[c.name] = { type: t('boolean') };
        break;
      case 'TIMESTAMP':
        properties[c.name] = { type: t('string'), pattern: TIMESTAMP_PATTERN };
        break;
    }
  }
  return {
    type: 'object',
    properties,
    required: cols.map((c) => c.name),
    additionalProperties: false,
  };
}

export type RowValidator = ValidateFunction<Row>;

/** The options every row validator is compiled with, at build time and at run time alike. */
export const AJV_OPTIONS = { allErrors: false, strict: true, allowUnionTypes: true } as const;

/** The JSON Schema each table's rows are checked against, derived from schema/<table>.json. */
export function rowJsonSchemas(cols: Map<TableName, Column[]> = schemas()): Map<TableName, object> {
  const out = new Map<TableName, object>();
  for (const [table, c] of cols) out.set(table, jsonSchemaFor(c));
  return out;
}

/** Names a set of row schemas: precompiled validators are used only for the schemas they came from. */
export function fingerprintOf(rowSchemas: Map<TableName, object>): string {
  return createHash('sha256').update(JSON.stringify([...rowSchemas])).digest('hex');
}

/** `npm run build` writes this module: ajv's standalone code for rowJsonSchemas(). */
export const PRECOMPILED_FILE = 'validators.generated.cjs';

interface Precompiled {
  fingerprint: string;
  validators: Record<string, RowValidator>;
}

function loadPrecompiled(): Precompiled | undefined {
  try {
    return require(`./${PRECOMPILED_FILE}`) as Precompiled;
  } catch (e) {
    if ((e as { code?: string }).code === 'MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

/** Compiles the validators with ajv now (ajv's own import and compile take ~0.1 s). */
export function compileRowValidators(rowSchemas: Map<TableName, object>, opts: object = AJV_OPTIONS): { ajv: AjvClass; validators: Map<TableName, RowValidator> } {
  const { Ajv } = require('ajv') as typeof import('ajv');
  const ajv = new Ajv(opts);
  const validators = new Map<TableName, RowValidator>();
  for (const [table, schema] of rowSchemas) validators.set(table, ajv.compile<Row>(schema));
  return { ajv, validators };
}

let validators: Map<TableName, RowValidator> | undefined;
/** How this process got its validators: ajv's standalone code from the build, or compiled at start. */
export let validatorsSource: 'precompiled' | 'compiled' | undefined;

/**
 * One ajv validator per table, built once per process. `npm run build` compiles them ahead of
 * time with ajv's standalone code generation (the same code ajv.compile would generate), so a run
 * and every worker thread skip ajv's ~0.1 s compile; if schema/*.json no longer match what was
 * compiled (the fingerprint differs) or the build did not write them, ajv compiles them here.
 */
export function rowValidators(): Map<TableName, RowValidator> {
  if (validators) return validators;
  const rowSchemas = rowJsonSchemas();
  const pre = loadPrecompiled();
  if (pre && pre.fingerprint === fingerprintOf(rowSchemas)) {
    const out = new Map<TableName, RowValidator>();
    for (const table of rowSchemas.keys()) {
      const v = pre.validators[table];
      if (!v) throw new SchemaError(`dist/${PRECOMPILED_FILE} has no validator for ${table}: run npm run build`);
      out.set(table, v);
    }
    validators = out;
    validatorsSource = 'precompiled';
  } else {
    validators = compileRowValidators(rowSchemas).validators;
    validatorsSource = 'compiled';
  }
  return validators;
}

/** A short, human sentence for the first ajv error of a failed validation. */
export function describeValidationError(table: TableName, v: RowValidator): string {
  const e = v.errors?.[0];
  if (!e) return `row does not match schema/${table}.json`;
  const col = e.instancePath.replace(/^\//, '') || (e.params as { missingProperty?: string; additionalProperty?: string }).missingProperty
    || (e.params as { additionalProperty?: string }).additionalProperty || '';
  return `${table}.${col} ${e.message ?? 'is invalid'}`;
}

const DUNE_TYPES: Record<BigQueryType, string> = {
  STRING: 'varchar',
  INTEGER: 'bigint',
  TIMESTAMP: 'timestamp',
  BOOLEAN: 'boolean',
  FLOAT: 'double',
};

export interface DuneColumn {
  name: string;
  type: string;
  nullable: boolean;
}

/** Dune uploads-API column list for a table, derived from its BigQuery schema. */
export function duneColumns(table: TableName): DuneColumn[] {
  return columnsOf(table).map((c) => ({ name: c.name, type: DUNE_TYPES[c.type], nullable: c.mode !== 'REQUIRED' }));
}

export function isTableName(s: string): s is TableName {
  return (TABLE_NAMES as readonly string[]).includes(s);
}
