// The one driver every converting command runs: inputs (the listed files, each from the position
// the sink already holds for its identity; with --follow, polled for growth and new files) ->
// conversion (inline or on worker threads, output in input order) -> sink.write(batch), with
// checkpoints, commit or abort. Commands are a sink plus options (src/commands/).
import { stat } from 'node:fs/promises';
import type { TeamMap } from '../telemetry/envelope.js';
import { addCounters, newCounters, rejectOf, type Counters } from '../telemetry/convert.js';
import { isJip3Path, listLogFiles, type InputFile } from '../input/list.js';
import { readJip3Chunks } from '../input/jip3-reader.js';
import { fileIdentity, identityFromStart, layoutName } from '../input/identity.js';
import { Follower, SETTLE_MS } from '../input/follow.js';
import { ReadAhead, readChunks, wholeFileChunks, type Chunk } from '../input/reader.js';
import type { FilePosition, ResumePositions, Sink, SinkBatch, SinkResult } from '../sinks/sink.js';
import { startConverter, usefulWorkers, type ChunkConverter, type ChunkOutput } from './pipeline.js';
import { startProgress, summarise, type RunSummary } from './summary.js';

export interface RunToSinkOptions {
  /** The summary's `command` and the progress bar's label. */
  command: string;
  paths: readonly string[];
  /** Worker threads asked for; capped by usefulWorkers (cores, chunks of input). */
  workers: number;
  teams?: TeamMap;
  maxLineBytes?: number;
  /** Read size (tests make it tiny). */
  chunkBytes?: number;
  /** Keep polling for appended lines and new files until `signal` aborts. */
  follow?: { pollMs: number };
  progress: boolean;
  /** Aborting it stops the run: no new chunk is read, what is in flight is finished. */
  signal?: AbortSignal;
  /** Notes for people (stderr). */
  note?: (s: string) => void;
  /** Checkpoints the sink this often while writing (ms); default 5000. */
  checkpointMs?: number;
  /** How long a file must be unchanged before its unterminated last line counts as final. */
  settleMs?: number;
}

export interface RunToSinkResult {
  summary: RunSummary;
  sink: SinkResult;
  /** Stopped by `signal` before the input was done (with --follow: the normal end). */
  stopped: boolean;
}

interface BatchMeta {
  fileId: string;
  path: string;
  start: FilePosition;
  end: FilePosition;
  bytes: number;
}

function endOf(c: Chunk): FilePosition {
  const size = c.overlong ? c.overlong.bytes + (c.overlong.terminated ? 1 : 0) : c.data.length;
  return { offset: c.startOffset + size, line: c.startLine + c.lines };
}

function terminated(c: Chunk): boolean {
  return c.overlong ? c.overlong.terminated : c.data.length > 0 && c.data[c.data.length - 1] === 10;
}

/** True when `data` (one line without its newline) is a whole JSON value. */
function wholeJson(data: Buffer): boolean {
  try {
    JSON.parse(data.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** The output of a chunk that is one unterminated last line that will never be completed. */
function unterminatedReject(c: Chunk, settleMs: number): ChunkOutput {
  const end = endOf(c);
  const ref = { file: c.file, line: c.startLine, offset: c.startOffset, end: end.offset };
  const rec = rejectOf('unterminated_line', `the file's last line has no newline and is not complete JSON (the file has not changed for ${Math.round(settleMs / 1000)} s)`, ref, c.data.toString('utf8'));
  const counters: Counters = newCounters();
  counters.lines = 1;
  counters.rejects = 1;
  counters.rejectsByCode.unterminated_line = 1;
  counters.bytes = c.data.length;
  return { tables: [], rejects: JSON.stringify(rec) + '\n', counters };
}

/** Runs the input through the conversion into `sink`; commits it, or aborts it on a failure. */
export async function runToSink(sink: Sink, opts: RunToSinkOptions): Promise<RunToSinkResult> {
  const t0 = performance.now();
  const note = opts.note ?? (() => {});
  const settleMs = opts.settleMs ?? SETTLE_MS;
  const checkpointMs = opts.checkpointMs ?? 5000;
  const follow = opts.follow;
  const signal = opts.signal;
  // Listed before the sink is opened: a missing input is an error before anything is touched.
  const firstListing = follow ? undefined : await listLogFiles(opts.paths);
  const positions: ResumePositions = await sink.open();
  let aborted = false;
  const totals = newCounters();
  const ids = new Map<string, string>(); // path -> identity
  const owners = new Map<string, string>(); // identity -> the path it is read from
  const cursors = new Map<string, FilePosition>(); // identity -> next position to read
  const complete = new Set<string>(); // paths read to their end (nothing held back)
  const pending = new Map<string, { lines: number; bytes: number }>(); // held back, per path
  let resumed = 0;
  let upToDate = 0;
  let behindWatermark = 0;
  let duplicates = 0;
  let polls = 0;
  let wrote = false;
  let lastCheckpoint = performance.now();
  const stopping = (): boolean => !!signal?.aborted;
  let filesSeen = 0;
  const follower = follow ? new Follower(opts.paths, { ...(positions.watermark ? { watermark: positions.watermark } : {}), settleMs }) : undefined;
  let initial: InputFile[];
  let conv: ChunkConverter<BatchMeta>;
  try {
    initial = firstListing ?? (await follower!.poll());
    conv = startConverter<BatchMeta>(
      {
        workers: usefulWorkers(opts.workers, follow ? undefined : initial.map((f) => f.size), opts.chunkBytes),
        ...(opts.teams ? { teams: opts.teams } : {}),
        ...(sink.rowRefs ? { rowRefs: true } : {}),
        read: { ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}), ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}) },
      },
      (o, m) => deliver(o, m),
    );
  } catch (e) {
    await sink.abort();
    throw e;
  }
  const workers = usefulWorkers(opts.workers, follow ? undefined : initial.map((f) => f.size), opts.chunkBytes);
  // Without --follow every listed file is read once, in order: small ones are read ahead.
  const ahead = follow ? undefined : new ReadAhead(initial.filter((f) => !isJip3Path(f.path)), { ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}), ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}) });
  const progress = startProgress(opts.command, initial.reduce((a, f) => a + f.size, 0), opts.progress);

  async function deliver(o: ChunkOutput, m: BatchMeta): Promise<void> {
    const batch: SinkBatch = { fileId: m.fileId, path: m.path, start: m.start, end: m.end, tables: o.tables, rejects: o.rejects, counters: o.counters };
    if (o.rowRefs) batch.rowRefs = o.rowRefs;
    addCounters(totals, o.counters);
    let rows = 0;
    for (const t in o.counters.rows) rows += o.counters.rows[t as keyof typeof o.counters.rows];
    progress.tick(m.bytes, rows);
    wrote = true;
    const wait = sink.write(batch);
    if (wait) await wait;
    if (sink.checkpoint && performance.now() - lastCheckpoint >= checkpointMs) {
      await sink.checkpoint();
      lastCheckpoint = performance.now();
    }
  }

  const isFresh = async (path: string): Promise<boolean> => {
    const st = await stat(path).catch(() => undefined);
    return !!st && Date.now() - st.mtimeMs < settleMs;
  };

  // A sink that holds no position (the JSONL export) reads every file from its start: the
  // identity then comes from the first chunk instead of a read of its own.
  const lazyIds = !follow && positions.size === 0 && !positions.watermark;

  /** The file's identity is known: false when it is a copy of a file already read. */
  function own(f: InputFile, id: string): boolean {
    const owner = owners.get(id);
    if (owner === undefined) {
      owners.set(id, f.path);
      filesSeen++;
      return true;
    }
    if (owner === f.path) return true;
    // A copy of a file already read (same layout name and first line): the same file.
    if (!complete.has(f.path)) {
      duplicates++;
      note(`${f.path} is a copy of ${owner}; read once`);
      complete.add(f.path);
    }
    return false;
  }

  /** Reads what is new in one file. */
  async function pump(f: InputFile): Promise<void> {
    // The whole file, when it was read ahead (bytes from offset 0): identity and chunks from it.
    const wholeFile = ahead ? await ahead.take(f.path) : undefined;
    if (lazyIds) return pumpFromStart(f, wholeFile);
    let id = ids.get(f.path);
    if (!id) {
      if (positions.watermark && isLayout(f.path) && layoutName(f.path) <= positions.watermark) {
        behindWatermark++;
        complete.add(f.path);
        return;
      }
      id = wholeFile ? identityFromStart(f.path, wholeFile) : await fileIdentity(f.path, !follow || !(await isFresh(f.path)));
      if (!id) return; // empty, or its first line is still being written
      ids.set(f.path, id);
    }
    if (!own(f, id)) return;
    let cur = cursors.get(id);
    if (!cur) {
      cur = positions.get(id) ?? { offset: 0, line: 1 };
      cursors.set(id, cur);
      if (cur.offset > 0) {
        if (cur.offset >= f.size) upToDate++;
        else resumed++;
        progress.tick(Math.min(cur.offset, f.size), 0);
      }
    }
    if (f.size < cur.offset) {
      note(`${f.path} is shorter (${f.size} bytes) than the position already stored (${cur.offset}); left alone`);
      return;
    }
    pending.delete(f.path);
    if (f.size === cur.offset) {
      complete.add(f.path);
      return;
    }
    complete.delete(f.path);
    await readFrom(f, id, cur, wholeFile);
  }

  /** A file read whole from its start, its identity taken from its first chunk. */
  async function pumpFromStart(f: InputFile, wholeFile: Buffer | undefined): Promise<void> {
    if (f.size === 0) {
      complete.add(f.path);
      return;
    }
    await readFrom(f, undefined, { offset: 0, line: 1 }, wholeFile);
  }

  /**
   * Reads a file from `from` to its end (or to a last line held back); from `wholeFile`, its
   * bytes from offset 0, when they were read ahead (ReadAhead).
   */
  async function readFrom(f: InputFile, knownId: string | undefined, from: FilePosition, wholeFile?: Buffer): Promise<void> {
    let id = knownId;
    let held = false;
    // JIP-3 captures (.jip3) come in chunks of whole records; a partial last record of a file a
    // collector may still be writing is left for the next poll or run. A chunk of records does
    // not start at the file's first byte, so a capture's identity is read from the file (and
    // captures are never read ahead as lines).
    const jip3 = isJip3Path(f.path);
    if (jip3 && id === undefined) {
      id = await fileIdentity(f.path, true);
      if (id === undefined || !own(f, id)) return;
      ids.set(f.path, id);
    }
    const chunks = jip3
      ? readJip3Chunks(f.path, {
          start: from,
          partialTail: follow || (await isFresh(f.path)) ? 'wait' : 'reject',
          // A partial last record left for later is pending like a half-written line: counted,
          // and the file is not complete (never collapsed behind the watermark).
          onHeld: (bytes) => {
            pending.set(f.path, { lines: 1, bytes });
            held = true;
          },
          ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}),
        })
      : wholeFile
        ? wholeFileChunks(f.path, wholeFile, from)
        : readChunks(f.path, { start: from, ...(opts.maxLineBytes ? { maxLineBytes: opts.maxLineBytes } : {}), ...(opts.chunkBytes ? { chunkBytes: opts.chunkBytes } : {}) });
    for await (const chunk of chunks) {
      if (id === undefined) {
        id = identityFromStart(f.path, chunk.overlong ? chunk.overlong.head : chunk.data);
        if (id === undefined || !own(f, id)) return;
        ids.set(f.path, id);
      }
      const start = { offset: chunk.startOffset, line: chunk.startLine };
      const end = endOf(chunk);
      const bytes = chunk.overlong ? chunk.overlong.bytes : chunk.data.length;
      if (!jip3 && !terminated(chunk)) {
        // The file's last line, without its newline (the reader gives it out last, alone): a
        // collector may be in the middle of writing it.
        const fresh = await isFresh(f.path);
        const whole = !chunk.overlong && wholeJson(chunk.data);
        if (fresh && (follow || !whole) && !chunk.overlong) {
          pending.set(f.path, { lines: 1, bytes });
          held = true;
          break;
        }
        if (!chunk.overlong && !whole) {
          await conv.flush();
          await deliver(unterminatedReject(chunk, settleMs), { fileId: id, path: f.path, start, end, bytes });
          cursors.set(id, end);
          break;
        }
      }
      await conv.push(chunk, { fileId: id, path: f.path, start, end, bytes });
      cursors.set(id, end);
      if (stopping()) return;
    }
    if (!held) complete.add(f.path);
  }

  let failure: unknown;
  let result: SinkResult | undefined;
  let stopped = false;
  try {
    let files = initial;
    for (;;) {
      polls++;
      for (const f of files) {
        if (stopping()) break;
        await pump(f);
      }
      await conv.flush();
      if (!follow || stopping()) break;
      if (wrote && sink.checkpoint) {
        await sink.checkpoint();
        lastCheckpoint = performance.now();
        wrote = false;
        // Files wholly stored and behind the newest fully read minute collapse into a watermark.
        const c = follower!.collapsible((p) => complete.has(p) && !pending.has(p));
        if (c && sink.collapse) {
          const gone: string[] = [];
          for (const p of c.paths) {
            const id = ids.get(p);
            if (id) {
              gone.push(id);
              cursors.delete(id);
              owners.delete(id);
            }
            ids.delete(p);
            complete.delete(p);
          }
          sink.collapse(c.watermark, gone);
          follower!.setWatermark(c.watermark);
          positions.watermark = c.watermark;
        }
      }
      await sleepUnlessAborted(follow.pollMs, signal);
      if (stopping()) break;
      files = await follower!.poll();
    }
    stopped = stopping();
    await conv.flush();
  } catch (e) {
    failure = e;
  }
  try {
    await conv.close();
  } catch {
    // workers already gone
  }
  await ahead?.close();
  progress.stop();
  if (failure !== undefined || (stopped && !sink.resumable)) {
    aborted = true;
    try {
      await sink.abort();
    } catch (e) {
      // The run's own failure is the one to report; without one, the abort's.
      if (failure === undefined) throw e;
    }
    if (failure !== undefined) throw failure;
  } else {
    result = await sink.commit();
  }
  let pendingLines = 0;
  let pendingBytes = 0;
  for (const p of pending.values()) {
    pendingLines += p.lines;
    pendingBytes += p.bytes;
  }
  const files = follow ? filesSeen + behindWatermark : initial.length;
  const sinkResult: SinkResult = result ?? { tables: [] };
  const summary = summarise(opts.command, files, totals, (performance.now() - t0) / 1000, {
    ...(sinkResult.extra ?? {}),
    workers,
    files_resumed: resumed,
    files_already_done: upToDate + behindWatermark,
    files_duplicate: duplicates,
    pending_lines: pendingLines,
    pending_bytes: pendingBytes,
    pending_files: [...pending.keys()],
    ...(follow ? { polls } : {}),
    interrupted: stopped,
    ...(aborted ? { output_removed: true } : {}),
  });
  return { summary, sink: sinkResult, stopped };
}

function isLayout(path: string): boolean {
  return /^\d{4}\/\d{2}\/\d{2}\/\d{4}\.(log|jip3)$/.test(layoutName(path));
}

function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((res) => {
    if (signal?.aborted) return res();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      res();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
