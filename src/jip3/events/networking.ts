// Networking events (JIP-3 20-28): JAMNP-S connections being made, failing and breaking.
import { connectionSide, eventId, peerAddress, peerId, reason } from '../types.js';
import type { Reader } from '../codec.js';
import { ev, type EventDef } from './registry-types.js';

const terminator = (r: Reader): string | null => r.option(connectionSide, 'Option<Connection Side>');

export const NETWORKING_EVENTS: EventDef[] = [
  ev('networking', 20, 'connection_refused', [['peer_address', peerAddress]]),
  ev('networking', 21, 'connecting_in', [['peer_address', peerAddress]]),
  ev('networking', 22, 'connect_in_failed', [['connecting_in_id', eventId], ['reason', reason]]),
  ev('networking', 23, 'connected_in', [['connecting_in_id', eventId], ['peer', peerId]]),
  ev('networking', 24, 'connecting_out', [['peer', peerId], ['peer_address', peerAddress]]),
  ev('networking', 25, 'connect_out_failed', [['connecting_out_id', eventId], ['reason', reason]]),
  ev('networking', 26, 'connected_out', [['connecting_out_id', eventId]]),
  ev('networking', 27, 'disconnected', [['peer', peerId], ['terminator', terminator], ['reason', reason]]),
  ev('networking', 28, 'peer_misbehaved', [['peer', peerId], ['reason', reason]]),
];
