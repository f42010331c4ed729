// msg_type 142: a preimage (requester service + blob), one row in `preimages`. The hash is
// Blake2b-256 of the blob bytes (a 32-byte digest, not a cut Blake2b-512).
import { blake2b256Hex } from '../blake2b.js';
import { RejectError } from '../rejects.js';
import { obj, req } from './fields.js';
import type { Handler } from './types.js';

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;

export { blake2b256Hex };

export const preimages: Handler = {
  msgType: 142,
  description: 'preimage announced',
  tables: ['preimages'],
  map(e, emit) {
    const p = obj(e.json, 'json_encoded');
    const blob = req(p, 'blob', 'json_encoded');
    if (typeof blob !== 'string' || !HEX.test(blob)) {
      throw new RejectError('bad_field', 'json_encoded.blob must be 0x-prefixed hex with an even number of digits');
    }
    const bytes = Buffer.from(blob.slice(2), 'hex');
    emit('preimages', {
      time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
      requester: req(p, 'requester', 'json_encoded'),
      preimage_hash: blake2b256Hex(bytes),
      blob_length: bytes.length,
      blob,
      codec_encoded: e.codec_encoded,
    });
  },
};
