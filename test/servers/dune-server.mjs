// A local stand-in for Dune's uploads API (https://docs.dune.com/api-reference/tables/endpoint/overview),
// strict enough that a client which passes against it has a good chance against the real thing:
// it enforces names, schemas, column types, all-or-nothing inserts, the request size limit and auth,
// and it can inject faults (429, 5xx, dropped connections) so retries can be tested without Dune.
//
// Response shapes follow Dune's docs:
//   create  -> { namespace, table_name, full_name, example_query, already_existed, message }  (201 new, 200 existing)
//   insert  -> { name, rows_written, bytes_written }
//   clear   -> { message: "Table <ns>.<table> successfully cleared" }
//   delete  -> { message }
//   errors  -> { error: "<text>" }
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import { jsonlParser } from 'stream-json/jsonl/parser.js';

/** Dune: "The maximum request size is 1.2GB" (uploads-insert docs). */
export const DUNE_MAX_REQUEST_BYTES = 1.2e9;

const NAME_RE = /^[a-z][a-z0-9_]*$/;
// Namespaces are Dune user/team handles; they are not documented as strictly as table names.
const NAMESPACE_RE = /^[a-z0-9][a-z0-9_-]*$/;
const KNOWN_TYPES = new Set(['varchar', 'integer', 'bigint', 'double', 'boolean', 'timestamp', 'date', 'varbinary', 'uint256', 'int256']);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const ISO_TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const bad = (message) => new HttpError(400, message);

function sameSchema(a, b) {
  return a.length === b.length && a.every((c, i) => c.name === b[i].name && c.type === b[i].type && c.nullable === b[i].nullable);
}

function validDate(y, m, d) {
  const days = new Date(Date.UTC(Number(y), Number(m), 0)).getUTCDate();
  return Number(m) >= 1 && Number(m) <= 12 && Number(d) >= 1 && Number(d) <= days;
}

function isIntegerLike(v, min, max) {
  let big;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return false;
    big = BigInt(v);
  } else if (typeof v === 'string' && /^-?\d+$/.test(v)) {
    big = BigInt(v);
  } else {
    return false;
  }
  return (min === undefined || big >= min) && (max === undefined || big <= max);
}

/** Returns an error sentence for a value that a Dune column of `type` would refuse, else undefined. */
function typeError(type, v) {
  switch (type) {
    case 'varchar':
      return typeof v === 'string' ? undefined : 'expected a string';
    case 'integer':
      return isIntegerLike(v, -(2n ** 31n), 2n ** 31n - 1n) ? undefined : 'expected a 32-bit integer';
    case 'bigint':
      return isIntegerLike(v, INT64_MIN, INT64_MAX) ? undefined : 'expected a 64-bit integer';
    case 'uint256':
      return isIntegerLike(v, 0n, 2n ** 256n - 1n) ? undefined : 'expected an unsigned 256-bit integer';
    case 'int256':
      return isIntegerLike(v, -(2n ** 255n), 2n ** 255n - 1n) ? undefined : 'expected a signed 256-bit integer';
    case 'double':
      if (typeof v === 'number') return undefined;
      return typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? undefined : 'expected a number';
    case 'boolean':
      return typeof v === 'boolean' ? undefined : 'expected a boolean';
    case 'timestamp': {
      const m = typeof v === 'string' ? ISO_TIMESTAMP_RE.exec(v) : null;
      if (!m || !validDate(m[1], m[2], m[3]) || Number.isNaN(Date.parse(v.replace(' ', 'T')))) {
        return 'expected an ISO 8601 timestamp';
      }
      return undefined;
    }
    case 'date': {
      const m = typeof v === 'string' ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(v) : null;
      return m && validDate(m[1], m[2], m[3]) ? undefined : 'expected a date (YYYY-MM-DD)';
    }
    case 'varbinary':
      return typeof v === 'string' && (/^0x([0-9a-fA-F]{2})*$/.test(v) || /^[A-Za-z0-9+/]*={0,2}$/.test(v))
        ? undefined
        : 'expected hex (0x...) or base64 text';
    default:
      return `unsupported column type ${type}`;
  }
}

/** Validates one NDJSON row against a table schema; returns the row with absent nullable columns set to null. */
function checkRow(schema, value, line) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(`line ${line}: expected a JSON object`);
  }
  const byName = new Map(schema.map((c) => [c.name, c]));
  for (const key of Object.keys(value)) {
    if (!byName.has(key)) throw bad(`line ${line}: unknown column "${key}"`);
  }
  const row = {};
  for (const col of schema) {
    const v = Object.hasOwn(value, col.name) ? value[col.name] : null;
    if (v === null) {
      if (!col.nullable) throw bad(`line ${line}: column "${col.name}" is not nullable but the value is null or missing`);
      row[col.name] = null;
      continue;
    }
    const err = typeError(col.type, v);
    if (err) throw bad(`line ${line}: column "${col.name}" (${col.type}): ${err}, got ${JSON.stringify(v)}`);
    row[col.name] = v;
  }
  return row;
}

/** A pass-through that counts bytes and fails once the body is larger than Dune accepts. */
function byteLimiter(limit, counter) {
  return new Transform({
    transform(chunk, _enc, cb) {
      counter.bytes += chunk.length;
      if (counter.bytes > limit) cb(new HttpError(413, `request body exceeds the ${limit} byte limit`));
      else cb(null, chunk);
    },
  });
}

function matches(fault, method, path) {
  const m = fault.match ?? {};
  if (m.method && m.method.toUpperCase() !== method) return false;
  if (m.path instanceof RegExp) return m.path.test(path);
  if (typeof m.path === 'string') return m.path === path;
  return true;
}

/**
 * @param {object} [opts]
 * @param {string} [opts.apiKey] the only key accepted (X-DUNE-API-KEY header or ?api_key=)
 * @param {string[]} [opts.namespaces] namespaces the key may write to (Dune: only your own); default: any
 * @param {number} [opts.maxBodyBytes] request body limit, default Dune's documented 1.2 GB
 * @param {number} [opts.insertDelayMs] hold each insert this long before answering, to make concurrency observable
 */
export async function startDuneServer({
  apiKey = 'test-dune-key',
  namespaces,
  maxBodyBytes = DUNE_MAX_REQUEST_BYTES,
  insertDelayMs = 0,
} = {}) {
  /** @type {Map<string, {namespace, table_name, description, is_private, schema, rows: object[]}>} */
  const store = new Map();
  /** Tests push fault specs here: {match:{method, path}, times, status, retryAfter, body, action:'drop'}. */
  const faults = [];
  /** One entry per request, in arrival order. */
  const requests = [];
  const inFlight = new Map();
  const maxInFlight = new Map();
  const sockets = new Set();

  const keyOf = (ns, table) => `${ns}.${table}`;

  const readBody = async (req, counter) => {
    const parts = [];
    for await (const chunk of req.pipe(byteLimiter(maxBodyBytes, counter))) parts.push(chunk);
    return Buffer.concat(parts);
  };

  const readJson = async (req, counter) => {
    const text = (await readBody(req, counter)).toString('utf8');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw bad(`request body is not valid JSON: ${e.message}`);
    }
  };

  const tableOrThrow = (ns, table) => {
    const t = store.get(keyOf(ns, table));
    if (!t) throw new HttpError(404, `table ${ns}.${table} does not exist`);
    return t;
  };

  const checkNamespace = (ns) => {
    if (typeof ns !== 'string' || !NAMESPACE_RE.test(ns)) throw bad(`invalid namespace ${JSON.stringify(ns)}`);
    if (namespaces && !namespaces.includes(ns)) {
      throw new HttpError(403, `this API key may not write to namespace ${ns}`);
    }
  };

  async function create(req, counter) {
    const body = await readJson(req, counter);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('request body must be a JSON object');
    const { namespace = namespaces?.[0], table_name, description = '', is_private = false, schema } = body;
    checkNamespace(namespace);
    if (typeof table_name !== 'string' || !NAME_RE.test(table_name)) {
      throw bad(`invalid table_name ${JSON.stringify(table_name)}: must begin with a lowercase letter and contain only lowercase letters, digits and underscores`);
    }
    if (typeof description !== 'string') throw bad('description must be a string');
    if (typeof is_private !== 'boolean') throw bad('is_private must be a boolean');
    if (!Array.isArray(schema) || schema.length === 0) throw bad('schema must be a non-empty array of columns');
    const cols = schema.map((c, i) => {
      if (typeof c !== 'object' || c === null) throw bad(`schema[${i}] must be an object`);
      const { name, type, nullable = true } = c;
      if (typeof name !== 'string' || !NAME_RE.test(name)) {
        throw bad(`invalid column name ${JSON.stringify(name)}: column names can't start with a special character or a digit`);
      }
      if (typeof type !== 'string' || !KNOWN_TYPES.has(type.toLowerCase())) throw bad(`column ${name}: unsupported type ${JSON.stringify(type)}`);
      if (typeof nullable !== 'boolean') throw bad(`column ${name}: nullable must be a boolean`);
      return { name, type: type.toLowerCase(), nullable };
    });
    const dup = cols.find((c, i) => cols.findIndex((d) => d.name === c.name) !== i);
    if (dup) throw bad(`duplicate column name ${dup.name}`);

    const full_name = `dune.${namespace}.${table_name}`;
    const result = { namespace, table_name, full_name, example_query: `select * from ${full_name} limit 10` };
    const existing = store.get(keyOf(namespace, table_name));
    if (existing) {
      if (!sameSchema(existing.schema, cols)) {
        throw new HttpError(409, `table ${namespace}.${table_name} already exists with a different schema`);
      }
      return [200, { ...result, already_existed: true, message: 'Table already existed' }];
    }
    store.set(keyOf(namespace, table_name), { namespace, table_name, description, is_private, schema: cols, rows: [] });
    return [201, { ...result, already_existed: false, message: 'Table created successfully' }];
  }

  async function insert(req, counter, ns, table) {
    checkNamespace(ns);
    const t = tableOrThrow(ns, table);
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/x-ndjson') {
      throw bad(`unsupported Content-Type ${JSON.stringify(type)}: this server only accepts application/x-ndjson`);
    }
    const k = keyOf(ns, table);
    inFlight.set(k, (inFlight.get(k) ?? 0) + 1);
    maxInFlight.set(k, Math.max(maxInFlight.get(k) ?? 0, inFlight.get(k)));
    try {
      // readline gives physical line numbers (blank lines included) for error messages; stream-json's
      // per-line JSONL parser does the parsing and skips blank lines.
      const BAD = Symbol('bad line');
      const parseLine = jsonlParser({ errorIndicator: (e) => ({ [BAD]: e.message }) });
      const rows = [];
      let line = 0;
      const lines = createInterface({ input: req.pipe(byteLimiter(maxBodyBytes, counter)), crlfDelay: Infinity });
      for await (const text of lines) {
        line++;
        const out = parseLine(text);
        if (typeof out !== 'object' || out === null) continue; // blank line
        if (out.value && typeof out.value === 'object' && BAD in out.value) {
          throw bad(`line ${line}: invalid JSON: ${out.value[BAD]}`);
        }
        rows.push(checkRow(t.schema, out.value, line));
      }
      if (insertDelayMs) await new Promise((r) => setTimeout(r, insertDelayMs));
      // The table may have been dropped while the body streamed in.
      if (store.get(k) !== t) throw new HttpError(404, `table ${ns}.${table} does not exist`);
      t.rows.push(...rows);
      return [200, { name: `dune.${ns}.${table}`, rows_written: rows.length, bytes_written: counter.bytes }];
    } finally {
      inFlight.set(k, inFlight.get(k) - 1);
    }
  }

  async function route(req, counter, method, path) {
    if (/^\/api\/v1\/table(\/|$)/.test(path)) {
      throw new HttpError(404, 'the /v1/table endpoints are retired: use /v1/uploads');
    }
    if (path === '/api/v1/uploads' && method === 'POST') return create(req, counter);
    if (path === '/api/v1/uploads' && method === 'GET') {
      return [200, { tables: [...store.values()].map(({ rows, ...t }) => ({ ...t, row_count: rows.length })) }];
    }
    let m = /^\/api\/v1\/uploads\/([^/]+)\/([^/]+)\/(insert|clear)$/.exec(path);
    if (m && method === 'POST') {
      const ns = decodeURIComponent(m[1]);
      const table = decodeURIComponent(m[2]);
      if (m[3] === 'insert') return insert(req, counter, ns, table);
      checkNamespace(ns);
      tableOrThrow(ns, table).rows = [];
      return [200, { message: `Table ${ns}.${table} successfully cleared` }];
    }
    m = /^\/api\/v1\/uploads\/([^/]+)\/([^/]+)$/.exec(path);
    if (m && method === 'DELETE') {
      const ns = decodeURIComponent(m[1]);
      const table = decodeURIComponent(m[2]);
      checkNamespace(ns);
      tableOrThrow(ns, table);
      store.delete(keyOf(ns, table));
      return [200, { message: `Table ${ns}.${table} successfully deleted` }];
    }
    throw new HttpError(404, `no route for ${method} ${path}`);
  }

  // Consumes whatever is left of a body without keeping it. Oversized bodies are drained too, so the
  // client always reads a proper response instead of a reset connection.
  function drain(req, counter) {
    return new Promise((resolve) => {
      if (req.readableEnded || req.destroyed) return resolve();
      req.unpipe();
      req.on('data', (c) => {
        counter.bytes += c.length;
      });
      req.once('end', resolve);
      req.once('close', resolve);
      req.once('error', resolve);
      req.resume();
    });
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const headers = { ...req.headers };
    delete headers['x-dune-api-key'];
    const entry = { method, path, bytes: 0, status: 0, headers, fault: false, startedAt: Date.now(), endedAt: 0 };
    requests.push(entry);
    const counter = { bytes: 0 };
    const send = (status, body, extraHeaders = {}) => {
      entry.bytes = counter.bytes;
      entry.status = status;
      entry.endedAt = Date.now();
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extraHeaders });
      res.end(text);
    };

    const fault = faults.find((f) => (f.times ?? 1) > 0 && matches(f, method, path));
    if (fault) {
      fault.times = (fault.times ?? 1) - 1;
      entry.fault = true;
      await drain(req, counter);
      if (fault.action === 'drop') {
        entry.bytes = counter.bytes;
        entry.endedAt = Date.now();
        req.socket.destroy();
        return;
      }
      const status = fault.status ?? 500;
      const extra = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      const body = fault.body ?? { error: status === 429 ? 'Too many requests' : 'Internal server error' };
      send(status, body, extra);
      return;
    }

    const key = req.headers['x-dune-api-key'] ?? url.searchParams.get('api_key');
    if (key !== apiKey) {
      await drain(req, counter);
      send(401, { error: 'invalid API Key' });
      return;
    }

    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      await drain(req, counter);
      send(413, { error: `request body exceeds the ${maxBodyBytes} byte limit` });
      return;
    }

    try {
      const [status, body] = await route(req, counter, method, path);
      await drain(req, counter); // routes that ignore the body still must consume it
      send(status, body);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      const message = e instanceof HttpError ? e.message : `internal error: ${e?.message ?? e}`;
      await drain(req, counter);
      send(status, { error: message });
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const copyRows = (t) => t.rows.map((r) => ({ ...r }));

  return {
    url: `http://127.0.0.1:${port}/api`,
    port,
    apiKey,
    faults,
    requests,
    /** Tables of a namespace: [{namespace, table_name, description, is_private, schema, row_count}]. */
    tables(namespace) {
      return [...store.values()]
        .filter((t) => t.namespace === namespace)
        .map(({ rows, ...t }) => ({ ...t, schema: t.schema.map((c) => ({ ...c })), row_count: rows.length }));
    },
    table(namespace, table) {
      const t = store.get(keyOf(namespace, table));
      if (!t) return undefined;
      const { rows, ...rest } = t;
      return { ...rest, schema: t.schema.map((c) => ({ ...c })), row_count: rows.length };
    },
    /** Stored rows in insertion order (copies), or undefined when the table does not exist. */
    rows(namespace, table) {
      const t = store.get(keyOf(namespace, table));
      return t ? copyRows(t) : undefined;
    },
    /** Creates a table directly, bypassing HTTP (for conflict set-ups). */
    seedTable(namespace, table_name, schema, rows = []) {
      const cols = schema.map(({ name, type, nullable = true }) => ({ name, type, nullable }));
      store.set(keyOf(namespace, table_name), { namespace, table_name, description: '', is_private: false, schema: cols, rows: [...rows] });
    },
    /** Highest number of inserts that were in progress at once for a table. */
    maxConcurrentInserts(namespace, table) {
      return maxInFlight.get(keyOf(namespace, table)) ?? 0;
    },
    resetLog() {
      requests.length = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
