// msg_type 143: a new JAM service account (ServiceInfo), one row in `services`.
import { obj, req } from './fields.js';
import type { Handler } from './types.js';

export const services: Handler = {
  msgType: 143,
  description: 'new service created',
  tables: ['services'],
  map(e, emit) {
    const s = obj(e.json, 'json_encoded');
    const p = 'json_encoded';
    emit('services', {
      time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
      service_index: req(s, 'service_index', p),
      code_hash: req(s, 'code_hash', p),
      balance: req(s, 'balance', p),
      min_item_gas: req(s, 'min_item_gas', p),
      min_memo_gas: req(s, 'min_memo_gas', p),
      code_size: req(s, 'code_size', p),
      items: req(s, 'items', p),
      codec_encoded: e.codec_encoded,
    });
  },
};
