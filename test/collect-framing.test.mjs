// The syslog framer and the envelope label reader, without sockets: every framing, split at every
// byte, several messages per read, escapes and braces inside strings, limits, garbage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyslogFramer, FrameError, programList } from '../dist/collect/framing.js';
import { newLabels, readLabels } from '../dist/collect/labels.js';
import { frameMessage } from '../dist/collect/replay.js';

const T = new Date(Date.UTC(2025, 3, 4, 23, 39, 7, 123));

// Messages with the tricky bytes: braces and quotes inside strings, escaped backslashes at string
// ends, nested objects, non-ASCII text, invalid UTF-8.
const MESSAGES = [
  Buffer.from(JSON.stringify({ time: '2025-04-24T23:39:00.1Z', team: 'jam}duna{', sender_id: '0xab', msg_type: '128', json_encoded: { header: { slot: 42, s: 'a"b\\"}{' } }, elapsed: 17 })),
  Buffer.from('{"a":"\\\\","b":{"c":"\\\\\\"}"},"d":[{"e":"}"}]}'),
  Buffer.from(JSON.stringify({ text: 'héllo wörld ✓', n: [1, 2, { x: '{{{' }] })),
  Buffer.concat([Buffer.from('{"bad":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]),
  Buffer.from('{}'),
];

function frames(framing, msgs, tag = 'jamtart') {
  return Buffer.concat(msgs.flatMap((m, i) => frameMessage(framing, m, T, 'node-1', tag, 100 + i)));
}

function collect(maxBytes = 1 << 20, programs = ['jamtart', 'jametl']) {
  const out = [];
  const f = new SyslogFramer(maxBytes, programList(programs), (buf, s, e, tagOk, framing) => out.push({ msg: Buffer.from(buf.subarray(s, e)), tagOk, framing }));
  return { f, out };
}

const FRAMINGS = [
  ['go', 'go'],
  ['rust3164', 'rfc3164'],
  ['rfc5424', 'rfc5424'],
  ['octet', 'octet'],
];

for (const [name, detected] of FRAMINGS) {
  test(`framing ${name}: whole stream in one read, then split at every byte`, () => {
    const stream = frames(name, MESSAGES);
    {
      const { f, out } = collect();
      f.push(stream);
      assert.deepEqual(out.map((o) => o.msg.toString('hex')), MESSAGES.map((m) => m.toString('hex')));
      assert.ok(out.every((o) => o.tagOk && o.framing === detected));
      assert.equal(f.pendingBytes, 0);
      assert.equal(f.hostname, 'node-1');
    }
    for (let cut = 1; cut < stream.length; cut++) {
      const { f, out } = collect();
      f.push(stream.subarray(0, cut));
      f.push(stream.subarray(cut));
      assert.deepEqual(out.map((o) => o.msg.toString('hex')), MESSAGES.map((m) => m.toString('hex')), `cut at ${cut}`);
    }
    // One byte per read.
    const { f, out } = collect();
    for (let i = 0; i < stream.length; i++) f.push(stream.subarray(i, i + 1));
    assert.deepEqual(out.map((o) => o.msg), MESSAGES);
  });
}

test('a message cut by the end of the stream is never emitted, and its bytes are reported', () => {
  for (const [name] of FRAMINGS) {
    const stream = frames(name, [MESSAGES[0], MESSAGES[1]]);
    const first = frames(name, [MESSAGES[0]]).length;
    const { f, out } = collect();
    f.push(stream.subarray(0, stream.length - 2));
    assert.equal(out.length, 1, name);
    assert.ok(f.end() > 0, `${name}: pending bytes discarded`);
    assert.equal(out[0].msg.length, MESSAGES[0].length);
    assert.ok(first < stream.length);
  }
});

test('wrong program tag: framed (the next message is fine) but flagged', () => {
  for (const [name] of FRAMINGS) {
    const { f, out } = collect();
    f.push(Buffer.concat([frames(name, [MESSAGES[0]], 'sshd'), frames(name, [MESSAGES[1]], 'jametl'), frames(name, [MESSAGES[2]], 'jamtartx')]));
    assert.deepEqual(out.map((o) => o.tagOk), [false, true, false], name);
    assert.deepEqual(out[1].msg, MESSAGES[1]);
  }
});

test('Go: a message that ends in LF gets no second one; Go and RFC 3164 without a hostname; space-padded day; BOM', () => {
  const { f, out } = collect();
  f.push(Buffer.from('<6>2025-04-24T23:39:00+02:00 host jamtart[1]: {"a":1}\n'));
  f.push(Buffer.from('<14>2025-04-24T23:39:00Z jamtart[7]: not json at all\n'));
  f.push(Buffer.from('<14>Apr  4 01:02:03 jamtart: {"b":2}'));
  f.push(Buffer.from('<14>1 2025-04-24T23:39:00Z h jamtart 1 ID [x@1 k="a]\\"b"][y@2] \xEF\xBB\xBF{"c":3}', 'latin1'));
  f.push(Buffer.from('<14>Apr 24 01:02:03 h jamtart[9]: plain text falls back to LF\n'));
  assert.deepEqual(out.map((o) => o.msg.toString('latin1')), ['{"a":1}', 'not json at all', '{"b":2}', '{"c":3}', 'plain text falls back to LF']);
  assert.ok(out.every((o) => o.tagOk));
});

test('octet counting: LF inside a frame becomes a space (one message, one line); a trailing LF is framing', () => {
  const body = '<14>1 2025-04-24T23:39:00Z h jamtart 1 - - {"a":\n1}\n';
  const { f, out } = collect();
  f.push(Buffer.from(`${Buffer.byteLength(body)} ${body}${Buffer.byteLength(body)} ${body}`));
  assert.deepEqual(out.map((o) => o.msg.toString()), ['{"a": 1}', '{"a": 1}']);
});

test('limits: a message over max bytes throws message_too_long in every framing; garbage throws bad_frame', () => {
  const big = Buffer.from(JSON.stringify({ x: 'y'.repeat(2000) }));
  for (const [name] of FRAMINGS) {
    const { f, out } = collect(1000);
    f.push(frames(name, [MESSAGES[1]]));
    assert.throws(() => {
      const s = frames(name, [big]);
      for (let i = 0; i < s.length; i += 100) f.push(s.subarray(i, i + 100));
    }, (e) => e instanceof FrameError && e.reason === 'message_too_long', name);
    assert.equal(out.length, 1);
  }
  // Exactly at the limit is fine.
  const exact = Buffer.from(JSON.stringify({ x: 'y'.repeat(1000 - 8) }));
  assert.equal(exact.length, 1000);
  for (const [name] of FRAMINGS) {
    const { f, out } = collect(1000);
    f.push(frames(name, [exact]));
    assert.equal(out.length, 1, name);
  }
  const { f } = collect();
  assert.throws(() => f.push(Buffer.from('GET / HTTP/1.1\r\n')), (e) => e instanceof FrameError && e.reason === 'bad_frame');
  const g = collect().f;
  assert.throws(() => g.push(Buffer.from('<14>2025-04-24T23:39:00Z' + 'x'.repeat(5000))), (e) => e.reason === 'bad_frame');
});

test('labels: team, msg_type, sender_id, elapsed and a block slot, read without parsing the envelope', () => {
  const L = newLabels();
  readLabels(MESSAGES[0], L);
  assert.deepEqual({ ...L }, { team: 'jam}duna{', msgType: '128', senderId: '0xab', elapsed: 17, metaTeam: null, slot: 42 });
  // Older producers: team in metadata after json_encoded; a nested "elapsed" is not the envelope's.
  const old = Buffer.from(JSON.stringify({ time: 't', sender_id: '0xcd', msg_type: 13, json_encoded: { elapsed: 99, team: 'nested' }, metadata: 'team=JAMDUNA|id=0xcd', codec_encoded: '0x00' }));
  readLabels(old, L);
  assert.deepEqual({ ...L }, { team: null, msgType: '13', senderId: '0xcd', elapsed: -1, metaTeam: 'JAMDUNA', slot: -1 });
  const withElapsed = Buffer.from(JSON.stringify({ time: 't', msg_type: '255', json_encoded: [{ elapsed: 5 }], elapsed: 1234, codec_encoded: '0x' + 'ab'.repeat(100) }));
  readLabels(withElapsed, L);
  assert.equal(L.elapsed, 1234);
  assert.equal(L.msgType, '255');
  // A range inside a larger read: nothing outside it is looked at.
  const a = Buffer.from('{"msg_type":"141","json_encoded":{"x":1}}');
  const b = Buffer.from('{"msg_type":"13","json_encoded":{},"elapsed":77,"team":"b"}');
  const both = Buffer.concat([b, a, b]);
  readLabels(both, L, b.length, b.length + a.length);
  assert.deepEqual({ ...L }, { team: null, msgType: '141', senderId: null, elapsed: -1, metaTeam: null, slot: -1 });
  // Keys after a long hex string, escaped quotes in a tail string, spaces.
  const tail = Buffer.from(`{ "msg_type" : 142 , "json_encoded" : [ {"elapsed": 1} ] , "elapsed" : 250 , "note" : "say \\"elapsed\\": 9" , "codec_encoded" : "0x${'ab'.repeat(5000)}" , "team" : "t\\"q" }`);
  readLabels(tail, L);
  assert.equal(L.elapsed, 250);
  assert.equal(L.msgType, '142');
  assert.equal(L.team, 't\\"q');
  for (const junk of ['not json', '', '{', '{"msg_type":', '[1,2]', '{"team":"x","json_encoded":{"a":"}', '{"a":{},"b":"\\', '{"a":{}, : "x"}', MESSAGES[3].toString('latin1')]) {
    readLabels(Buffer.from(junk, 'latin1'), L); // never throws
  }
});

test('volatile reads (one buffer reused for every read): what outlives a push is copied, so every message comes out intact', () => {
  // A long message (over the writer's copy threshold, kept by reference) among the tricky ones.
  const big = Buffer.from(JSON.stringify({ team: 'big', json_encoded: { pad: 'x'.repeat(40_000), q: '"}{' } }));
  const msgs = [...MESSAGES, big, ...MESSAGES];
  for (const [name] of FRAMINGS) {
    const stream = frames(name, msgs);
    for (const step of [1, 7, 4096, 9000, 65536, stream.length]) {
      const shared = Buffer.alloc(step);
      const kept = [];
      const f = new SyslogFramer(1 << 20, programList(['jamtart']), (buf, s, e) => {
        // Short messages are valid during the call only; long ones are kept as the writer keeps them.
        kept.push(e - s >= 16 << 10 ? buf.subarray(s, e) : Buffer.from(buf.subarray(s, e)));
      }, true);
      for (let p = 0; p < stream.length; p += step) {
        const n = stream.copy(shared, 0, p, Math.min(stream.length, p + step));
        f.push(shared.subarray(0, n));
        shared.fill(0x7e); // the next read overwrites the memory
      }
      assert.deepEqual(kept.map((m) => m.toString('hex')), msgs.map((m) => m.toString('hex')), `${name}, reads of ${step}`);
      assert.equal(f.pendingBytes, 0);
    }
  }
});
