// Drives the reader over the input files and the chunk serialiser over each chunk, inline or
// on worker threads, and hands results to the caller strictly in input order.
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import type { Counters } from '../telemetry/convert.js';
import type { TeamMap } from '../telemetry/envelope.js';
import type { InputFile } from '../input/list.js';
import { DEFAULT_CHUNK_BYTES, readFiles, type Chunk, type ReadOptions } from '../input/reader.js';
import type { TableName } from '../tables/schema.js';
import { ChunkSerializer } from './serialize.js';
import { isJip3Chunk } from '../input/jip3-reader.js';
import { Jip3ChunkConverter } from '../jip3/convert.js';

export interface ChunkOutput {
  tables: [TableName, string | Uint8Array | Uint8Array[]][];
  rejects: string | Uint8Array;
  counters: Counters;
  /** With PipelineOptions.rowRefs: see SinkBatch.rowRefs. */
  rowRefs?: [TableName, Float64Array][];
}

export interface WorkerRequest {
  seq: number;
  file: string;
  startLine: number;
  startOffset: number;
  data: Uint8Array;
  lines: number;
  overlong?: { head: Uint8Array; bytes: number; terminated: boolean };
  /** A JIP-3 capture chunk (src/input/jip3-reader.ts): its kind, prelude and tail mark. */
  jip3?: { prelude?: Uint8Array; tail?: 'truncated' | 'bad_length' | 'bad_header' };
}

export interface WorkerReply {
  seq: number;
  tables: [string, Uint8Array][];
  rejects: Uint8Array;
  counters: Counters;
  rowRefs?: [string, Float64Array][];
}

export interface PipelineOptions {
  teams?: TeamMap;
  /** Worker threads; 1 runs inline on the main thread. */
  workers: number;
  read?: Omit<ReadOptions, 'start'>;
  /** Also give each row's line (ChunkOutput.rowRefs). */
  rowRefs?: boolean;
}

export function defaultWorkers(): number {
  return Math.max(1, availableParallelism());
}

/**
 * The workers that can help: never more than the cores, nor than the chunks the input makes (a
 * worker without a chunk only costs its start-up and its heap). `fileSizes` undefined: not
 * known yet (`--follow`), only the cores cap.
 */
export function usefulWorkers(requested: number, fileSizes: readonly number[] | undefined, chunkBytes = DEFAULT_CHUNK_BYTES): number {
  let n = Math.min(requested, defaultWorkers());
  if (fileSizes !== undefined) {
    let chunks = 0;
    for (const s of fileSizes) chunks += Math.max(1, Math.ceil(s / chunkBytes));
    n = Math.min(n, chunks);
  }
  return Math.max(1, n);
}

/** Receives each chunk's output in input order; a returned promise holds the pipeline until it settles. */
export type OnOutput<M = { file: string; bytes: number }> = (o: ChunkOutput, meta: M) => void | Promise<void>;

/**
 * Converts chunks, inline or on worker threads, and hands their outputs on strictly in the order
 * they were pushed, across files and (with --follow) across polls.
 */
export interface ChunkConverter<M> {
  /** Takes a chunk; resolves once there is room for the next one (backpressure). */
  push(chunk: Chunk, meta: M): Promise<void>;
  /** Resolves once every chunk pushed so far has been handed on. */
  flush(): Promise<void>;
  /** Stops the workers (after flush, or to give up). */
  close(): Promise<void>;
}

export function startConverter<M>(opts: PipelineOptions, onOutput: OnOutput<M>): ChunkConverter<M> {
  if (opts.workers <= 1) {
    const ser = new ChunkSerializer(opts.teams, opts.rowRefs ? { rowRefs: true } : {});
    let jip3: Jip3ChunkConverter | undefined;
    return {
      async push(chunk, meta) {
        const out = isJip3Chunk(chunk) ? (jip3 ??= new Jip3ChunkConverter(opts.rowRefs ? { rowRefs: true } : {})).run(chunk) : ser.run(chunk);
        const wait = onOutput(out, meta);
        if (wait) await wait;
      },
      async flush() {},
      async close() {},
    };
  }
  return new WorkerConverter(opts, onOutput);
}

/** Reads every file, in order, and calls `onOutput` for each chunk's output, in order. */
export async function runPipeline(files: readonly InputFile[], opts: PipelineOptions, onOutput: OnOutput): Promise<void> {
  const conv = startConverter(opts, onOutput);
  try {
    for await (const chunk of readFiles(files, opts.read)) await conv.push(chunk, { file: chunk.file, bytes: chunk.overlong ? chunk.overlong.bytes : chunk.data.length });
    await conv.flush();
  } finally {
    await conv.close();
  }
}

// The workers start only once this many bytes of ordinary chunks have come (the first ones are
// converted on the main thread meanwhile): an input of huge lines with a few ordinary lines
// between them (all converted on the main thread, below) never pays for two idle worker
// isolates (32 MiB-lines file, --workers 2: peak RSS ~220 -> ~185 MB).
const LAZY_START_BYTES = 2 << 20;

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

class WorkerConverter<M> implements ChunkConverter<M> {
  private readonly n: number;
  private workers: Worker[] = [];
  // Bytes of ordinary chunks converted here before the workers were started (LAZY_START_BYTES).
  private before = 0;
  private readonly maxInFlight: number;
  private readonly done = new Map<number, WorkerReply>();
  // Per chunk in flight: what the caller is told, its size, and which worker has it.
  private readonly sent = new Map<number, { meta: M; bytes: number; worker: number }>();
  private readonly load: number[]; // bytes in flight per worker
  private inline: ChunkSerializer | undefined;
  private inlineJip3: Jip3ChunkConverter | undefined;
  private readonly gc = exposeGc();
  private young = 0; // output bytes handed on since the last collection
  private full = 0; // ... since the last full one
  private nextOut = 0;
  private seq = 0;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly opts: PipelineOptions,
    private readonly onOutput: OnOutput<M>,
  ) {
    const n = (this.n = opts.workers);
    this.maxInFlight = n * 2;
    this.load = new Array<number>(n).fill(0);
  }

  /** Starts the workers (at the first ordinary chunk past LAZY_START_BYTES). */
  private start(): void {
    const teams = this.opts.teams ? [...this.opts.teams] : [];
    // A young generation of 24 MB instead of V8's default 48 (semi-spaces of 8 MB): a chunk's
    // garbage still dies young, and each worker holds ~20 MB less (W1 --workers 2: 220 -> 180 MB).
    this.workers = Array.from({ length: this.n }, () => new Worker(new URL('./worker.js', import.meta.url), { workerData: { teams, rowRefs: !!this.opts.rowRefs }, resourceLimits: { maxYoungGenerationSizeMb: 24 } }));
    for (const w of this.workers) {
      w.on('message', (r: WorkerReply) => {
        this.done.set(r.seq, r);
        const info = this.sent.get(r.seq)!;
        this.load[info.worker]! -= info.bytes;
        this.signal();
      });
      w.on('error', (e) => {
        this.failure ??= e;
        this.signal();
      });
      w.on('exit', (code) => {
        if (code !== 0 && !this.closed) this.failure ??= new Error(`worker stopped with code ${code}`);
        this.signal();
      });
    }
  }

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async drain(): Promise<void> {
    for (let r = this.done.get(this.nextOut); r; r = this.done.get(this.nextOut)) {
      this.done.delete(this.nextOut);
      const { meta } = this.sent.get(this.nextOut)!;
      this.sent.delete(this.nextOut);
      this.nextOut++;
      if (this.gc) {
        for (const [, b] of r.tables) this.young += b.length;
        if (this.young >= YOUNG_GC_BYTES) {
          this.full += this.young;
          this.young = 0;
          if (this.full >= FULL_GC_BYTES) {
            this.full = 0;
            this.gc();
          } else this.gc({ type: 'minor' });
        }
      }
      const o: ChunkOutput = { tables: r.tables as [TableName, Uint8Array][], rejects: r.rejects, counters: r.counters };
      if (r.rowRefs) o.rowRefs = r.rowRefs as [TableName, Float64Array][];
      const wait = this.onOutput(o, meta);
      if (wait) await wait;
    }
  }

  // Replies that arrived while nobody was waiting (the main thread was reading) only left an
  // entry in `done`: drain before every check, or the last replies of a run are never seen and
  // the run waits forever.
  private async waitFor(cond: () => boolean): Promise<void> {
    for (;;) {
      await this.drain();
      if (this.failure) throw this.failure;
      if (cond()) return;
      await new Promise<void>((res) => (this.wake = res));
    }
  }

  private post(chunk: Chunk, meta: M): void {
    const s = this.seq++;
    // The reader's buffer moves to the worker when nothing else uses it; otherwise a copy does.
    let data: Uint8Array = chunk.data;
    if (!chunk.owned) {
      data = new Uint8Array(chunk.data.length);
      data.set(chunk.data);
    }
    const req: WorkerRequest = { seq: s, file: chunk.file, startLine: chunk.startLine, startOffset: chunk.startOffset, data, lines: chunk.lines };
    if (chunk.overlong) req.overlong = { head: new Uint8Array(chunk.overlong.head), bytes: chunk.overlong.bytes, terminated: chunk.overlong.terminated };
    if (isJip3Chunk(chunk)) {
      req.jip3 = {};
      if (chunk.prelude) req.jip3.prelude = new Uint8Array(chunk.prelude);
      if (chunk.tail) req.jip3.tail = chunk.tail;
    }
    // The least loaded worker: chunks differ in cost (a statistics message fans out into
    // thousands of rows).
    let w = 0;
    for (let i = 1; i < this.n; i++) if (this.load[i]! < this.load[w]!) w = i;
    const bytes = chunk.overlong ? chunk.overlong.bytes : chunk.data.length;
    this.sent.set(s, { meta, bytes, worker: w });
    this.load[w]! += bytes;
    this.workers[w]!.postMessage(req, [data.buffer as ArrayBuffer]);
  }

  async push(chunk: Chunk, meta: M): Promise<void> {
    const small = chunk.data.length < BIG_CHUNK_BYTES;
    if (this.workers.length === 0 && small && this.before + chunk.data.length > LAZY_START_BYTES) this.start();
    if (!small || this.workers.length === 0) {
      if (small) this.before += chunk.data.length;
      await this.waitFor(() => this.nextOut === this.seq);
      const out = isJip3Chunk(chunk)
        ? (this.inlineJip3 ??= new Jip3ChunkConverter(this.opts.rowRefs ? { rowRefs: true } : {})).run(chunk)
        : (this.inline ??= new ChunkSerializer(this.opts.teams, this.opts.rowRefs ? { rowRefs: true } : {})).run(chunk);
      const wait = this.onOutput(out, meta);
      if (wait) await wait;
      return;
    }
    await this.waitFor(() => this.seq - this.nextOut < this.maxInFlight);
    this.post(chunk, meta);
  }

  async flush(): Promise<void> {
    await this.waitFor(() => this.nextOut === this.seq);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
