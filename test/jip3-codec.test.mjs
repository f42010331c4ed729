// JIP-3 decoding: the GP natural at every length boundary, every event kind of the spec in both
// protocol versions, node information with both parameter layouts, and the strict failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DecodeError, Reader } from '../dist/jip3/codec.js';
import { decodeEvent, EVENT_DEFS, UnknownEventError } from '../dist/jip3/events/index.js';
import { decodeNodeInfo, PARAMS_GP07, PARAMS_GP07_BYTES, PARAMS_GP08_BYTES } from '../dist/jip3/node-info.js';
import { encodeEvent, encodeNatural, encodeNodeInfo, GP07_PARAM_WIDTHS, leavesOf, SPEC_EVENTS, Values, le } from './jip3-spec-encoder.mjs';

const natural = (bytes) => {
  const r = new Reader(Uint8Array.from(bytes));
  const x = r.natural();
  r.finish();
  return x;
};

test('GP natural: every length boundary 0, 2^7, 2^14, ... 2^56, 2^64 - 1 round-trips from the spec formula', () => {
  const cases = [0n];
  for (let k = 7; k <= 63; k += 7) cases.push((1n << BigInt(k)) - 1n, 1n << BigInt(k));
  cases.push((1n << 64n) - 1n, 1n << 56n, (1n << 56n) - 1n);
  for (const x of cases) {
    const bytes = encodeNatural(x);
    assert.equal(natural(bytes), x, `natural ${x} (${bytes.length} bytes)`);
  }
  // The lengths the spec implies: 1 byte below 2^7, 2 below 2^14, ... 8 below 2^56, 9 above.
  assert.equal(encodeNatural(127).length, 1);
  assert.equal(encodeNatural(128).length, 2);
  assert.equal(encodeNatural(2 ** 14 - 1).length, 2);
  assert.equal(encodeNatural(2 ** 14).length, 3);
  assert.equal(encodeNatural((1n << 56n) - 1n).length, 8);
  assert.equal(encodeNatural(1n << 56n).length, 9);
  assert.equal(encodeNatural((1n << 64n) - 1n).length, 9);
});

test('GP natural: the LEB128 form of 128 and other non-canonical forms are rejected with their offset', () => {
  // LEB128(128) = 80 01: as a GP natural, 0x80 means "one more byte", giving 1, which fits in one byte.
  assert.throws(() => natural([0x80, 0x01]), (e) => e instanceof DecodeError && e.code === 'bad_natural' && e.offset === 0);
  assert.throws(() => natural([0xff, 1, 0, 0, 0, 0, 0, 0, 0]), (e) => e.code === 'bad_natural');
  assert.throws(() => natural([0xc0, 0x01]), (e) => e.code === 'truncated');
  // And LEB128's reading of 300 (ac 02) is not what a GP decoder gives.
  assert.equal(natural([0xac, 0x02]), 0x2c02n);
});

test('fixed-width integers are little-endian; u64 above 2^53 - 1 stays exact as digits', () => {
  const r = new Reader(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, ...le(2n ** 64n - 1n, 8), ...le(2 ** 53 - 1, 8)]));
  assert.equal(r.u8(), 1);
  assert.equal(r.u16(), 0x0302);
  assert.equal(r.u32(), 0x07060504);
  assert.equal(r.u64(), '18446744073709551615');
  assert.equal(r.u64(), 2 ** 53 - 1);
  r.finish();
});

test('Strings: over the limit, invalid UTF-8, and a length past the end are precise rejects', () => {
  const s129 = [...encodeNatural(129), ...Buffer.alloc(129, 0x61)];
  assert.throws(() => new Reader(Uint8Array.from(s129)).string(128), (e) => e.code === 'string_too_long' && e.offset === 0);
  const bad = [3, 0x61, 0xc3, 0x28];
  assert.throws(() => new Reader(Uint8Array.from(bad)).string(128), (e) => e.code === 'invalid_utf8' && e.offset === 1);
  assert.throws(() => new Reader(Uint8Array.from([5, 0x61])).string(128), (e) => e.code === 'truncated');
  assert.equal(new Reader(Uint8Array.from([...encodeNatural(128), ...Buffer.alloc(128, 0x62)])).string(128), 'b'.repeat(128));
  assert.throws(() => new Reader(Uint8Array.from([2])).bool(), (e) => e.code === 'bad_value');
  assert.throws(() => new Reader(Uint8Array.from([2])).option((r) => r.u8()), (e) => e.code === 'bad_value');
});

test('the registry has all 115 event kinds of the spec, and nothing else', () => {
  assert.equal(EVENT_DEFS.length, 115);
  assert.deepEqual(EVENT_DEFS.map((d) => d.id).sort((a, b) => a - b), Object.keys(SPEC_EVENTS).map(Number).sort((a, b) => a - b));
  assert.equal(new Set(EVENT_DEFS.map((d) => d.name)).size, 115);
});

for (const version of [0, 1]) {
  test(`every event kind decodes from spec-encoded bytes, protocol version ${version}`, () => {
    const v = new Values(1000 + version);
    for (const disc of Object.keys(SPEC_EVENTS).map(Number)) {
      for (let rep = 0; rep < 8; rep++) {
        const ctx = { version, cores: [2, 341, 1, 9][rep % 4] };
        const e = encodeEvent(disc, v, ctx);
        const d = decodeEvent(e.bytes, ctx);
        assert.equal(d.discriminator, disc);
        assert.deepEqual(d.timestamp, e.timestamp);
        assert.deepEqual(leavesOf(d.fields), e.leaves, `event ${disc} (${d.def.name}) v${version} rep ${rep}`);
        // One byte short is a truncation, one byte more is left over: never a silent success.
        assert.throws(() => decodeEvent(e.bytes.subarray(0, e.bytes.length - 1), ctx), (x) => x instanceof DecodeError && x.code !== 'trailing_bytes', `${disc} truncated`);
        const longer = new Uint8Array(e.bytes.length + 1);
        longer.set(e.bytes);
        assert.throws(() => decodeEvent(longer, ctx), (x) => x instanceof DecodeError && x.code === 'trailing_bytes' && x.offset === e.bytes.length, `${disc} over-long`);
      }
    }
  });
}

test('event 61 differs by version: v0 a Peer ID, v1 the Event ID of the matching event 60', () => {
  const peer = Buffer.alloc(32, 9);
  const body = (first) => Uint8Array.from([...le(5, 8), 61, ...first, 1, 0]);
  const v0 = decodeEvent(body(peer), { version: 0, cores: 2 });
  assert.equal(v0.fields.peer, '0x' + '09'.repeat(32));
  assert.equal(v0.fields.closer, 'remote');
  const v1 = decodeEvent(body(le(42, 8)), { version: 1, cores: 2 });
  assert.equal(v1.fields.opened_id, 42);
  // The same v1 bytes are too short for v0.
  assert.throws(() => decodeEvent(body(le(42, 8)), { version: 0, cores: 2 }), DecodeError);
});

test('core count 341: status carries 341 per-core counts and assurance bitfields 43 bytes', () => {
  const ctx = { version: 1, cores: 341 };
  const v = new Values(7);
  const s = encodeEvent(10, v, ctx);
  const d = decodeEvent(s.bytes, ctx);
  assert.equal(d.fields.guarantees_by_core.length, 341);
  const a = decodeEvent(encodeEvent(126, v, ctx).bytes, ctx);
  assert.equal(a.fields.bitfield.length, 2 + 2 * 43);
  // With the wrong core count the same bytes do not decode.
  assert.throws(() => decodeEvent(s.bytes, { version: 1, cores: 340 }), DecodeError);
});

test('an unknown discriminator is its own error, with the timestamp kept', () => {
  const e = assert.throws(() => decodeEvent(Uint8Array.from([...le(77, 8), 255]), { version: 0, cores: 2 }), (x) => x instanceof UnknownEventError && x.discriminator === 255 && x.timestamp === 77);
  void e;
  assert.throws(() => decodeEvent(Uint8Array.from([...le(77, 8), 14]), { version: 0, cores: 2 }), UnknownEventError);
});

test('node information: both protocol versions and both JAM-parameter sizes (134 and 122 bytes)', () => {
  assert.equal(PARAMS_GP07_BYTES, 134);
  assert.equal(PARAMS_GP08_BYTES, 122);
  assert.deepEqual(PARAMS_GP07.map(([, , w]) => w), GP07_PARAM_WIDTHS);
  for (const version of [0, 1]) {
    for (const [paramBytes, gp, layout] of [[134, '0.7.1', 'gp0.7'], [122, '0.8.0', 'gp0.8']]) {
      const msg = encodeNodeInfo({ version, paramBytes, gp, cores: 341, name: 'PolkaJam', note: 'n' });
      const info = decodeNodeInfo(msg);
      assert.equal(info.version, version);
      assert.equal(info.params_layout, layout);
      assert.equal(info.core_count, 341);
      assert.equal(info.params.core_count, 341);
      assert.equal(info.params.item_deposit, 0x0807060504030201n.toString());
      assert.equal(info.params_hex.length, 2 + 2 * paramBytes);
      assert.equal(info.peer_id, '0x' + '07'.repeat(32));
      assert.equal(info.peer_address, '[2001:db8::1]:40000');
      assert.equal(info.implementation_name, 'PolkaJam');
      assert.equal(info.gp_version, gp);
      assert.equal(info.pvm_recompiler, true);
    }
  }
  // Version 2, a name over 32 bytes, invalid UTF-8 in the note, a length before the parameters.
  assert.throws(() => decodeNodeInfo(encodeNodeInfo({ version: 2 })), DecodeError);
  assert.throws(() => decodeNodeInfo(encodeNodeInfo({ name: 'x'.repeat(33) })), (e) => e.code === 'string_too_long' || e instanceof DecodeError);
  const bad = encodeNodeInfo({ note: 'abc' });
  bad[bad.length - 1] = 0xff;
  assert.throws(() => decodeNodeInfo(bad), DecodeError);
  const withLen = encodeNodeInfo({});
  const prefixed = Uint8Array.from([withLen[0], ...encodeNatural(134), ...withLen.subarray(1)]);
  assert.throws(() => decodeNodeInfo(prefixed), DecodeError);
});
