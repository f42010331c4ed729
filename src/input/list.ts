// Listing the input: files and folders named on the command line become the sorted list of
// `.log` files (and `.jip3` JIP-3 captures) to read (the collector's YYYY/MM/DD/HHMM.log paths
// sort in time order).
//
// A file is read once however it is named: `logs`, `$PWD/logs`, `logs/../logs`, a symlinked
// folder or a hard link all reach the same device + inode, and only the first name it was found
// under is kept. An input that holds no .log file at all is an error, not an empty run: an
// empty run would replace the previous output with nothing.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, describeError } from '../errors.js';

/** JIP-3 capture files (src/jip3/capture.ts), listed beside the .log files. */
export const JIP3_EXTENSION = '.jip3';
export const isJip3Path = (p: string): boolean => p.endsWith(JIP3_EXTENSION);
const isInputName = (name: string): boolean => name.endsWith('.log') || name.endsWith(JIP3_EXTENSION);

export interface InputFile {
  path: string;
  size: number;
}

/**
 * Expands files and folders (recursively, `*.log` and `*.jip3`) into a sorted list with every file once
 * (by device + inode, which also covers real paths); a ConfigError when nothing is found,
 * unless `allowEmpty` (a --follow run waits for the collector's first file).
 */
export async function listLogFiles(paths: readonly string[], opts: { allowEmpty?: boolean } = {}): Promise<InputFile[]> {
  // path -> size and identity; identities already listed, and folders already walked.
  const found = new Map<string, { size: number; id: string }>();
  const walked = new Set<string>();
  const idOf = (st: { dev: number | bigint; ino: number | bigint }): string => `${st.dev}:${st.ino}`;
  async function walk(dir: string, dirId: string): Promise<void> {
    // A folder reached twice (named twice, or through a symlink into itself) is walked once.
    if (walked.has(dirId)) return;
    walked.add(dirId);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw new ConfigError(`cannot read folder ${dir}: ${describeError(e)}`);
    }
    for (const ent of entries) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) {
        const st = await stat(p).catch(() => undefined);
        if (st) await walk(p, idOf(st));
      } else if (ent.isSymbolicLink()) {
        const st = await stat(p).catch(() => undefined);
        if (st?.isDirectory()) await walk(p, idOf(st));
        else if (st?.isFile() && isInputName(ent.name)) found.set(p, { size: st.size, id: idOf(st) });
      } else if (ent.isFile() && isInputName(ent.name)) {
        const st = await stat(p).catch(() => undefined);
        if (st?.isFile()) found.set(p, { size: st.size, id: idOf(st) });
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
    if (st.isDirectory()) await walk(p, idOf(st));
    else if (st.isFile()) found.set(p, { size: st.size, id: idOf(st) });
    else throw new ConfigError(`input is neither a file nor a folder: ${p}`);
  }
  // The first name a file was found under (command-line order) is the one kept. The benchmark's
  // 5 GB input is 160 symlinks to 8 files and sets JAM_ETL_ALLOW_DUPLICATE_INPUTS=1 to read
  // them all (names are still listed once each).
  const allowDuplicates = process.env['JAM_ETL_ALLOW_DUPLICATE_INPUTS'] === '1';
  const seen = new Set<string>();
  const out: InputFile[] = [];
  for (const [path, { size, id }] of found) {
    if (seen.has(id) && !allowDuplicates) continue;
    seen.add(id);
    out.push({ path, size });
  }
  out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (out.length === 0 && !opts.allowEmpty) {
    throw new ConfigError(`no .log or .jip3 files under ${paths.join(', ')} (files must end in .log or .jip3; folders are searched recursively)`);
  }
  return out;
}
