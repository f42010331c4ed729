// One chunk of capture records (src/input/jip3-reader.ts) -> JSONL per jip3_ table and reject
// records, the same shape as the JSON telemetry's ChunkSerializer, so the pipeline runs either
// inline or on workers. Each record becomes its rows or exactly one reject; a frame that does
// not decode is a reject with its connection, Event ID, offset, reason and bytes, and the next
// frame decodes as usual (the capture record frames it).
import type { Jip3Chunk } from '../input/jip3-reader.js';
import { newCounters, type Counters } from '../telemetry/convert.js';
import type { RejectCode, RejectRecord } from '../pipeline/rejects.js';
import { ownBytes, type SerializedChunk } from '../pipeline/serialize.js';
import { describeValidationError, JIP3_TABLE_NAMES, rowValidators, type Row, type TableName } from '../tables/schema.js';
import { checkFileHeader, nextEventId, readRecordHeader, RECORD_HEADER_BYTES, RecordKind, u32At } from './capture.js';
import { DecodeError, toHex, type DecodeContext } from './codec.js';
import { decodeEvent, linkFieldOf, UnknownEventError, type EventDef } from './events/index.js';
import { decodeNodeInfo, type NodeInfo } from './node-info.js';
import { ByteOut, RowBatcher } from './out.js';
import { connectionRow, eventRows, type EventRows } from './rows.js';

interface ConnState {
  ctx: DecodeContext;
  node: string;
  info: NodeInfo;
}

/** Why a connection cannot decode: its node information failed. */
type BadConn = { bad: string };

const EMPTY = Buffer.alloc(0);
const RAW_HEX_MAX = 64 << 10;
const NODE_INFO_CACHE = 8192;

const linkCache = new Map<EventDef, (string | undefined)[]>();
function linkOf(def: EventDef, version: number): string | undefined {
  let c = linkCache.get(def);
  if (!c) linkCache.set(def, (c = [linkFieldOf(def, 0), linkFieldOf(def, 1)]));
  return c[version >= 1 ? 1 : 0];
}

export class Jip3ChunkConverter {
  private readonly validators = rowValidators();
  private readonly out: EventRows = { eventsLine: '', tables: [], rows: [] };
  // Reused from chunk to chunk (each run takes their bytes out).
  private readonly eventsOut = new ByteOut(4 << 20);
  private readonly batchers = new Map<TableName, RowBatcher>(JIP3_TABLE_NAMES.map((t) => [t, new RowBatcher()]));

  // Node information by its bytes: every chunk's prelude repeats that of its connections (a
  // 1 MiB chunk of a 300-node capture decoded ~300 of them, each tried with both parameter
  // layouts, one failing with an exception). Decoding is a function of the bytes alone, and the
  // result is only read. Bounded: cleared when it holds NODE_INFO_CACHE entries.
  private readonly infoCache = new Map<string, NodeInfo | DecodeError>();
  private nodeInfo(payload: Uint8Array): NodeInfo {
    const key = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
    let v = this.infoCache.get(key);
    if (v === undefined) {
      try {
        v = decodeNodeInfo(payload);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e;
        v = e;
      }
      if (this.infoCache.size >= NODE_INFO_CACHE) this.infoCache.clear();
      this.infoCache.set(key, v);
    }
    if (v instanceof DecodeError) throw v;
    return v;
  }

  /** `rowRefs`: also give, per row, its record number, index among the record's rows and the record's end (SinkBatch.rowRefs). */
  constructor(private readonly opts: { rowRefs?: boolean } = {}) {}

  run(chunk: Jip3Chunk): SerializedChunk {
    const byTable = this.batchers;
    const eventsOut = this.eventsOut;
    eventsOut.len = 0;
    let eventsN = 0;
    const refs = this.opts.rowRefs ? new Map<TableName, number[]>(JIP3_TABLE_NAMES.map((t) => [t, []])) : undefined;
    const rejects: string[] = [];
    const counters = newCounters();
    const conns = new Map<number, ConnState | BadConn>();
    const learn = (conn: number, payload: Uint8Array): NodeInfo | DecodeError => {
      try {
        const info = this.nodeInfo(payload);
        conns.set(conn, { ctx: { version: info.version, cores: info.core_count }, node: info.peer_id, info });
        return info;
      } catch (e) {
        const err = e instanceof DecodeError ? e : new DecodeError(0, String((e as Error)?.message ?? e));
        conns.set(conn, { bad: `its node information did not decode (${err.message})` });
        return err;
      }
    };
    // The prelude: node information of connections opened before the chunk; no rows.
    if (chunk.prelude) {
      const p = chunk.prelude;
      for (let o = 0; o + RECORD_HEADER_BYTES <= p.length; ) {
        const h = readRecordHeader(p, o);
        learn(h.connection, p.subarray(o + RECORD_HEADER_BYTES, o + RECORD_HEADER_BYTES + h.length));
        o += RECORD_HEADER_BYTES + h.length;
      }
    }
    const reject = (code: RejectCode, reason: string, line: number, recordOffset: number, extra: Partial<RejectRecord>, raw: Uint8Array): void => {
      counters.rejects++;
      counters.rejectsByCode[code] = (counters.rejectsByCode[code] ?? 0) + 1;
      const rec: RejectRecord = { file: chunk.file, line, code, reason, record_offset: recordOffset, ...extra, raw_hex: toHex(raw, 0, Math.min(raw.length, RAW_HEX_MAX)) };
      if (raw.length > RAW_HEX_MAX) rec.truncated_bytes = raw.length;
      rejects.push(JSON.stringify(rec));
    };
    if (chunk.tail && chunk.overlong) {
      counters.lines++;
      counters.bytes += chunk.overlong.bytes;
      const why =
        chunk.tail === 'truncated'
          ? `the file ends inside a record (${chunk.overlong.bytes} byte(s) after the last whole record)`
          : chunk.tail === 'bad_header'
            ? `${checkFileHeader(chunk.overlong.head)}: the whole file (${chunk.overlong.bytes} byte(s)) cannot be framed`
            : 'a record length is larger than any frame: the rest of the file cannot be framed';
      reject(chunk.tail === 'truncated' ? 'jip3_truncated_record' : 'jip3_bad_record', why, chunk.startLine, chunk.startOffset, {}, chunk.overlong.head);
    }
    /**
     * One event message: its rows, or one reject. `at` is where it is in the file (its record, or
     * in an events record its frame); `sub` 0 for a kind-3 record, else 1 + its index in the
     * events record, so that the row references (record, index, end) stay unique per table;
     * `end` the end of its record.
     */
    const event = (payload: Uint8Array, conn: number, eventId: number, recvUs: number, line: number, at: number, sub: number, end: number): void => {
      const where = { connection: conn, event_id: eventId };
      const st = conns.get(conn);
      if (!st || 'bad' in st) {
        reject('jip3_no_node_info', st ? `connection ${conn}: ${st.bad}` : `connection ${conn} has no node information in this file`, line, at, where, payload);
        return;
      }
      let e;
      try {
        e = decodeEvent(payload, st.ctx);
      } catch (err) {
        if (err instanceof UnknownEventError) reject('jip3_unknown_event', err.reason, line, at, { ...where, offset: err.offset }, payload);
        else if (err instanceof DecodeError) reject('jip3_decode', `${err.code}: ${err.reason}`, line, at, { ...where, offset: err.offset }, payload);
        else reject('jip3_decode', `internal error: ${(err as Error)?.message ?? String(err)}`, line, at, where, payload);
        return;
      }
      const lf = linkOf(e.def, st.ctx.version);
      const why = eventRows(e, conn, eventId, recvUs, st.node, lf === undefined ? undefined : (e.fields[lf] as number | string), out);
      if (why) {
        reject('jip3_decode', why, line, at, where, payload);
        return;
      }
      // The typed row (if any) is checked against its schema; the events line is built to it.
      let bad: string | undefined;
      for (let i = 0; i < out.rows.length && !bad; i++) {
        const v = validators.get(out.tables[i]!)!;
        if (!v(out.rows[i])) bad = describeValidationError(out.tables[i]!, v);
      }
      if (bad) {
        reject('jip3_decode', `schema: ${bad}`, line, at, where, payload);
        return;
      }
      counters.rowLines++;
      counters.rows.jip3_events++;
      eventsOut.str(out.eventsLine);
      eventsN++;
      refs?.get('jip3_events')!.push(line, sub, end);
      for (let i = 0; i < out.rows.length; i++) {
        const t = out.tables[i]!;
        counters.rows[t]++;
        byTable.get(t)!.push(out.rows[i]!);
        refs?.get(t)!.push(line, sub === 0 ? i + 1 : sub, end);
      }
    };
    const data = chunk.data;
    counters.bytes += data.length;
    const validators = this.validators;
    const out = this.out;
    let line = chunk.startLine;
    for (let o = 0; o + RECORD_HEADER_BYTES <= data.length; line++) {
      const h = readRecordHeader(data, o);
      const recordOffset = chunk.startOffset + o;
      const payload = data.subarray(o + RECORD_HEADER_BYTES, o + RECORD_HEADER_BYTES + h.length);
      o += RECORD_HEADER_BYTES + h.length;
      counters.lines++;
      const where = { connection: h.connection, event_id: h.eventId };
      let tables: readonly TableName[];
      let rows: readonly Row[];
      if (h.kind === RecordKind.Event) {
        event(payload, h.connection, h.eventId, h.recvTimeUs, line, recordOffset, 0, chunk.startOffset + o);
        continue;
      }
      if (h.kind === RecordKind.Events) {
        // Frames with their u32 prefixes; each is a "line" of its own (rows or one reject), the
        // first counted above with the record.
        const at0 = recordOffset + RECORD_HEADER_BYTES;
        let id = h.eventId;
        let k = 0;
        for (let f = 0; f < payload.length; k++) {
          if (k > 0) counters.lines++;
          const len = payload.length - f >= 4 ? u32At(payload, f) : -1;
          if (len < 0 || f + 4 + len > payload.length) {
            reject('jip3_bad_record', `events record: a frame at byte ${f} of ${payload.length} ${len < 0 ? 'has no whole length prefix' : `is ${len} bytes long, past the record's end`}; the rest of the record cannot be framed`, line, at0 + f, { connection: h.connection, event_id: id }, payload.subarray(f));
            break;
          }
          const frame = payload.subarray(f + 4, f + 4 + len);
          event(frame, h.connection, id, h.recvTimeUs, line, at0 + f, k + 1, chunk.startOffset + o);
          id = nextEventId(id, frame);
          f += 4 + len;
        }
        if (payload.length === 0) reject('jip3_bad_record', 'events record with no frame', line, recordOffset, where, payload);
        continue;
      }
      if (h.kind === RecordKind.NodeInfo) {
        const info = learn(h.connection, payload);
        if (info instanceof DecodeError) {
          reject('jip3_bad_node_info', `${info.code}: ${info.reason}`, line, recordOffset, { connection: h.connection, offset: info.offset }, payload);
          continue;
        }
        const row = connectionRow(h.connection, h.recvTimeUs, info);
        if (typeof row === 'string') {
          reject('jip3_bad_node_info', row, line, recordOffset, { connection: h.connection }, payload);
          continue;
        }
        tables = ['jip3_connections'];
        rows = [row];
      } else if (h.kind === RecordKind.NodeInfoRepeat) {
        // Decoding state only (its rows came from the kind-1 record in an earlier file).
        learn(h.connection, payload);
        counters.blank++;
        continue;
      } else if (h.kind === RecordKind.Closed) {
        counters.blank++;
        continue;
      } else {
        reject('jip3_bad_record', `unknown capture record kind ${h.kind}`, line, recordOffset, where, payload);
        continue;
      }
      let bad: string | undefined;
      for (let i = 0; i < rows.length && !bad; i++) {
        const v = validators.get(tables[i]!)!;
        if (!v(rows[i])) bad = describeValidationError(tables[i]!, v);
      }
      if (bad) {
        reject('jip3_decode', `schema: ${bad}`, line, recordOffset, where, payload);
        continue;
      }
      counters.rowLines++;
      for (let i = 0; i < rows.length; i++) {
        const t = tables[i]!;
        counters.rows[t]++;
        // Row objects are fresh per event (the arrays are reused).
        byTable.get(t)!.push(rows[i]!);
        refs?.get(t)!.push(line, i, chunk.startOffset + o);
      }
    }
    const outTables: [TableName, Buffer][] = [];
    for (const [t, rs] of byTable) {
      if (t === 'jip3_events') {
        if (eventsN) outTables.push([t, eventsOut.take()]);
      } else {
        rs.flush();
        if (rs.count) outTables.push([t, rs.out.take()]);
        rs.count = 0;
      }
    }
    const res: SerializedChunk = { tables: outTables, rejects: rejects.length ? ownBytes(rejects.join('\n') + '\n') : EMPTY, counters, spliced: 0 };
    if (refs) res.rowRefs = outTables.map(([t]) => [t, Float64Array.from(refs.get(t)!)]);
    return res;
  }
}
