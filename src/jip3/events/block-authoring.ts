// Block authoring and importing events (JIP-3 40-47): authoring -> authored -> executed, and
// importing -> verified -> executed, each later event pointing at the first by Event ID.
import { accumulatedServices, blockOutline, eventId, hash, reason, slot } from '../types.js';
import { ev, type EventDef } from './registry-types.js';

export const BLOCK_AUTHORING_EVENTS: EventDef[] = [
  ev('block_authoring', 40, 'authoring', [['slot', slot], ['parent_hash', hash]]),
  ev('block_authoring', 41, 'authoring_failed', [['authoring_id', eventId], ['reason', reason]]),
  ev('block_authoring', 42, 'authored', [['authoring_id', eventId], ['outline', blockOutline]]),
  ev('block_authoring', 43, 'importing', [['slot', slot], ['outline', blockOutline]]),
  ev('block_authoring', 44, 'block_verification_failed', [['importing_id', eventId], ['reason', reason]]),
  ev('block_authoring', 45, 'block_verified', [['importing_id', eventId]]),
  ev('block_authoring', 46, 'block_execution_failed', [['authoring_or_importing_id', eventId], ['reason', reason]]),
  ev('block_authoring', 47, 'block_executed', [['authoring_or_importing_id', eventId], ['accumulated', accumulatedServices]]),
];
