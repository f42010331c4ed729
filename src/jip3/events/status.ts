// Meta and status events (JIP-3 "Meta events" 0 and "Status events" 10-13): the dropped range,
// the periodic node summary, best/finalized block and sync status.
import { bool, guaranteesByCore, hash, slot, timestamp, u32, u64 } from '../types.js';
import { ev, type EventDef } from './registry-types.js';


export const META_EVENTS: EventDef[] = [
  ev('meta', 0, 'dropped', [
    ['last_timestamp', timestamp],
    ['dropped', u64],
  ]),
];

export const STATUS_EVENTS: EventDef[] = [
  ev('status', 10, 'status', [
    ['peers', u32],
    ['validator_peers', u32],
    ['block_announcement_peers', u32],
    ['guarantees_by_core', guaranteesByCore],
    ['shards', u32],
    ['shards_bytes', u64],
    ['preimages', u32],
    ['preimages_bytes', u32],
  ]),
  ev('status', 11, 'best_block_changed', [
    ['slot', slot],
    ['header_hash', hash],
  ]),
  ev('status', 12, 'finalized_block_changed', [
    ['slot', slot],
    ['header_hash', hash],
  ]),
  ev('status', 13, 'sync_status_changed', [['synced', bool]]),
];
