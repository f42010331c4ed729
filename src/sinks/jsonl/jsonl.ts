// The JSONL sink (the Dune export): one `<table>.jsonl` per table in the output folder, plus a
// rejects file. Everything is written to temporary files and renamed into place at the end, so
// an interrupted run never leaves half a table and a finished run replaces the previous one.
//
// Before a line is read (the constructor): every output path is checked (the folders are made;
// a target that exists must be a regular file, or a symlink to one, which is written through;
// a folder, FIFO, device or socket is refused), and the output folder (and the rejects file's
// folder) is locked with `.jam-etl.lock` holding the pid, so a second run on the same folder
// fails at once with one line instead of deleting the first run's temporary files. Temporary
// files are named `.<file>.<pid>.tmp`; only those whose pid is no longer alive are cleaned up.
//
// commit() is all-or-nothing: every file is written, fsynced and closed first; then each target
// that will be replaced is hard-linked to a backup (`.<file>.<pid>.bak`), each target that will
// be removed (a table without rows this time) is renamed to its backup, and the temporaries are
// renamed into place. If any of that fails, what was done is undone from the backups, so the
// folder shows either the whole new run (tables and rejects) or the whole previous one.
import { pidAlive } from '../../fsutil.js';
import { closeSync, copyFileSync, fsyncSync, linkSync, lstatSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync, writev, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { makeDirs } from '../../fsutil.js';
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
  /** Where the bytes really go: the path itself, or the regular file a symlink at it names. */
  readonly target: string;
  readonly tmp: string;
  bytes = 0;

  constructor(
    readonly path: string,
    private readonly backlog: Backlog,
  ) {
    this.target = checkTarget(path);
    this.tmp = tmpName(this.target, 'tmp');
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

  /** Opens the temporary file now (the check that its folder is writable, before any line is read). */
  open(): void {
    try {
      this.fd ??= openSync(this.tmp, 'w');
    } catch (e) {
      throw new ConfigError(`cannot write ${this.tmp}: ${describeError(e)}`);
    }
  }

  /** Hands the gathered parts to a write that runs after the ones already under way. */
  private flush(): void {
    if (this.parts.length === 0) return;
    this.open();
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
    const fd = this.fd!;
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

  /** Whether anything was written (the file will be put in place). */
  get hasData(): boolean {
    return this.bytes > 0 || this.pending > 0;
  }

  /** Flushes, waits for the writes, syncs and closes; the rename is the sink's (all files at once). */
  async finish(): Promise<void> {
    this.flush();
    await this.writing;
    if (this.failure) throw this.failure;
    if (this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
    } catch (e) {
      throw new ConfigError(`cannot finish ${this.path}: ${describeError(e)}`);
    }
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

/** `.<name>.<pid>.<kind>` next to `path`. */
function tmpName(path: string, kind: 'tmp' | 'bak'): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${kind}`);
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Where an output file really goes: `path` itself when it does not exist or is a regular file;
 * the file a symlink names when it names a regular file (written through: the link stays).
 * Anything else is refused, since replacing it would destroy it (a device node, a FIFO) or fail
 * only at the very end (a folder).
 */
function checkTarget(path: string): string {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return resolve(path);
    throw new ConfigError(`cannot use output file ${path}: ${describeError(e)}`);
  }
  if (st.isFile()) return resolve(path);
  if (st.isSymbolicLink()) {
    let real: string;
    try {
      real = realpathSync(path);
    } catch {
      throw new ConfigError(`output file ${path} is a symlink to nothing; remove it or point it at a regular file`);
    }
    const t = statSync(real);
    if (t.isFile()) return real;
    throw new ConfigError(`output file ${path} is a symlink to ${kindOf(t)} (${real}); jam-etl writes only regular files`);
  }
  throw new ConfigError(`output file ${path} is ${kindOf(st)}; jam-etl writes only regular files (give another path)`);
}

export const LOCK_FILE = '.jam-etl.lock';
// Folders this process holds the lock of (a lock with our own pid not in here is stale: a
// process whose pid was reused after a kill).
const heldLocks = new Set<string>();

/** Takes `<dir>/.jam-etl.lock` (O_EXCL, holding the pid); a stale lock (dead pid) is taken over. */
function lockFolder(dir: string): string {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldLocks.add(path);
      return path;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot lock output folder ${dir}: ${describeError(e)}`);
    }
    let pid = NaN;
    try {
      pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    } catch {
      // Removed in between: try again.
    }
    if (Number.isInteger(pid) && pid > 0 && (pid === process.pid ? heldLocks.has(path) : pidAlive(pid))) {
      throw new ConfigError(`output folder ${dir} is in use by another jam-etl run (pid ${pid}; lock ${path}); wait for it, or remove the lock if that process is not jam-etl`);
    }
    rmSync(path, { force: true });
  }
  throw new ConfigError(`cannot lock output folder ${dir}`);
}

/**
 * Removes `.<name>.<pid>.tmp` files left by runs whose process is gone. A `.bak` of such a run
 * (it died in the middle of commit's renames) is the previous file: put back if its name is
 * free, else removed.
 */
function removeStaleTemporaries(dir: string): void {
  for (const name of readdirSync(dir)) {
    const m = /^\.(.+)\.(\d+)\.(tmp|bak)$/.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    const target = join(dir, m[1]!);
    if (m[3] === 'bak' && !lstatSync(target, { throwIfNoEntry: false })) renameSync(join(dir, name), target);
    else rmSync(join(dir, name), { force: true });
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
  private readonly locks: string[] = [];
  private readonly releaseOnExit = (): void => this.unlock();

  /**
   * Checks every output path, makes the folders, locks them and opens the rejects' temporary
   * file: a ConfigError (one line, exit 2) here means nothing was read and nothing changed.
   */
  constructor(
    readonly outDir: string,
    readonly rejectsPath: string,
  ) {
    if (rejectsPath === '') throw new ConfigError('--rejects must name a file');
    makeDirs(outDir, 'output folder');
    makeDirs(dirname(rejectsPath), 'rejects folder');
    const tablePaths = new Set(TABLE_NAMES.map((t) => resolve(join(outDir, `${t}.jsonl`))));
    if (tablePaths.has(resolve(rejectsPath))) throw new ConfigError(`--rejects ${rejectsPath} is one of the table files; give another file`);
    // Every target is checked now, not at the end of the run.
    for (const t of TABLE_NAMES) checkTarget(join(outDir, `${t}.jsonl`));
    this.rejects = new AtomicFile(rejectsPath, this.backlog);
    try {
      const dirs = new Set([realpathSync(outDir), realpathSync(dirname(this.rejects.target))]);
      for (const d of dirs) this.locks.push(lockFolder(d));
      process.once('exit', this.releaseOnExit);
      for (const d of dirs) removeStaleTemporaries(d);
      this.rejects.open();
    } catch (e) {
      this.unlock();
      rmSync(this.rejects.tmp, { force: true });
      throw e instanceof ConfigError ? e : new ConfigError(`cannot use output folder ${outDir}: ${describeError(e)}`);
    }
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
   * Puts every file in place, all or nothing. A table without rows gets no file, and the file an
   * earlier run left for it is removed, so the folder always shows exactly this run's output.
   */
  async commit(): Promise<{ tables: JsonlOutput[]; rejects: string | undefined }> {
    try {
      const all = [...this.files.values(), this.rejects];
      for (const f of all) await f.finish();
      // The plan: files to put in place, and old files to remove.
      const put: AtomicFile[] = [];
      const remove: string[] = [];
      const tables: JsonlOutput[] = [];
      for (const t of TABLE_NAMES) {
        const f = this.files.get(t);
        if (f?.hasData) {
          put.push(f);
          tables.push({ table: t, path: f.path, bytes: f.bytes });
        } else {
          if (f) rmSync(f.tmp, { force: true });
          // The name in the folder goes (a symlink there is removed, not what it points to).
          remove.push(resolve(join(this.outDir, `${t}.jsonl`)));
        }
      }
      const hasRejects = this.rejects.hasData;
      if (hasRejects) put.push(this.rejects);
      else {
        rmSync(this.rejects.tmp, { force: true });
        remove.push(resolve(this.rejectsPath));
      }
      swapIn(put, remove);
      return { tables, rejects: hasRejects ? this.rejectsPath : undefined };
    } catch (e) {
      await this.abort();
      throw e;
    } finally {
      this.unlock();
    }
  }

  async abort(): Promise<void> {
    for (const f of this.files.values()) await f.abort();
    await this.rejects.abort();
    this.unlock();
  }

  private unlock(): void {
    process.removeListener('exit', this.releaseOnExit);
    for (const l of this.locks.splice(0)) {
      heldLocks.delete(l);
      rmSync(l, { force: true });
    }
  }
}

// Tests make the n-th rename of swapIn fail (1-based) to show the rollback; 0 = never.
let failRenameAt = 0;
export function failNthRenameForTests(n: number): void {
  failRenameAt = n;
}

/**
 * Renames every temporary into place and removes the old files, or, if any step fails,
 * restores exactly the previous files.
 */
function swapIn(put: AtomicFile[], remove: string[]): void {
  // Backups: a hard link of each target to be replaced (it stays in place until the rename),
  // the target itself (renamed) for each one to be removed.
  const backups: { target: string; bak: string; moved: boolean }[] = [];
  const renamed: AtomicFile[] = [];
  let renames = 0;
  const rename = (from: string, to: string): void => {
    if (++renames === failRenameAt) throw Object.assign(new Error(`rename ${from} failed (test)`), { code: 'EIO' });
    renameSync(from, to);
  };
  try {
    for (const f of put) {
      if (!lstatSync(f.target, { throwIfNoEntry: false })) continue;
      const bak = tmpName(f.target, 'bak');
      rmSync(bak, { force: true });
      try {
        linkSync(f.target, bak);
      } catch {
        copyFileSync(f.target, bak);
      }
      backups.push({ target: f.target, bak, moved: false });
    }
    for (const target of remove) {
      if (!lstatSync(target, { throwIfNoEntry: false })) continue;
      const bak = tmpName(target, 'bak');
      rename(target, bak);
      backups.push({ target, bak, moved: true });
    }
    for (const f of put) {
      rename(f.tmp, f.target);
      renamed.push(f);
    }
  } catch (e) {
    // Undo: new files out, old files back.
    for (const f of renamed) rmSync(f.target, { force: true });
    for (const b of backups) {
      try {
        renameSync(b.bak, b.target);
      } catch {
        // Leave the backup where it is: it is named after the file it holds.
      }
    }
    for (const f of put) rmSync(f.tmp, { force: true });
    throw new ConfigError(`cannot put the output in place (${describeError(e)}); the previous files were kept`);
  }
  for (const b of backups) rmSync(b.bak, { force: true });
  for (const dir of new Set([...put.map((f) => dirname(f.target)), ...remove.map((r) => dirname(r))])) syncDir(dir);
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every file system lets a folder be synced; the renames are done either way.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
