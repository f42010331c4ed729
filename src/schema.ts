// Loads schema/*.json (BigQuery schema format, the single source of truth for columns) and
// derives everything else from it: the table list, ajv row validators, Dune column types.
import { readFileSync, readdirSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';

export type BigQueryType = 'STRING' | 'INTEGER' | 'TIMESTAMP' | 'BOOLEAN' | 'FLOAT';
export type Mode = 'REQUIRED' | 'NULLABLE';

export interface Column {
  name: string;
  type: BigQueryType;
  mode: Mode;
  description?: string;
}

export const TABLE_NAMES = [
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
export type TableName = (typeof TABLE_NAMES)[number];

export type CellValue = string | number | boolean | null;
export type Row = Record<string, CellValue>;

/** Folder that holds schema/*.json: the package's own, next to dist/. */
export const SCHEMA_DIR = new URL('../schema/', import.meta.url);

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
const INT64_MAX = 9223372036854775807;

function jsonSchemaFor(cols: Column[]): object {
  const properties: Record<string, object> = {};
  for (const c of cols) {
    // Nullable as a type list rather than anyOf: the keywords (bounds, pattern) only apply to
    // values of their own type, so null passes them, and ajv's generated code stays one branch.
    const t = (type: string): string | string[] => (c.mode === 'NULLABLE' ? [type, 'null'] : type);
    switch (c.type) {
      case 'STRING':
        properties[c.name] = { type: t('string') };
        break;
      case 'INTEGER':
        properties[c.name] = { type: t('integer'), minimum: -INT64_MAX, maximum: INT64_MAX };
        break;
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

let validators: Map<TableName, RowValidator> | undefined;
/** One compiled ajv validator per table, built once per process. */
export function rowValidators(): Map<TableName, RowValidator> {
  if (validators) return validators;
  const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
  const out = new Map<TableName, RowValidator>();
  for (const [table, cols] of schemas()) out.set(table, ajv.compile<Row>(jsonSchemaFor(cols)));
  validators = out;
  return out;
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
