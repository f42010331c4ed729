// msg_type 131: a Safrole TicketEnvelope (attempt + ring VRF proof), one row in `tickets`.
import { obj, req } from './fields.js';
import type { Handler } from './types.js';

export const tickets: Handler = {
  msgType: 131,
  description: 'Safrole ticket generated',
  tables: ['tickets'],
  map(e, emit) {
    const t = obj(e.json, 'json_encoded');
    emit('tickets', {
      time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
      attempt: req(t, 'attempt', 'json_encoded'),
      signature: req(t, 'signature', 'json_encoded'),
      codec_encoded: e.codec_encoded,
    });
  },
};
