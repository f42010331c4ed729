// `jam-etl replay --framing jip3`: sends JIP-3 capture files (.jip3) to a collector as the nodes
// sent them: one TCP connection per captured connection, its node information first, then its
// event frames (u32 LE length ++ content) in capture order, across minute files. Node
// information repeats (kind 2) and Closed marks are the collector's, not the node's: not sent.
// Writes respect socket backpressure; the run ends once every connection is closed both ways.
import { connect, type Socket } from 'node:net';
import { isJip3Path, listLogFiles } from '../input/list.js';
import { readJip3Chunks } from '../input/jip3-reader.js';
import { readRecordHeader, RECORD_HEADER_BYTES, RecordKind } from '../jip3/capture.js';
import type { HostPort } from './collector.js';

export interface Jip3ReplayResult {
  files: number;
  lines: number;
  bytes: number;
  connections: number;
  seconds: number;
}

export async function replayJip3(paths: readonly string[], to: HostPort): Promise<Jip3ReplayResult> {
  const t0 = performance.now();
  const files = (await listLogFiles(paths)).filter((f) => isJip3Path(f.path));
  const socks = new Map<number, { s: Socket; closed: Promise<void> }>();
  let frames = 0;
  let bytes = 0;
  const open = (conn: number): Promise<Socket> =>
    new Promise((res, rej) => {
      const s = connect(to.port, to.host, () => res(s));
      const closed = new Promise<void>((r, j) => {
        s.on('close', () => r());
        s.on('error', j);
      });
      closed.catch(() => {});
      s.once('error', rej);
      s.resume(); // nothing comes back; keep the socket flowing so 'close' arrives
      socks.set(conn, { s, closed });
    });
  for (const f of files) {
    for await (const c of readJip3Chunks(f.path, { partialTail: 'wait' })) {
      const d = c.data;
      for (let o = 0; o + RECORD_HEADER_BYTES <= d.length; ) {
        const h = readRecordHeader(d, o);
        const payload = d.subarray(o + RECORD_HEADER_BYTES, o + RECORD_HEADER_BYTES + h.length);
        o += RECORD_HEADER_BYTES + h.length;
        if (h.kind === RecordKind.NodeInfo) {
          const old = socks.get(h.connection);
          if (old) old.s.end();
          await open(h.connection);
        } else if (h.kind === RecordKind.Closed) {
          socks.get(h.connection)?.s.end();
          continue;
        } else if (h.kind === RecordKind.Events) {
          // Frames already with their prefixes, as they came off the wire: sent as they are.
          const e = socks.get(h.connection);
          if (!e) continue;
          let n = 0;
          for (let f = 0; f + 4 <= payload.length; n++) f += 4 + payload.readUInt32LE(f);
          if (!e.s.write(payload)) await new Promise<void>((r) => e.s.once('drain', () => r()));
          frames += n;
          bytes += payload.length;
          continue;
        } else if (h.kind !== RecordKind.Event) continue;
        const e = socks.get(h.connection);
        if (!e) continue; // its node information is in a file not given
        const len = Buffer.allocUnsafe(4);
        len.writeUInt32LE(payload.length, 0);
        e.s.write(len);
        if (!e.s.write(payload)) await new Promise<void>((r) => e.s.once('drain', () => r()));
        frames++;
        bytes += 4 + payload.length;
      }
    }
  }
  for (const { s } of socks.values()) s.end();
  await Promise.all([...socks.values()].map((x) => x.closed));
  return { files: files.length, lines: frames, bytes, connections: socks.size, seconds: (performance.now() - t0) / 1000 };
}
