// The JIP-3 capture file (docs/jip3.md "Capture files"): what the collector writes and the
// loader reads. A 16-byte file header, then append-only records, each
//   [u8 kind][u64 connection][u64 recv_time_us][u64 event_id][u32 len][len bytes]
// little-endian, the bytes being one frame's content exactly as received (without its u32
// length prefix), or for kind 5 a run of whole frames with their prefixes. Byte positions of records are resume positions, as line starts are in .log.

export const CAPTURE_MAGIC = Buffer.from('jip3cap\0', 'latin1');
export const CAPTURE_VERSION = 1;
export const FILE_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 29;
export const CAPTURE_EXTENSION = '.jip3';

export const enum RecordKind {
  /** The connection's node information message, as it arrived (its first frame). */
  NodeInfo = 1,
  /**
   * A copy of a connection's node information at the head of a later capture file, so each file
   * decodes on its own; event_id is the connection's next event ID there. Makes no rows.
   */
  NodeInfoRepeat = 2,
  /** An event message; event_id is its implicit Event ID (first 0; after a dropped event, + its count). */
  Event = 3,
  /** The connection ended; the bytes are the reason as UTF-8 (eof, idle timeout, frame too large, ...). */
  Closed = 4,
  /**
   * Several event messages of one connection received together (what the collector writes): the
   * bytes are the frames exactly as they came off the socket, each with its u32 LE length
   * prefix; event_id is the first one's Event ID, and each next one's follows by the same rule
   * as between records (nextEventId). One header and one copy per socket read, not per event.
   */
  Events = 5,
}

export interface RecordHeader {
  kind: number;
  connection: number;
  recvTimeUs: number;
  eventId: number;
  length: number;
}

/** The 16-byte file header: magic, u16 format version, u16 header size, u32 flags (0). */
export function fileHeader(): Buffer {
  const b = Buffer.alloc(FILE_HEADER_BYTES);
  CAPTURE_MAGIC.copy(b, 0);
  b.writeUInt16LE(CAPTURE_VERSION, 8);
  b.writeUInt16LE(FILE_HEADER_BYTES, 10);
  b.writeUInt32LE(0, 12);
  return b;
}

/** Checks a file header; returns its size, or a reason it is not a capture file this reader knows. */
export function checkFileHeader(b: Buffer): number | string {
  if (b.length < FILE_HEADER_BYTES) return `file of ${b.length} bytes is shorter than a capture header`;
  if (!b.subarray(0, 8).equals(CAPTURE_MAGIC)) return 'not a JIP-3 capture file (bad magic)';
  const v = b.readUInt16LE(8);
  if (v !== CAPTURE_VERSION) return `capture format version ${v} is not ${CAPTURE_VERSION}`;
  const size = b.readUInt16LE(10);
  if (size < FILE_HEADER_BYTES) return `capture header size ${size} is too small`;
  return size;
}

/** A u32 little-endian at o (the caller checked 4 bytes are there). */
export const u32At = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;

/** A u64 little-endian at o, as a number (exact below 2^53). */
export const u64At = (b: Uint8Array, o: number): number => u32At(b, o + 4) * 0x100000000 + u32At(b, o);

/** Reads the record header at `o` (the caller checked RECORD_HEADER_BYTES are there). */
export function readRecordHeader(b: Uint8Array, o: number): RecordHeader {
  return {
    kind: b[o]!,
    connection: u64At(b, o + 1),
    recvTimeUs: u64At(b, o + 9),
    eventId: u64At(b, o + 17),
    length: u32At(b, o + 25),
  };
}

/** One record's bytes. */
export function encodeRecord(kind: RecordKind, connection: number, recvTimeUs: number, eventId: number, payload: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  writeRecordHeader(b, 0, kind, connection, recvTimeUs, eventId, payload.length);
  b.set(payload, RECORD_HEADER_BYTES);
  return b;
}

/** A record header at o, byte by byte (the collector writes one per socket read: no BigInt, no bounds checks per field). */
export function writeRecordHeader(b: Uint8Array, o: number, kind: RecordKind, connection: number, recvTimeUs: number, eventId: number, length: number): void {
  b[o] = kind;
  u64Into(b, o + 1, connection);
  u64Into(b, o + 9, recvTimeUs);
  u64Into(b, o + 17, eventId);
  u32Into(b, o + 25, length);
}

function u32Into(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = v >>> 24;
}

/** A non-negative safe integer as u64 little-endian. */
function u64Into(b: Uint8Array, o: number, v: number): void {
  const lo = v >>> 0;
  u32Into(b, o, lo);
  u32Into(b, o + 4, (v - lo) / 0x100000000);
}

/**
 * The Event ID the event after `frame` gets, given this one's: + the count of a "dropped" event
 * (discriminator 0, count at bytes 17..25), else + 1. A collector needs only this peek, never a
 * decode, to number events; a frame too short to hold the count advances by 1 (its decode will
 * fail and be a reject).
 */
export function nextEventId(id: number, frame: Uint8Array): number {
  if (frame.length === 25 && frame[8] === 0) {
    const n = u64At(frame, 17);
    // (A count taking IDs past 2^53 is no real count: numbered as one event.)
    return Number.isSafeInteger(id + n) ? id + n : id + 1;
  }
  return id + 1;
}
