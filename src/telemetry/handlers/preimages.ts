// msg_type 142: a preimage (requester service + blob), one row in `preimages`. The hash is
// Blake2b-256 of the blob bytes (a 32-byte digest, not a cut Blake2b-512).
import { blake2b256Hex, blake2b256HexOfHex } from '../blake2b.js';
import { RejectError } from '../../pipeline/rejects.js';
import { obj, req } from './fields.js';
import type { Handler } from './types.js';

const HEX = /^0x(?:[0-9a-fA-F]{2})*$/;
const BAD_BLOB = 'json_encoded.blob must be 0x-prefixed hex with an even number of digits';

export { blake2b256Hex };

export const preimages: Handler = {
  msgType: 142,
  description: 'preimage announced',
  tables: ['preimages'],
  map(e, emit) {
    const p = obj(e.json, 'json_encoded');
    const blob = req(p, 'blob', 'json_encoded');
    let hash: string | undefined;
    let length: number;
    // A huge line's blob is read from its bytes, hex-decoded piece by piece (src/bigstrings.ts).
    const raw = e.bytesOf?.(blob);
    if (raw) {
      hash = blake2b256HexOfHex(raw);
      length = (raw.length - 2) / 2;
    } else {
      if (typeof blob !== 'string' || !HEX.test(blob)) throw new RejectError('bad_field', BAD_BLOB);
      const bytes = Buffer.from(blob.slice(2), 'hex');
      hash = blake2b256Hex(bytes);
      length = bytes.length;
    }
    if (hash === undefined) throw new RejectError('bad_field', BAD_BLOB);
    emit('preimages', {
      time: e.time, slot: e.slot, team: e.team, sender_id: e.sender_id, elapsed: e.elapsed,
      requester: req(p, 'requester', 'json_encoded'),
      preimage_hash: hash,
      blob_length: length,
      blob,
      codec_encoded: e.codec_encoded,
    });
  },
};
