// `jam-etl dune upload` against a local Dune stand-in (test/servers/dune-server.mjs).
// Build first: npx tsc -p .
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startDuneServer } from './servers/dune-server.mjs';
import { uploadToDune, DuneAuthError, DuneConfigError } from '../dist/sinks/dune/upload.js';
import { DuneClient, DuneApiError, parseRetryAfter } from '../dist/sinks/dune/api.js';
import { duneColumns } from '../dist/tables/schema.js';

const KEY = 'sk-test-0123456789abcdef';
const NS = 'jam_team';
const PREFIX = 'jam_';
const TABLES = ['blocks', 'tickets', 'assurances'];

const schemaOf = async (table) => JSON.parse(await readFile(new URL(`../schema/${table}.json`, import.meta.url), 'utf8'));

/** Valid rows for a table, built from schema/<table>.json so the test follows schema changes. */
async function makeRows(table, n) {
  const cols = await schemaOf(table);
  const rows = [];
  for (let i = 0; i < n; i++) {
    const row = {};
    for (const c of cols) {
      if (c.mode !== 'REQUIRED' && i % 3 === 2) {
        row[c.name] = null;
        continue;
      }
      switch (c.type) {
        case 'TIMESTAMP':
          row[c.name] = new Date(Date.UTC(2025, 5, 1, 12, 0, i)).toISOString().replace('Z', '123Z');
          break;
        case 'INTEGER':
          row[c.name] = 1000 + i;
          break;
        case 'STRING':
          row[c.name] = `0x${(i + 1).toString(16).padStart(8, '0')}${c.name.length.toString(16)}`;
          break;
        case 'BOOLEAN':
          row[c.name] = i % 2 === 0;
          break;
        case 'FLOAT':
          row[c.name] = i / 4;
          break;
      }
    }
    rows.push(row);
  }
  return rows;
}

const toJsonl = (rows) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Writes <table>.jsonl files; returns {dir, rows: {table: rows}}. */
async function writeExport(spec) {
  const dir = await mkdtemp(join(tmpdir(), 'jam-dune-'));
  const rows = {};
  for (const [table, n] of Object.entries(spec)) {
    rows[table] = await makeRows(table, n);
    await writeFile(join(dir, `${table}.jsonl`), toJsonl(rows[table]));
  }
  return { dir, rows };
}

// Inserts may land out of order (concurrency), so rows are compared as multisets.
const canon = (rows) => rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]))).sort();

const inserts = (server, table) => server.requests.filter((r) => r.method === 'POST' && r.path === `/api/v1/uploads/${NS}/${PREFIX}${table}/insert`);

async function withSetup(spec, serverOpts, fn) {
  const server = await startDuneServer({ apiKey: KEY, ...serverOpts });
  const exp = await writeExport(spec);
  try {
    await fn(server, exp);
  } finally {
    await server.close();
    await rm(exp.dir, { recursive: true, force: true });
  }
}

const base = (server, dir, extra = {}) => ({
  from: dir,
  namespace: NS,
  prefix: PREFIX,
  replace: false,
  isPrivate: false,
  dryRun: false,
  apiKey: KEY,
  baseUrl: server.url,
  chunkBytes: 2048,
  ...extra,
});

describe('uploadToDune', () => {
  test('fresh namespace: creates every table with its columns and stores every row, in several chunks', async () => {
    await withSetup({ blocks: 12, tickets: 20, assurances: 15 }, { insertDelayMs: 250 }, async (server, { dir, rows }) => {
      const events = [];
      const summary = await uploadToDune(base(server, dir, { concurrency: 2, onProgress: (e) => events.push(e) }));

      assert.equal(summary.ok, true);
      assert.deepEqual(summary.tables.map((t) => t.table).sort(), [...TABLES].sort());
      for (const table of TABLES) {
        const t = server.table(NS, PREFIX + table);
        assert.ok(t, `${PREFIX}${table} exists`);
        assert.deepEqual(t.schema, duneColumns(table));
        assert.deepEqual(canon(server.rows(NS, PREFIX + table)), canon(rows[table]));

        const r = summary.tables.find((x) => x.table === table);
        assert.equal(r.status, 'created');
        assert.equal(r.dune_table, `${NS}.${PREFIX}${table}`);
        assert.equal(r.cleared, false);
        assert.equal(r.rows_read, rows[table].length);
        assert.equal(r.rows_written, rows[table].length);
        assert.ok(r.chunks > 1, `${table}: expected several chunks, got ${r.chunks}`);
        assert.equal(r.chunks_ok, r.chunks);
        assert.equal(r.chunks_failed, 0);
        const sent = inserts(server, table);
        assert.equal(sent.length, r.chunks);
        assert.ok(sent.every((q) => q.bytes <= 2048 && q.headers['content-type'] === 'application/x-ndjson'));
        assert.equal(r.bytes_written, sent.reduce((a, q) => a + q.bytes, 0), 'bytes_written is what Dune reported');
        assert.equal(server.maxConcurrentInserts(NS, PREFIX + table), 2, 'two inserts in flight, never more');
      }
      assert.equal(summary.totals.rows_written, 12 + 20 + 15);
      assert.equal(summary.totals.errors, 0);
      assert.ok(server.requests.every((q) => !JSON.stringify(q.headers).includes(KEY)));
      assert.equal(events.filter((e) => e.type === 'table-created').length, 3);
      assert.equal(events.filter((e) => e.type === 'chunk-done').length, summary.totals.chunks);
    });
  });

  test('re-run: 200 already_existed; replace clears first (no doubled rows); without replace rows are appended', async () => {
    await withSetup({ blocks: 8, tickets: 10 }, {}, async (server, { dir, rows }) => {
      await uploadToDune(base(server, dir));
      server.resetLog();

      const again = await uploadToDune(base(server, dir, { replace: true }));
      assert.equal(again.ok, true);
      for (const table of ['blocks', 'tickets']) {
        const r = again.tables.find((x) => x.table === table);
        assert.equal(r.status, 'already_existed');
        assert.equal(r.cleared, true);
        assert.deepEqual(canon(server.rows(NS, PREFIX + table)), canon(rows[table]), 'replaced, not doubled');
        const paths = server.requests.filter((q) => q.path.includes(`/${PREFIX}${table}`)).map((q) => q.path.split('/').pop());
        assert.equal(paths[0], 'clear', 'clear comes before any insert');
        assert.ok(paths.slice(1).every((p) => p === 'insert'));
      }
      const creates = server.requests.filter((q) => q.path === '/api/v1/uploads');
      assert.equal(creates.length, 2);

      // Documented behaviour: without `replace`, a second upload appends the same rows again.
      const appended = await uploadToDune(base(server, dir, { replace: false }));
      assert.equal(appended.ok, true);
      for (const table of ['blocks', 'tickets']) {
        const r = appended.tables.find((x) => x.table === table);
        assert.equal(r.status, 'already_existed');
        assert.equal(r.cleared, false);
        assert.equal(server.rows(NS, PREFIX + table).length, 2 * rows[table].length);
      }
    });
  });

  test('replace on a fresh table does not spend a clear request', async () => {
    await withSetup({ tickets: 3 }, {}, async (server, { dir }) => {
      const s = await uploadToDune(base(server, dir, { replace: true }));
      assert.equal(s.tables[0].status, 'created');
      assert.equal(s.tables[0].cleared, false);
      assert.equal(server.requests.filter((q) => q.path.endsWith('/clear')).length, 0);
    });
  });

  test('a table name taken with other columns: 409 conflict named in the summary, other tables still uploaded', async () => {
    await withSetup({ blocks: 5, tickets: 5, assurances: 5 }, {}, async (server, { dir, rows }) => {
      server.seedTable(NS, `${PREFIX}blocks`, [{ name: 'something_else', type: 'varchar' }]);
      const lines = [];
      const s = await uploadToDune(base(server, dir, { log: (l) => lines.push(l) }));

      assert.equal(s.ok, false);
      const blocks = s.tables.find((t) => t.table === 'blocks');
      assert.equal(blocks.status, 'conflict');
      assert.equal(blocks.errors.length, 1);
      assert.equal(blocks.errors[0].status, 409);
      assert.equal(blocks.errors[0].stage, 'create');
      assert.match(blocks.errors[0].message, new RegExp(`${NS}\\.${PREFIX}blocks`));
      assert.equal(inserts(server, 'blocks').length, 0, 'nothing inserted into the conflicting table');
      assert.deepEqual(server.rows(NS, `${PREFIX}blocks`), [], 'conflicting table untouched');
      assert.ok(lines.some((l) => l.includes(`${NS}.${PREFIX}blocks`) && l.includes('409')));
      for (const table of ['tickets', 'assurances']) {
        assert.equal(s.tables.find((t) => t.table === table).status, 'created');
        assert.deepEqual(canon(server.rows(NS, PREFIX + table)), canon(rows[table]));
      }
    });
  });

  test("a chunk with a row that breaks the schema fails with Dune's message and its line range; other chunks land", async () => {
    await withSetup({ tickets: 30 }, {}, async (server, { dir, rows }) => {
      const bad = 17;
      const broken = rows.tickets.map((r, i) => (i === bad - 1 ? { ...r, attempt: 'not a number' } : r));
      await writeFile(join(dir, 'tickets.jsonl'), toJsonl(broken));

      const s = await uploadToDune(base(server, dir, { chunkBytes: 1024 }));
      assert.equal(s.ok, false);
      const t = s.tables[0];
      assert.ok(t.chunks >= 4, `expected several chunks, got ${t.chunks}`);
      assert.equal(t.chunks_failed, 1);
      assert.equal(t.chunks_ok, t.chunks - 1);
      const [err] = t.errors;
      assert.equal(err.stage, 'insert');
      assert.equal(err.status, 400);
      assert.ok(err.first_line <= bad && bad <= err.last_line, `line ${bad} in ${err.first_line}..${err.last_line}`);
      assert.match(err.message, /attempt/, "Dune's own error text");
      const landed = rows.tickets.filter((_, i) => i + 1 < err.first_line || i + 1 > err.last_line);
      assert.deepEqual(canon(server.rows(NS, `${PREFIX}tickets`)), canon(landed));
      assert.equal(t.rows_written, landed.length);
    });
  });

  test('429 with Retry-After: 1 is waited out, then the upload succeeds', async () => {
    await withSetup({ tickets: 10 }, {}, async (server, { dir, rows }) => {
      server.faults.push({ match: { method: 'POST', path: /\/insert$/ }, times: 1, status: 429, retryAfter: 1 });
      const retries = [];
      const started = Date.now();
      const s = await uploadToDune(
        base(server, dir, { concurrency: 1, onProgress: (e) => e.type === 'retry' && retries.push(e.retry) }),
      );
      const elapsed = Date.now() - started;

      assert.equal(s.ok, true);
      assert.ok(elapsed >= 950, `waited ${elapsed} ms`);
      assert.equal(retries.length, 1);
      assert.equal(retries[0].status, 429);
      assert.equal(retries[0].delayMs, 1000);
      const sent = inserts(server, 'tickets');
      assert.equal(sent.length, s.tables[0].chunks + 1, 'one extra request for the rate-limited chunk');
      assert.equal(sent.filter((q) => q.status === 429).length, 1);
      assert.deepEqual(canon(server.rows(NS, `${PREFIX}tickets`)), canon(rows.tickets));
    });
  });

  test('a wrong key throws DuneAuthError without revealing the key', async () => {
    await withSetup({ blocks: 2, tickets: 2 }, {}, async (server, { dir }) => {
      const wrong = 'sk-wrong-key-that-must-not-leak';
      await assert.rejects(uploadToDune(base(server, dir, { apiKey: wrong })), (e) => {
        assert.ok(e instanceof DuneAuthError);
        assert.equal(e.status, 401);
        assert.ok(!e.message.includes(wrong) && !e.stack.includes(wrong));
        return true;
      });
      assert.equal(server.requests.length, 1, 'stops at the first 401');
    });
  });

  test('a missing key is a DuneConfigError before any request', async () => {
    await withSetup({ blocks: 2 }, {}, async (server, { dir }) => {
      const saved = process.env.DUNE_API_KEY;
      delete process.env.DUNE_API_KEY;
      try {
        await assert.rejects(uploadToDune(base(server, dir, { apiKey: undefined })), (e) => {
          assert.ok(e instanceof DuneConfigError);
          assert.doesNotMatch(e.message, /\n/);
          assert.match(e.message, /DUNE_API_KEY/);
          return true;
        });
        await assert.rejects(uploadToDune(base(server, dir, { prefix: 'Jam-' })), DuneConfigError);
        await assert.rejects(uploadToDune(base(server, dir, { tables: ['tickets'] })), DuneConfigError);
        await assert.rejects(uploadToDune(base(server, join(dir, 'nope'))), DuneConfigError);
      } finally {
        if (saved !== undefined) process.env.DUNE_API_KEY = saved;
      }
      assert.equal(server.requests.length, 0);
    });
  });

  test('dryRun prints runnable curl commands, sends nothing, never prints the key', async () => {
    await withSetup({ blocks: 6, tickets: 9 }, {}, async (server, { dir, rows }) => {
      const secret = 'sk-live-DO-NOT-PRINT-42';
      const lines = [];
      const s = await uploadToDune(base(server, dir, { apiKey: secret, dryRun: true, replace: true, log: (l) => lines.push(l) }));

      assert.equal(server.requests.length, 0);
      assert.equal(s.dry_run, true);
      assert.ok(lines.length > 0);
      assert.ok(lines.every((l) => !l.includes(secret)));
      assert.ok(lines.every((l) => l.includes('X-DUNE-API-KEY: $DUNE_API_KEY')));
      const chunks = s.tables.reduce((a, t) => a + t.chunks, 0);
      assert.ok(chunks > 2);
      assert.equal(lines.length, 2 * 2 /* create + clear per table */ + chunks);
      assert.equal(lines.filter((l) => l.includes('/insert')).length, chunks);
      assert.equal(s.totals.rows_read, 6 + 9);

      // Run the printed commands with the real key in the environment: they must do the upload.
      const script = lines.join('\n');
      await promisify(execFile)('sh', ['-c', script], { env: { ...process.env, DUNE_API_KEY: server.apiKey } });
      for (const table of ['blocks', 'tickets']) {
        assert.deepEqual(canon(server.rows(NS, PREFIX + table)), canon(rows[table]));
      }
      assert.ok(server.requests.every((q) => q.status === 200 || q.status === 201), 'every curl call succeeded');
    });
  });

  test('a line longer than chunkBytes is sent alone; blank lines are skipped but counted', async () => {
    await withSetup({ tickets: 4 }, {}, async (server, { dir, rows }) => {
      const long = { ...rows.tickets[0], signature: 'x'.repeat(3000) };
      const text = [rows.tickets[1], long, rows.tickets[2]].map((r) => JSON.stringify(r)).join('\n\n') + '\n\n' + JSON.stringify(rows.tickets[3]);
      await writeFile(join(dir, 'tickets.jsonl'), text); // no trailing newline on purpose
      const chunks = [];
      const s = await uploadToDune(base(server, dir, { onProgress: (e) => e.type === 'chunk-done' && chunks.push(e) }));
      assert.equal(s.ok, true);
      assert.equal(s.tables[0].rows_read, 4);
      assert.equal(server.rows(NS, `${PREFIX}tickets`).length, 4);
      const alone = chunks.find((c) => c.first_line === 3);
      assert.equal(alone.rows, 1);
      assert.equal(alone.last_line, 3);
      assert.ok(alone.bytes > 2048);
      assert.equal(Math.max(...chunks.map((c) => c.last_line)), 7);
    });
  });
});

describe('DuneClient', () => {
  test('retries 5xx and dropped connections, then succeeds; gives up after maxRetries with the status', async () => {
    const server = await startDuneServer({ apiKey: KEY });
    try {
      const sleeps = [];
      const client = new DuneClient({ apiKey: KEY, baseUrl: server.url, maxRetries: 3, sleep: async (ms) => void sleeps.push(ms) });
      const schema = [{ name: 'a', type: 'bigint', nullable: false }];
      server.faults.push({ match: { path: /^\/api\/v1\/uploads$/ }, times: 1, status: 503 });
      server.faults.push({ match: { path: /^\/api\/v1\/uploads$/ }, times: 1, action: 'drop' });
      const created = await client.createTable({ namespace: NS, table_name: 't', schema });
      assert.equal(created.already_existed, false);
      assert.equal(sleeps.length, 2);
      assert.ok(sleeps.every((ms) => ms > 0 && ms <= 2000));

      server.faults.push({ match: { path: /\/insert$/ }, times: 10, status: 502 });
      await assert.rejects(client.insert(NS, 't', Buffer.from('{"a":1}\n')), (e) => {
        assert.ok(e instanceof DuneApiError);
        assert.equal(e.status, 502);
        assert.equal(e.attempts, 4);
        return true;
      });
      assert.deepEqual(server.rows(NS, 't'), []);
    } finally {
      await server.close();
    }
  });

  test("errors carry Dune's text, never the key; DUNE_API_URL is the default base URL", async () => {
    const server = await startDuneServer({ apiKey: KEY });
    const saved = process.env.DUNE_API_URL;
    process.env.DUNE_API_URL = server.url;
    try {
      const client = new DuneClient({ apiKey: KEY, maxRetries: 0 });
      assert.equal(client.baseUrl, server.url);
      assert.ok(!JSON.stringify(client).includes(KEY) && !String(Object.values(client)).includes(KEY));
      server.faults.push({ match: { path: /\/clear$/ }, status: 400, body: { error: `echoing ${KEY} back` } });
      await assert.rejects(client.clear(NS, 'nope'), (e) => {
        assert.equal(e.status, 400);
        assert.ok(!e.message.includes(KEY));
        assert.match(e.message, /echoing \*\*\* back/);
        return true;
      });
      await assert.rejects(client.drop(NS, 'nope'), (e) => e.status === 404 && /does not exist/.test(e.message));
    } finally {
      if (saved === undefined) delete process.env.DUNE_API_URL;
      else process.env.DUNE_API_URL = saved;
      await server.close();
    }
  });

  test('parseRetryAfter reads seconds and HTTP dates', () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    assert.equal(parseRetryAfter('1', now), 1000);
    assert.equal(parseRetryAfter('Sun, 01 Jun 2025 12:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Sun, 01 Jun 2025 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});

describe('dune-server contract', () => {
  const call = async (server, method, path, body, { key = KEY, type = 'application/json' } = {}) => {
    const res = await fetch(server.url + path, {
      method,
      headers: { 'X-DUNE-API-KEY': key, 'content-type': type },
      ...(body === undefined ? {} : { body }),
    });
    return { status: res.status, body: await res.json() };
  };
  const createT = (server, table_name, schema) =>
    call(server, 'POST', '/v1/uploads', JSON.stringify({ namespace: NS, table_name, description: '', is_private: false, schema }));
  const schema = [
    { name: 'id', type: 'bigint', nullable: false },
    { name: 'at', type: 'timestamp', nullable: false },
    { name: 'note', type: 'varchar', nullable: true },
  ];

  test('names: table and column names must be lower case, start with a letter', async () => {
    const server = await startDuneServer({ apiKey: KEY });
    try {
      for (const bad of ['Blocks', '1blocks', 'blocks-x', '_blocks', '']) {
        const r = await createT(server, bad, schema);
        assert.equal(r.status, 400, bad);
        assert.equal(typeof r.body.error, 'string');
      }
      assert.equal((await createT(server, 'ok_1', [{ name: '2col', type: 'varchar' }])).status, 400);
      assert.equal((await createT(server, 'ok_1', [{ name: 'col', type: 'text' }])).status, 400);
      assert.equal((await createT(server, 'ok_1', schema)).status, 201);
      assert.equal((await createT(server, 'ok_1', schema)).body.already_existed, true);
      assert.equal((await createT(server, 'ok_1', schema.slice(1))).status, 409);
      assert.equal((await call(server, 'POST', '/v1/uploads', JSON.stringify({ table_name: 'x', schema }), { key: 'nope' })).status, 401);
      assert.equal((await call(server, 'POST', '/v1/table/create', '{}')).status, 404, 'old /v1/table paths are retired');
    } finally {
      await server.close();
    }
  });

  test('inserts: unknown column 400, types and nullability enforced, all or nothing per request', async () => {
    const server = await startDuneServer({ apiKey: KEY, maxBodyBytes: 4096 });
    try {
      await createT(server, 't', schema);
      const ins = (text, type = 'application/x-ndjson') => call(server, 'POST', `/v1/uploads/${NS}/t/insert`, text, { type });
      const good = '{"id":1,"at":"2025-06-01T12:00:00.000001Z","note":"a"}\n{"id":"2","at":"2025-06-01T12:00:01Z"}\n';

      let r = await ins('{"id":1,"at":"2025-06-01T12:00:00Z","extra":1}\n');
      assert.equal(r.status, 400);
      assert.match(r.body.error, /unknown column "extra"/);

      r = await ins(good + '{"id":3}\n');
      assert.equal(r.status, 400);
      assert.match(r.body.error, /line 3: column "at"/);
      assert.deepEqual(server.rows(NS, 't'), [], 'nothing from a failed request is kept');

      for (const row of ['{"id":1.5,"at":"2025-06-01T12:00:00Z"}', '{"id":1,"at":"yesterday"}', '{"id":1,"at":"2025-02-30T00:00:00Z"}', '{"id":1,"at":"2025-06-01T12:00:00Z","note":5}', '{"id":null,"at":"2025-06-01T12:00:00Z"}', '[1,2]', '{"id":1,']) {
        assert.equal((await ins(`${row}\n`)).status, 400, row);
      }
      assert.equal((await ins(good, 'text/plain')).status, 400);
      assert.equal((await ins('{"id":1,"at":"2025-06-01T12:00:00Z"}\n'.repeat(200))).status, 413);

      r = await ins(good);
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { name: `dune.${NS}.t`, rows_written: 2, bytes_written: Buffer.byteLength(good) });
      assert.equal(server.rows(NS, 't').length, 2);
      assert.equal(server.rows(NS, 't')[1].note, null);

      assert.equal((await call(server, 'POST', `/v1/uploads/${NS}/t/clear`)).body.message, `Table ${NS}.t successfully cleared`);
      assert.deepEqual(server.rows(NS, 't'), []);
      assert.equal((await call(server, 'DELETE', `/v1/uploads/${NS}/t`)).status, 200);
      assert.equal(server.rows(NS, 't'), undefined);
      assert.equal((await ins(good)).status, 404);
    } finally {
      await server.close();
    }
  });
});
