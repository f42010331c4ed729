// The node registry behind /api/nodes: one entry per sending node, keyed by the envelope's
// `sender_id`, else by the connection (`<transport>:<ip>:<port>`), in the shape of the node data
// API of the Starknet telemetry design (nodeId, nodeName, nodeIp, nodeClientType,
// nodeClientVersion, blockHeight, ...) plus what a collector knows: last seen, messages per minute
// and whether a connection is delivering for it now. Any listener (syslog, WebSocket, JIP-3)
// records into it with `seen()`; entries of nodes gone for `forgetAfterMs` are dropped.

export interface NodeInfo {
  nodeId: string;
  nodeName: string | null;
  nodeIp: string;
  nodeClientType: string | null;
  nodeClientVersion: string | null;
  /** Latest block slot seen from the node (a block message's header.slot), null before one. */
  blockHeight: number | null;
  transport: string;
  framing: string | null;
  connected: boolean;
  firstSeen: string;
  lastSeen: string;
  messages: number;
  bytes: number;
  /** Messages in the last 60 seconds. */
  messagesPerMinute: number;
  /** Listener-specific facts (attachExtra), e.g. `jip3`. */
  [extra: string]: unknown;
}

/** What a connection knows about itself (listeners implement it). */
export interface ConnectionRef {
  readonly id: number;
  readonly ip: string;
  readonly port: number;
  readonly transport: string;
  readonly open: boolean;
  framing: string | null;
  hostname: string | null;
}

export class NodeEntry {
  /** Set when forgotten (a cached reference must then look the node up again). */
  removed = false;
  messages = 0;
  bytes = 0;
  lastSeen = 0;
  blockHeight = -1;
  extra: Record<string, Record<string, unknown>> | null = null;
  team: string | null = null;
  version: string | null = null;
  conn: ConnectionRef;
  // Messages per second over the last 60 s, a ring of one-second buckets.
  readonly ring = new Uint32Array(60);
  ringSecond = 0;
  constructor(readonly key: string, conn: ConnectionRef, readonly firstSeen: number) {
    this.conn = conn;
  }

  tick(nowSec: number): void {
    const gap = nowSec - this.ringSecond;
    if (gap <= 0) return;
    if (gap >= 60) this.ring.fill(0);
    else for (let s = this.ringSecond + 1; s <= nowSec; s++) this.ring[s % 60] = 0;
    this.ringSecond = nowSec;
  }
}

export class NodeRegistry {
  private readonly nodes = new Map<string, NodeEntry>();
  constructor(private readonly forgetAfterMs = 24 * 3600_000, private readonly maxNodes = 10_000) {}

  /** The entry of a node (senderId null: the connection is the node), made if new. */
  entry(conn: ConnectionRef, senderId: string | null, now: number): NodeEntry {
    const key = senderId ?? `${conn.transport}:${conn.ip}:${conn.port}`;
    let e = this.nodes.get(key);
    if (e === undefined) {
      if (this.nodes.size >= this.maxNodes) this.prune(now, true);
      e = new NodeEntry(key, conn, now);
      this.nodes.set(key, e);
    }
    return e;
  }

  /** One message from a node. senderId null: the connection is the node. */
  seen(conn: ConnectionRef, senderId: string | null, team: string | null, bytes: number, now: number, blockSlot = -1, version: string | null = null): NodeEntry {
    const e = this.entry(conn, senderId, now);
    this.record(e, conn, team, bytes, now, blockSlot, version);
    return e;
  }

  /** One message from the node of entry e (from entry() or seen(), while not e.removed). */
  record(e: NodeEntry, conn: ConnectionRef, team: string | null, bytes: number, now: number, blockSlot = -1, version: string | null = null): void {
    e.conn = conn;
    e.messages++;
    e.bytes += bytes;
    e.lastSeen = now;
    if (team !== null) e.team = team;
    if (version !== null) e.version = version;
    if (blockSlot > e.blockHeight) e.blockHeight = blockSlot;
    const sec = Math.floor(now / 1000);
    if (sec !== e.ringSecond) e.tick(sec);
    e.ring[sec % 60]!++;
  }

  private prune(now: number, force: boolean): void {
    for (const [k, e] of this.nodes) {
      if (now - e.lastSeen > this.forgetAfterMs && !e.conn.open) {
        this.nodes.delete(k);
        e.removed = true;
      }
    }
    if (force && this.nodes.size >= this.maxNodes) {
      // Still full: forget the longest-silent disconnected node.
      let oldest: NodeEntry | null = null;
      for (const e of this.nodes.values()) if (!e.conn.open && (oldest === null || e.lastSeen < oldest.lastSeen)) oldest = e;
      if (oldest) {
        this.nodes.delete(oldest.key);
        oldest.removed = true;
      }
    }
  }

  list(now = Date.now()): NodeInfo[] {
    this.prune(now, false);
    const sec = Math.floor(now / 1000);
    const out: NodeInfo[] = [];
    for (const e of this.nodes.values()) {
      e.tick(sec);
      let perMin = 0;
      for (const v of e.ring) perMin += v;
      out.push({
        nodeId: e.key,
        nodeName: e.conn.hostname,
        nodeIp: e.conn.ip,
        nodeClientType: e.team,
        nodeClientVersion: e.version,
        blockHeight: e.blockHeight >= 0 ? e.blockHeight : null,
        transport: e.conn.transport,
        framing: e.conn.framing,
        connected: e.conn.open,
        firstSeen: new Date(e.firstSeen).toISOString(),
        lastSeen: new Date(e.lastSeen).toISOString(),
        messages: e.messages,
        bytes: e.bytes,
        messagesPerMinute: perMin,
        ...(e.extra ?? {}),
      });
    }
    out.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
    return out;
  }

  get size(): number {
    return this.nodes.size;
  }

  /**
   * Listener-specific facts about a node, shown in its /api/nodes entry (e.g. `jip3`: protocol
   * and GP version, address, best and finalized slot); each key's object is merged.
   */
  /**
   * Puts `facts` under `extra[k]` of entry e by reference: the listener then updates them in place
   * (one property write per event instead of a patch object merged per event).
   */
  attachExtra(e: NodeEntry, k: string, facts: Record<string, unknown>): void {
    e.extra ??= {};
    e.extra[k] = facts;
  }
}
