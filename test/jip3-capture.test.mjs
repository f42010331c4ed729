// JIP-3 capture files end to end: the generator, the reader (chunking, resume, prelude), the
// converter (rows, links, rejects), and jam-etl dune over .jip3 files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateJip3 } from '../dist/generate/jip3.js';
import { readJip3Chunks } from '../dist/input/jip3-reader.js';
import { Jip3ChunkConverter } from '../dist/jip3/convert.js';
import { encodeRecord, fileHeader, FILE_HEADER_BYTES, readRecordHeader, RECORD_HEADER_BYTES } from '../dist/jip3/capture.js';
import { readJsonl, ROOT, runCli, tempDir } from './helpers.mjs';
import { encodeEvent, encodeNodeInfo, le, Values } from './jip3-spec-encoder.mjs';

async function convertFile(path, opts = {}) {
  const conv = new Jip3ChunkConverter();
  const tables = {};
  const rejects = [];
  let lines = 0;
  let lastEnd;
  for await (const c of readJip3Chunks(path, opts)) {
    const r = conv.run(c);
    lines += r.counters.lines;
    for (const [t, b] of r.tables) (tables[t] ??= []).push(...b.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    if (r.rejects.length) rejects.push(...r.rejects.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    lastEnd = { offset: c.startOffset + (c.overlong ? c.overlong.bytes : c.data.length), line: c.startLine + c.lines };
  }
  return { tables, rejects, lines, lastEnd };
}

test('generate --format jip3 is deterministic, covers all 115 kinds, and decodes without a reject', async (t) => {
  const a = tempDir(t);
  const b = tempDir(t);
  const ra = await generateJip3({ out: a, minutes: 2, nodes: 4, cores: 3, seed: '7' });
  await generateJip3({ out: b, minutes: 2, nodes: 4, cores: 3, seed: '7' });
  assert.equal(Object.keys(ra.byKind).length, 115);
  assert.ok(ra.dropped > 0, 'a dropped range');
  assert.equal(ra.connections, 5, '4 nodes and one reconnect');
  for (const f of readdirSync(a)) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} same bytes`);
  let events = 0;
  const kinds = new Set();
  for (const f of readdirSync(a).sort()) {
    const r = await convertFile(join(a, f));
    assert.deepEqual(r.rejects, [], f);
    events += r.tables.jip3_events?.length ?? 0;
    for (const e of r.tables.jip3_events ?? []) kinds.add(e.discriminator);
  }
  assert.equal(events, ra.events);
  assert.equal(kinds.size, 115);
});

test('every chunk size and every resume point gives the same rows as one read (the prelude carries node information)', async (t) => {
  const d = tempDir(t);
  await generateJip3({ out: d, minutes: 2, nodes: 3, cores: 2, seed: '3' });
  const file = join(d, readdirSync(d).sort()[1]); // the second minute: connections opened in the first
  const whole = await convertFile(file);
  assert.deepEqual(whole.rejects, []);
  const all = whole.tables.jip3_events;
  for (const chunkBytes of [40, 333, 4096]) {
    const r = await convertFile(file, { chunkBytes });
    assert.deepEqual(r.tables.jip3_events, all, `chunkBytes ${chunkBytes}`);
  }
  // Resume at record boundaries: find them by reading with tiny chunks.
  const bounds = [];
  for await (const c of readJip3Chunks(file, { chunkBytes: 1 })) bounds.push({ offset: c.startOffset, line: c.startLine });
  for (const start of [bounds[3], bounds[Math.floor(bounds.length / 2)], bounds[bounds.length - 1]]) {
    const r = await convertFile(file, { start });
    assert.deepEqual(r.rejects, [], `resume at ${start.offset}`);
    const n = r.tables.jip3_events?.length ?? 0;
    assert.ok(n > 0);
    assert.deepEqual(r.tables.jip3_events, all.slice(all.length - n), `resume at record ${start.line}`);
  }
});

function capture(records) {
  return Buffer.concat([fileHeader(), ...records]);
}

test('rejects: a frame that does not decode, an unknown discriminator, no node information, a truncated last record; the stream goes on', async (t) => {
  const d = tempDir(t);
  const v = new Values(5);
  const info = encodeNodeInfo({ version: 1, cores: 341, paramBytes: 122, gp: '0.8.0' });
  const good = encodeEvent(11, v, { version: 1, cores: 341 });
  const status = encodeEvent(10, v, { version: 1, cores: 341 });
  const badUtf8 = Uint8Array.from([...le(9, 8), 28, ...Array(32).fill(1), 2, 0xc3, 0x28]);
  const unknown = Uint8Array.from([...le(9, 8), 250, 1, 2, 3]);
  const T0 = 1_762_000_000_000_000;
  const recs = [
    encodeRecord(1, 5, T0, 0, info),
    encodeRecord(3, 5, T0 + 1, 0, good.bytes),
    encodeRecord(3, 5, T0 + 2, 1, badUtf8),
    encodeRecord(3, 5, T0 + 3, 2, unknown),
    encodeRecord(3, 6, T0 + 4, 0, good.bytes), // connection 6 never sent node information
    encodeRecord(3, 5, T0 + 5, 3, status.bytes),
    encodeRecord(3, 5, T0 + 6, 4, good.bytes.subarray(0, 20)),
  ];
  const path = join(d, 'x.jip3');
  const body = capture(recs);
  writeFileSync(path, Buffer.concat([body, recs[1].subarray(0, 10)]));
  const r = await convertFile(path);
  assert.equal(r.tables.jip3_connections.length, 1);
  assert.equal(r.tables.jip3_connections[0].params_layout, 'gp0.8');
  assert.equal(r.tables.jip3_connections[0].core_count, 341);
  assert.deepEqual(r.tables.jip3_events.map((e) => e.event_id), [0, 3]);
  assert.equal(JSON.parse(r.tables.jip3_status[0].guarantees_by_core).length, 341);
  const byCode = Object.fromEntries(r.rejects.map((x) => [x.code + ':' + x.event_id + ':' + (x.connection ?? ''), x]));
  const utf = byCode['jip3_decode:1:5'];
  assert.match(utf.reason, /invalid_utf8/);
  assert.equal(utf.offset, 9 + 32 + 1);
  assert.equal(utf.raw_hex, '0x' + Buffer.from(badUtf8).toString('hex'));
  assert.equal(utf.record_offset, FILE_HEADER_BYTES + recs[0].length + recs[1].length);
  assert.equal(byCode['jip3_unknown_event:2:5'].reason, 'unknown event discriminator 250');
  assert.ok(byCode['jip3_no_node_info:0:6']);
  assert.match(byCode['jip3_decode:4:5'].reason, /truncated/);
  const tail = r.rejects.find((x) => x.code === 'jip3_truncated_record');
  assert.equal(tail.record_offset, body.length);
  assert.equal(r.rejects.length, 5);
  // Every record is counted: rows or one reject each (7 records + the tail).
  assert.equal(r.lines, 8);
  assert.deepEqual(r.lastEnd, { offset: body.length + 10, line: 9 });
});

test('links stay in the rows: block_executed keeps the Event ID of its importing event, also across files', async (t) => {
  const d = tempDir(t);
  await generateJip3({ out: d, minutes: 2, nodes: 3, cores: 2, seed: '1' });
  const rows = [];
  for (const f of readdirSync(d).sort()) rows.push(...((await convertFile(join(d, f))).tables.jip3_blocks ?? []));
  const byKey = new Map(rows.map((r) => [`${r.connection}:${r.event_id}`, r]));
  const executed = rows.filter((r) => r.discriminator === 47);
  assert.ok(executed.length > 10);
  let joined = 0;
  for (const e of executed) {
    const start = byKey.get(`${e.connection}:${e.linked_event_id}`);
    if (!start) continue; // the chain's start fell in a dropped range
    joined++;
    assert.ok([40, 43].includes(start.discriminator));
    assert.ok(start.time <= e.time);
  }
  assert.ok(joined >= executed.length - 3, `${joined} of ${executed.length} executed blocks join their start`);
});

test('jam-etl dune takes .jip3 files beside .log files; --workers 2 writes the same bytes as --workers 1', async (t) => {
  const d = tempDir(t);
  const o1 = tempDir(t);
  const o2 = tempDir(t);
  await generateJip3({ out: join(d, 'jip3'), minutes: 2, nodes: 3, cores: 2, seed: '2' });
  writeFileSync(join(d, 'a.log'), '{"not":"telemetry"}\n');
  const r1 = await runCli(['dune', d, '--out', o1, '--workers', '1', '--json', '-q']);
  const r2 = await runCli(['dune', d, '--out', o2, '--workers', '2', '--json', '-q']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(r1.code, 0, r1.stderr);
  const s1 = JSON.parse(r1.stdout);
  assert.equal(s1.files, 3);
  assert.equal(s1.rejects, 1);
  assert.ok(s1.rows.jip3_events > 1000);
  for (const f of readdirSync(o1)) if (f.endsWith('.jsonl') && f.startsWith('jip3_')) assert.ok(readFileSync(join(o1, f)).equals(readFileSync(join(o2, f))), f);
  const conns = readJsonl(join(o1, 'jip3_connections.jsonl'));
  assert.deepEqual([...new Set(conns.map((c) => c.protocol_version))].sort(), [0, 1]);
  assert.deepEqual([...new Set(conns.map((c) => c.params_layout))].sort(), ['gp0.7', 'gp0.8']);
});

test('a .jip3 file that is not a capture is one reject record for the whole file; the others load; a rerun rejects it no second time', async (t) => {
  const d = tempDir(t);
  const junk = Buffer.from('hello world, not a capture\n');
  writeFileSync(join(d, 'x.jip3'), junk);
  writeFileSync(join(d, 'y.jip3'), readFileSync(join(ROOT, 'logs', 'jip3', '1201.jip3')));
  const r = await runCli(['dune', d, '--out', join(d, 'o'), '-q', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rejects = readFileSync(join(d, 'o', '_rejects.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rejects.length, 1);
  assert.equal(rejects[0].code, 'jip3_bad_record');
  assert.match(rejects[0].reason, /not a JIP-3 capture file \(bad magic\): the whole file \(27 byte\(s\)\)/);
  assert.equal(rejects[0].raw_hex, '0x' + junk.toString('hex'));
  assert.ok(JSON.parse(r.stdout).rows.jip3_events > 0, 'the good capture still loads');
  const strict = await runCli(['dune', d, '--out', join(d, 'o2'), '-q', '--strict']);
  assert.equal(strict.code, 1, '--strict fails on it');
  const db = join(d, 'j.duckdb');
  for (let i = 0; i < 2; i++) assert.equal((await runCli(['duckdb', d, '--db', db, '-q'])).code, 0);
  const q = await runCli(['sql', '--db', db, '--format', 'json', "SELECT count(*) AS n FROM _rejects WHERE code = 'jip3_bad_record'"]);
  assert.equal(JSON.parse(q.stdout)[0].n, 1, 'the reject is stored once across two runs');
  void RECORD_HEADER_BYTES;
});

test('a fresh capture that ends inside a record, or inside its header, is pending (counted), not rejected and not lost', async (t) => {
  const d = tempDir(t);
  const whole = readFileSync(join(ROOT, 'logs', 'jip3', '1201.jip3'));
  writeFileSync(join(d, '1200.jip3'), whole.subarray(0, whole.length - 3));
  writeFileSync(join(d, '1201.jip3'), whole.subarray(0, 10));
  const r = await runCli(['dune', d, '--out', join(d, 'o'), '-q', '--json', '--strict']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.pending_lines, 2);
  assert.equal(s.pending_files.length, 2);
  assert.equal(s.rejects, 0);
});

test('logs/jip3/ is exactly `jam-etl generate --format jip3 --out logs/jip3 --minutes 2 --validators 3 --cores 2 --seed 1`', async (t) => {
  const d = tempDir(t);
  const r = await runCli(['generate', '--format', 'jip3', '--out', d, '--minutes', '2', '--validators', '3', '--cores', '2', '--seed', '1', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const ours = readdirSync(join(ROOT, 'logs', 'jip3')).filter((f) => f.endsWith('.jip3')).sort();
  assert.deepEqual(readdirSync(d).sort(), ours);
  for (const f of ours) assert.ok(readFileSync(join(d, f)).equals(readFileSync(join(ROOT, 'logs', 'jip3', f))), f);
});

test('every row the converter writes passes its table validator (the jip3_events lines are written by hand)', async (t) => {
  const { rowValidators } = await import('../dist/tables/schema.js');
  const v = rowValidators();
  const d = tempDir(t);
  await generateJip3({ out: d, minutes: 1, nodes: 3, cores: 341, seed: '9' });
  let n = 0;
  for (const f of readdirSync(d)) {
    const r = await convertFile(join(d, f));
    for (const [table, rows] of Object.entries(r.tables)) {
      for (const row of rows) {
        assert.ok(v.get(table)(row), `${table}: ${JSON.stringify(v.get(table).errors)}`);
        n++;
      }
    }
  }
  assert.ok(n > 1000);
});

// Kind 5 (what the collector writes): the frames of one read, prefixes included, in one record.
function prefixed(frames) {
  return Buffer.concat(frames.flatMap((f) => [Buffer.from(le(f.length, 4)), Buffer.from(f)]));
}

test('an events record (kind 5) decodes to exactly the rows of the same events as kind-3 records; row references stay unique', async (t) => {
  const d = tempDir(t);
  await generateJip3({ out: d, minutes: 2, nodes: 3, cores: 2, seed: '5' });
  const src = readFileSync(join(d, readdirSync(d).sort()[0]));
  // The generator's records, with the receive times of each run of up to 7 consecutive events
  // of one connection made equal (a kind-5 record has one), written both ways.
  const recs = [];
  for (let o = FILE_HEADER_BYTES; o < src.length; ) {
    const h = readRecordHeader(src, o);
    recs.push({ ...h, payload: src.subarray(o + RECORD_HEADER_BYTES, o + RECORD_HEADER_BYTES + h.length) });
    o += RECORD_HEADER_BYTES + h.length;
  }
  const singles = [];
  const batched = [];
  let runs = 0;
  for (let i = 0; i < recs.length; ) {
    const r = recs[i];
    if (r.kind !== 3) {
      singles.push(encodeRecord(r.kind, r.connection, r.recvTimeUs, r.eventId, r.payload));
      batched.push(singles.at(-1));
      i++;
      continue;
    }
    let j = i;
    while (j < recs.length && j - i < 7 && recs[j].kind === 3 && recs[j].connection === r.connection) j++;
    const run = recs.slice(i, j);
    for (const e of run) singles.push(encodeRecord(3, e.connection, r.recvTimeUs, e.eventId, e.payload));
    batched.push(encodeRecord(5, r.connection, r.recvTimeUs, r.eventId, prefixed(run.map((e) => e.payload))));
    runs += run.length > 1 ? 1 : 0;
    i = j;
  }
  assert.ok(runs > 10, 'runs of several events');
  writeFileSync(join(d, 'singles.jip3'), capture(singles));
  writeFileSync(join(d, 'batched.jip3'), capture(batched));
  const a = await convertFile(join(d, 'singles.jip3'));
  const b = await convertFile(join(d, 'batched.jip3'));
  assert.deepEqual(a.rejects, []);
  assert.deepEqual(b.rejects, []);
  assert.ok(a.tables.jip3_events.length > 100);
  assert.deepEqual(b.tables, a.tables, 'same rows in every table');
  assert.equal(b.lines, a.lines, 'each event of a kind-5 record counts as a line');
  // The BigQuery sink's insert IDs come from (record, index): unique per table.
  const conv = new Jip3ChunkConverter({ rowRefs: true });
  const seen = new Map();
  for await (const c of readJip3Chunks(join(d, 'batched.jip3'), { chunkBytes: 4096 })) {
    for (const [table, refs] of conv.run(c).rowRefs) {
      const s = seen.get(table) ?? seen.set(table, new Set()).get(table);
      for (let k = 0; k < refs.length; k += 3) {
        const key = `${refs[k]}:${refs[k + 1]}`;
        assert.ok(!s.has(key), `${table}: row reference ${key} twice`);
        s.add(key);
      }
    }
  }
  assert.equal(seen.get('jip3_events').size, a.tables.jip3_events.length);
});

test('an events record whose frame runs past its end: the events before it load, the rest is one reject', async (t) => {
  const d = tempDir(t);
  const v = new Values(9);
  const info = encodeNodeInfo({ version: 1, cores: 341, paramBytes: 134, gp: '0.7.2' });
  const e1 = encodeEvent(11, v, { version: 1, cores: 341 }).bytes;
  const e2 = encodeEvent(12, v, { version: 1, cores: 341 }).bytes;
  e1.set(le(2 ** 45, 8), 0); // plausible Timestamps (the spec encoder's are any u64)
  e2.set(le(2 ** 45 + 1000, 8), 0);
  const T0 = 1_762_000_000_000_000;
  const good = prefixed([e1, e2]);
  const bad = Buffer.concat([good, Buffer.from(le(500, 4)), Buffer.from([1, 2, 3])]);
  const firstBad = Buffer.concat([Buffer.from(le(9, 4)), Buffer.from([1, 2])]);
  const recs = [encodeRecord(1, 7, T0, 0, info), encodeRecord(5, 7, T0 + 1, 0, bad), encodeRecord(5, 7, T0 + 2, 2, good), encodeRecord(5, 7, T0 + 3, 4, firstBad), encodeRecord(5, 7, T0 + 4, 4, Buffer.alloc(0))];
  const path = join(d, 'x.jip3');
  writeFileSync(path, capture(recs));
  const r = await convertFile(path);
  assert.deepEqual(r.tables.jip3_events.map((e) => e.event_id), [0, 1, 2, 3]);
  // One reject each for the cut record, a record whose first frame is cut, and an empty one.
  assert.deepEqual(r.rejects.map((x) => [x.code, x.line]), [['jip3_bad_record', 2], ['jip3_bad_record', 4], ['jip3_bad_record', 5]]);
  assert.match(r.rejects[2].reason, /no frame/);
  const x = r.rejects[0];
  assert.equal(x.code, 'jip3_bad_record');
  assert.match(x.reason, /past the record's end/);
  assert.equal(x.event_id, 2);
  assert.equal(x.line, 2);
  assert.equal(x.record_offset, FILE_HEADER_BYTES + recs[0].length + RECORD_HEADER_BYTES + good.length);
  assert.equal(x.raw_hex, '0x' + bad.subarray(good.length).toString('hex'));
  // node information + 2 events + the reject + 2 events + the two bad records.
  assert.equal(r.lines, 8);
});
