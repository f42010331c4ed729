// The resume state of `jam-etl bigquery`: per destination (project.dataset) and per input file
// identity, the byte offset and line number up to which every row is acknowledged by BigQuery
// (stored, deduplicated or rejected into the rejects file). Written atomically (temporary file,
// fsync, rename), and only ever after the acknowledgement it records, so a SIGKILL at any moment
// leaves either the old or the new state, both true. A lock file keeps two runs apart.
import { pidAlive } from '../../fsutil.js';
import { makeDirs } from '../../fsutil.js';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError, describeError } from '../../errors.js';
import type { FilePosition } from '../sink.js';

export type { FilePosition };

export interface FileState extends FilePosition {
  /** The path it was last read from (for people; the key is the identity). */
  path: string;
  updated: string;
}

export interface LoadRange {
  id: string;
  path: string;
  start: FilePosition;
  end: FilePosition;
}

export interface LoadTableJob {
  jobId: string;
  attempt: number;
  state: 'pending' | 'done' | 'failed';
}

/** A load whose jobs were (maybe) submitted: kept until every table's job is done. */
export interface PendingLoad {
  created: string;
  ranges: LoadRange[];
  tables: Record<string, LoadTableJob>;
}

interface DestinationState {
  files: Record<string, FileState>;
  load?: PendingLoad;
  /** Every collector file at or before this layout name is wholly stored (src/input/follow.ts). */
  watermark?: string;
}

/**
 * The rejects file and its length when the state was saved: every reject of a line before a
 * recorded position is in those bytes, and none of a line after it. A run truncates the file
 * to that length before it appends, so a rerun after a crash writes no reject twice.
 */
export interface RejectsMark {
  path: string;
  bytes: number;
}

interface StateDoc {
  version: 1;
  destinations: Record<string, DestinationState>;
  rejects?: RejectsMark;
}

export class StateStore {
  private readonly doc: StateDoc;
  private readonly dest: DestinationState;
  private readonly lockPath: string;
  private locked = false;
  private dirty = false;
  saves = 0;

  private constructor(
    readonly path: string,
    readonly destination: string,
  ) {
    this.lockPath = `${path}.lock`;
    try {
      makeDirs(dirname(path), 'state folder');
    } catch (e) {
      throw new ConfigError(`cannot create the folder of state file ${path}: ${describeError(e)}`);
    }
    this.lock();
    try {
      this.doc = StateStore.read(path);
    } catch (e) {
      this.unlock();
      throw e;
    }
    this.dest = this.doc.destinations[destination] ??= { files: {} };
  }

  /** Opens (or starts) the state file for one destination and takes its lock. */
  static open(path: string, destination: string): StateStore {
    return new StateStore(path, destination);
  }

  private static read(path: string): StateDoc {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, destinations: {} };
      throw new ConfigError(`cannot read state file ${path}: ${describeError(e)}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new ConfigError(`state file ${path} is not valid JSON (${describeError(e)}); move it away to start over`);
    }
    const d = doc as Partial<StateDoc>;
    if (typeof d !== 'object' || d === null || d.version !== 1 || typeof d.destinations !== 'object' || d.destinations === null) {
      throw new ConfigError(`state file ${path} is not a jam-etl bigquery state (version 1)`);
    }
    return d as StateDoc;
  }

  private lock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockPath, 'wx');
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.locked = true;
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new ConfigError(`cannot create lock ${this.lockPath}: ${describeError(e)}`);
      }
      let pid = NaN;
      try {
        pid = Number.parseInt(readFileSync(this.lockPath, 'utf8'), 10);
      } catch {
        // Removed in between: try again.
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new ConfigError(`state file ${this.path} is in use by process ${pid} (lock ${this.lockPath}); remove the lock if that process is not jam-etl`);
      }
      // A lock left by a killed run.
      rmSync(this.lockPath, { force: true });
    }
    throw new ConfigError(`cannot take lock ${this.lockPath}`);
  }

  private unlock(): void {
    if (this.locked) rmSync(this.lockPath, { force: true });
    this.locked = false;
  }

  position(id: string): FilePosition | undefined {
    const f = this.dest.files[id];
    return f ? { offset: f.offset, line: f.line } : undefined;
  }

  setPosition(id: string, path: string, pos: FilePosition): void {
    const f = this.dest.files[id];
    if (f && f.offset === pos.offset && f.line === pos.line && f.path === path) return;
    this.dest.files[id] = { path, offset: pos.offset, line: pos.line, updated: new Date().toISOString() };
    this.dirty = true;
  }

  /** Every recorded position of this destination, per file identity. */
  positions(): Map<string, FilePosition> {
    const m = new Map<string, FilePosition>();
    for (const [id, f] of Object.entries(this.dest.files)) m.set(id, { offset: f.offset, line: f.line });
    return m;
  }

  deletePosition(id: string): void {
    if (!(id in this.dest.files)) return;
    delete this.dest.files[id];
    this.dirty = true;
  }

  get watermark(): string | undefined {
    return this.dest.watermark;
  }

  setWatermark(w: string): void {
    if (this.dest.watermark === w) return;
    this.dest.watermark = w;
    this.dirty = true;
  }

  get rejectsMark(): RejectsMark | undefined {
    return this.doc.rejects;
  }

  setRejectsMark(m: RejectsMark): void {
    const r = this.doc.rejects;
    if (r && r.path === m.path && r.bytes === m.bytes) return;
    this.doc.rejects = { ...m };
    this.dirty = true;
  }

  get pendingLoad(): PendingLoad | undefined {
    return this.dest.load;
  }

  setPendingLoad(p: PendingLoad | undefined): void {
    if (p) this.dest.load = p;
    else delete this.dest.load;
    this.dirty = true;
  }

  /** Writes the state if it changed: temporary file, fsync, rename. */
  save(force = false): void {
    if (!this.dirty && !force) return;
    const tmp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`);
    try {
      const fd = openSync(tmp, 'w');
      try {
        const buf = Buffer.from(JSON.stringify(this.doc, null, 1) + '\n');
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.path);
    } catch (e) {
      rmSync(tmp, { force: true });
      throw new ConfigError(`cannot write state file ${this.path}: ${describeError(e)}`);
    }
    this.dirty = false;
    this.saves++;
  }

  close(): void {
    this.unlock();
  }
}
