// One test per message type (through the whole line pipeline), the aliases, the older envelope
// format, team resolution, and Go's null lists versus the test vectors' [].
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineConverter } from '../dist/telemetry/convert.js';
import { normaliseTime, parseMetadata } from '../dist/telemetry/envelope.js';
import { ALIASES, handlerFor, HANDLERS } from '../dist/telemetry/handlers/index.js';
import { blake2b256Hex } from '../dist/telemetry/handlers/preimages.js';
import { RejectError } from '../dist/pipeline/rejects.js';
import { JSON_TABLE_NAMES, TABLE_NAMES } from '../dist/tables/schema.js';
import { needsShared, sample } from './helpers.mjs';

function convert(obj, teams) {
  const c = new LineConverter(teams);
  c.convert(typeof obj === 'string' ? obj : JSON.stringify(obj));
  return c.tables.map((t, i) => ({ table: t, row: { ...c.rows[i] } }));
}

function rejectOf(obj) {
  try {
    convert(obj);
  } catch (e) {
    if (e instanceof RejectError) return e;
    throw e;
  }
  assert.fail('expected a reject');
}

test('the registry covers 9 message types, 11 tables, and the aliases 0 and 3', () => {
  assert.equal(HANDLERS.length, 9);
  // The JSON registry fills exactly the JSON tables; the jip3_ tables are JIP-3's (src/jip3).
  assert.deepEqual(new Set(HANDLERS.flatMap((h) => h.tables)), new Set(JSON_TABLE_NAMES));
  assert.ok(TABLE_NAMES.filter((t) => !JSON_TABLE_NAMES.includes(t)).every((t) => t.startsWith('jip3_')));
  assert.equal(handlerFor(0), handlerFor(133));
  assert.equal(handlerFor(3), handlerFor(135));
  assert.deepEqual([...ALIASES.keys()], [0, 3]);
  assert.equal(handlerFor(128).tables[0], 'blocks');
  assert.equal(handlerFor(999), undefined);
});

test('128 blocks: header fields and extrinsic counts', needsShared(), () => {
  const env = sample('blocks-128.json');
  const [r] = convert(env);
  assert.equal(r.table, 'blocks');
  assert.equal(r.row.header_slot, 1692273);
  assert.equal(r.row.author_index, 3);
  assert.equal(r.row.num_guarantees, 1);
  assert.equal(r.row.num_tickets, 0);
  assert.equal(r.row.team, 'A-go-cn');
  assert.equal(r.row.elapsed, 70119);
  assert.equal(r.row.codec_encoded, env.codec_encoded);
  assert.equal(r.row.time, '2025-04-29T00:27:18.299568Z');
  assert.equal(r.row.slot, Math.floor((Date.parse('2025-04-29T00:27:18Z') - Date.parse('2025-01-01T12:00:00Z')) / 6000));
});

test('13 statistics fan out per validator, core and service, codec_encoded null', needsShared(), () => {
  const env = sample('statistics-13.json');
  const rows = convert(env);
  const by = (t) => rows.filter((r) => r.table === t).map((r) => r.row);
  assert.equal(by('validatorstatistics').length, env.json_encoded.vals_current.length);
  assert.equal(by('corestatistics').length, env.json_encoded.cores.length);
  assert.equal(by('servicestatistics').length, env.json_encoded.services.length);
  const v0 = by('validatorstatistics')[0];
  assert.equal(v0.validator_id, 0);
  assert.equal(v0.current_pre_images_size, 9119);
  assert.equal(v0.last_blocks, 2);
  assert.equal(v0.codec_encoded, null);
  assert.equal(v0.elapsed, null, 'statistics carry no elapsed');
  assert.equal(by('corestatistics')[0].bundle_size, 270);
  assert.equal(by('servicestatistics')[0].refinement_count, 1);
});

test('255 workreports: JSON text columns, metadata role and numSig', needsShared(), () => {
  const env = sample('workreports-255.json');
  const [r] = convert(env);
  assert.equal(r.row.work_package_hash, env.json_encoded.package_spec.hash);
  assert.equal(r.row.role, 'Guarantor');
  assert.equal(r.row.num_signatures, 2);
  assert.equal(r.row.num_results, 2);
  assert.deepEqual(JSON.parse(r.row.results), env.json_encoded.results);
  assert.equal(r.row.segment_root_lookup, '[]', 'Go null list is empty JSON text');
  assert.deepEqual(JSON.parse(r.row.prerequisites), env.json_encoded.context.prerequisites);
  assert.equal(r.row.auth_output, '0x');
});

test('142 preimages: Blake2b-256 of the blob equals metadata h=', needsShared(), () => {
  const env = sample('preimages-142.json');
  const [r] = convert(env);
  const h = /h=(0x[0-9a-f]{64})/.exec(env.metadata)[1];
  assert.equal(r.row.preimage_hash, h);
  assert.equal(r.row.blob_length, 1099);
  assert.equal(r.row.requester, 400845930);
  assert.equal(r.row.codec_encoded, null, 'absent codec_encoded is null');
  assert.equal(blake2b256Hex(new Uint8Array(0)), '0x0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
});

test('141 assurances, 131 tickets, 143 services, 135 segments', needsShared(), () => {
  const [a] = convert(sample('assurances-141.json'));
  assert.deepEqual([a.table, a.row.validator_index, a.row.bitfield, a.row.elapsed], ['assurances', 2, '0x01', 2748]);
  const tk = sample('tickets-131.json');
  const [t] = convert(tk);
  assert.deepEqual([t.table, t.row.attempt, t.row.signature, t.row.elapsed], ['tickets', 1, tk.json_encoded.signature, 339605]);
  const [s] = convert(sample('services-143.json'));
  assert.deepEqual([s.table, s.row.service_index, s.row.code_size, s.row.items], ['services', 1533641205, 8356, 2]);
  const [g] = convert(sample('segments-135.json'));
  assert.deepEqual([g.table, g.row.work_package_hash, g.row.core_index, g.row.segment_length, g.row.data], ['segments', '0x6bbfb04a503f644c6367c5eda0b620c1ef8ecd00531c8877d4aa0ce5288d66e6', 0, 0, null]);
});

test('133 workpackages: GP 0.6 authorizer object and GP 0.7 top-level names give the same columns', needsShared(), () => {
  const env = sample('workpackagebundles-133.json');
  const [r6] = convert(env);
  const wp = { ...env.json_encoded.work_package };
  wp.auth_code_hash = wp.authorizer.code_hash;
  wp.authorizer_config = wp.authorizer.params;
  delete wp.authorizer;
  const [r7] = convert({ ...env, json_encoded: { ...env.json_encoded, work_package: wp } });
  assert.equal(r6.row.authorizer_code_hash, '0xc16326432b5b3213dfd1609495e13c6b276cb474d679645337e5c2c09f19b53c');
  assert.equal(r6.row.authorizer_params, '0x');
  assert.deepEqual(r7.row, r6.row);
  assert.equal(r6.row.num_work_items, 2);
  assert.deepEqual(JSON.parse(r6.row.work_items), env.json_encoded.work_package.items);
  assert.equal(r6.row.import_segments, '[[],[]]');
  // Neither shape: the reject names the missing field.
  const bad = { ...env.json_encoded.work_package };
  delete bad.authorizer;
  const e = rejectOf({ ...env, json_encoded: { ...env.json_encoded, work_package: bad } });
  assert.equal(e.code, 'missing_field');
  assert.match(e.message, /code_hash \(or auth_code_hash\)/);
});

test('aliases: msg_type 0 is a work package, 3 a segment, as string or number', needsShared(), () => {
  const wp = sample('workpackagebundles-133.json');
  assert.equal(convert({ ...wp, msg_type: '0' })[0].table, 'workpackages');
  assert.equal(convert({ ...wp, msg_type: 133 })[0].table, 'workpackages');
  const seg = sample('segments-135.json');
  assert.equal(convert({ ...seg, msg_type: 3 })[0].table, 'segments');
  assert.deepEqual(convert({ ...seg, msg_type: 3 })[0].row, convert(seg)[0].row);
});

test('Go null lists and [] lists give the same rows', needsShared(), () => {
  const b = sample('blocks-128.json');
  const x = b.json_encoded.extrinsic;
  const nulls = { ...b, json_encoded: { ...b.json_encoded, extrinsic: { ...x, tickets: null, preimages: null, assurances: null, disputes: { verdicts: null, culprits: null, faults: null } } } };
  assert.deepEqual(convert(nulls)[0].row, convert(b)[0].row);
  const w = sample('workreports-255.json');
  const empty = { ...w, json_encoded: { ...w.json_encoded, segment_root_lookup: [], context: { ...w.json_encoded.context, prerequisites: null } } };
  const [r] = convert(empty);
  assert.equal(r.row.segment_root_lookup, '[]');
  assert.equal(r.row.prerequisites, '[]');
});

test('older producer format: no sender_id or team, metadata team=JAMDUNA|codec_len=…|id=0x…', needsShared(), () => {
  const a = sample('assurances-141.json');
  const { team, sender_id, ...old } = a;
  const [r] = convert({ ...old, metadata: `team=JAMDUNA|codec_len=100|id=${sender_id}` });
  assert.equal(r.row.team, 'JAMDUNA');
  assert.equal(r.row.sender_id, sender_id);
  // Older producers did not always send id=: sender is null, team falls back.
  const [r2] = convert({ ...old, metadata: 'codec_len=100' });
  assert.equal(r2.row.sender_id, null);
  assert.equal(r2.row.team, 'unknown');
  // Metadata keys of the type itself follow the old keys.
  const w = sample('workreports-255.json');
  const { team: _t, sender_id: sid, ...oldW } = w;
  const [rw] = convert({ ...oldW, metadata: `team=JAMDUNA|codec_len=9|id=${sid}|role=Auditor|numSig=3` });
  assert.deepEqual([rw.row.team, rw.row.sender_id, rw.row.role, rw.row.num_signatures], ['JAMDUNA', sid, 'Auditor', 3]);
});

test('team resolution order: envelope team, metadata team=, --teams map, unknown', needsShared(), () => {
  const a = sample('assurances-141.json');
  const { team, ...noTeam } = a;
  const teams = new Map([[a.sender_id.toLowerCase(), 'FromMap']]);
  assert.equal(convert(a, teams)[0].row.team, 'A-go-cn');
  assert.equal(convert({ ...noTeam, metadata: 'team=Meta' }, teams)[0].row.team, 'Meta');
  assert.equal(convert({ ...noTeam, sender_id: a.sender_id.toUpperCase().replace('0X', '0x') }, teams)[0].row.team, 'FromMap');
  assert.equal(convert(noTeam)[0].row.team, 'unknown');
});

test('time: 0-9 fraction digits, offsets, microsecond UTC output, slot', () => {
  assert.deepEqual(normaliseTime('2025-01-01T12:00:00Z'), { time: '2025-01-01T12:00:00.000000Z', slot: 0 });
  assert.deepEqual(normaliseTime('2025-01-01T12:00:05.999999999Z'), { time: '2025-01-01T12:00:05.999999Z', slot: 0 });
  assert.equal(normaliseTime('2025-01-01T12:00:06.1Z').slot, 1);
  assert.deepEqual(normaliseTime('2025-04-24T23:42:01.05805356Z').time, '2025-04-24T23:42:01.058053Z');
  assert.deepEqual(normaliseTime('2025-01-01T14:00:06.5+02:00'), { time: '2025-01-01T12:00:06.500000Z', slot: 1 });
  assert.deepEqual(normaliseTime('2024-12-31T23:30:00-12:30').time, '2025-01-01T12:00:00.000000Z');
  for (const bad of ['yesterday', '2025-02-30T00:00:00Z', '2025-13-01T00:00:00Z', '2025-01-01T24:00:00Z', '2025-01-01T00:00:00', '2025-01-01T00:00:00.1234567890Z', 1745537940, null, undefined]) {
    assert.throws(() => normaliseTime(bad), RejectError, String(bad));
  }
});

test('metadata parsing', () => {
  assert.deepEqual(parseMetadata('a=1|b=x=y||c'), { a: '1', b: 'x=y', c: '' });
  assert.deepEqual(parseMetadata(undefined), {});
  assert.throws(() => parseMetadata(5), RejectError);
});

test('statistics: GP 0.6 test-vector names and GP 0.7.1 records without on-transfer', needsShared(), () => {
  const env = sample('statistics-13.json');
  const { vals_current, vals_last, ...rest } = env.json_encoded;
  const services = rest.services.map((s) => {
    const { on_transfers_count, on_transfers_gas_used, ...record } = s.record;
    return { ...s, record };
  });
  const rows = convert({ ...env, json_encoded: { ...rest, vals_curr_stats: vals_current, vals_last_stats: vals_last, services } });
  assert.equal(rows.filter((r) => r.table === 'validatorstatistics').length, vals_current.length);
  const svc = rows.find((r) => r.table === 'servicestatistics').row;
  assert.equal(svc.on_transfers_count, null);
  assert.equal(svc.refinement_count, 1);
});

test('row validation (ajv, from schema/*.json): types, NULLABLE, missing and unknown columns', async () => {
  const { rowValidators, columnsOf } = await import('../dist/tables/schema.js');
  const v = rowValidators().get('assurances');
  const good = { time: '2025-04-29T00:49:42.392650Z', slot: 1, team: 't', sender_id: null, elapsed: null, anchor: '0x', bitfield: '0x01', validator_index: 2, signature: '0x', codec_encoded: null };
  assert.deepEqual(Object.keys(good), columnsOf('assurances').map((c) => c.name));
  assert.equal(v(good), true);
  assert.equal(v({ ...good, elapsed: 5 }), true);
  assert.equal(v({ ...good, elapsed: '5' }), false, 'NULLABLE INTEGER still needs an integer');
  assert.equal(v({ ...good, validator_index: null }), false, 'REQUIRED rejects null');
  assert.equal(v({ ...good, validator_index: 2.5 }), false);
  assert.equal(v({ ...good, time: '2025-04-29' }), false, 'TIMESTAMP pattern');
  assert.equal(v({ ...good, extra: 1 }), false, 'unknown column');
  const { signature, ...missing } = good;
  assert.equal(v(missing), false, 'missing column');
});

test('row validators: the build precompiles them (ajv standalone) and they decide exactly as ajv.compile does', async () => {
  const { readFileSync } = await import('node:fs');
  const schema = await import('../dist/tables/schema.js');
  const pre = schema.rowValidators();
  assert.equal(schema.validatorsSource, 'precompiled', 'npm run build writes dist/tables/validators.generated.cjs for the schemas on disk');
  const { validators: compiled } = schema.compileRowValidators(schema.rowJsonSchemas());
  let checked = 0;
  for (const table of schema.TABLE_NAMES) {
    const text = readFileSync(new URL(`../dune_exports/${table}.jsonl`, import.meta.url), 'utf8');
    const rows = text.split('\n').filter(Boolean).slice(0, 3).map((l) => JSON.parse(l));
    assert.ok(rows.length > 0, `dune_exports/${table}.jsonl has rows`);
    const cols = schema.columnsOf(table);
    const variants = [];
    for (const row of rows) {
      variants.push(row, { ...row, extra: 1 });
      for (const c of cols) {
        const { [c.name]: _, ...missing } = row;
        variants.push(missing, { ...row, [c.name]: null }, { ...row, [c.name]: 'x' }, { ...row, [c.name]: 1.5 }, { ...row, [c.name]: 2 ** 64 }, { ...row, [c.name]: true });
      }
    }
    for (const row of variants) {
      const a = pre.get(table), b = compiled.get(table);
      assert.equal(a(row), b(row), `${table}: ${JSON.stringify(row).slice(0, 120)}`);
      assert.deepEqual(a.errors, b.errors);
      checked++;
    }
  }
  assert.ok(checked > 1000);
});
