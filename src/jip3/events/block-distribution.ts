// Block distribution events (JIP-3 60-68): block announcement streams (UP 0) and block requests
// (CE 128). Event 61 is the one place protocol versions differ: version 1 names the stream by
// the Event ID of its "opened" event (60) where version 0 had the peer's ID.
import { blockOutline, blockRequestDirection, bool, connectionSide, eventId, hash, peerId, reason, slot, u32 } from '../types.js';
import { ev, type EventDef } from './registry-types.js';

export const BLOCK_DISTRIBUTION_EVENTS: EventDef[] = [
  ev('block_distribution', 60, 'block_announcement_stream_opened', [['peer', peerId], ['opener', connectionSide]]),
  ev(
    'block_distribution',
    61,
    'block_announcement_stream_closed',
    [['peer', peerId], ['closer', connectionSide], ['reason', reason]],
    [['opened_id', eventId], ['closer', connectionSide], ['reason', reason]],
  ),
  ev('block_distribution', 62, 'block_announced', [['peer', peerId], ['announcer', connectionSide], ['slot', slot], ['header_hash', hash]]),
  ev('block_distribution', 63, 'sending_block_request', [['peer', peerId], ['header_hash', hash], ['direction', blockRequestDirection], ['max_blocks', u32]]),
  ev('block_distribution', 64, 'receiving_block_request', [['peer', peerId]]),
  ev('block_distribution', 65, 'block_request_failed', [['request_id', eventId], ['reason', reason]]),
  ev('block_distribution', 66, 'block_request_sent', [['request_id', eventId]]),
  ev('block_distribution', 67, 'block_request_received', [['request_id', eventId], ['header_hash', hash], ['direction', blockRequestDirection], ['max_blocks', u32]]),
  ev('block_distribution', 68, 'block_transferred', [['request_id', eventId], ['slot', slot], ['outline', blockOutline], ['last', bool]]),
];
