// File-system helpers every command that makes folders shares.
//
// Node's mkdirSync(path, {recursive: true}) loops forever at 100 % CPU on some file systems
// (under /proc, mkdir answers ENOENT for a parent that stat says exists), so folders are made
// here one level at a time, from the deepest existing ancestor down, with a bounded number of
// system calls and a one-line ConfigError naming the level that failed.
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError, describeError } from './errors.js';

/** The levels of `path` that do not exist yet, outermost first (synchronous). */
function missingLevels(path: string, what: string): string[] {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // ENOTDIR: a file somewhere above; going up finds it and says so.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new ConfigError(`cannot make ${what} ${path}: ${p}: ${describeError(e)}`);
    }
    if (st) {
      if (!st.isDirectory()) throw new ConfigError(`cannot make ${what} ${path}: ${p} is not a folder`);
      break;
    }
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  return missing.reverse();
}

/**
 * Makes `path` and any missing parents, one level at a time; a ConfigError ("cannot make
 * <what> <path>: <level>: <reason>") when any level cannot be made. `what` names the folder's
 * role in messages ("output folder", "state folder", …).
 */
export function makeDirs(path: string, what = 'folder'): void {
  for (const level of missingLevels(path, what)) {
    try {
      mkdirSync(level);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Someone else made it meanwhile: fine if it is a folder now.
      if (code === 'EEXIST' && statSync(level, { throwIfNoEntry: false })?.isDirectory()) continue;
      throw new ConfigError(`cannot make ${what} ${path}: ${level}: ${describeError(e)}`);
    }
  }
}

/** makeDirs, for async callers (same checks; the mkdir calls are async). */
export async function makeDirsAsync(path: string, what = 'folder'): Promise<void> {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    const st = await stat(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
      throw new ConfigError(`cannot make ${what} ${path}: ${p}: ${describeError(e)}`);
    });
    if (st) {
      if (!st.isDirectory()) throw new ConfigError(`cannot make ${what} ${path}: ${p} is not a folder`);
      break;
    }
    missing.push(p);
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(level).catch(() => undefined))?.isDirectory()) continue;
      throw new ConfigError(`cannot make ${what} ${path}: ${level}: ${describeError(e)}`);
    }
  }
}
