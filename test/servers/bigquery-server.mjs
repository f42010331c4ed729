// A local BigQuery v2 REST server for tests: the real `@google-cloud/bigquery` client talks to it
// over HTTP, and it enforces the parts of BigQuery's contract jam-etl relies on (schemas, types,
// REQUIRED columns, all-or-nothing insertAll, request limits, insertId dedup, load jobs, 409 on a
// reused job id, schema evolution rules) with BigQuery's error shapes:
//   {error: {code, message, errors: [{message, domain: 'global', reason}], status}}
//
// API
//   const server = await startBigQueryServer(opts?)
//     opts: {
//       projectId?: string        default project for the accessors below ('test-project')
//       location?: string         location given to datasets/jobs that name none ('US')
//       maxRequestBytes?: number  insertAll body limit, 10485760 like BigQuery (-> 400 badRequest)
//       tooLargeBytes?: number    above this any body gets 413 like Google's front end (default 100 MiB)
//       maxRows?: number          insertAll rows per request, 50000 like BigQuery (-> 400 invalid)
//       maxRowBytes?: number      one insertAll row, 5 MiB like BigQuery (-> per-row invalid)
//       jobRunningPolls?: number  jobs.get answers RUNNING this many times before DONE (default 0)
//       requireAuth?: boolean     401 for requests without "Authorization: Bearer ..." (default false)
//     }
//   server.url          'http://127.0.0.1:PORT'; use as `apiEndpoint` or as BIGQUERY_EMULATOR_HOST
//   server.port
//   await server.close()  closes the listener and every open connection
//   server.faults       array of fault specs, consumed in order (first matching spec with times left):
//       { match?: {method?: 'POST', path?: string (substring) | RegExp} | ((req) => boolean),
//         //  path is tested against the request URL path *including* the query string;
//         //  a function gets {method, url, path, query, headers}
//         times?: number        how many matching requests it hits (default 1; Infinity for all)
//         skip?: number         let this many matching requests through first (default 0)
//         delayMs?: number      wait before answering (combines with the others)
//         status?: number       answer this HTTP error instead of processing (BigQuery error body;
//                               reason/message default by status, override with reason/message)
//         reason?, message?, headers?: {} (e.g. {'retry-after': '1'}), body?: object (raw body)
//         action?: 'drop'       destroy the socket without answering (the request is not processed)
//                | 'dropAfter'  process the request (rows ARE stored) then destroy the socket
//       }   A spec counts its hits in `spec.hits` and decrements `spec.times`.
//   server.requests     log, one entry per HTTP request:
//       {method, url, path, query, bytes, status, rowCount?, stored?, deduped?, fault?, auth, at}
//       status is the HTTP status, or 'dropped'; rowCount/stored/deduped are set for insertAll.
//   server.rows(datasetId, tableId, {projectId?, raw?})  stored rows as plain objects in insertion
//       order: INTEGER -> number (string if beyond 2^53), FLOAT -> number, BOOLEAN -> boolean,
//       TIMESTAMP -> ISO string with microseconds ('2025-01-01T12:00:00.000000Z'), missing -> null.
//       With raw: true the `json` objects exactly as received. [] if the table does not exist.
//   server.table(datasetId, tableId, {projectId?})  the table resource as tables.get returns it, or undefined
//   server.job(jobId, {projectId?})                 the job resource, or undefined
//   server.createDataset(datasetId, {projectId?, location?})            seed helpers (idempotent
//   server.createTable(datasetId, tableId, {schema: fields[], timePartitioning?, clustering?, projectId?})  for datasets)
//   server.reset()      drop all datasets, jobs, faults and the request log
//   server.state        the raw in-memory state: {datasets: Map, jobs: Map, uploads: Map}
//
// Routes (the `/bigquery/v2` prefix is optional, because BIGQUERY_EMULATOR_HOST is used as the base
// URL as is while `apiEndpoint` gets `/bigquery/v2` appended):
//   datasets: list, get, insert, delete      tables: list, get, insert, patch, update, delete
//   tabledata: insertAll, list               jobs: insert (load from upload only), get, list
//   uploads: POST /upload/bigquery/v2/projects/P/jobs?uploadType=multipart|resumable, PUT session
// Load jobs run synchronously when created; only NEWLINE_DELIMITED_JSON is supported. Other job
// types answer 501. Not modelled: the streaming buffer (numRows counts streamed rows at once),
// the insertId time window (dedup lasts forever), quotas, IAM, queries.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import jsonlParser from 'stream-json/jsonl/parser.js';

const MiB = 1024 * 1024;
const PARSE_ERROR = Symbol('parseError');
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TS_MIN_MICROS = -62135596800000000n; // 0001-01-01T00:00:00Z
const TS_MAX_MICROS = 253402300799999999n; // 9999-12-31T23:59:59.999999Z
const TYPE_ALIASES = { INT64: 'INTEGER', FLOAT64: 'FLOAT', BOOL: 'BOOLEAN', STRUCT: 'RECORD' };
const TYPES = new Set(['STRING', 'BYTES', 'INTEGER', 'FLOAT', 'NUMERIC', 'BIGNUMERIC', 'BOOLEAN', 'TIMESTAMP', 'DATE', 'DATETIME', 'TIME', 'JSON', 'RECORD']);
const STATUS = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS', 413: 'INVALID_ARGUMENT', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 501: 'UNIMPLEMENTED', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };
const FAULT_DEFAULTS = {
  400: ['invalid', 'Invalid request.'],
  401: ['required', 'Request is missing required authentication credential.'],
  403: ['accessDenied', 'Access Denied.'],
  404: ['notFound', 'Not found.'],
  408: ['timeout', 'Request timed out.'],
  409: ['duplicate', 'Already Exists.'],
  413: ['requestTooLarge', 'Request Too Large'],
  429: ['rateLimitExceeded', 'Exceeded rate limits: too many api requests per user per method for this user_method.'],
  500: ['backendError', 'An internal error occurred and the request could not be completed.'],
  502: ['backendError', 'Bad Gateway'],
  503: ['backendError', 'Error encountered during execution. Retrying may solve the problem.'],
  504: ['timeout', 'Deadline exceeded.'],
};

class HttpError extends Error {
  constructor(code, reason, message) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}
const invalid = (message) => new HttpError(400, 'invalid', message);
const notFound = (message) => new HttpError(404, 'notFound', message);
const errorBody = (code, reason, message) => ({
  error: { code, message, errors: [{ message, domain: 'global', reason }], status: STATUS[code] ?? 'UNKNOWN' },
});

// ---------------------------------------------------------------- schemas

function normalizeFields(fields, where = '') {
  if (fields === undefined) return [];
  if (!Array.isArray(fields)) throw invalid('Invalid value for schema.fields: an array is required.');
  const seen = new Set();
  return fields.map((f) => {
    const name = f?.name;
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,299}$/.test(name)) throw invalid(`Invalid field name "${name}". Fields must contain only letters, numbers, and underscores, start with a letter or underscore, and be at most 300 characters long.`);
    if (seen.has(name.toLowerCase())) throw invalid(`Field ${where}${name} already exists in schema`);
    seen.add(name.toLowerCase());
    const rawType = String(f.type ?? '').toUpperCase();
    const type = TYPE_ALIASES[rawType] ?? rawType;
    if (!TYPES.has(type)) throw invalid(`Invalid value for type: ${f.type} is not a valid value`);
    const mode = String(f.mode ?? 'NULLABLE').toUpperCase();
    if (!['NULLABLE', 'REQUIRED', 'REPEATED'].includes(mode)) throw invalid(`Invalid value for mode: ${f.mode} is not a valid value`);
    const out = { name, type, mode };
    if (f.description !== undefined) out.description = f.description;
    if (type === 'RECORD') {
      if (!Array.isArray(f.fields) || f.fields.length === 0) throw invalid(`Field ${where}${name} is type RECORD but has no schema`);
      out.fields = normalizeFields(f.fields, `${where}${name}.`);
    }
    return out;
  });
}

const findField = (fields, name) => fields.find((f) => f.name.toLowerCase() === String(name).toLowerCase());

/** BigQuery's rules for changing an existing schema; returns an error message or undefined. */
function schemaChangeError(tableName, oldFields, newFields, { allowAdd = true, allowRelax = true } = {}, prefix = '') {
  const head = `Provided Schema does not match Table ${tableName}.`;
  for (const of of oldFields) {
    const nf = findField(newFields, of.name);
    const path = prefix + of.name;
    if (!nf) return `${head} Field ${path} is missing in new schema`;
    if (nf.type !== of.type) return `${head} Field ${path} has changed type from ${of.type} to ${nf.type}`;
    if (nf.mode !== of.mode && !(allowRelax && of.mode === 'REQUIRED' && nf.mode === 'NULLABLE')) return `${head} Field ${path} has changed mode from ${of.mode} to ${nf.mode}`;
    if (of.type === 'RECORD') {
      const e = schemaChangeError(tableName, of.fields, nf.fields, { allowAdd, allowRelax }, `${path}.`);
      if (e) return e;
    }
  }
  for (const nf of newFields) {
    if (findField(oldFields, nf.name)) continue;
    if (nf.mode === 'REQUIRED') return `${head} Cannot add required fields to an existing schema. (field: ${prefix + nf.name})`;
    if (!allowAdd) return `${head} Cannot add fields (field: ${prefix + nf.name})`;
  }
  return undefined;
}

// ---------------------------------------------------------------- values

function parseTimestamp(v) {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    const micros = BigInt(Math.round(v * 1e6));
    return micros >= TS_MIN_MICROS && micros <= TS_MAX_MICROS ? micros : undefined;
  }
  if (typeof v !== 'string') return undefined;
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)? ?(Z|z|UTC|[+-]\d{1,2}(?::?\d{2})?)?$/.exec(v.trim());
  if (!m) return undefined;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1, 7).map((x) => (x === undefined ? undefined : Number(x)));
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  if (date.getUTCDate() !== d || date.getUTCMonth() !== mo - 1) return undefined;
  date.setUTCHours(h, mi, s, 0);
  let micros = BigInt(date.getTime()) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0');
  const tz = m[8];
  if (tz && !/^(z|utc)$/i.test(tz)) {
    const t = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(tz);
    const offsetMin = (Number(t[2]) * 60 + Number(t[3] ?? 0)) * (t[1] === '-' ? -1 : 1);
    micros -= BigInt(offsetMin) * 60_000_000n;
  }
  return micros >= TS_MIN_MICROS && micros <= TS_MAX_MICROS ? micros : undefined;
}

function isoMicros(micros) {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const iso = new Date(Number(ms)).toISOString(); // ...SS.mmmZ
  const frac = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  return `${iso.slice(0, 19)}.${String(frac).padStart(6, '0')}Z`;
}

/** Converts one scalar; returns {value} or {error}. Values are stored in a canonical form. */
function convertScalar(type, v) {
  const bad = (what) => ({ error: `Cannot convert value to ${what} (bad value): ${typeof v === 'string' ? v : JSON.stringify(v)}` });
  switch (type) {
    case 'STRING':
      if (typeof v === 'string') return { value: v };
      if (typeof v === 'number' || typeof v === 'boolean') return { value: String(v) };
      return { error: 'Cannot convert value to string.' };
    case 'INTEGER': {
      let big;
      if (typeof v === 'number' && Number.isInteger(v)) big = BigInt(v);
      else if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) big = BigInt(v.trim());
      if (big === undefined || big < INT64_MIN || big > INT64_MAX) return bad('integer');
      return { value: big.toString() };
    }
    case 'FLOAT': {
      if (typeof v === 'number') return { value: v };
      if (typeof v === 'string' && /^\s*([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?inf(inity)?|nan)\s*$/i.test(v)) {
        const t = v.trim().toLowerCase();
        return { value: t.includes('nan') ? NaN : t.includes('inf') ? (t.startsWith('-') ? -Infinity : Infinity) : Number(t) };
      }
      return bad('floating point');
    }
    case 'NUMERIC':
    case 'BIGNUMERIC':
      if ((typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v))) return { value: String(v).trim() };
      return bad('numeric');
    case 'BOOLEAN':
      if (typeof v === 'boolean') return { value: v };
      if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return { value: v.trim().toLowerCase() === 'true' };
      if (v === 0 || v === 1) return { value: v === 1 };
      return bad('boolean');
    case 'TIMESTAMP': {
      const micros = parseTimestamp(v);
      if (micros === undefined) return { error: `Couldn't convert value to timestamp: Could not parse '${typeof v === 'string' ? v : JSON.stringify(v)}' as a timestamp. Required format is YYYY-MM-DD HH:MM[:SS[.SSSSSS]] or YYYY/MM/DD HH:MM[:SS[.SSSSSS]]` };
      return { value: micros };
    }
    case 'DATE':
      return typeof v === 'string' && /^\d{4}-\d{1,2}-\d{1,2}$/.test(v.trim()) && parseTimestamp(v.trim()) !== undefined ? { value: v.trim() } : bad('date');
    case 'BYTES':
      return typeof v === 'string' && /^[A-Za-z0-9+/_-]*={0,2}$/.test(v) ? { value: v } : bad('bytes');
    case 'JSON':
      return { value: typeof v === 'string' ? v : JSON.stringify(v) };
    default: // DATETIME, TIME: accepted as strings
      return typeof v === 'string' ? { value: v } : bad(type.toLowerCase());
  }
}

/**
 * Checks a JSON row against schema fields. Returns {values, errors}; each error is
 * {location, message} like BigQuery's insertErrors entries.
 */
function checkRow(fields, obj, { ignoreUnknownValues = false } = {}, prefix = '') {
  const errors = [];
  const values = {};
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return { values, errors: [{ location: prefix.replace(/\.$/, ''), message: prefix ? `This field: ${prefix.replace(/\.$/, '')} is not a record.` : 'Row is not a JSON object.' }] };
  }
  const byLower = new Map(fields.map((f) => [f.name.toLowerCase(), f]));
  const given = new Map();
  for (const [k, v] of Object.entries(obj)) {
    const f = byLower.get(k.toLowerCase());
    if (!f) {
      if (!ignoreUnknownValues) errors.push({ location: prefix + k, message: `no such field: ${prefix + k}.` });
      continue;
    }
    given.set(f.name, v);
  }
  for (const f of fields) {
    const path = prefix + f.name;
    const v = given.get(f.name);
    if (f.mode === 'REPEATED') {
      if (v === undefined || v === null) { values[f.name] = []; continue; }
      if (!Array.isArray(v)) { errors.push({ location: path, message: `Array expected for repeated field: ${path}.` }); continue; }
      const out = [];
      v.forEach((el, i) => {
        if (el === null) return errors.push({ location: `${path}[${i}]`, message: `Array elements cannot be null: ${path}.` });
        const r = convertOne(f, el, `${path}.`, ignoreUnknownValues);
        if (r.error) errors.push(...[].concat(r.error).map((e) => (typeof e === 'string' ? { location: `${path}[${i}]`, message: e } : e)));
        else out.push(r.value);
      });
      values[f.name] = out;
      continue;
    }
    if (v === undefined || v === null) {
      if (f.mode === 'REQUIRED') errors.push({ location: path, message: `Missing required field: ${path}.` });
      values[f.name] = null;
      continue;
    }
    if (Array.isArray(v)) { errors.push({ location: path, message: `Array specified for non-repeated field: ${path}.` }); continue; }
    const r = convertOne(f, v, `${path}.`, ignoreUnknownValues);
    if (r.error) errors.push(...[].concat(r.error).map((e) => (typeof e === 'string' ? { location: path, message: e } : e)));
    else values[f.name] = r.value;
  }
  return { values, errors };
}

function convertOne(field, v, nestedPrefix, ignoreUnknownValues) {
  if (field.type === 'RECORD') {
    const r = checkRow(field.fields, v, { ignoreUnknownValues }, nestedPrefix);
    return r.errors.length ? { error: r.errors } : { value: r.values };
  }
  if (typeof v === 'object') return { error: `This field: ${nestedPrefix.slice(0, -1)} is not a record.` };
  return convertScalar(field.type, v);
}

/** Stored value -> plain JS for server.rows(). */
function plainValue(field, v) {
  if (v === null || v === undefined) return field.mode === 'REPEATED' ? [] : null;
  if (field.mode === 'REPEATED' && Array.isArray(v)) return v.map((x) => plainValue({ ...field, mode: 'NULLABLE' }, x));
  switch (field.type) {
    case 'INTEGER': { const n = Number(v); return Number.isSafeInteger(n) ? n : v; }
    case 'TIMESTAMP': return isoMicros(v);
    case 'RECORD': return Object.fromEntries(field.fields.map((f) => [f.name, plainValue(f, v[f.name])]));
    default: return v;
  }
}

/** Stored value -> tabledata.list cell value (strings, like BigQuery). */
function cellValue(field, v, tsFormat) {
  if (v === null || v === undefined) return field.mode === 'REPEATED' ? [] : null;
  if (field.mode === 'REPEATED' && Array.isArray(v)) return v.map((x) => ({ v: cellValue({ ...field, mode: 'NULLABLE' }, x, tsFormat) }));
  switch (field.type) {
    case 'TIMESTAMP':
      if (tsFormat === 'INT64') return v.toString();
      if (tsFormat === 'ISO8601_STRING') return isoMicros(v);
      return (Number(v) / 1e6).toExponential().replace('e+', 'E').replace('e-', 'E-');
    case 'RECORD': return { f: field.fields.map((f) => ({ v: cellValue(f, v[f.name], tsFormat) })) };
    default: return String(v);
  }
}

// ---------------------------------------------------------------- HTTP helpers

async function readBody(req, entry) {
  const chunks = [];
  for await (const c of req) {
    chunks.push(c);
    entry.bytes += c.length;
  }
  let buf = Buffer.concat(chunks);
  if (/gzip/i.test(req.headers['content-encoding'] ?? '')) {
    try { buf = gunzipSync(buf); } catch { throw new HttpError(400, 'parseError', 'Invalid gzip body.'); }
  }
  return buf;
}

function parseJson(buf) {
  if (buf.length === 0) return {};
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, 'parseError', `Invalid JSON payload received. ${e.message}`);
  }
}

function parseMultipart(buf, contentType) {
  const m = /boundary="?([^";]+)"?/i.exec(contentType ?? '');
  if (!m) throw new HttpError(400, 'badRequest', 'Multipart upload without a boundary.');
  const delim = Buffer.from(`--${m[1]}`);
  const parts = [];
  let pos = buf.indexOf(delim);
  while (pos !== -1) {
    let start = pos + delim.length;
    if (buf[start] === 0x2d && buf[start + 1] === 0x2d) break; // closing --boundary--
    if (buf[start] === 0x0d && buf[start + 1] === 0x0a) start += 2;
    const next = buf.indexOf(delim, start);
    if (next === -1) break;
    let end = next;
    if (buf[end - 2] === 0x0d && buf[end - 1] === 0x0a) end -= 2;
    const part = buf.subarray(start, end);
    const sep = part.indexOf('\r\n\r\n');
    const noHeaders = part[0] === 0x0d && part[1] === 0x0a;
    parts.push({
      headers: noHeaders || sep === -1 ? '' : part.subarray(0, sep).toString('utf8'),
      body: noHeaders ? part.subarray(2) : sep === -1 ? part : part.subarray(sep + 4),
    });
    pos = next;
  }
  if (parts.length !== 2) throw new HttpError(400, 'badRequest', `Multipart upload must have 2 parts (metadata, media), got ${parts.length}.`);
  return parts;
}

function matchesFault(match, info) {
  if (!match) return true;
  if (typeof match === 'function') return !!match(info);
  if (match.method && match.method.toUpperCase() !== info.method) return false;
  if (match.path !== undefined) {
    if (match.path instanceof RegExp) { match.path.lastIndex = 0; if (!match.path.test(info.url)) return false; }
    else if (!info.url.includes(match.path)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- the server

export async function startBigQueryServer(opts = {}) {
  const cfg = {
    projectId: 'test-project',
    location: 'US',
    maxRequestBytes: 10 * MiB,
    tooLargeBytes: 100 * MiB,
    maxRows: 50_000,
    maxRowBytes: 5 * MiB,
    jobRunningPolls: 0,
    requireAuth: false,
    ...opts,
  };
  const state = { datasets: new Map(), jobs: new Map(), uploads: new Map() };
  const faults = [];
  const requests = [];
  const sockets = new Set();
  const timers = new Set();
  let etagCounter = 0;
  const now = () => String(Date.now());
  const etag = () => `"etag-${++etagCounter}"`;

  // ---- model
  const dsKey = (p, d) => `${p}:${d}`;
  function getDataset(p, d) {
    const ds = state.datasets.get(dsKey(p, d));
    if (!ds) throw notFound(`Not found: Dataset ${p}:${d}`);
    return ds;
  }
  function getTable(p, d, t) {
    const ds = getDataset(p, d);
    const table = ds.tables.get(t);
    if (!table) throw notFound(`Not found: Table ${p}:${d}.${t}`);
    return table;
  }
  function datasetResource(ds) {
    const { projectId, datasetId } = ds;
    return { kind: 'bigquery#dataset', etag: ds.etag, id: `${projectId}:${datasetId}`, selfLink: `${baseUrl()}/bigquery/v2/projects/${projectId}/datasets/${datasetId}`, datasetReference: { datasetId, projectId }, location: ds.location, creationTime: ds.creationTime, lastModifiedTime: ds.lastModifiedTime, ...ds.extra };
  }
  function tableResource(t) {
    const { projectId, datasetId, tableId } = t;
    const r = {
      kind: 'bigquery#table', etag: t.etag, id: `${projectId}:${datasetId}.${tableId}`,
      selfLink: `${baseUrl()}/bigquery/v2/projects/${projectId}/datasets/${datasetId}/tables/${tableId}`,
      tableReference: { projectId, datasetId, tableId }, type: 'TABLE', location: t.location,
      creationTime: t.creationTime, lastModifiedTime: t.lastModifiedTime,
      numRows: String(t.rows.length), numBytes: String(t.rows.reduce((n, r) => n + r.bytes, 0)),
      ...t.extra,
    };
    if (t.fields.length) r.schema = { fields: structuredClone(t.fields) };
    if (t.timePartitioning) r.timePartitioning = structuredClone(t.timePartitioning);
    if (t.clustering) r.clustering = structuredClone(t.clustering);
    return r;
  }
  function createDatasetModel(p, d, location) {
    if (typeof d !== 'string' || !/^[A-Za-z0-9_]{1,1024}$/.test(d)) throw invalid(`Invalid dataset ID "${d}". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.`);
    if (state.datasets.has(dsKey(p, d))) throw new HttpError(409, 'duplicate', `Already Exists: Dataset ${p}:${d}`);
    const ds = { projectId: p, datasetId: d, location: location ?? cfg.location, etag: etag(), creationTime: now(), lastModifiedTime: now(), extra: {}, tables: new Map() };
    state.datasets.set(dsKey(p, d), ds);
    return ds;
  }
  function checkPartitioning(fields, tp, cl) {
    if (tp) {
      if (!['DAY', 'HOUR', 'MONTH', 'YEAR'].includes(tp.type ?? 'DAY')) throw invalid(`Invalid value for timePartitioning.type: ${tp.type}`);
      if (tp.field !== undefined) {
        const f = findField(fields, tp.field);
        if (!f) throw invalid(`The field specified for partitioning cannot be found in the schema`);
        if (!['TIMESTAMP', 'DATE', 'DATETIME'].includes(f.type) || f.mode === 'REPEATED') throw invalid(`Partitioning field ${tp.field} must be of type TIMESTAMP, DATE or DATETIME or be a pseudo column`);
      }
    }
    if (cl) {
      const cf = cl.fields ?? [];
      if (!Array.isArray(cf) || cf.length === 0) throw invalid('Clustering fields must be a non-empty list.');
      if (cf.length > 4) throw invalid(`Too many clustering fields: ${cf.length}, only 4 allowed.`);
      for (const name of cf) {
        const f = findField(fields, name);
        if (!f) throw invalid(`The field specified for clustering cannot be found in the schema.  Invalid field: ${name}.`);
        if (['FLOAT', 'RECORD', 'JSON'].includes(f.type) || f.mode === 'REPEATED') throw invalid(`Field ${name} is of type ${f.type} which is not supported for clustering`);
      }
    }
  }
  const EXTRA_TABLE_KEYS = ['description', 'labels', 'friendlyName', 'expirationTime', 'requirePartitionFilter'];
  function createTableModel(ds, body) {
    const ref = body.tableReference ?? {};
    const t = ref.tableId;
    if (typeof t !== 'string' || !/^[\p{L}\p{M}\p{N}_\- ]{1,1024}$/u.test(t)) throw invalid(`Invalid table ID "${t}".`);
    if (ds.tables.has(t)) throw new HttpError(409, 'duplicate', `Already Exists: Table ${ds.projectId}:${ds.datasetId}.${t}`);
    const fields = normalizeFields(body.schema?.fields);
    const tp = body.timePartitioning ? { type: 'DAY', ...body.timePartitioning } : undefined;
    checkPartitioning(fields, tp, body.clustering);
    const table = {
      projectId: ds.projectId, datasetId: ds.datasetId, tableId: t, location: ds.location, fields,
      timePartitioning: tp, clustering: body.clustering ? { fields: [...body.clustering.fields] } : undefined,
      etag: etag(), creationTime: now(), lastModifiedTime: now(),
      extra: Object.fromEntries(EXTRA_TABLE_KEYS.filter((k) => body[k] !== undefined).map((k) => [k, body[k]])),
      rows: [], insertIds: new Set(),
    };
    ds.tables.set(t, table);
    return table;
  }
  function updateTableModel(table, body, replace) {
    const name = `${table.projectId}:${table.datasetId}.${table.tableId}`;
    let fields = table.fields;
    if (body.schema !== undefined) {
      fields = normalizeFields(body.schema?.fields);
      const err = schemaChangeError(name, table.fields, fields);
      if (err) throw invalid(err);
    }
    const tp = body.timePartitioning === undefined ? table.timePartitioning : { type: 'DAY', ...body.timePartitioning };
    if (JSON.stringify(tp ?? null) !== JSON.stringify(table.timePartitioning ?? null)) {
      const same = tp && table.timePartitioning && tp.type === table.timePartitioning.type && tp.field === table.timePartitioning.field;
      if (!same) throw invalid('Cannot change partitioning spec for a partitioned table.');
    }
    const cl = body.clustering === undefined ? table.clustering : body.clustering ?? undefined;
    checkPartitioning(fields, tp, cl);
    table.fields = fields;
    table.timePartitioning = tp;
    table.clustering = cl ? { fields: [...cl.fields] } : undefined;
    if (replace) table.extra = {};
    for (const k of EXTRA_TABLE_KEYS) if (body[k] !== undefined) table.extra[k] = body[k];
    table.etag = etag();
    table.lastModifiedTime = now();
  }
  function storeRow(table, insertId, json, values) {
    if (insertId !== undefined && insertId !== null && insertId !== '') {
      if (table.insertIds.has(insertId)) return false;
      table.insertIds.add(insertId);
    }
    table.rows.push({ insertId, json, values, bytes: Buffer.byteLength(JSON.stringify(json)) });
    return true;
  }

  // ---- insertAll
  function insertAll(p, d, t, buf, entry) {
    if (buf.length > cfg.maxRequestBytes) throw new HttpError(400, 'badRequest', `Request payload size exceeds the limit: ${cfg.maxRequestBytes} bytes.`);
    const body = parseJson(buf);
    const rows = body.rows;
    if (!Array.isArray(rows) || rows.length === 0) throw invalid('No rows present in the request.');
    entry.rowCount = rows.length;
    if (rows.length > cfg.maxRows) throw invalid(`too many rows present in the request, limit: ${cfg.maxRows} row count: ${rows.length}.`);
    const table = getTable(p, d, t);
    if (body.templateSuffix) throw new HttpError(501, 'notImplemented', 'templateSuffix is not supported by the local BigQuery server.');
    const checked = rows.map((row) => {
      const size = Buffer.byteLength(JSON.stringify(row?.json ?? null));
      if (size > cfg.maxRowBytes) return { values: {}, errors: [{ location: '', message: `Maximum allowed row size exceeded. Allowed: ${cfg.maxRowBytes} Row size: ${size}` }] };
      return checkRow(table.fields, row?.json, { ignoreUnknownValues: !!body.ignoreUnknownValues });
    });
    const anyInvalid = checked.some((c) => c.errors.length > 0);
    const insertErrors = [];
    let stored = 0;
    let deduped = 0;
    checked.forEach((c, index) => {
      if (c.errors.length) {
        insertErrors.push({ index, errors: c.errors.map((e) => ({ reason: 'invalid', location: e.location, debugInfo: '', message: e.message })) });
      } else if (anyInvalid && !body.skipInvalidRows) {
        insertErrors.push({ index, errors: [{ reason: 'stopped', location: '', debugInfo: '', message: '' }] });
      } else if (storeRow(table, rows[index].insertId, rows[index].json, c.values)) stored++;
      else deduped++;
    });
    entry.stored = stored;
    entry.deduped = deduped;
    const resp = { kind: 'bigquery#tableDataInsertAllResponse' };
    if (insertErrors.length) resp.insertErrors = insertErrors;
    return resp;
  }

  // ---- tabledata.list
  function listData(p, d, t, q) {
    const table = getTable(p, d, t);
    let fields = table.fields;
    if (q.selectedFields) {
      const sel = q.selectedFields.split(',').map((s) => s.trim().toLowerCase());
      fields = fields.filter((f) => sel.includes(f.name.toLowerCase()));
    }
    const tsFormat = q['formatOptions.timestampOutputFormat'] ?? (q['formatOptions.useInt64Timestamp'] === 'true' ? 'INT64' : 'FLOAT');
    const start = Number(q.pageToken ?? q.startIndex ?? 0);
    const max = q.maxResults !== undefined ? Number(q.maxResults) : 100_000;
    const page = table.rows.slice(start, start + max);
    const resp = {
      kind: 'bigquery#tableDataList', etag: table.etag, totalRows: String(table.rows.length),
      rows: page.map((r) => ({ f: fields.map((f) => ({ v: cellValue(f, r.values[f.name], tsFormat) })) })),
    };
    if (start + max < table.rows.length) resp.pageToken = String(start + max);
    return resp;
  }

  // ---- jobs
  function jobResource(job) {
    const r = structuredClone(job.resource);
    if (job.pollsLeft > 0) {
      r.status = { state: 'RUNNING' };
      delete r.statistics.endTime;
      delete r.statistics.load;
    }
    return r;
  }
  function reserveJobId(p, body) {
    const ref = body.jobReference ?? {};
    const jobId = ref.jobId ?? `job_${randomUUID().replace(/-/g, '_')}`;
    if (typeof jobId !== 'string' || !/^[A-Za-z0-9_-]{1,1024}$/.test(jobId)) throw invalid(`Invalid job ID "${jobId}". Job IDs must be alphanumeric (plus underscores and dashes) and must be at most 1024 characters long.`);
    const location = ref.location ?? body.location ?? cfg.location;
    if (state.jobs.has(`${p}:${jobId}`)) throw new HttpError(409, 'duplicate', `Already Exists: Job ${p}:${location}.${jobId}`);
    return { jobId, location };
  }
  async function createJob(p, body, data) {
    const { jobId, location } = reserveJobId(p, body);
    const configuration = structuredClone(body.configuration ?? {});
    if (!configuration.load) throw new HttpError(501, 'notImplemented', 'Only load jobs are supported by the local BigQuery server.');
    configuration.jobType = 'LOAD';
    const created = now();
    let outcome;
    if (data === undefined) {
      const uris = configuration.load.sourceUris ?? [];
      outcome = { error: { reason: 'notFound', message: `Not found: URI ${uris[0] ?? '(none)'}` } };
    } else {
      outcome = await runLoad(p, configuration.load, data);
    }
    const resource = {
      kind: 'bigquery#job', etag: etag(), id: `${p}:${location}.${jobId}`,
      selfLink: `${baseUrl()}/bigquery/v2/projects/${p}/jobs/${jobId}?location=${location}`,
      user_email: 'local@jam-etl.test', configuration, jobReference: { projectId: p, jobId, location },
      statistics: { creationTime: created, startTime: created, endTime: now() },
      status: { state: 'DONE' },
    };
    if (outcome.error) {
      resource.status.errorResult = outcome.error;
      resource.status.errors = [outcome.error, ...(outcome.errors ?? [])];
    } else {
      resource.statistics.load = outcome.stats;
    }
    const job = { resource, pollsLeft: cfg.jobRunningPolls };
    state.jobs.set(`${p}:${jobId}`, job);
    return jobResource(job);
  }
  async function runLoad(p, load, data) {
    const fail = (reason, message, errors) => ({ error: { reason, message }, errors });
    const dest = load.destinationTable ?? {};
    const dp = dest.projectId ?? p;
    const name = `${dp}:${dest.datasetId}.${dest.tableId}`;
    const format = load.sourceFormat ?? 'CSV';
    if (format !== 'NEWLINE_DELIMITED_JSON') return fail('invalid', `Source format ${format} is not supported by the local BigQuery server (only NEWLINE_DELIMITED_JSON).`);
    const ds = state.datasets.get(dsKey(dp, dest.datasetId));
    if (!ds) return fail('notFound', `Not found: Dataset ${dp}:${dest.datasetId}`);
    let table = ds.tables.get(dest.tableId);
    const write = load.writeDisposition ?? 'WRITE_APPEND';
    const createDisp = load.createDisposition ?? 'CREATE_IF_NEEDED';
    let fields;
    try {
      const given = load.schema ? normalizeFields(load.schema.fields) : undefined;
      if (!table) {
        if (createDisp === 'CREATE_NEVER') return fail('notFound', `Not found: Table ${name}`);
        if (!given) return fail('invalid', 'No schema specified on job or table.');
        fields = given;
      } else if (given && write !== 'WRITE_TRUNCATE') {
        const opt = load.schemaUpdateOptions ?? [];
        const err = schemaChangeError(name, table.fields, given, { allowAdd: opt.includes('ALLOW_FIELD_ADDITION'), allowRelax: opt.includes('ALLOW_FIELD_RELAXATION') });
        if (err) return fail('invalid', err);
        fields = given;
      } else {
        fields = given ?? table.fields;
      }
    } catch (e) {
      if (e instanceof HttpError) return fail('invalid', e.message);
      throw e;
    }
    if (table && write === 'WRITE_EMPTY' && table.rows.length) return fail('duplicate', `Already Exists: Table ${name}`);
    const maxBad = Number(load.maxBadRecords ?? 0);
    const good = [];
    const bad = [];
    let line = 0;
    const parser = jsonlParser.asStream({ errorIndicator: (error) => ({ [PARSE_ERROR]: error.message }) });
    for await (const { value } of Readable.from([data]).pipe(parser)) {
      line++;
      const where = `Error while reading data, error message: JSON parsing error in row starting at position ${line}:`;
      if (value && value[PARSE_ERROR]) { bad.push(`${where} ${value[PARSE_ERROR]}`); continue; }
      const r = checkRow(fields, value, { ignoreUnknownValues: !!load.ignoreUnknownValues });
      if (r.errors.length) bad.push(`${where} ${r.errors.map((e) => e.message.replace(/^no such field/, 'No such field')).join(' ')}`);
      else good.push({ json: value, values: r.values });
    }
    if (bad.length > maxBad) {
      return fail('invalid', `Error while reading data, error message: JSON table encountered too many errors, giving up. Rows: ${line}; errors: ${bad.length}. Please look into the errors[] collection for more details.`,
        bad.slice(0, 5).map((message) => ({ reason: 'invalid', location: 'upload', message })));
    }
    if (!table) table = createTableModel(ds, { tableReference: { tableId: dest.tableId }, schema: { fields }, timePartitioning: load.timePartitioning, clustering: load.clustering });
    if (write === 'WRITE_TRUNCATE') { table.rows = []; table.insertIds = new Set(); }
    table.fields = fields;
    table.etag = etag();
    table.lastModifiedTime = now();
    let bytes = 0;
    for (const r of good) { storeRow(table, undefined, r.json, r.values); bytes += table.rows[table.rows.length - 1].bytes; }
    return { stats: { inputFiles: '1', inputFileBytes: String(data.length), outputRows: String(good.length), outputBytes: String(bytes), badRecords: String(bad.length) } };
  }

  // ---- uploads
  async function upload(req, res, p, q, buf, hostBase) {
    if (req.method === 'POST' && q.uploadType === 'multipart') {
      const [meta, media] = parseMultipart(buf, req.headers['content-type']);
      return [200, await createJob(p, parseJson(meta.body), media.body)];
    }
    if (req.method === 'POST' && q.uploadType === 'resumable' && !q.upload_id) {
      const meta = parseJson(buf);
      reserveJobId(p, meta);
      const id = randomUUID();
      state.uploads.set(id, { project: p, meta, chunks: [], received: 0, job: undefined });
      return [200, undefined, { location: `${hostBase}/upload/bigquery/v2/projects/${encodeURIComponent(p)}/jobs?uploadType=resumable&upload_id=${id}` }];
    }
    if ((req.method === 'PUT' || req.method === 'POST') && q.upload_id) {
      const s = state.uploads.get(q.upload_id);
      if (!s) throw notFound('No such upload session.');
      if (s.job) return [200, s.job];
      const range = /^bytes (\*|(\d+)-(\d+))\/(\*|\d+)$/.exec(req.headers['content-range'] ?? '');
      const total = range && range[4] !== '*' ? Number(range[4]) : range ? undefined : s.received + buf.length;
      if (range && range[1] !== '*') {
        const start = Number(range[2]);
        if (start > s.received) throw new HttpError(400, 'badRequest', `Invalid Content-Range: expected start ${s.received}.`);
        const fresh = buf.subarray(s.received - start);
        s.chunks.push(fresh);
        s.received += fresh.length;
      } else if (!range) {
        s.chunks.push(buf);
        s.received += buf.length;
      }
      if (total !== undefined && s.received >= total) {
        s.job = await createJob(s.project, s.meta, Buffer.concat(s.chunks));
        s.chunks = [];
        return [200, s.job];
      }
      return [308, undefined, s.received > 0 ? { range: `bytes=0-${s.received - 1}` } : {}];
    }
    throw new HttpError(400, 'badRequest', `Unsupported upload: ${req.method} uploadType=${q.uploadType}`);
  }

  // ---- routing
  async function route(req, res, path, q, buf, entry) {
    const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
    const m = req.method;
    if (seg[0] === 'upload') {
      const rest = seg[1] === 'bigquery' && seg[2] === 'v2' ? seg.slice(3) : seg.slice(1);
      if (rest[0] === 'projects' && rest[2] === 'jobs' && rest.length === 3) {
        const proto = req.socket.encrypted ? 'https' : 'http';
        return upload(req, res, rest[1], q, buf, `${proto}://${req.headers.host}`);
      }
      throw notFound(`Not found: ${path}`);
    }
    const s = seg[0] === 'bigquery' && seg[1] === 'v2' ? seg.slice(2) : seg;
    if (s[0] !== 'projects' || !s[1]) throw notFound(`Not found: ${path}`);
    const p = s[1];
    const r = s.slice(2);
    const body = () => parseJson(buf);
    if (r[0] === 'datasets') {
      const [, d, tables, t, sub] = r;
      if (d === undefined) {
        if (m === 'GET') return [200, { kind: 'bigquery#datasetList', datasets: [...state.datasets.values()].filter((x) => x.projectId === p).map((x) => ({ kind: 'bigquery#dataset', id: `${p}:${x.datasetId}`, datasetReference: { datasetId: x.datasetId, projectId: p }, location: x.location })) }];
        if (m === 'POST') {
          const b = body();
          const ds = createDatasetModel(b.datasetReference?.projectId ?? p, b.datasetReference?.datasetId, b.location);
          for (const k of ['description', 'labels', 'friendlyName', 'defaultTableExpirationMs']) if (b[k] !== undefined) ds.extra[k] = b[k];
          return [200, datasetResource(ds)];
        }
      } else if (tables === undefined) {
        const ds = getDataset(p, d);
        if (m === 'GET') return [200, datasetResource(ds)];
        if (m === 'DELETE') {
          if (ds.tables.size && q.deleteContents !== 'true') throw new HttpError(400, 'resourceInUse', `Dataset ${p}:${d} is still in use`);
          state.datasets.delete(dsKey(p, d));
          return [204];
        }
      } else if (tables === 'tables' && t === undefined) {
        const ds = getDataset(p, d);
        if (m === 'GET') {
          const all = [...ds.tables.values()];
          const start = Number(q.pageToken ?? 0);
          const max = q.maxResults !== undefined ? Number(q.maxResults) : 1000;
          const resp = { kind: 'bigquery#tableList', totalItems: all.length, tables: all.slice(start, start + max).map((x) => { const full = tableResource(x); return { kind: full.kind, id: full.id, tableReference: full.tableReference, type: 'TABLE', creationTime: full.creationTime, timePartitioning: full.timePartitioning, clustering: full.clustering }; }) };
          if (start + max < all.length) resp.nextPageToken = String(start + max);
          return [200, resp];
        }
        if (m === 'POST') return [200, tableResource(createTableModel(ds, body()))];
      } else if (tables === 'tables' && sub === undefined) {
        if (m === 'GET') return [200, tableResource(getTable(p, d, t))];
        if (m === 'PATCH' || m === 'PUT') { const table = getTable(p, d, t); updateTableModel(table, body(), m === 'PUT'); return [200, tableResource(table)]; }
        if (m === 'DELETE') { getTable(p, d, t); getDataset(p, d).tables.delete(t); return [204]; }
      } else if (tables === 'tables' && sub === 'insertAll' && m === 'POST') {
        return [200, insertAll(p, d, t, buf, entry)];
      } else if (tables === 'tables' && sub === 'data' && m === 'GET') {
        return [200, listData(p, d, t, q)];
      }
    } else if (r[0] === 'jobs') {
      const j = r[1];
      if (j === undefined && m === 'POST') return [200, await createJob(p, body(), undefined)];
      if (j === undefined && m === 'GET') return [200, { kind: 'bigquery#jobList', jobs: [...state.jobs.entries()].filter(([k]) => k.startsWith(`${p}:`)).map(([, job]) => jobResource(job)) }];
      if (j !== undefined && r.length === 2 && m === 'GET') {
        const job = state.jobs.get(`${p}:${j}`);
        const loc = q.location ?? job?.resource.jobReference.location ?? cfg.location;
        if (!job || job.resource.jobReference.location.toLowerCase() !== loc.toLowerCase()) throw notFound(`Not found: Job ${p}:${loc}.${j}`);
        const out = jobResource(job);
        if (job.pollsLeft > 0) job.pollsLeft--;
        return [200, out];
      }
    }
    throw new HttpError(404, 'notFound', `Not found: ${m} ${path}`);
  }

  function send(res, entry, status, obj, headers = {}, dropAfter = false) {
    entry.status = dropAfter ? 'dropped' : status;
    if (dropAfter) { res.socket?.destroy(); return; }
    const text = obj === undefined ? '' : JSON.stringify(obj);
    const h = { ...headers, 'content-length': Buffer.byteLength(text) };
    if (obj !== undefined) h['content-type'] = 'application/json; charset=utf-8';
    res.writeHead(status, h);
    res.end(text);
  }

  const sleep = (ms) => new Promise((resolve) => { const t = setTimeout(() => { timers.delete(t); resolve(); }, ms); timers.add(t); });

  async function handle(req, res) {
    const url = new URL(req.url, 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const entry = { method: req.method, url: req.url, path: url.pathname, query, bytes: 0, status: undefined, auth: !!req.headers.authorization, at: Date.now() };
    requests.push(entry);
    const info = { method: req.method, url: req.url, path: url.pathname, query, headers: req.headers };
    const fault = faults.find((f) => (f.times ?? 1) > 0 && matchesFault(f.match, info) && !(f.skip > 0 && f.skip-- > 0));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      fault.hits = (fault.hits ?? 0) + 1;
      entry.fault = fault;
    }
    try {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > cfg.tooLargeBytes) {
        req.resume();
        throw new HttpError(413, 'requestTooLarge', 'Request Too Large');
      }
      const buf = await readBody(req, entry);
      if (buf.length > cfg.tooLargeBytes) throw new HttpError(413, 'requestTooLarge', 'Request Too Large');
      if (fault?.delayMs) await sleep(fault.delayMs);
      if (fault?.action === 'drop') { entry.status = 'dropped'; req.socket.destroy(); return; }
      if (fault?.status) {
        const [reason, message] = FAULT_DEFAULTS[fault.status] ?? ['backendError', `HTTP ${fault.status}`];
        return send(res, entry, fault.status, fault.body ?? errorBody(fault.status, fault.reason ?? reason, fault.message ?? message), fault.headers);
      }
      if (cfg.requireAuth && !/^Bearer \S+/.test(req.headers.authorization ?? '')) {
        throw new HttpError(401, 'required', 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
      }
      const [status, obj, headers] = await route(req, res, url.pathname, query, buf, entry);
      send(res, entry, status, obj, { ...headers, ...fault?.headers }, fault?.action === 'dropAfter');
    } catch (e) {
      if (res.headersSent || res.destroyed) return;
      if (e instanceof HttpError) return send(res, entry, e.code, errorBody(e.code, e.reason, e.message), fault?.headers, fault?.action === 'dropAfter');
      send(res, entry, 500, errorBody(500, 'internalError', `Local BigQuery server bug: ${e?.stack ?? e}`));
    }
  }

  const server = createServer((req, res) => { handle(req, res); });
  server.on('connection', (sock) => { sockets.add(sock); sock.on('close', () => sockets.delete(sock)); });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const port = server.address().port;
  const url = `http://127.0.0.1:${port}`;
  const baseUrl = () => url;

  const findTable = (d, t, p = cfg.projectId) => state.datasets.get(dsKey(p, d))?.tables.get(t);
  return {
    url,
    port,
    state,
    faults,
    requests,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
    rows(datasetId, tableId, { projectId, raw = false } = {}) {
      const table = findTable(datasetId, tableId, projectId);
      if (!table) return [];
      if (raw) return table.rows.map((r) => structuredClone(r.json));
      return table.rows.map((r) => Object.fromEntries(table.fields.map((f) => [f.name, plainValue(f, r.values[f.name])])));
    },
    table(datasetId, tableId, { projectId } = {}) {
      const table = findTable(datasetId, tableId, projectId);
      return table ? tableResource(table) : undefined;
    },
    job(jobId, { projectId = cfg.projectId } = {}) {
      const job = state.jobs.get(`${projectId}:${jobId}`);
      return job ? structuredClone(job.resource) : undefined;
    },
    createDataset(datasetId, { projectId = cfg.projectId, location } = {}) {
      const existing = state.datasets.get(dsKey(projectId, datasetId));
      return datasetResource(existing ?? createDatasetModel(projectId, datasetId, location));
    },
    createTable(datasetId, tableId, { projectId = cfg.projectId, schema, timePartitioning, clustering, ...rest } = {}) {
      const ds = state.datasets.get(dsKey(projectId, datasetId)) ?? createDatasetModel(projectId, datasetId);
      const fields = Array.isArray(schema) ? schema : schema?.fields;
      return tableResource(createTableModel(ds, { ...rest, tableReference: { tableId }, schema: { fields }, timePartitioning, clustering }));
    },
    reset() {
      state.datasets.clear();
      state.jobs.clear();
      state.uploads.clear();
      faults.length = 0;
      requests.length = 0;
    },
  };
}
