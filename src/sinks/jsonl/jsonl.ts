// The JSONL sink (the Dune export): one `<table>.jsonl` per table in the output folder, plus a
// rejects file. Everything is written to temporary files and renamed into place at the end, so
// an interrupted run never leaves half a table and a finished run replaces the previous one.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writev } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError, describeError } from '../../errors.js';
import { TABLE_NAMES, type TableName } from '../../tables/schema.js';

// Small writes (a row at a time) are gathered up to this much per file, so they cost one
// system call together; a converted chunk's bytes usually go out at once. Kept small: every
// table's pending bytes are memory held.
const FLUSH_BYTES = 256 << 10;
// Writes run in libuv's thread pool while the next chunk converts; the converter waits once this
// much is written but not yet on disk (a slow disk must not turn into memory).
const HIGH_WATER_BYTES = 4 << 20;

function writevAsync(fd: number, bufs: Uint8Array[]): Promise<number> {
  return new Promise((res, rej) => writev(fd, bufs, (err, n) => (err ? rej(err) : res(n))));
}

/** Counts the bytes handed to the operating system but not yet written, across files. */
class Backlog {
  bytes = 0;
  private waiters: (() => void)[] = [];
  add(n: number): void {
    this.bytes += n;
  }
  done(n: number): void {
    this.bytes -= n;
    if (this.bytes < HIGH_WATER_BYTES) for (const w of this.waiters.splice(0)) w();
  }
  /** Resolves once the backlog is under the high-water mark. */
  async ready(): Promise<void> {
    while (this.bytes >= HIGH_WATER_BYTES) await new Promise<void>((res) => this.waiters.push(res));
  }
}

/** A file written under a temporary name and renamed into place by commit(). */
class AtomicFile {
  private fd: number | undefined;
  private parts: (string | Uint8Array)[] = [];
  private pending = 0;
  // The writes under way, one after the other in file order; the first failure is kept.
  private writing: Promise<void> = Promise.resolve();
  private failure: ConfigError | undefined;
  readonly tmp: string;
  bytes = 0;

  constructor(
    readonly path: string,
    private readonly backlog: Backlog,
  ) {
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  }

  write(data: string | Uint8Array | Uint8Array[]): void {
    if (this.failure) throw this.failure;
    if (Array.isArray(data)) {
      for (const d of data) {
        this.parts.push(d);
        this.pending += d.length;
      }
    } else {
      if (data.length === 0) return;
      this.parts.push(data);
      this.pending += data.length;
    }
    if (this.pending >= FLUSH_BYTES) this.flush();
  }

  /** Hands the gathered parts to a write that runs after the ones already under way. */
  private flush(): void {
    if (this.parts.length === 0) return;
    try {
      this.fd ??= openSync(this.tmp, 'w');
    } catch (e) {
      throw new ConfigError(`cannot write ${this.tmp}: ${describeError(e)}`);
    }
    // Runs of strings become one Buffer; everything goes out in one writev.
    const bufs: Uint8Array[] = [];
    let strings: string[] = [];
    const endStrings = (): void => {
      if (strings.length) bufs.push(Buffer.from(strings.length === 1 ? strings[0]! : strings.join('')));
      strings = [];
    };
    for (const p of this.parts) {
      if (typeof p === 'string') strings.push(p);
      else {
        endStrings();
        bufs.push(p);
      }
    }
    endStrings();
    this.parts = [];
    this.pending = 0;
    let total = 0;
    for (const b of bufs) total += b.length;
    this.bytes += total;
    this.backlog.add(total);
    const fd = this.fd;
    this.writing = this.writing.then(async () => {
      try {
        if (this.failure) return;
        let queue = bufs;
        for (let left = total; left > 0; ) {
          let n = await writevAsync(fd, queue);
          left -= n;
          if (left === 0) break;
          // A short write: go on from where it stopped.
          let i = 0;
          while (n >= queue[i]!.length) n -= queue[i++]!.length;
          queue = [queue[i]!.subarray(n), ...queue.slice(i + 1)];
        }
      } catch (e) {
        this.failure ??= new ConfigError(`cannot write ${this.tmp}: ${describeError(e)}`);
      } finally {
        this.backlog.done(total);
      }
    });
  }

  /** Flushes, waits for the writes, syncs and renames into place; false when nothing was ever written. */
  async commit(): Promise<boolean> {
    this.flush();
    await this.writing;
    if (this.failure) throw this.failure;
    if (this.fd === undefined) return false;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
      renameSync(this.tmp, this.path);
    } catch (e) {
      throw new ConfigError(`cannot finish ${this.path}: ${describeError(e)}`);
    }
    return true;
  }

  /** Lets the writes under way end (their buffers are the kernel's until then), then removes the file. */
  async abort(): Promise<void> {
    this.parts = [];
    await this.writing;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tmp, { force: true });
  }
}

export interface JsonlOutput {
  table: TableName;
  path: string;
  bytes: number;
}

export class JsonlSink {
  private readonly files = new Map<TableName, AtomicFile>();
  private readonly rejects: AtomicFile;
  private readonly backlog = new Backlog();

  constructor(
    readonly outDir: string,
    readonly rejectsPath: string,
  ) {
    try {
      mkdirSync(outDir, { recursive: true });
      mkdirSync(dirname(rejectsPath), { recursive: true });
      // Temporary files of runs that were killed before they could clean up.
      for (const name of readdirSync(outDir)) if (/^\..+\.\d+\.tmp$/.test(name)) rmSync(join(outDir, name), { force: true });
    } catch (e) {
      throw new ConfigError(`cannot use output folder ${outDir}: ${describeError(e)}`);
    }
    this.rejects = new AtomicFile(rejectsPath, this.backlog);
  }

  /** Appends whole JSONL lines to a table (given in pieces: their bytes one after the other). */
  write(table: TableName, lines: string | Uint8Array | Uint8Array[]): void {
    let f = this.files.get(table);
    if (!f) {
      f = new AtomicFile(join(this.outDir, `${table}.jsonl`), this.backlog);
      this.files.set(table, f);
    }
    f.write(lines);
  }

  writeRejects(lines: string | Uint8Array): void {
    this.rejects.write(lines);
  }

  /**
   * Resolves at once while the writes under way hold less than 4 MiB, else once they do: the
   * caller awaits it between chunks, so conversion and writing overlap but memory stays bounded.
   */
  ready(): Promise<void> | undefined {
    return this.backlog.bytes >= HIGH_WATER_BYTES ? this.backlog.ready() : undefined;
  }

  /**
   * Puts every file in place. A table without rows gets no file, and the file an earlier run
   * left for it is removed, so the folder always shows exactly this run's output.
   */
  async commit(): Promise<{ tables: JsonlOutput[]; rejects: string | undefined }> {
    const tables: JsonlOutput[] = [];
    for (const t of TABLE_NAMES) {
      const f = this.files.get(t);
      if (await f?.commit()) tables.push({ table: t, path: f!.path, bytes: f!.bytes });
      else rmSync(join(this.outDir, `${t}.jsonl`), { force: true });
    }
    const hasRejects = await this.rejects.commit();
    if (!hasRejects) rmSync(this.rejectsPath, { force: true });
    return { tables, rejects: hasRejects ? this.rejectsPath : undefined };
  }

  async abort(): Promise<void> {
    for (const f of this.files.values()) await f.abort();
    await this.rejects.abort();
  }
}
