// Worker thread for `--workers N`: serialises chunks handed over by the main thread and sends
// the encoded JSONL back; the main thread writes results in input order.
import { parentPort, workerData } from 'node:worker_threads';
import { ChunkSerializer } from './serialize.js';
import type { WorkerReply, WorkerRequest } from './pipeline.js';

const port = parentPort;
if (!port) throw new Error('worker.js must run in a worker thread');
const teams = new Map<string, string>((workerData as { teams: [string, string][] }).teams);
const serializer = new ChunkSerializer(teams);

port.on('message', (msg: WorkerRequest) => {
  const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
  const overlong = msg.overlong ? { head: Buffer.from(msg.overlong.head), bytes: msg.overlong.bytes, terminated: msg.overlong.terminated } : undefined;
  const res = serializer.run({ file: msg.file, startLine: msg.startLine, startOffset: msg.startOffset, data, lines: msg.lines, ...(overlong ? { overlong } : {}) });
  const tables: [string, Uint8Array][] = res.tables.map(([t, s]) => [t, Buffer.from(s)]);
  const rejects = Buffer.from(res.rejects);
  const reply: WorkerReply = { seq: msg.seq, tables, rejects, counters: res.counters };
  const transfer = [...tables.map(([, b]) => b.buffer), rejects.buffer].filter((b, i, a) => a.indexOf(b) === i) as ArrayBuffer[];
  port.postMessage(reply, transfer);
});
