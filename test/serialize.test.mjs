// rowsToJsonl writes long strings itself instead of through JSON.stringify (src/pipeline/
// serialize.ts): whatever the strings hold, every line must be exactly JSON.stringify(row).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LONG_STRING, rowsToJsonl } from '../dist/pipeline/serialize.js';

function rng(seed) {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

test('rowsToJsonl: long and short strings of every kind are written exactly as JSON.stringify writes them', () => {
  const rnd = rng(7);
  const hex = (n) => '0x' + Array.from({ length: n }, () => '0123456789abcdef'[rnd(16)]).join('');
  // Characters JSON.stringify escapes or that are not ASCII, one of them put into a long string.
  const odd = ['"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u00e9', '\u2028', '\ud800', '\udc00', '\ud83d\ude00', '\uE002', '\uffff', '/', '<'];
  const kinds = [
    () => hex(LONG_STRING + rnd(3000)),
    () => hex(LONG_STRING - 2 - 1), // just below the threshold
    () => JSON.stringify(Array.from({ length: 20 + rnd(40) }, () => hex(32))), // a JSON text column: quotes
    () => {
      const s = hex(LONG_STRING + rnd(500));
      const at = rnd(s.length);
      return s.slice(0, at) + odd[rnd(odd.length)] + s.slice(at);
    },
    () => JSON.stringify({ k: hex(300), v: 'a"b\\c' }), // quotes and backslashes
    () => 'x'.repeat(LONG_STRING) + '\u00e9'.repeat(rnd(4)),
    () => null,
    () => rnd(1e9),
    () => 'short "quoted" \\ text',
  ];
  const rows = [];
  for (let i = 0; i < 3000; i++) {
    const row = { time: '2025-04-24T23:39:15.352493Z', slot: i };
    const cols = 1 + rnd(6);
    for (let c = 0; c < cols; c++) row[`c${c}`] = kinds[rnd(kinds.length)]();
    rows.push(row);
  }
  const want = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const copy = rows.map((r) => ({ ...r }));
  assert.equal(rowsToJsonl(copy).toString('utf8'), want);
  // In slices of every size (batches start and end anywhere).
  for (const n of [1, 2, 5, 17, 400]) {
    const parts = [];
    for (let i = 0; i < rows.length; i += n) parts.push(rowsToJsonl(rows.slice(i, i + n).map((r) => ({ ...r }))));
    assert.equal(Buffer.concat(parts).toString('utf8'), want, `slices of ${n}`);
  }
});

test('rowsToJsonl: a huge long string grows the buffer and comes out whole', () => {
  const big = '0x' + 'ab'.repeat(5 << 20);
  const rows = [{ a: 1, b: big, c: 'x'.repeat(LONG_STRING) + '"' }, { a: 2, b: big.slice(0, 1000) }];
  const want = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  assert.equal(rowsToJsonl(rows.map((r) => ({ ...r }))).toString('utf8'), want);
});
