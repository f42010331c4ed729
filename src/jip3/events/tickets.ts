// Safrole ticket events (JIP-3 80-84): generating tickets and sending them (CE 131/132).
import type { Reader } from '../codec.js';
import { bool, connectionSide, epochIndex, eventId, peerId, reason, ticketAttempt, vrfOutput } from '../types.js';
import { ev, type EventDef } from './registry-types.js';

const vrfOutputs = (r: Reader): string[] => r.seq(vrfOutput, 'ticket VRF outputs', 32);

export const TICKET_EVENTS: EventDef[] = [
  ev('tickets', 80, 'generating_tickets', [['epoch', epochIndex]]),
  ev('tickets', 81, 'ticket_generation_failed', [['generating_id', eventId], ['reason', reason]]),
  ev('tickets', 82, 'tickets_generated', [['generating_id', eventId], ['vrf_outputs', vrfOutputs]]),
  ev('tickets', 83, 'ticket_transfer_failed', [['peer', peerId], ['sender', connectionSide], ['ce132', bool], ['reason', reason]]),
  ev('tickets', 84, 'ticket_transferred', [['peer', peerId], ['sender', connectionSide], ['ce132', bool], ['epoch', epochIndex], ['attempt', ticketAttempt], ['vrf_output', vrfOutput]]),
];
