// msg_type 128: a JAM Block (header + extrinsic), one row in `blocks`.
import { list, obj, req } from './fields.js';
import type { Handler } from './types.js';

export const blocks: Handler = {
  msgType: 128,
  description: 'block authored or imported',
  tables: ['blocks'],
  map(e, emit) {
    const b = obj(e.json, 'json_encoded');
    const h = obj(b.header, 'json_encoded.header');
    const x = obj(b.extrinsic, 'json_encoded.extrinsic');
    const d = obj(x.disputes, 'json_encoded.extrinsic.disputes');
    const hp = 'json_encoded.header', xp = 'json_encoded.extrinsic', dp = 'json_encoded.extrinsic.disputes';
    emit('blocks', {
      time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
      header_slot: req(h, 'slot', hp),
      parent: req(h, 'parent', hp),
      parent_state_root: req(h, 'parent_state_root', hp),
      extrinsic_hash: req(h, 'extrinsic_hash', hp),
      author_index: req(h, 'author_index', hp),
      entropy_source: req(h, 'entropy_source', hp),
      seal: req(h, 'seal', hp),
      num_tickets: list(x, 'tickets', xp).length,
      num_preimages: list(x, 'preimages', xp).length,
      num_guarantees: list(x, 'guarantees', xp).length,
      num_assurances: list(x, 'assurances', xp).length,
      num_verdicts: list(d, 'verdicts', dp).length,
      num_culprits: list(d, 'culprits', dp).length,
      num_faults: list(d, 'faults', dp).length,
      codec_encoded: e.codec_encoded,
    });
  },
};
