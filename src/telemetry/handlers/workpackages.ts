// msg_type 133 (alias 0): a JAM work-package bundle {work_package, extrinsics, import_segments,
// justifications}, one row in `workpackages`. GP 0.6.x nests the authorizer as
// `authorizer: {code_hash, params}`; GP 0.7.x has `auth_code_hash` and `authorizer_config`.
import { contextColumns, jsonText, list, listText, obj, req, reqAny } from './fields.js';
import type { Handler } from './types.js';

export const workpackages: Handler = {
  msgType: 133,
  description: 'work-package bundle submitted',
  tables: ['workpackages'],
  map(e, emit) {
    const b = obj(e.json, 'json_encoded');
    const wpp = 'json_encoded.work_package';
    const wp = obj(b.work_package, wpp);
    const ctx = obj(wp.context, `${wpp}.context`);
    const cp = `${wpp}.context`;
    const auth = wp.authorizer === undefined ? wp : obj(wp.authorizer, `${wpp}.authorizer`);
    const ap = wp.authorizer === undefined ? wpp : `${wpp}.authorizer`;
    const items = list(wp, 'items', wpp);
    emit('workpackages', {
      time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
      authorization: req(wp, 'authorization', wpp),
      auth_code_host: req(wp, 'auth_code_host', wpp),
      authorizer_code_hash: reqAny(auth, ['code_hash', 'auth_code_hash'], ap),
      authorizer_params: reqAny(auth, ['params', 'authorizer_config'], ap),
      ...contextColumns(ctx, cp),
      num_work_items: items.length,
      work_items: jsonText(items, `${wpp}.items`),
      extrinsics: listText(b, 'extrinsics', 'json_encoded'),
      import_segments: listText(b, 'import_segments', 'json_encoded'),
      justifications: listText(b, 'justifications', 'json_encoded'),
      codec_encoded: e.codec_encoded,
    });
  },
};
