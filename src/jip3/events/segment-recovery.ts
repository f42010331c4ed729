// Segment recovery events (JIP-3 160-178): primary guarantors recovering imported segments from
// assurers (CE 139/140) or previous guarantors (CE 148), reconstructing and verifying them.
import type { Reader } from '../codec.js';
import { bool, eventId, hash, importSegmentId, peerId, reason, shardIndex, u16, u16List } from '../types.js';
import { ev, type EventDef } from './registry-types.js';

const S = 'segment_recovery' as const;
const SUB = 'submission_id';

const segmentShards = (r: Reader): unknown[] =>
  r.seq((q) => ({ segment: importSegmentId(q), shard: shardIndex(q) }), 'segment shards', 4);
const segmentIds = (r: Reader): unknown[] => r.seq(importSegmentId, 'segments', 2);

export const SEGMENT_RECOVERY_EVENTS: EventDef[] = [
  ev(S, 160, 'work_package_hash_mapped', [[SUB, eventId], ['work_package_hash', hash], ['segments_root', hash]]),
  ev(S, 161, 'segments_root_mapped', [[SUB, eventId], ['segments_root', hash], ['erasure_root', hash]]),
  ev(S, 162, 'sending_segment_shard_request', [[SUB, eventId], ['assurer', peerId], ['ce140', bool], ['shards', segmentShards]]),
  ev(S, 163, 'receiving_segment_shard_request', [['sender', peerId], ['ce140', bool]]),
  ev(S, 164, 'segment_shard_request_failed', [['request_id', eventId], ['reason', reason]]),
  ev(S, 165, 'segment_shard_request_sent', [['request_id', eventId]]),
  ev(S, 166, 'segment_shard_request_received', [['request_id', eventId], ['shards', u16]]),
  ev(S, 167, 'segment_shards_transferred', [['request_id', eventId]]),
  ev(S, 168, 'reconstructing_segments', [[SUB, eventId], ['segments', segmentIds], ['trivial', bool]]),
  ev(S, 169, 'segment_reconstruction_failed', [['reconstructing_id', eventId], ['reason', reason]]),
  ev(S, 170, 'segments_reconstructed', [['reconstructing_id', eventId]]),
  ev(S, 171, 'segment_verification_failed', [[SUB, eventId], ['segments', u16List('failed segments')], ['reason', reason]]),
  ev(S, 172, 'segments_verified', [[SUB, eventId], ['segments', u16List('verified segments')]]),
  ev(S, 173, 'sending_segment_request', [[SUB, eventId], ['previous_guarantor', peerId], ['segments', u16List('requested segments')]]),
  ev(S, 174, 'receiving_segment_request', [['guarantor', peerId]]),
  ev(S, 175, 'segment_request_failed', [['request_id', eventId], ['reason', reason]]),
  ev(S, 176, 'segment_request_sent', [['request_id', eventId]]),
  ev(S, 177, 'segment_request_received', [['request_id', eventId], ['segments', u16]]),
  ev(S, 178, 'segments_transferred', [['request_id', eventId]]),
];
