// Listing the input: files and folders named on the command line become the sorted list of
// `.log` files to read (the collector's YYYY/MM/DD/HHMM.log paths sort in time order).
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, describeError } from '../errors.js';

/** JIP-3 capture files (src/jip3/capture.ts), listed beside the .log files. */
export const JIP3_EXTENSION = '.jip3';
export const isJip3Path = (p: string): boolean => p.endsWith(JIP3_EXTENSION);

export interface InputFile {
  path: string;
  size: number;
}

/** Expands files and folders (recursively, `*.log` and `*.jip3`) into a sorted, de-duplicated list. */
export async function listLogFiles(paths: readonly string[]): Promise<InputFile[]> {
  const found = new Map<string, number>();
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw new ConfigError(`cannot read folder ${dir}: ${describeError(e)}`);
    }
    for (const ent of entries) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) await walk(p);
      else if ((ent.name.endsWith('.log') || ent.name.endsWith(JIP3_EXTENSION)) && (ent.isFile() || ent.isSymbolicLink())) {
        const st = await stat(p).catch(() => undefined);
        if (st?.isFile()) found.set(p, st.size);
      }
    }
  }
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      throw new ConfigError(`input not found: ${p} (${(e as NodeJS.ErrnoException).code ?? describeError(e)})`);
    }
    if (st.isDirectory()) await walk(p);
    else if (st.isFile()) found.set(p, st.size);
    else throw new ConfigError(`input is neither a file nor a folder: ${p}`);
  }
  return [...found]
    .map(([path, size]) => ({ path, size }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
