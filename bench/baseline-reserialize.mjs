// Reference (a″): the baseline-parse.mjs loop plus JSON.stringify of every parsed line (nothing
// written). POC.md says the reference PoC runs about as fast as "parsing and re-serialising every
// line": this calibrates that claim on the machine at hand.
// Usage: node bench/baseline-reserialize.mjs <files...>; prints {"lines", "bytes", "keys"} as JSON.
import { closeSync, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 20;
let lines = 0;
let bytes = 0;
let keys = 0; // characters serialised, consumed so nothing can be optimised away
let buf = Buffer.allocUnsafe(CHUNK);
for (const file of process.argv.slice(2)) {
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
        keys += JSON.stringify(JSON.parse(buf.toString('utf8', s, nl))).length;
        lines++;
      }
      s = nl + 1;
    }
    if (n === 0) {
      if (end > s) {
        keys += JSON.stringify(JSON.parse(buf.toString('utf8', s, end))).length;
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
