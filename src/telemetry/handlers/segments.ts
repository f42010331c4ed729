// msg_type 135 (alias 3): an exported segment; the producers describe it in metadata
// (wph=<work package hash>|c=<core>|len=<length>) and send json_encoded null when empty.
import { jsonText, metaInt } from './fields.js';
import type { Handler } from './types.js';

export const segments: Handler = {
  msgType: 135,
  description: 'segment exported',
  tables: ['segments'],
  map(e, emit) {
    emit('segments', {
      time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
      work_package_hash: e.meta.wph || null,
      core_index: metaInt(e.meta, 'c'),
      segment_length: metaInt(e.meta, 'len'),
      data: e.json === null || e.json === undefined ? null : jsonText(e.json, 'json_encoded'),
      codec_encoded: e.codec_encoded,
    });
  },
};
