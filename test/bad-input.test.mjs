// Bad input never crashes a run and is never lost: every non-blank line ends as rows or as one
// reject with file, line, reason and the raw text (base64 when not UTF-8).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { convertToDune } from '../dist/commands/dune.js';
import { envelope, needsShared, readJsonl, sample, tempDir } from './helpers.mjs';

const ASSURANCE = { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', validator_index: 4, signature: '0x' + '22'.repeat(64) };
const GOOD = envelope(141, ASSURANCE, { elapsed: 10 });

async function run(t, content, extra = {}) {
  const dir = tempDir(t);
  const file = join(dir, 'in.log');
  writeFileSync(file, content);
  const out = join(dir, 'out');
  const s = await convertToDune({ paths: [file], out, workers: 1, progress: false, ...extra });
  // The invariant that makes "nothing is lost" checkable.
  assert.equal(s.lines, s.row_lines + s.rejects + s.blank_lines, 'lines = row lines + rejects + blank');
  return { s, out, rejects: readJsonl(join(out, '_rejects.jsonl')), table: (t) => readJsonl(join(out, `${t}.jsonl`)) };
}

const CASES = [
  ['truncated JSON', GOOD.slice(0, 80), 'invalid_json'],
  ['JSON that is not an object', '[1,2,3]', 'not_an_object'],
  ['a JSON string', '"hello"', 'not_an_object'],
  ['missing msg_type', JSON.stringify({ ...JSON.parse(GOOD), msg_type: undefined }), 'missing_msg_type'],
  ['unknown msg_type', envelope(77, ASSURANCE), 'unknown_msg_type'],
  ['msg_type of a wrong type', JSON.stringify({ ...JSON.parse(GOOD), msg_type: { a: 1 } }), 'bad_msg_type'],
  ['unparseable time', JSON.stringify({ ...JSON.parse(GOOD), time: 'yesterday' }), 'bad_envelope'],
  ['missing time', JSON.stringify({ ...JSON.parse(GOOD), time: undefined }), 'bad_envelope'],
  ['elapsed as a string', JSON.stringify({ ...JSON.parse(GOOD), elapsed: '10' }), 'bad_envelope'],
  ['wrong field type (validator_index "abc")', envelope(141, { ...ASSURANCE, validator_index: 'abc' }), 'schema'],
  ['wrong field type (validator_index 1.5)', envelope(141, { ...ASSURANCE, validator_index: 1.5 }), 'schema'],
  ['null body where one is required', envelope(141, null), 'bad_field'],
  ['missing body', JSON.stringify({ ...JSON.parse(GOOD), json_encoded: undefined }), 'missing_field'],
  ['missing field', envelope(141, { ...ASSURANCE, signature: undefined }), 'missing_field'],
  ['a list where a scalar belongs', envelope(141, { ...ASSURANCE, anchor: [1] }), 'bad_field'],
  ['statistics with nothing in it', envelope(13, { vals_current: [], vals_last: [], cores: null, services: null }), 'no_rows'],
  ['segment metadata that is not a number', envelope(135, null, { metadata: 'wph=0x01|c=one|len=0' }), 'bad_field'],
  ['preimage blob that is not hex', envelope(142, { requester: 1, blob: '0xzz' }), 'bad_field'],
];

for (const [name, line, code] of CASES) {
  test(`bad input: ${name} -> reject ${code}, good lines around it kept`, async (t) => {
    const { s, rejects, table } = await run(t, `${GOOD}\n${line}\n${GOOD}\n`);
    assert.equal(s.rejects, 1);
    assert.equal(rejects.length, 1);
    assert.deepEqual([rejects[0].code, rejects[0].line, rejects[0].raw], [code, 2, line]);
    assert.match(rejects[0].file, /in\.log$/);
    assert.ok(rejects[0].reason.length > 5 && !rejects[0].reason.includes('\n'), 'one-line reason');
    assert.equal(table('assurances').length, 2);
  });
}

test('bad input: binary garbage is a reject kept as base64', async (t) => {
  const garbage = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x7b, 0xc3, 0x28]);
  const { s, rejects, table } = await run(t, Buffer.concat([Buffer.from(GOOD + '\n'), garbage, Buffer.from('\n' + GOOD + '\n')]));
  assert.equal(s.rejects, 1);
  assert.equal(rejects[0].code, 'invalid_utf8');
  assert.equal(rejects[0].raw, undefined);
  assert.deepEqual(Buffer.from(rejects[0].raw_base64, 'base64'), garbage);
  assert.equal(table('assurances').length, 2);
});

test('bad input: CRLF line endings, blank lines and no final newline', async (t) => {
  const { s, rejects, table } = await run(t, `${GOOD}\r\n\r\n   \n${GOOD}\r\n\n${GOOD}`);
  assert.equal(s.lines, 6);
  assert.equal(s.blank_lines, 3);
  assert.equal(s.rejects, 0);
  assert.equal(rejects.length, 0);
  assert.equal(table('assurances').length, 3);
});

test('bad input: a 32 MB line converts, at every chunk size', async (t) => {
  const blob = '0x' + 'ab'.repeat(16 << 20);
  const big = envelope(142, { requester: 7, blob }, { metadata: 'blob_len=16777216' });
  assert.ok(big.length > 32 << 20);
  const { s, table } = await run(t, `${GOOD}\n${big}\n${GOOD}\n`);
  assert.equal(s.rejects, 0);
  const [p] = table('preimages');
  assert.equal(p.blob_length, 16 << 20);
  assert.equal(p.blob.length, blob.length);
  assert.equal(table('assurances').length, 2);
  // Worker threads hand long lines back to the main thread: same rows, same order.
  const w2 = await run(t, `${GOOD}\n${big}\n${GOOD}\n`, { workers: 2 });
  assert.deepEqual(w2.table('assurances'), table('assurances'));
  assert.equal(w2.table('preimages')[0].blob.length, blob.length);
});

test('bad input: a line over --max-line-bytes is a reject keeping its head, the rest goes on', async (t) => {
  const long = envelope(142, { requester: 7, blob: '0x' + 'cd'.repeat(40000) });
  const { s, rejects, table } = await run(t, `${GOOD}\n${long}\n${GOOD}\n${long}`, { maxLineBytes: 4096, chunkBytes: 1000 });
  assert.equal(s.rejects, 2);
  assert.deepEqual(rejects.map((r) => [r.code, r.line, r.truncated_bytes]), [['line_too_long', 2, long.length], ['line_too_long', 4, long.length]]);
  assert.ok(Buffer.from(rejects[0].raw_base64, 'base64').toString().startsWith(long.slice(0, 100)));
  assert.equal(table('assurances').length, 2);
  assert.equal(s.bytes, 2 * GOOD.length + 2 * long.length + 3);
});

test('chunk boundaries anywhere give the same output and line numbers', needsShared(), async (t) => {
  const lines = [GOOD, '', JSON.stringify(sample('blocks-128.json')), 'not json', GOOD, JSON.stringify(sample('statistics-13.json'))];
  const content = lines.join('\n') + '\n';
  const ref = await run(t, content);
  for (const chunkBytes of [1, 7, 64, 1000]) {
    const r = await run(t, content, { chunkBytes });
    assert.deepEqual(r.s.rows, ref.s.rows);
    assert.deepEqual(r.rejects, ref.rejects.map((x) => ({ ...x, file: r.rejects[0].file })));
    assert.equal(r.rejects[0].line, 4);
    assert.deepEqual(r.table('blocks'), ref.table('blocks'));
  }
});

test('the reference PoC\'s held-out mix: bad lines become rejects, never rows', async (t) => {
  const blk = sample('blocks-128.json');
  const bad = [
    JSON.stringify({ ...blk, json_encoded: { ...blk.json_encoded, header: { ...blk.json_encoded.header, slot: 'abc' } } }),
    JSON.stringify({ ...JSON.parse(GOOD), time: 'yesterday' }),
    '{"msg_type":"128"',
    'null',
    envelope(0, null),
    envelope(3, 'x', { metadata: 'c=x' }),
    envelope(12345, {}),
    '\u0000\u0001',
    envelope(131, { attempt: -1.5, signature: 5 }),
  ];
  const good = [GOOD, JSON.stringify(blk), envelope(3, null, { metadata: 'wph=0x01|c=1|len=0' }), envelope(131, { attempt: 0, signature: '0x00' })];
  const { s, rejects } = await run(t, [...bad, ...good].join('\n'));
  assert.equal(s.rejects, 9);
  assert.equal(s.row_lines, 4);
  assert.equal(s.rows_total, 4);
  assert.deepEqual(rejects.map((r) => r.line), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('an output folder that cannot be written is a one-line configuration error', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'in.log');
  writeFileSync(file, GOOD + '\n');
  writeFileSync(join(dir, 'blocker'), 'x');
  await assert.rejects(convertToDune({ paths: [file], out: join(dir, 'blocker', 'out'), workers: 1, progress: false }), (e) => e.name === 'ConfigError' && !e.message.includes('\n'));
  assert.equal(readFileSync(join(dir, 'blocker'), 'utf8'), 'x');
});

test('--max-line-bytes holds for a line that fits inside one read too', async (t) => {
  const long = envelope(142, { requester: 7, blob: '0x' + 'cd'.repeat(2500) });
  const { s, rejects, table } = await run(t, `${GOOD}\n${long}\n${GOOD}\n`, { maxLineBytes: 1024 });
  assert.deepEqual(rejects.map((r) => [r.code, r.line, r.truncated_bytes]), [['line_too_long', 2, long.length]]);
  assert.equal(s.rows_total, 2);
  assert.equal(table('preimages').length, 0);
});
