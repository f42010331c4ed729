// Bundle recovery events (JIP-3 140-153): auditors fetching bundle shards from assurers
// (CE 138) or whole bundles from guarantors (CE 147).
import { bool, eventId, hash, peerId, reason, shardIndex } from '../types.js';
import { ev, type EventDef } from './registry-types.js';

const B = 'bundle_recovery' as const;

export const BUNDLE_RECOVERY_EVENTS: EventDef[] = [
  ev(B, 140, 'sending_bundle_shard_request', [['audit_id', eventId], ['assurer', peerId], ['shard', shardIndex]]),
  ev(B, 141, 'receiving_bundle_shard_request', [['auditor', peerId]]),
  ev(B, 142, 'bundle_shard_request_failed', [['request_id', eventId], ['reason', reason]]),
  ev(B, 143, 'bundle_shard_request_sent', [['request_id', eventId]]),
  ev(B, 144, 'bundle_shard_request_received', [['request_id', eventId], ['erasure_root', hash], ['shard', shardIndex]]),
  ev(B, 145, 'bundle_shard_transferred', [['request_id', eventId]]),
  ev(B, 146, 'reconstructing_bundle', [['audit_id', eventId], ['trivial', bool]]),
  ev(B, 147, 'bundle_reconstructed', [['audit_id', eventId]]),
  ev(B, 148, 'sending_bundle_request', [['audit_id', eventId], ['guarantor', peerId]]),
  ev(B, 149, 'receiving_bundle_request', [['auditor', peerId]]),
  ev(B, 150, 'bundle_request_failed', [['request_id', eventId], ['reason', reason]]),
  ev(B, 151, 'bundle_request_sent', [['request_id', eventId]]),
  ev(B, 152, 'bundle_request_received', [['request_id', eventId], ['erasure_root', hash]]),
  ev(B, 153, 'bundle_transferred', [['request_id', eventId]]),
];
