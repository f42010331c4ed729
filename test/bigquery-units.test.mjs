// Unit tests of the pieces under `jam-etl bigquery`: acknowledgement order, file identity,
// retry classification and backoff, the schema plan of one table.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileIdentity, insertIdOf, layoutName } from '../dist/sinks/bigquery/identity.js';
import { backoffMs, classify } from '../dist/sinks/bigquery/retry.js';
import { planTable } from '../dist/sinks/bigquery/schema-plan.js';
import { FileTracker } from '../dist/sinks/bigquery/tracker.js';
import { schemas } from '../dist/tables/schema.js';
import { tempDir } from './helpers.mjs';

test('tracker: a position moves past a line only when it and every line before it are acknowledged', () => {
  const moves = [];
  const ft = new FileTracker('f', 'f.log', { offset: 0, line: 1 }, (x) => moves.push({ ...x.acked }));
  const l1 = ft.lineTicket(10, 2, 2); // two rows, e.g. in two tables
  const l2 = ft.lineTicket(25, 3, 1);
  ft.markRead({ offset: 30, line: 4 }); // line 3 blank or rejected
  const l4 = ft.lineTicket(40, 5, 1);
  ft.markRead({ offset: 40, line: 5 });
  ft.done(l2);
  ft.done(l4);
  assert.deepEqual(moves, [], 'line 1 is still in flight');
  ft.done(l1);
  assert.deepEqual(moves, [], 'one of its two rows is still in flight');
  ft.done(l1);
  assert.deepEqual(moves, [{ offset: 40, line: 5 }], 'then everything up to the last read line at once');
  assert.ok(ft.settled);
  assert.throws(() => ft.done(l1), /acknowledged twice/);
  // Rejected and blank lines alone move the position at once.
  ft.markRead({ offset: 50, line: 7 });
  assert.deepEqual(moves.at(-1), { offset: 50, line: 7 });
});

test('identity: collector layout name + first-line hash; the same for any way of naming the file', async (t) => {
  assert.equal(layoutName('/data/logs/2025/04/24/2339.log'), '2025/04/24/2339.log');
  assert.equal(layoutName('2025/04/24/2339.log'), '2025/04/24/2339.log');
  assert.equal(layoutName('./x/2339.log'), '2339.log');
  const dir = tempDir(t);
  const a = join(dir, 'a.log');
  writeFileSync(a, '{"first":1}\n{"second":2}\n');
  const id = await fileIdentity(a, false);
  assert.match(id, /^a\.log#[0-9a-f]{16}$/);
  assert.equal(await fileIdentity(join(dir, '.', 'a.log'), false), id);
  writeFileSync(a, '{"first":1}\n{"second":2}\n{"third":3}\n');
  assert.equal(await fileIdentity(a, false), id, 'appending does not change it');
  const b = join(dir, 'b', 'a.log');
  (await import('node:fs')).mkdirSync(join(dir, 'b'));
  writeFileSync(b, '{"other":1}\n');
  assert.notEqual(await fileIdentity(b, false), id, 'same name, different file: different identity');
  writeFileSync(b, '{"partial"');
  assert.equal(await fileIdentity(b, false), undefined, 'first line not complete yet');
  assert.match(await fileIdentity(b, true), /^a\.log#/);
  assert.equal(insertIdOf(id, 3, 0), insertIdOf(id, 3, 0));
  assert.notEqual(insertIdOf(id, 3, 0), insertIdOf(id, 3, 1));
  assert.notEqual(insertIdOf(id, 3, 0), insertIdOf(id, 4, 0));
  assert.equal(insertIdOf(id, 3, 0).length, 22);
});

test('retry: which failures are transient; backoff grows, is capped and jittered', () => {
  const api = (code, reason) => Object.assign(new Error('x'), { code, errors: reason ? [{ reason }] : [] });
  for (const c of [408, 429, 500, 502, 503, 504]) assert.equal(classify(api(c)), 'transient', String(c));
  assert.equal(classify(api(403, 'rateLimitExceeded')), 'transient');
  assert.equal(classify(api(403, 'accessDenied')), 'auth');
  assert.equal(classify(api(401)), 'auth');
  assert.equal(classify(api(404)), 'not_found');
  assert.equal(classify(api(400, 'invalid')), 'fatal');
  assert.equal(classify(Object.assign(new Error('Request payload size exceeds the limit: 10485760 bytes.'), { code: 400 })), 'too_large');
  assert.equal(classify(api(413)), 'too_large');
  assert.equal(classify(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 'transient');
  assert.equal(classify(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), 'transient');
  assert.equal(classify(new Error('something else')), 'fatal');
  const p = { maxRetries: 8, baseMs: 100, maxMs: 1000 };
  assert.equal(backoffMs(1, p, () => 0), 50);
  assert.equal(backoffMs(1, p, () => 1), 100);
  assert.equal(backoffMs(3, p, () => 1), 400);
  assert.equal(backoffMs(10, p, () => 1), 1000, 'capped');
  assert.equal(backoffMs(10, p, () => 0), 500, 'jitter keeps half');
});

test('plan of one table: type conflict, tightening conflict, REQUIRED addition conflict, relax, add', () => {
  const cols = schemas().get('tickets');
  const meta = (fields, extra = {}) => ({ schema: { fields }, timePartitioning: { type: 'DAY', field: 'time' }, clustering: { fields: ['team', 'sender_id'] }, ...extra });
  const same = cols.map((c) => ({ name: c.name, type: c.type, mode: c.mode }));
  assert.equal(planTable('tickets', cols, meta(same)).action, 'unchanged');
  assert.equal(planTable('tickets', cols, undefined).action, 'create');
  const retyped = same.map((f) => (f.name === 'attempt' ? { ...f, type: 'STRING' } : f));
  const p1 = planTable('tickets', cols, meta(retyped));
  assert.equal(p1.action, 'conflict');
  assert.match(p1.conflicts[0].message, /tickets\.attempt: BigQuery has STRING .*says INTEGER/);
  const legacyNames = same.map((f) => (f.type === 'INTEGER' ? { ...f, type: 'INT64' } : f));
  assert.equal(planTable('tickets', cols, meta(legacyNames)).action, 'unchanged', 'INT64 is INTEGER');
  const loose = same.map((f) => (f.name === 'team' ? { ...f, mode: 'NULLABLE' } : f));
  assert.equal(planTable('tickets', cols, meta(loose)).action, 'conflict', 'cannot tighten to REQUIRED');
  const strict = same.map((f) => (f.name === 'elapsed' ? { ...f, mode: 'REQUIRED' } : f));
  assert.deepEqual(planTable('tickets', cols, meta(strict)).relax, ['elapsed']);
  const fewer = same.filter((f) => f.name !== 'codec_encoded');
  const p2 = planTable('tickets', cols, meta(fewer));
  assert.deepEqual([p2.action, p2.add.map((c) => c.name)], ['update', ['codec_encoded']]);
  const p3 = planTable('tickets', cols, meta(same.filter((f) => f.name !== 'attempt')));
  assert.equal(p3.action, 'conflict', 'attempt is REQUIRED: it cannot be added to an existing table');
  const p4 = planTable('tickets', cols, meta(same, { timePartitioning: undefined, clustering: undefined }));
  assert.equal(p4.action, 'update');
  assert.match(p4.notes.join(), /partitioning is none/);
});
