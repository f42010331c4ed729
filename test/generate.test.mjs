// Tests for `generate` (src/generate/json-logs.ts): determinism, shapes per message type as in the real
// fixtures, producer quirks (Go nulls, trimmed nanoseconds, the older envelope format), the
// preimage hash, file layout, and a toaster-scale smoke run. Run `npx tsc -p .` first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { blake2b } from '@noble/hashes/blake2.js';
import { generate, generateLines, MESSAGE_TYPES } from '../dist/generate/json-logs.js';

const TINY = { minutes: 3, validators: 6, cores: 2, seed: 7 };
const HEX32 = /^0x[0-9a-f]{64}$/;
const HEX = /^0x([0-9a-f]{2})*$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const WITH_ELAPSED = new Set(['128', '141', '255', '131']);
const OLD_META = /^team=JAMDUNA\|codec_len=(\d+)\|id=(0x[0-9a-f]{64})(\|.*)?$/;

async function tmp(t) {
  const dir = await mkdtemp(join(tmpdir(), 'jam-etl-gen-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function listFiles(dir) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(relative(dir, join(e.parentPath ?? e.path, e.name)));
  }
  return out.sort();
}

async function snapshot(dir) {
  const files = await listFiles(dir);
  return Promise.all(files.map(async (f) => [f, await readFile(join(dir, f))]));
}

function hex(bytes) {
  return '0x' + Buffer.from(bytes).toString('hex');
}

/** Parses metadata `k=v|k=v`. */
function meta(s) {
  return Object.fromEntries(s.split('|').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

// One tiny run shared by the shape tests.
let tinyDir;
let tinyResult;
let tinyLines; // { file, text, env }
test.before(async () => {
  tinyDir = await mkdtemp(join(tmpdir(), 'jam-etl-gen-tiny-'));
  const seen = [];
  tinyResult = await generate({ ...TINY, out: tinyDir, onFile: (p, b, l) => seen.push([p, b, l]) });
  tinyResult.seen = seen;
  tinyLines = [];
  for (const f of await listFiles(tinyDir)) {
    const text = await readFile(join(tinyDir, f), 'utf8');
    assert.ok(text.endsWith('\n'), `${f} ends with a newline`);
    for (const line of text.slice(0, -1).split('\n')) tinyLines.push({ file: f, text: line, env: JSON.parse(line) });
  }
});
test.after(() => rm(tinyDir, { recursive: true, force: true }));

const ofType = (t) => tinyLines.filter((l) => l.env.msg_type === t).map((l) => l.env);

test('same seed gives identical bytes, another seed different ones', async (t) => {
  const a = await tmp(t), b = await tmp(t), c = await tmp(t);
  await generate({ ...TINY, out: a });
  await generate({ ...TINY, out: b });
  await generate({ ...TINY, seed: '8', out: c });
  const sa = await snapshot(a), sb = await snapshot(b), sc = await snapshot(c);
  assert.deepEqual(sa.map(([f]) => f), ['2339.log', '2340.log', '2341.log']);
  assert.deepEqual(sa, sb);
  assert.deepEqual(sc.map(([f]) => f), sa.map(([f]) => f));
  for (let i = 0; i < sa.length; i++) assert.ok(!sa[i][1].equals(sc[i][1]), `${sa[i][0]} differs with another seed`);
  // The seed as a number or as its decimal string is the same seed (CLI flags are strings).
  const d = await tmp(t);
  await generate({ ...TINY, seed: '7', out: d });
  assert.deepEqual(await snapshot(d), sa);
});

test('a shorter run is a prefix of a longer one', async (t) => {
  const a = await tmp(t);
  await generate({ ...TINY, minutes: 1, out: a });
  const one = await readFile(join(a, '2339.log'));
  assert.ok(one.equals(await readFile(join(tinyDir, '2339.log'))));
});

test('result, onFile and files agree; one file per minute named HHMM.log', async () => {
  const r = tinyResult;
  assert.deepEqual(r.files.map((f) => relative(tinyDir, f)), ['2339.log', '2340.log', '2341.log']);
  assert.deepEqual(r.seen.map(([p]) => p), r.files);
  assert.equal(r.lines, tinyLines.length);
  assert.equal(r.seen.reduce((n, [, , l]) => n + l, 0), r.lines);
  let bytes = 0;
  for (const f of r.files) bytes += (await readFile(f)).length;
  assert.equal(r.bytes, bytes);
  assert.equal(r.seen.reduce((n, [, b]) => n + b, 0), bytes);
  const byType = {};
  for (const l of tinyLines) byType[l.env.msg_type] = (byType[l.env.msg_type] ?? 0) + 1;
  assert.deepEqual(r.byType, byType);
  // Every line's time lies in its file's minute.
  for (const l of tinyLines) assert.equal(l.env.time.slice(11, 13) + l.env.time.slice(14, 16) + '.log', l.file);
});

test('all nine message types are present at tiny scale', () => {
  const types = new Set(tinyLines.map((l) => l.env.msg_type));
  assert.deepEqual([...types].sort(), [...MESSAGE_TYPES].sort());
  assert.deepEqual([...MESSAGE_TYPES].sort(), ['128', '13', '131', '133', '135', '141', '142', '143', '255']);
});

test('every line is an envelope with the producers\' fields, order and formats', () => {
  const formats = { team: 0, plain: 0, old: 0 };
  for (const { text, env } of tinyLines) {
    const keys = Object.keys(env);
    const t = env.msg_type;
    assert.equal(typeof t, 'string');
    assert.ok(MESSAGE_TYPES.includes(t), t);
    assert.match(env.time, TIME);
    assert.doesNotMatch(env.time, /\.\d*0Z$/, 'Go trims trailing zeros of the fraction');
    assert.ok('json_encoded' in env);
    // Field order as in samples/*.json, whatever the subset.
    const order = ['time', 'team', 'sender_id', 'msg_type', 'json_encoded', 'metadata', 'elapsed', 'codec_encoded'];
    assert.deepEqual(keys, order.filter((k) => k in env), text.slice(0, 120));
    assert.equal(WITH_ELAPSED.has(t), 'elapsed' in env, `elapsed on ${t}`);
    if ('elapsed' in env) assert.ok(Number.isInteger(env.elapsed) && env.elapsed > 0);
    assert.equal(t !== '142', 'codec_encoded' in env, `codec_encoded on ${t}`);
    if ('codec_encoded' in env) assert.match(env.codec_encoded, HEX);
    if ('team' in env) {
      formats.team++;
      assert.match(env.sender_id, HEX32);
      assert.ok(typeof env.team === 'string' && env.team.length > 0);
    } else if ('sender_id' in env) {
      formats.plain++;
      assert.match(env.sender_id, HEX32);
    } else {
      formats.old++;
      const m = OLD_META.exec(env.metadata);
      assert.ok(m, `old-format metadata: ${env.metadata}`);
      if ('codec_encoded' in env) assert.equal(Number(m[1]), (env.codec_encoded.length - 2) / 2);
    }
    if (t === '255' || t === '135' || t === '142') assert.equal(typeof env.metadata, 'string');
  }
  assert.ok(formats.team > formats.old + formats.plain, `most lines carry team: ${JSON.stringify(formats)}`);
  assert.ok(formats.old > 0 && formats.plain > 0, JSON.stringify(formats));
});

test('older-format lines carry team= and id= first, then the type\'s own metadata', () => {
  const old = tinyLines.map((l) => l.env).filter((e) => !('sender_id' in e));
  const senders = new Set(tinyLines.map((l) => l.env.sender_id).filter(Boolean));
  const types = new Set();
  for (const e of old) {
    const m = OLD_META.exec(e.metadata);
    assert.ok(m);
    assert.ok(!senders.has(m[2]), 'an old-format node never also sends sender_id');
    types.add(e.msg_type);
    const md = meta(e.metadata);
    if (e.msg_type === '255') assert.match(e.metadata, /\|id=0x[0-9a-f]{64}\|role=(Guarantor|Auditor)\|numSig=\d$/);
    if (e.msg_type === '135') assert.ok(md.wph && md.c && md.len, e.metadata);
  }
  assert.ok(types.has('141') && types.size >= 3, [...types].join());
});

test('preimage metadata: h= is Blake2b-256 of the blob, blob_len and s= match', () => {
  const pre = ofType('142');
  assert.ok(pre.length > 0);
  for (const e of pre) {
    const m = meta(e.metadata);
    const blob = Buffer.from(e.json_encoded.blob.slice(2), 'hex');
    assert.equal(m.h, hex(blob2b(blob)));
    assert.equal(Number(m.blob_len), blob.length);
    assert.equal(Number(m.s), e.json_encoded.requester);
    assert.deepEqual(Object.keys(e.json_encoded), ['requester', 'blob']);
  }
  // A new service's code_hash is the hash of a preimage provided for it (as in the fixtures).
  const codeHashes = new Set(pre.map((e) => meta(e.metadata).h));
  for (const s of ofType('143')) {
    assert.deepEqual(Object.keys(s.json_encoded), ['service_index', 'code_hash', 'balance', 'min_item_gas', 'min_memo_gas', 'code_size', 'items']);
    assert.match(s.json_encoded.code_hash, HEX32);
  }
  assert.ok(ofType('143').some((s) => codeHashes.has(s.json_encoded.code_hash)));
});

function blob2b(bytes) {
  return blake2b(bytes, { dkLen: 32 });
}

test('blocks (128) have the header and extrinsic shapes of the fixtures', () => {
  const blocks = ofType('128');
  assert.ok(blocks.length >= 25);
  let prev;
  for (const e of blocks) {
    const { header: h, extrinsic: x } = e.json_encoded;
    assert.deepEqual(Object.keys(e.json_encoded), ['header', 'extrinsic']);
    assert.deepEqual(Object.keys(h), ['parent', 'parent_state_root', 'extrinsic_hash', 'slot', 'epoch_mark', 'tickets_mark', 'offenders_mark', 'author_index', 'entropy_source', 'seal']);
    assert.deepEqual(Object.keys(x), ['tickets', 'preimages', 'guarantees', 'assurances', 'disputes']);
    assert.deepEqual(x.disputes, { verdicts: [], culprits: [], faults: [] });
    assert.match(h.parent, HEX32);
    assert.equal(h.entropy_source.length, 2 + 96 * 2);
    assert.equal(h.seal.length, 2 + 96 * 2);
    assert.ok(h.author_index >= 0 && h.author_index < 6);
    // slot is the JAM slot of the envelope time
    const slot = Math.floor((Date.parse(e.time) - Date.UTC(2025, 0, 1, 12)) / 6000);
    assert.equal(h.slot, slot);
    if (prev) assert.ok(h.slot > prev.slot);
    prev = h;
    for (const g of x.guarantees) {
      assert.deepEqual(Object.keys(g), ['report', 'slot', 'signatures']);
      assert.ok(g.signatures.length >= 2 && g.signatures.every((s) => s.signature.length === 130));
      // decoded blocks write [] where Go messages write null
      assert.ok(Array.isArray(g.report.context.prerequisites));
      assert.ok(Array.isArray(g.report.segment_root_lookup));
    }
    for (const a of x.assurances) assert.equal(a.anchor, h.parent);
    for (const tk of x.tickets) assert.equal(tk.signature.length, 2 + 784 * 2);
  }
  assert.ok(blocks.some((e) => e.json_encoded.header.epoch_mark !== null), 'an epoch mark');
  assert.ok(blocks.some((e) => e.json_encoded.extrinsic.guarantees.length > 0));
  assert.ok(blocks.some((e) => e.json_encoded.extrinsic.assurances.length > 0));
  assert.ok(blocks.some((e) => e.json_encoded.extrinsic.tickets.length > 0));
  const em = blocks.find((e) => e.json_encoded.header.epoch_mark).json_encoded.header.epoch_mark;
  assert.deepEqual(Object.keys(em), ['entropy', 'tickets_entropy', 'validators']);
  assert.equal(em.validators.length, 6);
});

test('statistics (13): V validators this and last epoch, C cores, services', () => {
  for (const e of ofType('13')) {
    const s = e.json_encoded;
    assert.deepEqual(Object.keys(s), ['vals_current', 'vals_last', 'cores', 'services']);
    assert.equal(s.vals_current.length, 6);
    assert.equal(s.vals_last.length, 6);
    assert.equal(s.cores.length, 2);
    assert.deepEqual(Object.keys(s.vals_current[0]), ['blocks', 'tickets', 'pre_images', 'pre_images_size', 'guarantees', 'assurances']);
    assert.deepEqual(Object.keys(s.cores[0]), ['da_load', 'popularity', 'imports', 'exports', 'extrinsic_size', 'extrinsic_count', 'bundle_size', 'gas_used']);
    for (const sv of s.services) {
      assert.deepEqual(Object.keys(sv), ['id', 'record']);
      assert.equal(Object.keys(sv.record).length, 12);
    }
  }
  assert.ok(ofType('13').some((e) => e.json_encoded.services.length > 0));
});

test('work packages, segments and reports describe the same packages; Go nulls present', () => {
  const wps = ofType('133'), segs = ofType('135'), reps = ofType('255');
  const guarantor = reps.filter((e) => /role=Guarantor/.test(e.metadata));
  assert.equal(wps.length, segs.length);
  assert.equal(guarantor.length, wps.length);
  const hashes = new Set(guarantor.map((e) => e.json_encoded.package_spec.hash));
  for (const s of segs) {
    const m = meta(s.metadata);
    assert.ok(hashes.has(m.wph), 'segment wph is a reported package');
    assert.ok(m.c === '0' || m.c === '1');
    if (m.len === '0') {
      assert.equal(s.json_encoded, null);
      assert.equal(s.codec_encoded, '0x00');
    } else {
      assert.equal(s.json_encoded.length, Number(m.len));
      for (const b64 of s.json_encoded) assert.equal(Buffer.from(b64, 'base64').length, 4104);
    }
  }
  for (const r of reps) {
    assert.match(r.metadata, /(^|\|)role=(Guarantor|Auditor)\|numSig=[23]$/);
    assert.deepEqual(Object.keys(r.json_encoded), ['package_spec', 'context', 'core_index', 'authorizer_hash', 'auth_output', 'segment_root_lookup', 'results', 'auth_gas_used']);
  }
  for (const w of wps) {
    assert.deepEqual(Object.keys(w.json_encoded), ['work_package', 'extrinsics', 'import_segments', 'justifications']);
    assert.deepEqual(Object.keys(w.json_encoded.work_package), ['authorization', 'auth_code_host', 'authorizer', 'context', 'items']);
    assert.ok(Array.isArray(w.json_encoded.extrinsics));
    assert.equal(w.json_encoded.import_segments.length, w.json_encoded.work_package.items.length);
  }
  // bundle length is the bundle's encoded size, as in the fixtures
  const byHash = new Map(guarantor.map((r) => [r.json_encoded.package_spec.hash, r]));
  for (let i = 0; i < wps.length; i++) {
    const wph = meta(segs[i].metadata).wph;
    assert.equal(byHash.get(wph).json_encoded.package_spec.length, (wps[i].codec_encoded.length - 2) / 2);
  }
  // Go writes nil lists as null, and non-empty ones as lists: both occur.
  const items = wps.flatMap((w) => w.json_encoded.work_package.items);
  assert.ok(wps.some((w) => w.json_encoded.work_package.context.prerequisites === null));
  assert.ok(items.some((it) => it.import_segments === null) && items.some((it) => it.extrinsic === null));
  assert.ok(reps.some((r) => r.json_encoded.segment_root_lookup === null));
  assert.ok(reps.some((r) => r.json_encoded.context.prerequisites === null));
});

test('assurances (141) and tickets (131) have the fixtures\' shapes', () => {
  for (const a of ofType('141')) {
    assert.deepEqual(Object.keys(a.json_encoded), ['anchor', 'bitfield', 'validator_index', 'signature']);
    assert.equal(a.json_encoded.bitfield.length, 4);
    assert.notEqual(a.json_encoded.bitfield, '0x00');
    assert.equal(a.json_encoded.signature.length, 130);
    assert.equal(a.codec_encoded.length, 2 + (32 + 1 + 2 + 64) * 2);
  }
  for (const tk of ofType('131')) {
    assert.deepEqual(Object.keys(tk.json_encoded), ['attempt', 'signature']);
    assert.equal(tk.json_encoded.signature.length, 2 + 784 * 2);
    assert.ok(tk.elapsed > 100_000);
  }
});

test('generateLines yields exactly what generate writes', () => {
  const got = [...generateLines(TINY)];
  assert.equal(got.length, tinyLines.length);
  for (let i = 0; i < got.length; i++) {
    assert.equal(got[i].line, tinyLines[i].text);
    assert.equal(got[i].file, tinyLines[i].file);
    assert.equal(got[i].msgType, tinyLines[i].env.msg_type);
  }
});

test('a run spanning two UTC days goes into YYYY/MM/DD/HHMM.log', async (t) => {
  const dir = await tmp(t);
  const r = await generate({ ...TINY, minutes: 2, start: new Date('2025-04-24T23:59:30.5Z'), out: dir });
  assert.deepEqual(await listFiles(dir), [join('2025', '04', '24', '2359.log'), join('2025', '04', '25', '0000.log')]);
  assert.equal(r.files.length, 2);
  const first = (await readFile(join(dir, '2025', '04', '24', '2359.log'), 'utf8')).split('\n')[0];
  assert.match(JSON.parse(first).time, /^2025-04-24T23:59:0/);
});

test('bad options are rejected', async (t) => {
  const dir = await tmp(t);
  await assert.rejects(generate({ ...TINY, minutes: 0, out: dir }), RangeError);
  await assert.rejects(generate({ ...TINY, validators: 1.5, out: dir }), RangeError);
  await assert.rejects(generate({ ...TINY, cores: -1, out: dir }), RangeError);
  await assert.rejects(generate({ ...TINY, start: new Date('2024-01-01T00:00:00Z'), out: dir }), RangeError);
  await assert.rejects(generate({ ...TINY, start: new Date('nope'), out: dir }), RangeError);
});

test('toaster scale (V=1023, C=341, one minute) in well under a minute', { timeout: 120_000 }, async (t) => {
  const dir = await tmp(t);
  const t0 = process.hrtime.bigint();
  const r = await generate({ out: dir, minutes: 1, validators: 1023, cores: 341, seed: 'toaster' });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  assert.ok(seconds < 60, `took ${seconds.toFixed(1)} s`);
  assert.deepEqual(r.files.map((f) => relative(dir, f)), ['2339.log']);
  let stats = 0, blocks = 0, n = 0;
  const types = {};
  const rl = createInterface({ input: createReadStream(r.files[0]), crlfDelay: Infinity });
  for await (const line of rl) {
    n++;
    const type = /"msg_type":"(\d+)"/.exec(line)?.[1];
    types[type] = (types[type] ?? 0) + 1;
    if (type !== '13' && (type !== '128' || blocks > 0)) continue;
    const e = JSON.parse(line);
    if (type === '13') {
      stats++;
      assert.equal(e.json_encoded.vals_current.length, 1023);
      assert.equal(e.json_encoded.vals_last.length, 1023);
      assert.equal(e.json_encoded.cores.length, 341);
      assert.ok(e.json_encoded.services.length > 10);
    } else {
      blocks++;
      assert.ok(e.json_encoded.extrinsic.assurances.length > 900, 'nearly every validator assures');
      assert.ok(e.json_encoded.extrinsic.guarantees.length > 100, 'many cores guaranteed per block');
      assert.equal(e.json_encoded.extrinsic.assurances[0].bitfield.length, 2 + 43 * 2);
    }
  }
  assert.equal(n, r.lines);
  assert.deepEqual(types, r.byType);
  assert.ok(stats >= 8, `${stats} statistics messages`);
  assert.ok(r.byType['141'] > 8 * 900, 'an assurance from nearly every validator each slot');
  assert.ok(r.byType['255'] > 1000 && r.byType['133'] > 1000, 'a package per core every slot or two');
  t.diagnostic(`${r.lines} lines, ${(r.bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s: ${JSON.stringify(r.byType)}`);
});
