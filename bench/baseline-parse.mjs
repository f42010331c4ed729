// Baseline (a): read the lines and JSON.parse each, nothing else. A decent implementation, not a
// straw man: 1 MiB positional reads into one reused buffer, lines cut with Buffer#indexOf, the
// only copy being the string JSON.parse needs. A line cut by a read is carried over whole.
// With --reserialize, reference (a″): the same loop plus JSON.stringify of every parsed line
// (nothing written). POC.md says the reference PoC runs about as fast as "parsing and
// re-serialising every line": this calibrates that claim on the machine at hand.
// Usage: node bench/baseline-parse.mjs [--reserialize] <files...>; prints {"lines", "bytes", "keys"}.
import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 20;
let lines = 0;
let bytes = 0;
let keys = 0; // consumed, so the parse (and stringify) cannot be optimised away
const args = process.argv.slice(2);
const reserialize = args[0] === '--reserialize';
const files = reserialize ? args.slice(1) : args;
const consume = reserialize ? (text) => JSON.stringify(JSON.parse(text)).length : (text) => Object.keys(JSON.parse(text)).length;
let buf = Buffer.allocUnsafe(CHUNK);
for (const file of files) {
  const fd = openSync(file, 'r');
  let have = 0; // bytes of an unfinished line kept at the front of buf
  let pos = 0;
  for (;;) {
    if (have === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, have);
      buf = bigger;
    }
    const n = readSync(fd, buf, have, buf.length - have, pos);
    pos += n;
    bytes += n;
    const end = have + n;
    let s = 0;
    for (let nl = buf.indexOf(10, s); nl !== -1 && nl < end; nl = buf.indexOf(10, s)) {
      if (nl > s) {
        keys += consume(buf.toString('utf8', s, nl));
        lines++;
      }
      s = nl + 1;
    }
    if (n === 0) {
      if (end > s) {
        keys += consume(buf.toString('utf8', s, end));
        lines++;
      }
      break;
    }
    have = end - s;
    buf.copy(buf, 0, s, end);
  }
  closeSync(fd);
}
process.stdout.write(JSON.stringify({ lines, bytes, keys }) + '\n');
