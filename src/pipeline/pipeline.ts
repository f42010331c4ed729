// Drives the reader over the input files and the chunk serialiser over each chunk, inline or
// on worker threads, and hands results to the caller strictly in input order.
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import type { Counters } from '../telemetry/convert.js';
import type { TeamMap } from '../telemetry/envelope.js';
import type { InputFile } from '../input/list.js';
import { readFiles, type Chunk, type ReadOptions } from '../input/reader.js';
import type { TableName } from '../tables/schema.js';
import { ChunkSerializer } from './serialize.js';

export interface ChunkOutput {
  tables: [TableName, string | Uint8Array | Uint8Array[]][];
  rejects: string | Uint8Array;
  counters: Counters;
}

export interface WorkerRequest {
  seq: number;
  file: string;
  startLine: number;
  startOffset: number;
  data: Uint8Array;
  lines: number;
  overlong?: { head: Uint8Array; bytes: number; terminated: boolean };
}

export interface WorkerReply {
  seq: number;
  tables: [string, Uint8Array][];
  rejects: Uint8Array;
  counters: Counters;
}

export interface PipelineOptions {
  teams?: TeamMap;
  /** Worker threads; 1 runs inline on the main thread. */
  workers: number;
  read?: Omit<ReadOptions, 'start'>;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/** Receives each chunk's output in input order; a returned promise holds the pipeline until it settles. */
export type OnOutput = (o: ChunkOutput, chunk: { file: string; bytes: number }) => void | Promise<void>;

/** Reads every file, in order, and calls `onOutput` for each chunk's output, in order. */
export async function runPipeline(files: readonly InputFile[], opts: PipelineOptions, onOutput: OnOutput): Promise<void> {
  if (opts.workers <= 1) {
    const ser = new ChunkSerializer(opts.teams);
    for await (const chunk of readFiles(files, opts.read)) {
      const wait = onOutput(ser.run(chunk), { file: chunk.file, bytes: chunk.overlong ? chunk.overlong.bytes : chunk.data.length });
      if (wait) await wait;
    }
    return;
  }
  await runOnWorkers(files, opts, onOutput);
}

// A chunk this big (a line of several megabytes) is converted on the main thread, once every
// chunk sent before it is back: converting a line takes several times its size in memory, and
// two at once, or a copy in a worker's isolate besides the reader's, would add up.
const BIG_CHUNK_BYTES = 4 << 20;

// The workers' output Buffers become garbage of the main thread once written, and its heap sees
// little else: V8 scavenges only once 32 MB of them have piled up in the young generation, and
// those a scavenge finds still queued are promoted and wait for a full collection that the main
// thread's small heap seldom needs (20-60 MB of dead output, held in malloc's arenas). A young
// collection (~1 ms) every 16 MiB of output and a full one (~10 ms) every 256 MiB keep the pile
// small: 5 GB input, --workers 2, peak RSS ~215 -> ~175 MB, same wall time.
const YOUNG_GC_BYTES = 16 << 20;
const FULL_GC_BYTES = 256 << 20;

/** V8's `gc` (--expose-gc's, given to one new context only), or undefined where it cannot be had. */
function exposeGc(): ((o?: { type: 'minor' }) => void) | undefined {
  let gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc !== 'function') {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc');
    } catch {
      gc = undefined;
    } finally {
      setFlagsFromString('--no-expose-gc'); // only this one context has it
    }
  }
  return typeof gc === 'function' ? (gc as (o?: { type: 'minor' }) => void) : undefined;
}

async function runOnWorkers(files: readonly InputFile[], opts: PipelineOptions, onOutput: OnOutput): Promise<void> {
  const n = opts.workers;
  const teams = opts.teams ? [...opts.teams] : [];
  // A young generation of 24 MB instead of V8's default 48 (semi-spaces of 8 MB): a chunk's
  // garbage still dies young, and each worker holds ~20 MB less (W1 --workers 2: 220 -> 180 MB).
  const workers = Array.from({ length: n }, () => new Worker(new URL('./worker.js', import.meta.url), { workerData: { teams }, resourceLimits: { maxYoungGenerationSizeMb: 24 } }));
  const maxInFlight = n * 2;
  const done = new Map<number, WorkerReply>();
  // Per chunk in flight: what the caller is told, and which worker has it.
  const sent = new Map<number, { file: string; bytes: number; worker: number }>();
  const load = new Array<number>(n).fill(0); // bytes in flight per worker
  let inline: ChunkSerializer | undefined;
  const gc = exposeGc();
  let young = 0; // output bytes handed on since the last collection
  let full = 0; // ... since the last full one
  let nextOut = 0;
  let seq = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (const w of workers) {
    w.on('message', (r: WorkerReply) => {
      done.set(r.seq, r);
      const info = sent.get(r.seq)!;
      load[info.worker]! -= info.bytes;
      signal();
    });
    w.on('error', (e) => {
      failure ??= e;
      signal();
    });
    w.on('exit', (code) => {
      if (code !== 0) failure ??= new Error(`worker stopped with code ${code}`);
      signal();
    });
  }
  const drain = async (): Promise<void> => {
    for (let r = done.get(nextOut); r; r = done.get(nextOut)) {
      done.delete(nextOut);
      const { file, bytes } = sent.get(nextOut)!;
      sent.delete(nextOut);
      nextOut++;
      if (gc) {
        for (const [, b] of r.tables) young += b.length;
        if (young >= YOUNG_GC_BYTES) {
          full += young;
          young = 0;
          if (full >= FULL_GC_BYTES) {
            full = 0;
            gc();
          } else gc({ type: 'minor' });
        }
      }
      const wait = onOutput({ tables: r.tables as [TableName, Uint8Array][], rejects: r.rejects, counters: r.counters }, { file, bytes });
      if (wait) await wait;
    }
  };
  // Replies that arrived while nobody was waiting (the main thread was reading) only left an
  // entry in `done`: drain before every check, or the last replies of a run are never seen and
  // the run waits forever.
  const waitFor = async (cond: () => boolean): Promise<void> => {
    for (;;) {
      await drain();
      if (failure) throw failure;
      if (cond()) return;
      await new Promise<void>((res) => (wake = res));
    }
  };
  const post = (chunk: Chunk): void => {
    const s = seq++;
    // The reader's buffer moves to the worker when nothing else uses it; otherwise a copy does.
    let data: Uint8Array = chunk.data;
    if (!chunk.owned) {
      data = new Uint8Array(chunk.data.length);
      data.set(chunk.data);
    }
    const req: WorkerRequest = { seq: s, file: chunk.file, startLine: chunk.startLine, startOffset: chunk.startOffset, data, lines: chunk.lines };
    if (chunk.overlong) req.overlong = { head: new Uint8Array(chunk.overlong.head), bytes: chunk.overlong.bytes, terminated: chunk.overlong.terminated };
    // The least loaded worker: chunks differ in cost (a statistics message fans out into
    // thousands of rows).
    let w = 0;
    for (let i = 1; i < n; i++) if (load[i]! < load[w]!) w = i;
    const bytes = chunk.overlong ? chunk.overlong.bytes : chunk.data.length;
    sent.set(s, { file: chunk.file, bytes, worker: w });
    load[w]! += bytes;
    workers[w]!.postMessage(req, [data.buffer as ArrayBuffer]);
  };
  try {
    for await (const chunk of readFiles(files, opts.read)) {
      if (chunk.data.length >= BIG_CHUNK_BYTES) {
        await waitFor(() => nextOut === seq);
        inline ??= new ChunkSerializer(opts.teams);
        const wait = onOutput(inline.run(chunk), { file: chunk.file, bytes: chunk.data.length });
        if (wait) await wait;
        continue;
      }
      await waitFor(() => seq - nextOut < maxInFlight);
      post(chunk);
    }
    await waitFor(() => nextOut === seq);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
