// msg_type 255: a JAM WorkReport (refined or audited by the sender), one row in `workreports`.
// Metadata carries the sender's role (role=Guarantor) and the number of signatures (numSig=).
import { contextColumns, jsonText, list, listText, metaInt, obj, opt, req } from './fields.js';
import type { Handler } from './types.js';

export const workreports: Handler = {
  msgType: 255,
  description: 'work report refined or audited',
  tables: ['workreports'],
  map(e, emit) {
    const r = obj(e.json, 'json_encoded');
    const p = 'json_encoded';
    const spec = obj(r.package_spec, `${p}.package_spec`);
    const ctx = obj(r.context, `${p}.context`);
    const sp = `${p}.package_spec`, cp = `${p}.context`;
    const results = list(r, 'results', p);
    emit('workreports', {
      time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
      work_package_hash: req(spec, 'hash', sp),
      bundle_length: req(spec, 'length', sp),
      erasure_root: req(spec, 'erasure_root', sp),
      exports_root: req(spec, 'exports_root', sp),
      exports_count: req(spec, 'exports_count', sp),
      ...contextColumns(ctx, cp),
      core_index: req(r, 'core_index', p),
      authorizer_hash: req(r, 'authorizer_hash', p),
      auth_output: req(r, 'auth_output', p),
      segment_root_lookup: listText(r, 'segment_root_lookup', p),
      results: jsonText(results, `${p}.results`),
      num_results: results.length,
      auth_gas_used: opt(r, 'auth_gas_used', p),
      role: e.meta.role || null,
      num_signatures: metaInt(e.meta, 'numSig'),
      codec_encoded: e.codec_encoded,
    });
  },
};
