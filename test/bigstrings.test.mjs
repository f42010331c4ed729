// Huge lines are parsed as skeletons (src/bigstrings.ts): their long strings never become JS
// strings and are copied from the input bytes into the output. That must change nothing: every
// case below is converted both ways and must give the same bytes, rejects and counters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blake2b } from '@noble/hashes/blake2.js';
import { LAZY_LINE_BYTES, MIN_STRING_BYTES } from '../dist/telemetry/bigstrings.js';
import { ChunkSerializer } from '../dist/pipeline/serialize.js';
import { envelope, needsShared, sample } from './helpers.mjs';

const MB2 = 2 << 20;
const hex = (bytes) => '0x' + Buffer.from(bytes).toString('hex');
function randomBytes(n, seed) {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}
const base64 = (n, seed) => randomBytes(n, seed).toString('base64');

/** Both ways, as one chunk; returns the skeleton way's output after asserting it equals the other. */
function both(lines) {
  const data = Buffer.from(lines.join('\n') + '\n');
  const chunk = () => ({ file: 'in.log', startLine: 1, startOffset: 0, data: Buffer.from(data), lines: lines.length });
  const lazy = new ChunkSerializer(undefined).run(chunk());
  const plain = new ChunkSerializer(undefined, { bigStrings: false }).run(chunk());
  const text = (r) => ({ tables: r.tables.map(([t, b]) => [t, Buffer.concat([b].flat()).toString("utf8")]), rejects: Buffer.from(r.rejects).toString('utf8'), counters: r.counters });
  const a = text(lazy), b = text(plain);
  assert.equal(plain.spliced, 0);
  assert.deepEqual(a.counters, b.counters);
  assert.deepEqual(a.tables.map(([t]) => t), b.tables.map(([t]) => t));
  for (let i = 0; i < a.tables.length; i++) assert.ok(a.tables[i][1] === b.tables[i][1], `table ${a.tables[i][0]} differs`);
  assert.ok(a.rejects === b.rejects, `rejects differ:\n${a.rejects.slice(0, 400)}\n${b.rejects.slice(0, 400)}`);
  const rows = Object.fromEntries(a.tables.map(([t, s]) => [t, s.split('\n').filter(Boolean).map((l) => JSON.parse(l))]));
  const rejects = a.rejects.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { rows, rejects, counters: a.counters, spliced: lazy.spliced };
}

const blob = hex(randomBytes(MB2 / 2, 7));

test('a huge preimage: the same row, its Blake2b-256 taken from the input bytes', () => {
  const line = envelope(142, { requester: 5, blob }, { codec_encoded: hex(randomBytes(MB2 / 2, 8)) });
  assert.ok(line.length >= LAZY_LINE_BYTES);
  const { rows, counters, spliced } = both([line]);
  assert.equal(counters.rowLines, 1);
  assert.equal(spliced, 2, 'the blob and codec_encoded were copied from the input');
  const [r] = rows.preimages;
  assert.equal(r.blob, blob);
  assert.equal(r.blob_length, MB2 / 2);
  assert.equal(r.preimage_hash, hex(blake2b(Buffer.from(blob.slice(2), 'hex'), { dkLen: 32 })));
});

test('huge preimages with bad hex anywhere are the same rejects', () => {
  const bad = [
    blob.slice(0, -3) + 'zz' + blob.slice(-1), // near the end
    blob.slice(0, 1 << 20) + 'g' + blob.slice((1 << 20) + 1), // at a 1 MiB piece boundary
    blob + 'a', // odd number of digits
    '1x' + blob.slice(2), // no 0x
    blob.toUpperCase().replace('0X', '0x'), // upper-case hex is hex
  ];
  const { rejects, rows, spliced } = both(bad.map((b) => envelope(142, { requester: 5, blob: b })));
  assert.equal(spliced, 1, 'only the accepted line keeps its placeholder');
  assert.equal(rejects.length, 4);
  assert.ok(rejects.every((r) => r.code === 'bad_field'));
  assert.equal(rows.preimages.length, 1);
});

test('long strings in odd places: escapes, non-ASCII, control bytes, keys, U+E000, BOM, envelope fields', () => {
  const long = 'a'.repeat(MB2);
  const lines = [
    // a long value with an escape, with non-ASCII, with a raw tab (invalid JSON)
    envelope(135, ['x'.repeat(MB2) + '\\n' + 'y'.repeat(10)], { metadata: 'wph=0x01|c=1|len=4104' }),
    envelope(135, ['é'.repeat(MB2 / 2)], { metadata: 'wph=0x01|c=1|len=4104' }),
    envelope(135, ['t'.repeat(MB2)]).replace('tttt', 'tt\ttt'),
    // a long key
    envelope(135, { [long]: 1, b: long }, { metadata: 'c=2' }),
    // U+E000 in the data, raw and escaped, next to long strings
    envelope(135, ['\uE000' + long, '\\ue000', long], { metadata: 'c=3' }).replace('\\\\ue000', '\\ue000'),
    // the envelope's own fields long: metadata and team are read, time is rejected
    envelope(135, [long], { metadata: 'wph=0x' + 'ab'.repeat(MB2 / 2) + '|c=1|len=9', team: 'T'.repeat(MB2) }),
    envelope(135, [long], { time: '2'.repeat(MB2) }),
    envelope(135, [long], { msg_type: '1'.repeat(MB2) }),
    // after a long string: garbage, a missing quote, a truncated line
    envelope(135, [long]) + 'x',
    envelope(135, [long]).replace('"]', ']'),
    envelope(135, [long]).slice(0, -10),
    // BOM, and a long sender_id
    '\uFEFF' + envelope(128, long, { sender_id: 's'.repeat(MB2) }),
    // just under and at the string threshold
    envelope(135, ['u'.repeat(MIN_STRING_BYTES - 1), 'v'.repeat(MIN_STRING_BYTES), 'w'.repeat(MB2)]),
    // an ordinary line among them
    envelope(141, { anchor: '0x11', bitfield: '0x03', validator_index: 4, signature: '0x22' }),
  ];
  const { rows, rejects, counters, spliced } = both(lines);
  assert.ok(spliced >= 6, `spliced ${spliced}`);
  assert.equal(counters.lines, lines.length);
  assert.equal(counters.rowLines + counters.rejects, lines.length);
  assert.ok(rejects.length >= 6, `rejects: ${rejects.map((r) => r.code)}`);
  const seg = rows.segments.find((r) => r.data?.startsWith('{"'));
  assert.ok(seg, 'the long-key segment converted');
  assert.equal(JSON.parse(seg.data).b, long);
  const withMeta = rows.segments.find((r) => r.team === 'T'.repeat(MB2));
  assert.equal(withMeta.work_package_hash.length, 2 + MB2, 'metadata read from the real bytes');
  assert.equal(withMeta.segment_length, 9);
  const e000 = rows.segments.find((r) => r.core_index === 3);
  assert.deepEqual(JSON.parse(e000.data), ['\uE000' + long, '\uE000', long]);
});

test('huge lines of every message type, from the fixtures with a long string spliced in', needsShared(), () => {
  const lines = [];
  const files = ['assurances-141.json', 'blocks-128.json', 'preimages-142.json', 'segments-135.json', 'services-143.json', 'statistics-13.json', 'tickets-131.json', 'workpackagebundles-133.json', 'workreports-255.json'];
  let seed = 1;
  for (const f of files) {
    const env = sample(f);
    // Every string at least MIN_STRING_BYTES long gets longer; the envelope gets a long codec_encoded.
    const grow = (v) => {
      if (typeof v === 'string') return v.length >= 66 && /^0x[0-9a-f]*$/.test(v) && v.length % 2 === 0 ? v + 'ab'.repeat(MIN_STRING_BYTES) : v;
      if (Array.isArray(v)) return v.map(grow);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, grow(x)]));
      return v;
    };
    lines.push(JSON.stringify({ ...grow(env), codec_encoded: hex(randomBytes(MB2 / 2, seed++)) }));
    lines.push(JSON.stringify(env));
  }
  const { counters, spliced } = both(lines);
  assert.ok(spliced >= files.length, `spliced ${spliced}`);
  assert.equal(counters.rejects, 0);
  assert.equal(counters.rowLines, lines.length);
});

test('several huge lines in one chunk, ordinary lines between them, rows in input order', () => {
  const lines = [];
  for (let i = 0; i < 4; i++) {
    lines.push(envelope(142, { requester: i, blob: hex(randomBytes(400_000, 20 + i)) }, { codec_encoded: hex(randomBytes(200_000, 30 + i)) }));
    lines.push(envelope(135, [base64(900_000, 40 + i), base64(10, i)], { metadata: `c=${i}` }));
    lines.push(envelope(142, { requester: 100 + i, blob: '0x00' }));
  }
  const { rows, spliced } = both(lines);
  assert.equal(spliced, 12);
  assert.deepEqual(rows.preimages.map((r) => r.requester), [0, 100, 1, 101, 2, 102, 3, 103]);
  assert.deepEqual(rows.segments.map((r) => r.core_index), [0, 1, 2, 3]);
});
