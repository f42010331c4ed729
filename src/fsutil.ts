// File-system helpers every command that makes folders shares.
//
// Node's mkdirSync(path, {recursive: true}) loops forever at 100 % CPU on some file systems
// (under /proc, mkdir answers ENOENT for a parent that stat says exists), so folders are made
// here one level at a time, from the deepest existing ancestor down, with a bounded number of
// system calls and a one-line ConfigError naming the level that failed.
import { mkdirSync, statSync } from 'node:fs';
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

/** Whether a process with this pid exists (a lock's owner): EPERM means it does, owned by another user. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
