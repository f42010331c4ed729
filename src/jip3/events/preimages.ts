// Preimage distribution events (JIP-3 190-199): announcements (CE 142), requests (CE 143) and
// the local preimage pool.
import { announcedPreimageForgetReason, connectionSide, eventId, hash, peerId, preimageDiscardReason, reason, serviceId, u32 } from '../types.js';
import { ev, type EventDef } from './registry-types.js';

const P = 'preimages' as const;

export const PREIMAGE_EVENTS: EventDef[] = [
  ev(P, 190, 'preimage_announcement_failed', [['peer', peerId], ['announcer', connectionSide], ['reason', reason]]),
  ev(P, 191, 'preimage_announced', [['peer', peerId], ['announcer', connectionSide], ['service', serviceId], ['hash', hash], ['length', u32]]),
  ev(P, 192, 'announced_preimage_forgotten', [['service', serviceId], ['hash', hash], ['length', u32], ['forget_reason', announcedPreimageForgetReason]]),
  ev(P, 193, 'sending_preimage_request', [['recipient', peerId], ['hash', hash]]),
  ev(P, 194, 'receiving_preimage_request', [['sender', peerId]]),
  ev(P, 195, 'preimage_request_failed', [['request_id', eventId], ['reason', reason]]),
  ev(P, 196, 'preimage_request_sent', [['request_id', eventId]]),
  ev(P, 197, 'preimage_request_received', [['request_id', eventId], ['hash', hash]]),
  ev(P, 198, 'preimage_transferred', [['request_id', eventId], ['length', u32]]),
  ev(P, 199, 'preimage_discarded', [['hash', hash], ['length', u32], ['discard_reason', preimageDiscardReason]]),
];
