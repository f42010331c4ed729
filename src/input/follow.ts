// `--follow`: what to look at on each poll. A collector writes `DIR/YYYY/MM/DD/HHMM.log`, one file
// per minute, for months; listing the whole tree every two seconds would cost more with every day
// it runs. Over such a tree a poll lists only what can be new: the folders and files after the
// watermark (the newest minute up to which every file is wholly stored), that is, normally the
// root, the current year, month and day. Files wholly read and behind the newest fully read
// minute collapse into the watermark (the sink stores it instead of one position per file), so
// neither the poll nor the resume state grows with the age of the tree. Any other input (files,
// flat folders) is listed in full each poll.
import { readdir, stat } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { join } from 'node:path';
import { listLogFiles, type InputFile } from './list.js';

/**
 * How long a file must be unchanged before an unterminated last line counts as final (before
 * that it is held back: a collector may be in the middle of writing it), and before a minute file
 * behind a newer one may collapse into the watermark.
 */
export const SETTLE_MS = 10_000;

const YEAR = /^\d{4}$/;
const TWO = /^\d{2}$/;
// HHMM.log, and HHMM.jip3 (JIP-3 captures, docs/jip3.md) beside them; within a minute the .jip3
// sorts first, and collapsing walks the sorted names, so the watermark stays one point in time.
const MINUTE = /^\d{4}\.(log|jip3)$/;

export interface FollowFs {
  readdir(dir: string): Promise<Dirent[]>;
  stat(path: string): Promise<Stats>;
}

const NODE_FS: FollowFs = {
  readdir: (dir) => readdir(dir, { withFileTypes: true }),
  stat: (p) => stat(p),
};

export interface FollowOptions {
  /** The watermark the sink holds (a layout name), if any. */
  watermark?: string;
  settleMs?: number;
  /** For tests: count what a poll costs. */
  fs?: FollowFs;
}

export class Follower {
  /** Folder listings done so far, and the entries they returned (tests read these). */
  readdirCalls = 0;
  entriesListed = 0;
  private watermark: string | undefined;
  private readonly settleMs: number;
  private readonly fs: FollowFs;
  /** Tree files listed and not collapsed: path -> layout name and last seen mtime. */
  private readonly known = new Map<string, { layout: string; mtimeMs: number }>();
  private treeRoots = 0;
  private otherRoots = 0;

  constructor(
    private readonly roots: readonly string[],
    opts: FollowOptions = {},
  ) {
    this.watermark = opts.watermark;
    this.settleMs = opts.settleMs ?? SETTLE_MS;
    this.fs = opts.fs ?? NODE_FS;
  }

  setWatermark(w: string): void {
    this.watermark = w;
  }

  private async list(dir: string): Promise<Dirent[]> {
    this.readdirCalls++;
    const ents = await this.fs.readdir(dir);
    this.entriesListed += ents.length;
    return ents;
  }

  /** The files to look at in this poll (new ones and ones that may have grown), sorted by path. */
  async poll(): Promise<InputFile[]> {
    const out = new Map<string, number>();
    this.treeRoots = 0;
    this.otherRoots = 0;
    for (const root of this.roots) {
      const st = await this.fs.stat(root).catch(() => undefined);
      if (st?.isDirectory()) {
        const ents = await this.list(root);
        // Only year folders (hidden entries and files other than .log aside).
        const isTree = ents.some((e) => e.isDirectory() && YEAR.test(e.name)) && ents.every((e) => e.name.startsWith('.') || (e.isDirectory() ? YEAR.test(e.name) : !e.name.endsWith('.log')));
        if (isTree) {
          this.treeRoots++;
          await this.walkTree(root, ents, out);
          continue;
        }
      }
      this.otherRoots++;
      for (const f of await listLogFiles([root], { allowEmpty: true })) out.set(f.path, f.size);
    }
    return [...out]
      .map(([path, size]) => ({ path, size }))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private async walkTree(root: string, years: Dirent[], out: Map<string, number>): Promise<void> {
    const w = this.watermark?.split('/');
    const names = (ents: Dirent[], re: RegExp, dirs: boolean): string[] =>
      ents
        .filter((e) => (dirs ? e.isDirectory() : e.isFile() || e.isSymbolicLink()) && re.test(e.name))
        .map((e) => e.name)
        .sort();
    for (const y of names(years, YEAR, true)) {
      if (w && y < w[0]!) continue;
      const inY = !!w && y === w[0];
      for (const m of names(await this.list(join(root, y)), TWO, true)) {
        if (inY && m < w[1]!) continue;
        const inM = inY && m === w[1];
        for (const d of names(await this.list(join(root, y, m)), TWO, true)) {
          if (inM && d < w[2]!) continue;
          for (const f of names(await this.list(join(root, y, m, d)), MINUTE, false)) {
            const layout = `${y}/${m}/${d}/${f}`;
            if (this.watermark && layout <= this.watermark) continue;
            const path = join(root, y, m, d, f);
            const st = await this.fs.stat(path).catch(() => undefined);
            if (!st?.isFile()) continue;
            out.set(path, st.size);
            this.known.set(path, { layout, mtimeMs: st.mtimeMs });
          }
        }
      }
    }
  }

  /**
   * Right after the sink made everything written durable: the tree files that can collapse
   * into a watermark (oldest first, each read to its end, unchanged for the settle time, older
   * than the newest minute read to its end), or undefined. Only over a single collector tree: a
   * watermark is one point in one collector's time.
   */
  collapsible(isComplete: (path: string) => boolean): { watermark: string; paths: string[] } | undefined {
    if (this.treeRoots !== 1 || this.otherRoots !== 0) return undefined;
    const files = [...this.known].sort((a, b) => (a[1].layout < b[1].layout ? -1 : a[1].layout > b[1].layout ? 1 : 0));
    let newest: string | undefined;
    for (const [p, k] of files) if (isComplete(p)) newest = k.layout;
    if (!newest) return undefined;
    const now = Date.now();
    const paths: string[] = [];
    let watermark: string | undefined;
    for (const [p, k] of files) {
      if (k.layout >= newest || !isComplete(p) || now - k.mtimeMs < this.settleMs) break;
      paths.push(p);
      watermark = k.layout;
    }
    if (!watermark) return undefined;
    for (const p of paths) this.known.delete(p);
    return { watermark, paths };
  }
}
