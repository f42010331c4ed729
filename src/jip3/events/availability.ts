// Availability distribution events (JIP-3 120-131): shard requests (CE 137) and assurances
// (CE 141).
import { availabilityBitfield, eventId, hash, peerId, reason, shardIndex } from '../types.js';
import { ev, type EventDef } from './registry-types.js';

const A = 'availability' as const;

export const AVAILABILITY_EVENTS: EventDef[] = [
  ev(A, 120, 'sending_shard_request', [['guarantor', peerId], ['erasure_root', hash], ['shard', shardIndex]]),
  ev(A, 121, 'receiving_shard_request', [['assurer', peerId]]),
  ev(A, 122, 'shard_request_failed', [['request_id', eventId], ['reason', reason]]),
  ev(A, 123, 'shard_request_sent', [['request_id', eventId]]),
  ev(A, 124, 'shard_request_received', [['request_id', eventId], ['erasure_root', hash], ['shard', shardIndex]]),
  ev(A, 125, 'shards_transferred', [['request_id', eventId]]),
  ev(A, 126, 'distributing_assurance', [['anchor', hash], ['bitfield', availabilityBitfield]]),
  ev(A, 127, 'assurance_send_failed', [['distributing_id', eventId], ['recipient', peerId], ['reason', reason]]),
  ev(A, 128, 'assurance_sent', [['distributing_id', eventId], ['recipient', peerId]]),
  ev(A, 129, 'assurance_distributed', [['distributing_id', eventId]]),
  ev(A, 130, 'assurance_receive_failed', [['sender', peerId], ['reason', reason]]),
  ev(A, 131, 'assurance_received', [['sender', peerId], ['anchor', hash]]),
];
