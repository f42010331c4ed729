// Guaranteeing events (JIP-3 90-113): a guarantor's work-package pipeline from submission or
// sharing through authorization, refinement, the work-report and the guarantee, and the pool.
import { bool, coreIndex, eventId, guaranteeDiscardReason, guaranteeOutline, hash, isAuthorizedCost, peerId, reason, refineCosts, workPackageOutline, workReportOutline } from '../types.js';
import { ev, type EventDef } from './registry-types.js';

const G = 'guaranteeing' as const;
const SUB = 'submission_or_share_id';

export const GUARANTEEING_EVENTS: EventDef[] = [
  ev(G, 90, 'work_package_submission', [['builder', peerId], ['ce146', bool]]),
  ev(G, 91, 'work_package_being_shared', [['primary', peerId]]),
  ev(G, 92, 'work_package_failed', [[SUB, eventId], ['reason', reason]]),
  ev(G, 93, 'duplicate_work_package', [[SUB, eventId], ['core', coreIndex], ['work_package_hash', hash]]),
  ev(G, 94, 'work_package_received', [[SUB, eventId], ['core', coreIndex], ['outline', workPackageOutline]]),
  ev(G, 95, 'authorized', [[SUB, eventId], ['cost', isAuthorizedCost]]),
  ev(G, 96, 'extrinsic_data_received', [[SUB, eventId]]),
  ev(G, 97, 'imports_received', [[SUB, eventId]]),
  ev(G, 98, 'sharing_work_package', [['submission_id', eventId], ['secondary', peerId]]),
  ev(G, 99, 'work_package_sharing_failed', [['submission_id', eventId], ['secondary', peerId], ['reason', reason]]),
  ev(G, 100, 'bundle_sent', [['submission_id', eventId], ['secondary', peerId]]),
  ev(G, 101, 'refined', [[SUB, eventId], ['costs', refineCosts]]),
  ev(G, 102, 'work_report_built', [[SUB, eventId], ['outline', workReportOutline]]),
  ev(G, 103, 'work_report_signature_sent', [['share_id', eventId]]),
  ev(G, 104, 'work_report_signature_received', [['submission_id', eventId], ['secondary', peerId]]),
  ev(G, 105, 'guarantee_built', [['submission_id', eventId], ['outline', guaranteeOutline]]),
  ev(G, 106, 'sending_guarantee', [['guarantee_built_id', eventId], ['recipient', peerId]]),
  ev(G, 107, 'guarantee_send_failed', [['sending_id', eventId], ['reason', reason]]),
  ev(G, 108, 'guarantee_sent', [['sending_id', eventId]]),
  ev(G, 109, 'guarantees_distributed', [['submission_id', eventId]]),
  ev(G, 110, 'receiving_guarantee', [['sender', peerId]]),
  ev(G, 111, 'guarantee_receive_failed', [['receiving_id', eventId], ['reason', reason]]),
  ev(G, 112, 'guarantee_received', [['receiving_id', eventId], ['outline', guaranteeOutline]]),
  ev(G, 113, 'guarantee_discarded', [['outline', guaranteeOutline], ['discard_reason', guaranteeDiscardReason]]),
];
