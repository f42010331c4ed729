// msg_type 141: a JAM AvailAssurance (a validator's bitfield over cores), one row in `assurances`.
import { obj, req } from './fields.js';
import type { Handler } from './types.js';

export const assurances: Handler = {
  msgType: 141,
  description: 'availability assurance sent',
  tables: ['assurances'],
  map(e, emit) {
    const a = obj(e.json, 'json_encoded');
    const p = 'json_encoded';
    emit('assurances', {
      time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
      anchor: req(a, 'anchor', p),
      bitfield: req(a, 'bitfield', p),
      validator_index: req(a, 'validator_index', p),
      signature: req(a, 'signature', p),
      codec_encoded: e.codec_encoded,
    });
  },
};
