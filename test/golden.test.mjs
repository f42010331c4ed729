// Golden test on the real fixtures: the reference PoC's output, table by table and row by row,
// except where the contract (../shared/design/TABLES.md) differs from it on purpose.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { convertToDune } from '../dist/commands/dune.js';
import { blake2b256Hex } from '../dist/telemetry/handlers/preimages.js';
import { FIXTURE, needsShared, readJsonl, tempDir } from './helpers.mjs';

// Our table -> the reference's file name (its workpackagebundles is the contract's workpackages).
const TABLES = {
  blocks: 'blocks',
  validatorstatistics: 'validatorstatistics',
  corestatistics: 'corestatistics',
  servicestatistics: 'servicestatistics',
  workreports: 'workreports',
  preimages: 'preimages',
  assurances: 'assurances',
  workpackages: 'workpackagebundles',
  services: 'services',
  segments: 'segments',
};

const EXPECTED_COUNTS = { blocks: 46, validatorstatistics: 276, corestatistics: 92, servicestatistics: 99, workreports: 28, preimages: 3, assurances: 96, workpackages: 28, services: 1, segments: 28, tickets: 0 };

// Columns where we differ from the reference on purpose, with the reason, and how to check ours.
const INTENDED = {
  // The contract normalises time to UTC with microsecond precision; the reference kept nanoseconds.
  time: (ours, ref) => assert.equal(ours, ref.replace(/\.(\d{1,9})Z$/, (_, f) => `.${f.padEnd(6, '0').slice(0, 6)}Z`)),
  // The reference invented team from sender_id's first byte; these old logs name no team
  // (no envelope team, no metadata team=), so without --teams it is "unknown".
  team: (ours) => assert.equal(ours, 'unknown'),
  // The reference hashed with Blake2b-512 cut to 32 bytes; the contract is Blake2b-256.
  preimage_hash: (ours, _ref, row) => assert.equal(ours, blake2b256Hex(Buffer.from(row.blob.slice(2), 'hex'))),
  // Go writes empty lists as null; the reference passed that on (as null or "null"), the
  // contract treats null and [] alike and writes JSON text "[]".
  prerequisites: (ours, ref) => assert.equal(ours, ref === null || ref === 'null' ? '[]' : ref),
  segment_root_lookup: (ours, ref) => assert.equal(ours, ref === null || ref === 'null' ? '[]' : ref),
  // The reference wrote the JSON text "null" for a null segment; the contract writes SQL null.
  data: (ours, ref) => assert.equal(ours, ref === 'null' ? null : ref),
};

test('converting the real fixtures matches the reference output', needsShared(), async (t) => {
  const out = tempDir(t);
  const s = await convertToDune({ paths: [join(FIXTURE, 'logs')], out, workers: 1, progress: false });
  assert.equal(s.lines, 276);
  assert.equal(s.rejects, 0, 'no real line is rejected');
  // .log files never fill the JIP-3 tables (schema/jip3_*.json): those stay at 0.
  const jip3Zeros = Object.fromEntries(Object.keys(s.rows).filter((t) => t.startsWith('jip3_')).map((t) => [t, 0]));
  assert.equal(Object.keys(jip3Zeros).length, 7);
  assert.deepEqual(s.rows, { ...EXPECTED_COUNTS, ...jip3Zeros });
  const checkedColumns = new Set();
  for (const [table, refName] of Object.entries(TABLES)) {
    const ours = readJsonl(join(out, `${table}.jsonl`));
    const ref = readJsonl(join(FIXTURE, 'reference-output', `${refName}.jsonl`));
    assert.equal(ours.length, ref.length, `${table} row count`);
    const columns = JSON.parse(readFileSync(new URL(`../schema/${table}.json`, import.meta.url), 'utf8')).map((c) => c.name);
    for (let i = 0; i < ref.length; i++) {
      assert.deepEqual(Object.keys(ours[i]), columns, `${table} row ${i} has exactly the schema's columns, in order`);
      for (const [col, refValue] of Object.entries(ref[i])) {
        assert.ok(col in ours[i], `${table}.${col} exists in ours`);
        const check = INTENDED[col];
        if (check) check(ours[i][col], refValue, ours[i]);
        else assert.deepEqual(ours[i][col], refValue, `${table} row ${i} column ${col}`);
        checkedColumns.add(`${table}.${col}`);
      }
    }
  }
  // Guard against a vacuous pass: every reference column was compared.
  assert.ok(checkedColumns.size > 120, `compared ${checkedColumns.size} columns`);
});

test('preimage_hash is Blake2b-256 and equals the producers\' metadata h=', needsShared(), async (t) => {
  const out = tempDir(t);
  await convertToDune({ paths: [join(FIXTURE, 'logs')], out, workers: 1, progress: false });
  const rows = readJsonl(join(out, 'preimages.jsonl'));
  const expected = new Map();
  for (const f of ['2339', '2340', '2341', '2342', '2343', '2344', '2345', '2346']) {
    for (const line of readFileSync(join(FIXTURE, 'logs', `${f}.log`), 'utf8').split('\n')) {
      if (!line.includes('"msg_type":"142"')) continue;
      const env = JSON.parse(line);
      expected.set(env.json_encoded.blob, /h=(0x[0-9a-f]+)/.exec(env.metadata)[1]);
    }
  }
  assert.equal(rows.length, 3);
  for (const r of rows) {
    assert.equal(r.preimage_hash, expected.get(r.blob));
    assert.equal(r.blob_length, (r.blob.length - 2) / 2);
  }
});

test('the reference PoC\'s preimage hash (Blake2b-512 cut to 32 bytes) is not ours', needsShared(), () => {
  const ref = readJsonl(join(FIXTURE, 'reference-output', 'preimages.jsonl'))[0];
  assert.notEqual(blake2b256Hex(Buffer.from(ref.blob.slice(2), 'hex')), ref.preimage_hash);
});
