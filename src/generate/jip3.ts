// `jam-etl generate --format jip3`: deterministic JIP-3 capture files (docs/jip3.md), as a
// collector would write them from a small network of nodes: node information first (both
// protocol versions, both JAM-parameter layouts), then per 6-second slot each node's events in
// linked chains (authoring or importing -> verified -> executed, the guarantor pipeline from
// submission to distribution, assurance distribution, shard requests, tickets once an epoch),
// status every 2 s, one burst of every remaining event kind so all 115 appear, an occasional
// "dropped" range, and one node that reconnects (its new connection starts with a dropped event
// whose count is the next Event ID, as JIP-3 allows). Same options in, same bytes out.
//
// What is only plausible: hashes, keys and VRF outputs are random bytes; costs and sizes are
// made up in realistic ranges; the chain itself (who authors, who guarantees) is round-robin.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeRecord, fileHeader, nextEventId, RecordKind } from '../jip3/capture.js';
import { encodeEvent, encodeNodeInfo, Writer } from '../jip3/encode.js';
import { EVENT_DEFS, eventDef, fieldsOf, type EventDef, type Field } from '../jip3/events/index.js';
import type { NodeInfo } from '../jip3/node-info.js';
import { JCE_UNIX_US } from '../jip3/rows.js';
import * as T from '../jip3/types.js';
import { makeDirs } from '../fsutil.js';

export interface Jip3GenerateOptions {
  out: string;
  minutes: number;
  nodes: number;
  cores: number;
  seed: string;
  start?: Date;
}

export interface Jip3GenerateResult {
  files: string[];
  connections: number;
  events: number;
  records: number;
  bytes: number;
  byKind: Record<string, number>;
  dropped: number;
}

class Rng {
  private s: Uint32Array;
  constructor(seed: string) {
    const h = createHash('sha256').update(`jip3:${seed}`).digest();
    this.s = new Uint32Array([h.readUInt32LE(0) | 1, h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)]);
  }
  u32(): number {
    // xoshiro128**
    const s = this.s;
    const r = Math.imul(rot(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rot(s[3]!, 11);
    return r;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor((this.u32() / 4294967296) * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<X>(a: readonly X[]): X {
    return a[this.int(0, a.length - 1)]!;
  }
  hex(n: number): string {
    let s = '0x';
    for (let i = 0; i < n; i++) s += (this.u32() & 0xff).toString(16).padStart(2, '0');
    return s;
  }
}
const rot = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

const IMPLEMENTATIONS: [string, string][] = [
  ['PolkaJam', '0.1.26'],
  ['JamDuna', '0.7.1-3'],
  ['Typeberry', '0.4.0'],
  ['JavaJAM', '0.3.2'],
  ['Jamzig', '0.2.1'],
  ['Boka', '0.0.9'],
];
const REASONS = ['timeout', 'stream reset by peer', 'invalid signature', 'connection closed', 'out of gas', 'bad request', ''];

interface Ev {
  t: number; // JCE µs
  recv: number; // unix µs
  kind: RecordKind;
  conn: number;
  id: number;
  payload: Buffer;
}

/** One simulated node: its connection(s) and the Event IDs it has used. */
class Node {
  conn: number;
  next = 0;
  /** Receive times only grow within a connection (TCP keeps the order Event IDs follow). */
  lastRecv = 0;
  /** No event before this JCE time (a reconnected node starts after its new node information). */
  minT = 0;
  readonly info: Omit<NodeInfo, 'params_hex' | 'core_count' | 'pvm_recompiler'>;
  /** Latest Event ID of each discriminator, for links in the burst of rare events. */
  readonly last = new Map<number, number>();
  constructor(
    readonly index: number,
    conn: number,
    readonly version: number,
    readonly peer: string,
    layout: 'gp0.7' | 'gp0.8',
    cores: number,
    validators: number,
  ) {
    this.conn = conn;
    const [name, ver] = IMPLEMENTATIONS[index % IMPLEMENTATIONS.length]!;
    const params: Record<string, number> = {
      item_deposit: 10, byte_deposit: 1, base_deposit: 100, core_count: cores, expunge_period: 32, epoch_length: 12,
      report_acc_gas: 10_000_000, package_auth_gas: 50_000_000, package_ref_gas: 5_000_000_000, block_acc_gas: 3_500_000_000,
      recent_history_len: 8, max_package_items: 16, max_report_deps: 8, max_block_tickets: 3, max_lookup_anchor_age: 14_400,
      ticket_entries: 3, auth_pool_size: 8, slot_seconds: 6, auth_queue_size: 80, rotation_period: 4, max_package_xts: 128,
      assurance_timeout_period: 5, val_count: validators, max_auth_code_size: 64_000, max_bundle_size: 13_794_305,
      max_service_code_size: 4_000_000, ec_piece_size: 684, max_package_imports: 3_072, segment_ec_pieces: 6,
      max_report_var_size: 49_152, memo_size: 128, max_package_exports: 3_072, epoch_tail_start: 10,
    };
    this.info = {
      version,
      params_layout: layout,
      params,
      genesis_hash: '0x' + 'ab'.repeat(32),
      peer_id: peer,
      peer_address: `[::ffff:10.0.0.${index + 10}]:${40000 + index}`,
      flags: index % 2,
      implementation_name: name,
      implementation_version: ver,
      gp_version: layout === 'gp0.8' ? '0.8.0' : '0.7.1',
      note: index === 0 ? 'toaster validator, generated sample' : '',
    };
  }
}

export async function generateJip3(opts: Jip3GenerateOptions): Promise<Jip3GenerateResult> {
  if (opts.nodes < 2) throw new RangeError('--nodes must be at least 2');
  const rng = new Rng(opts.seed);
  const start = new Date(Math.floor((opts.start ?? new Date('2025-11-01T12:00:00Z')).getTime() / 60_000) * 60_000);
  const startUs = start.getTime() * 1000;
  const cores = opts.cores;
  const connBase = Math.floor(start.getTime() / 1000) * 2 ** 20;
  let connSeq = 0;
  const peers = Array.from({ length: opts.nodes }, () => rng.hex(32));
  const nodes = peers.map((p, i) => new Node(i, connBase + connSeq++, i % 2 === 0 ? 1 : 0, p, i % 3 === 2 ? 'gp0.8' : 'gp0.7', cores, opts.nodes));
  const records: Ev[] = [];
  const byKind: Record<string, number> = {};
  let events = 0;
  let dropped = 0;
  const w = new Writer();
  const endUs = startUs + opts.minutes * 60_000_000;

  const nodeInfo = (n: Node, unixUs: number): void => {
    n.lastRecv = unixUs;
    records.push({ t: unixUs - JCE_UNIX_US, recv: unixUs, kind: RecordKind.NodeInfo, conn: n.conn, id: 0, payload: encodeNodeInfo(n.info) });
  };
  for (const n of nodes) nodeInfo(n, startUs + 1000 + n.index * 137);

  // Writes one event of node n at JCE time t; returns its Event ID.
  const push = (n: Node, t: number, def: EventDef, fields: Record<string, unknown>): number => {
    const payload = encodeEvent(def, n.version, t, fields, w);
    const id = n.next;
    const recv = Math.max(n.lastRecv + 1, JCE_UNIX_US + t + rng.int(200, 3000));
    n.lastRecv = recv;
    records.push({ t, recv, kind: RecordKind.Event, conn: n.conn, id, payload });
    n.next = nextEventId(id, payload);
    n.last.set(def.id, id);
    byKind[def.name] = (byKind[def.name] ?? 0) + 1;
    events++;
    return id;
  };
  const sample = (n: Node, def: EventDef, f: Field, slot: number, t: number): unknown => sampleField(rng, n, def, f, slot, t, cores, peers);
  const emit = (n: Node, t: number, disc: number, slot: number, over: Record<string, unknown> = {}): number => {
    const def = eventDef(disc)!;
    // Now and then the node's buffer overflowed: a "dropped" range in place of a few events.
    if (disc !== 0 && rng.chance(1 / 700)) {
      const k = rng.int(2, 40);
      push(n, t - 1, eventDef(0)!, { last_timestamp: t - 1, dropped: k });
      dropped += k;
    }
    const fields: Record<string, unknown> = {};
    for (const f of fieldsOf(def, n.version)) fields[f[0]] = f[0] in over ? over[f[0]] : sample(n, def, f, slot, t);
    return push(n, t, def, fields);
  };

  const firstSlot = Math.ceil((startUs - JCE_UNIX_US) / 6_000_000);
  const slots = opts.minutes * 10;
  const streams = new Map<Node, Map<string, number>>(); // open block-announcement streams: peer -> event 60's ID
  let reconnected = false;
  for (let k = 0; k < slots; k++) {
    const slot = firstSlot + k;
    const slotT = slot * 6_000_000;
    if (slotT + JCE_UNIX_US >= endUs) break;
    const author = nodes[k % nodes.length]!;
    const blockHash = rng.hex(32);
    // The last node reconnects at the start of the last minute.
    if (!reconnected && opts.minutes > 1 && k === (opts.minutes - 1) * 10) {
      reconnected = true;
      const n = nodes[nodes.length - 1]!;
      const at = JCE_UNIX_US + slotT + 500;
      records.push({ t: slotT + 500, recv: at, kind: RecordKind.Closed, conn: n.conn, id: n.next, payload: Buffer.from('eof') });
      n.conn = connBase + connSeq++;
      nodeInfo(n, at + 700_000);
      // Its events keep their numbering: the new connection starts with a dropped event whose count is the next ID.
      const k0 = n.next;
      n.next = 0;
      push(n, slotT + 700_000, eventDef(0)!, { last_timestamp: slotT + 700_000, dropped: k0 });
      n.minT = slotT + 800_000;
      streams.delete(n);
    }
    for (const n of nodes) {
      let t = Math.max(n.minT, slotT + 1000 + n.index * 50 + (k === 0 ? 10_000 : 0));
      const step = (): number => (t += rng.int(2_000, 40_000));
      if (!streams.has(n)) {
        // (Re)connected: connect to the other nodes and open block announcement streams.
        // A validator connects to every other one; beyond 16 peers only the next 16 by index are
        // simulated, so a 1023-node run stays ~1M events a minute instead of a million connections.
        const s = new Map<string, number>();
        const peersOf = nodes.length <= 17 ? nodes : Array.from({ length: 16 }, (_, i) => nodes[(n.index + 1 + i) % nodes.length]!);
        for (const p of peersOf) {
          if (p === n) continue;
          if (p.index < n.index) {
            const c = emit(n, step(), 24, slot, { peer: p.peer });
            emit(n, step(), 26, slot, { connecting_out_id: c });
          } else {
            const c = emit(n, step(), 21, slot);
            emit(n, step(), 23, slot, { connecting_in_id: c, peer: p.peer });
          }
          s.set(p.peer, emit(n, step(), 60, slot, { peer: p.peer }));
        }
        streams.set(n, s);
      }
      emit(n, step(), 10, slot);
      emit(n, step(), 11, slot, { slot: slot - 1 });
      if (k % 2 === 0) emit(n, step(), 12, slot, { slot: slot - 3 });
      // Block authoring or importing.
      const outline = { ...(sampleField(rng, n, eventDef(42)!, ['outline', T.blockOutline], slot, t, cores, peers) as object), header_hash: blockHash };
      if (n === author) {
        const a = emit(n, step(), 40, slot, { slot });
        if (rng.chance(0.02)) emit(n, step(), 41, slot, { authoring_id: a });
        else {
          emit(n, step(), 42, slot, { authoring_id: a, outline });
          if (rng.chance(0.02)) emit(n, step(), 46, slot, { authoring_or_importing_id: a });
          else emit(n, step(), 47, slot, { authoring_or_importing_id: a });
        }
      } else {
        emit(n, step(), 62, slot, { peer: author.peer, announcer: 'remote', slot, header_hash: blockHash });
        const i = emit(n, step(), 43, slot, { slot, outline });
        if (rng.chance(0.02)) emit(n, step(), 44, slot, { importing_id: i });
        else {
          emit(n, step(), 45, slot, { importing_id: i });
          emit(n, step(), 47, slot, { authoring_or_importing_id: i });
        }
      }
      emit(n, step(), 10, slot);
      // The guarantor pipeline: primary for (k + index) % 3 == 0, secondary for 1.
      const role = (k + n.index) % 3;
      const core = (k + n.index) % cores;
      const secondary = nodes[(n.index + 1) % nodes.length]!.peer;
      if (role === 0) {
        const sub = emit(n, step(), 90, slot);
        const wp = sampleField(rng, n, eventDef(94)!, ['outline', T.workPackageOutline], slot, t, cores, peers) as Record<string, unknown>;
        emit(n, step(), 94, slot, { submission_or_share_id: sub, core, outline: wp });
        emit(n, step(), 95, slot, { submission_or_share_id: sub });
        emit(n, step(), 96, slot, { submission_or_share_id: sub });
        emit(n, step(), 97, slot, { submission_or_share_id: sub });
        emit(n, step(), 98, slot, { submission_id: sub, secondary });
        emit(n, step(), 100, slot, { submission_id: sub, secondary });
        emit(n, step(), 101, slot, { submission_or_share_id: sub });
        emit(n, step(), 102, slot, { submission_or_share_id: sub });
        emit(n, step(), 104, slot, { submission_id: sub, secondary });
        const g = emit(n, step(), 105, slot, { submission_id: sub });
        const sg = emit(n, step(), 106, slot, { guarantee_built_id: g, recipient: author.peer });
        if (rng.chance(0.05)) emit(n, step(), 107, slot, { sending_id: sg });
        else emit(n, step(), 108, slot, { sending_id: sg });
        emit(n, step(), 109, slot, { submission_id: sub });
      } else if (role === 1) {
        const sh = emit(n, step(), 91, slot);
        emit(n, step(), 94, slot, { submission_or_share_id: sh, core });
        emit(n, step(), 95, slot, { submission_or_share_id: sh });
        emit(n, step(), 101, slot, { submission_or_share_id: sh });
        emit(n, step(), 102, slot, { submission_or_share_id: sh });
        emit(n, step(), 103, slot, { share_id: sh });
      } else {
        const r = emit(n, step(), 110, slot);
        emit(n, step(), 112, slot, { receiving_id: r });
      }
      // Availability: assure, and fetch this node's shard from a guarantor.
      const d = emit(n, step(), 126, slot);
      for (const p of nodes.slice(0, 2)) if (p !== n) emit(n, step(), 128, slot, { distributing_id: d, recipient: p.peer });
      emit(n, step(), 129, slot, { distributing_id: d });
      emit(n, step(), 131, slot, { sender: nodes[(n.index + 2) % nodes.length]!.peer });
      const sr = emit(n, step(), 120, slot);
      emit(n, step(), 123, slot, { request_id: sr });
      emit(n, step(), 125, slot, { request_id: sr });
      const rr = emit(n, step(), 121, slot);
      emit(n, step(), 124, slot, { request_id: rr });
      emit(n, step(), 125, slot, { request_id: rr });
      // Tickets once an epoch (E = 12 slots).
      if (slot % 12 === 0 || k === 0) {
        const g = emit(n, step(), 80, slot, { epoch: Math.floor(slot / 12) + 1 });
        emit(n, step(), 82, slot, { generating_id: g });
        emit(n, step(), 84, slot, { peer: nodes[(n.index + 1) % nodes.length]!.peer, sender: 'local', epoch: Math.floor(slot / 12) + 1 });
      }
      emit(n, step(), 10, slot);
      // Slot 1: every other event kind once, linked to the latest event it could refer to.
      if (k === 1) {
        for (const def of EVENT_DEFS) {
          if (n.last.has(def.id) || def.id === 0) continue;
          const over: Record<string, unknown> = {};
          for (const f of fieldsOf(def, n.version)) if (f[1] === T.eventId) over[f[0]] = Math.max(0, n.next - 1 - rng.int(0, 5));
          if (def.id === 61 && n.version >= 1) {
            const s = streams.get(n)!;
            const first = [...s][0];
            if (first) {
              over.opened_id = first[1];
              s.delete(first[0]);
            }
          } else if (def.id === 61) {
            const s = streams.get(n)!;
            const first = [...s][0];
            if (first) {
              over.peer = first[0];
              s.delete(first[0]);
            }
          }
          emit(n, step(), def.id, slot, over);
        }
      }
    }
  }

  // Files: one per minute of receive time; each starts with the node information of every
  // connection that was open before it and has records in it.
  records.sort((a, b) => a.recv - b.recv || a.conn - b.conn || a.id - b.id);
  makeDirs(opts.out, 'output folder');
  const files: string[] = [];
  let bytes = 0;
  const infos = new Map<number, Ev>();
  const nextId = new Map<number, number>();
  let i = 0;
  for (let m = 0; m < opts.minutes; m++) {
    const from = startUs + m * 60_000_000;
    const to = from + 60_000_000;
    const parts: Buffer[] = [fileHeader()];
    let j = i;
    while (j < records.length && records[j]!.recv < to) j++;
    const inFile = new Set(records.slice(i, j).map((r) => r.conn));
    for (const [conn, r] of infos) {
      if (inFile.has(conn)) parts.push(encodeRecord(RecordKind.NodeInfoRepeat, conn, r.recv, nextId.get(conn) ?? 0, r.payload));
    }
    for (; i < j; i++) {
      const r = records[i]!;
      parts.push(encodeRecord(r.kind, r.conn, r.recv, r.id, r.payload));
      if (r.kind === RecordKind.NodeInfo) infos.set(r.conn, r);
      else if (r.kind === RecordKind.Event) nextId.set(r.conn, nextEventId(r.id, r.payload));
      else if (r.kind === RecordKind.Closed) infos.delete(r.conn);
    }
    const d = new Date(from / 1000);
    const name = `${String(d.getUTCHours()).padStart(2, '0')}${String(d.getUTCMinutes()).padStart(2, '0')}.jip3`;
    const path = join(opts.out, name);
    const body = Buffer.concat(parts);
    await writeFile(path, body);
    files.push(path);
    bytes += body.length;
  }
  return { files, connections: connSeq, events, records: records.length, bytes, byKind, dropped };
}

function bitfield(rng: Rng, cores: number): string {
  const n = Math.ceil(cores / 8);
  const b = Buffer.alloc(n);
  for (let c = 0; c < cores; c++) if (rng.chance(0.8)) b[c >> 3]! |= 1 << (c & 7);
  return '0x' + b.toString('hex');
}

const exec = (rng: Rng, gas: number): { gas: number; ns: number } => ({ gas: rng.int(gas / 10, gas), ns: rng.int(10_000, 5_000_000) });

/** A plausible value for one field, in the decoder's JSON shape. */
function sampleField(rng: Rng, n: Node, def: EventDef, f: Field, slot: number, t: number, cores: number, peers: string[]): unknown {
  const [name, dec] = f;
  const other = (): string => {
    let p = rng.pick(peers);
    if (p === n.peer) p = peers[(peers.indexOf(p) + 1) % peers.length]!;
    return p;
  };
  switch (dec) {
    case T.u8: return rng.int(0, 255);
    case T.u16: return rng.int(1, 64);
    case T.u32:
      if (name === 'max_blocks') return rng.int(1, 8);
      if (name === 'length') return rng.int(32, 200_000);
      return rng.int(0, 1000);
    case T.u64: return rng.int(0, 2 ** 40);
    case T.bool: return rng.chance(0.3);
    case T.timestamp: return t;
    case T.eventId: return Math.max(0, n.next - 1);
    case T.reason: return rng.pick(REASONS);
    case T.hash: case T.vrfOutput: return rng.hex(32);
    case T.peerId: return other();
    case T.slot: return slot;
    case T.epochIndex: return Math.floor(slot / 12);
    case T.validatorIndex: return rng.int(0, peers.length - 1);
    case T.coreIndex: return rng.int(0, cores - 1);
    case T.serviceId: return rng.int(0, 40);
    case T.shardIndex: return rng.int(0, 1022);
    case T.gas: return rng.int(0, 1e9);
    case T.peerAddress: return `[::ffff:10.0.${rng.int(0, 255)}.${rng.int(1, 254)}]:${rng.int(30000, 40000)}`;
    case T.connectionSide: return rng.pick(['local', 'remote']);
    case T.blockRequestDirection: return rng.pick(['ascending_exclusive', 'descending_inclusive']);
    case T.ticketAttempt: return rng.int(0, 1);
    case T.guaranteeDiscardReason: return rng.pick(['reported_on_chain', 'replaced_by_better', 'cannot_be_reported', 'too_many_guarantees', 'other']);
    case T.announcedPreimageForgetReason: return rng.pick(['provided_on_chain', 'not_requested_on_chain', 'failed_to_acquire', 'too_many_announced', 'bad_length', 'other']);
    case T.preimageDiscardReason: return rng.pick(['provided_on_chain', 'not_requested_on_chain', 'too_many_preimages', 'other']);
    case T.blockOutline:
      return { size_bytes: rng.int(2_000, 200_000), header_hash: rng.hex(32), tickets: rng.int(0, 3), preimages: rng.int(0, 2), preimages_bytes: rng.int(0, 5_000), guarantees: rng.int(0, cores), assurances: rng.int(0, peers.length), dispute_verdicts: 0 };
    case T.isAuthorizedCost: return { total: exec(rng, 5e7), load_ns: rng.int(50_000, 900_000), host_calls: exec(rng, 1e6) };
    case T.accumulatedServices:
      return Array.from({ length: rng.int(0, 3) }, () => ({
        service: rng.int(0, 40),
        cost: { calls: rng.int(1, 3), transfers: rng.int(0, 2), items: rng.int(1, 4), total: exec(rng, 1e7), load_ns: rng.int(50_000, 900_000), read_write: exec(rng, 1e6), lookup: exec(rng, 1e5), query_solicit_forget_provide: exec(rng, 1e5), info_new_upgrade_eject: exec(rng, 1e5), transfer: exec(rng, 1e5), transfer_dest_gas: rng.int(0, 1e5), other: exec(rng, 1e5) },
      }));
    case T.refineCosts:
      return Array.from({ length: rng.int(1, 3) }, () => ({ total: exec(rng, 5e9), load_ns: rng.int(50_000, 900_000), historical_lookup: exec(rng, 1e6), machine_expunge: exec(rng, 1e6), peek_poke_pages: exec(rng, 1e6), invoke: exec(rng, 1e8), other: exec(rng, 1e6) }));
    case T.workPackageOutline:
      return {
        size_bytes: rng.int(1_000, 100_000), work_package_hash: rng.hex(32), anchor: rng.hex(32), lookup_anchor_slot: slot - rng.int(1, 10),
        prerequisites: rng.chance(0.2) ? [rng.hex(32)] : [],
        work_items: Array.from({ length: rng.int(1, 2) }, () => ({
          service: rng.int(0, 40), payload_bytes: rng.int(10, 5_000), refine_gas_limit: 5e9, accumulate_gas_limit: 1e7, extrinsic_bytes: rng.int(0, 10_000),
          imports: rng.chance(0.3) ? [rng.chance(0.5) ? { work_package_hash: rng.hex(32), export_index: rng.int(0, 20) } : { segments_root: rng.hex(32), export_index: rng.int(0, 20) }] : [],
          exports: rng.int(0, 8),
        })),
      };
    case T.workReportOutline: return { work_report_hash: rng.hex(32), bundle_bytes: rng.int(1_000, 2_000_000), erasure_root: rng.hex(32), segments_root: rng.hex(32) };
    case T.guaranteeOutline: return { work_report_hash: rng.hex(32), slot, guarantors: [rng.int(0, peers.length - 1), rng.int(0, peers.length - 1)].sort((a, b) => a - b) };
    case T.guaranteesByCore: return Array.from({ length: cores }, () => rng.int(0, 2));
    case T.availabilityBitfield: return bitfield(rng, cores);
    default:
      break;
  }
  // Decoders local to a family module.
  if (name === 'terminator') return rng.chance(0.3) ? null : rng.pick(['local', 'remote']);
  if (name === 'vrf_outputs') return [rng.hex(32), rng.hex(32)];
  if (name === 'shards') return Array.from({ length: rng.int(1, 3) }, () => ({ segment: rng.chance(0.2) ? { proof_page: rng.int(0, 3) } : { import: rng.int(0, 20) }, shard: rng.int(0, 1022) }));
  if (name === 'segments' && def.id === 168) return Array.from({ length: rng.int(1, 3) }, () => ({ import: rng.int(0, 20) }));
  if (name === 'segments') return Array.from({ length: rng.int(1, 3) }, () => rng.int(0, 20));
  throw new Error(`generator: no sample for field ${name} of event ${def.id}`);
}
