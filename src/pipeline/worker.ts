// Worker thread for `--workers N`: serialises chunks handed over by the main thread and sends
// the encoded JSONL back; the main thread writes results in input order.
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkSerializer } from './serialize.js';
import { Jip3ChunkConverter } from '../jip3/convert.js';
import type { WorkerReply, WorkerRequest } from './pipeline.js';

const port = parentPort;
if (!port) throw new Error('worker.js must run in a worker thread');
const data0 = workerData as { teams: [string, string][]; rowRefs?: boolean };
const teams = new Map<string, string>(data0.teams);
const serializer = new ChunkSerializer(teams, data0.rowRefs ? { rowRefs: true } : {});
let jip3: Jip3ChunkConverter | undefined;

port.on('message', (msg: WorkerRequest) => {
  const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  const overlong = msg.overlong ? { head: Buffer.from(msg.overlong.head), bytes: msg.overlong.bytes, terminated: msg.overlong.terminated } : undefined;
  const chunk = { file: msg.file, startLine: msg.startLine, startOffset: msg.startOffset, data, lines: msg.lines, ...(overlong ? { overlong } : {}) };
  // JIP-3 capture chunks go to their own converter (src/jip3/convert.ts), with the same output.
  const res = msg.jip3
    ? (jip3 ??= new Jip3ChunkConverter(data0.rowRefs ? { rowRefs: true } : {})).run({ ...chunk, kind: 'jip3', ...(msg.jip3.prelude ? { prelude: Buffer.from(msg.jip3.prelude) } : {}), ...(msg.jip3.tail ? { tail: msg.jip3.tail } : {}) })
    : serializer.run(chunk);
  // A table in pieces (a huge line's, src/bigstrings.ts) is joined into a Buffer of its own.
  const tables = res.tables.map(([t, b]): [string, Buffer] => [t, Array.isArray(b) ? joinOwned(b) : b]);
  const reply: WorkerReply = { seq: msg.seq, tables, rejects: res.rejects, counters: res.counters };
  if (res.rowRefs) reply.rowRefs = res.rowRefs;
  // The serialiser's Buffers each own their ArrayBuffer: they move to the main thread uncopied.
  const transfer: ArrayBuffer[] = [];
  for (const [, b] of tables) transfer.push(b.buffer as ArrayBuffer);
  if (res.rejects.length > 0) transfer.push(res.rejects.buffer as ArrayBuffer);
  for (const [, r] of res.rowRefs ?? []) transfer.push(r.buffer as ArrayBuffer);
  port.postMessage(reply, transfer);
});

function joinOwned(pieces: Buffer[]): Buffer {
  let n = 0;
  for (const p of pieces) n += p.length;
  const out = Buffer.allocUnsafeSlow(n);
  let o = 0;
  for (const p of pieces) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
