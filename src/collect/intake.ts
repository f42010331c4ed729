// Where every listener hands a whole message: the re-send check, the labels (read cheaply from
// the envelope), the metrics, the node registry, then the minute-file writer. A listener that
// writes something other than envelope lines (JIP-3 frames) uses the parts it needs directly.
// Hot path (300,000 messages/s): a message is a byte range of the read it arrived in, label
// strings are reused while a connection's sender repeats them, and the stats and node entry of
// the connection's previous message are reused when the labels are the same strings.
import type { Connection, ConnectionManager } from './connections.js';
import { LabelCache, newLabels, readLabels } from './labels.js';
import type { CollectorMetrics, TypeStats } from './metrics.js';
import type { NodeEntry, NodeRegistry } from './nodes.js';
import type { MinuteWriter } from './writer.js';

class ConnCache {
  readonly labels = new LabelCache();
  team: string | null = null;
  msgType: string | null = null;
  stats: TypeStats | null = null;
  sender: string | null = null;
  node: NodeEntry | null = null;
}

export class Intake {
  private readonly labels = newLabels();
  constructor(
    readonly writer: MinuteWriter,
    readonly metrics: CollectorMetrics,
    readonly nodes: NodeRegistry,
    readonly manager: ConnectionManager,
  ) {}

  /**
   * One whole message, the text buf[start, end), received on c at `now` (ms). The writer copies
   * small messages; a large one (over COPY_BELOW) and the connection's last message (c.lastBuf,
   * for the re-send check) keep a reference to buf, so a listener that reuses buf's memory must
   * copy those first (the syslog listener does: SyslogFramer's `volatile`, and c.lastBuf copied
   * at the end of each read).
   */
  message(c: Connection, buf: Buffer, now: number, start = 0, end = buf.length): void {
    if (end <= start) {
      this.manager.refuseMessage(c, 'empty');
      return;
    }
    if (c.messages === 0 && this.manager.isResend(c, buf, start, end, now)) {
      this.manager.refuseMessage(c, 'duplicate_resend', 'byte-identical to the last message of a recent connection from the same peer');
      return;
    }
    let cc = c.cache as ConnCache | null;
    if (cc === null) c.cache = cc = new ConnCache();
    const L = this.labels;
    readLabels(buf, L, start, end, cc.labels);
    const team = L.team ?? L.metaTeam;
    let st = cc.stats;
    if (st === null || team !== cc.team || L.msgType !== cc.msgType) {
      st = cc.stats = this.metrics.stats(team, L.msgType);
      cc.team = team;
      cc.msgType = L.msgType;
    }
    const len = end - start;
    st.add(len, L.elapsed);
    let node = cc.node;
    if (node === null || node.removed || L.senderId !== cc.sender) {
      node = cc.node = this.nodes.entry(c, L.senderId, now);
      cc.sender = L.senderId;
    }
    this.nodes.record(node, c, team, len, now, L.slot);
    this.writer.writeLine(buf, now, start, end);
    c.messages++;
    c.lastBuf = buf;
    c.lastStart = start;
    c.lastEnd = end;
    c.lastMsgAt = now;
  }
}
