// Who a log file is, independent of how it was named on the command line: the key of its resume
// position in every destination (and the seed of BigQuery's insertIds). A rerun from another folder, or with the folder
// instead of the file as argument, must find the same identity, or rows would be sent twice.
//
// Identity = the collector's layout name (`YYYY/MM/DD/HHMM.log` when the path ends that way,
// else the file name) + a hash of the file's first line. The name alone is not enough: flat
// folders of several days repeat `2339.log`, and two different files must never share a resume
// position. The first line is stable (files are only appended to), and two files whose first
// lines are equal are copies of each other, for which sharing ids is exactly right.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { ConfigError, describeError } from '../errors.js';
import { isJip3Path } from './list.js';

/** How far the first line is read at most (a line can be many megabytes; its head is enough). */
const HEAD_BYTES = 64 << 10;

export function layoutName(path: string): string {
  const parts = path.split(/[\\/]+/);
  const n = parts.length;
  if (n >= 4 && /^\d{4}$/.test(parts[n - 4]!) && /^\d{2}$/.test(parts[n - 3]!) && /^\d{2}$/.test(parts[n - 2]!)) {
    return parts.slice(n - 4).join('/');
  }
  return basename(path);
}

/**
 * The identity of a file, or undefined when its first line is not complete yet (only possible
 * while a collector is writing it; `whole` accepts an unterminated first line, for files that
 * are not being written any more).
 */
export async function fileIdentity(path: string, whole: boolean): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new ConfigError(`cannot open ${path}: ${describeError(e)}`);
  }
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    let n = 0;
    while (n < HEAD_BYTES) {
      const { bytesRead } = await fh.read(buf, n, HEAD_BYTES - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n === 0) return undefined;
    if (isJip3Path(path)) {
      // A JIP-3 capture has no lines: its "first line" is the file header and first record.
      const need = n >= 45 ? Math.min(HEAD_BYTES, 45 + buf.readUInt32LE(41)) : Infinity;
      if (n < need && !whole) return undefined;
      return `${layoutName(path)}#${createHash('sha256').update(buf.subarray(0, Math.min(n, need))).digest('hex').slice(0, 16)}`;
    }
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl === -1 && n < HEAD_BYTES && !whole) return undefined;
    const head = buf.subarray(0, nl === -1 ? n : nl + 1);
    return `${layoutName(path)}#${createHash('sha256').update(head).digest('hex').slice(0, 16)}`;
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${describeError(e)}`);
  } finally {
    await fh.close();
  }
}

/**
 * The identity fileIdentity(path, true) gives, from bytes already read from the file's start
 * (a first chunk of whole lines, or an over-long first line's head): a run that starts every
 * file at 0 need not open each file twice.
 */
export function identityFromStart(path: string, data: Buffer): string | undefined {
  if (data.length === 0) return undefined;
  const buf = data.subarray(0, HEAD_BYTES);
  const nl = buf.indexOf(10);
  const head = buf.subarray(0, nl === -1 ? buf.length : nl + 1);
  return `${layoutName(path)}#${createHash('sha256').update(head).digest('hex').slice(0, 16)}`;
}
