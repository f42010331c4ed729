// Where every listener hands a whole message: the re-send check, the labels (read cheaply from
// the envelope), the metrics, the node registry, then the minute-file writer. A listener that
// writes something other than envelope lines (JIP-3 frames) uses the parts it needs directly.
import type { Connection, ConnectionManager } from './connections.js';
import { newLabels, readLabels } from './labels.js';
import type { CollectorMetrics } from './metrics.js';
import type { NodeRegistry } from './nodes.js';
import type { MinuteWriter } from './writer.js';

export class Intake {
  private readonly labels = newLabels();
  constructor(
    readonly writer: MinuteWriter,
    readonly metrics: CollectorMetrics,
    readonly nodes: NodeRegistry,
    readonly manager: ConnectionManager,
  ) {}

  /** One whole message (its text) received on c at `now` (ms). */
  message(c: Connection, msg: Buffer, now: number): void {
    if (msg.length === 0) {
      this.manager.refuseMessage(c, 'empty');
      return;
    }
    if (c.messages === 0 && this.manager.isResend(c, msg, now)) {
      this.manager.refuseMessage(c, 'duplicate_resend', 'byte-identical to the last message of a recent connection from the same peer');
      return;
    }
    const L = this.labels;
    readLabels(msg, L);
    const team = L.team ?? L.metaTeam;
    this.metrics.stats(team, L.msgType).add(msg.length, L.elapsed);
    this.nodes.seen(c, L.senderId, team, msg.length, now, L.slot);
    this.writer.writeLine(msg, now);
    c.messages++;
    c.lastMsg = msg;
    c.lastMsgAt = now;
  }
}
