// A second, more common baseline: node:readline over a file stream, JSON.parse per line. Shown
// for reference only; the targets are against baseline-parse.mjs, the faster of the two.
// Usage: node bench/baseline-readline.mjs <files...>; prints {"lines", "bytes", "keys"} as JSON.
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';

let lines = 0;
let bytes = 0;
let keys = 0;
for (const file of process.argv.slice(2)) {
  bytes += statSync(file).size;
  const rl = createInterface({ input: createReadStream(file, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.length === 0) continue;
    keys += Object.keys(JSON.parse(line)).length;
    lines++;
  }
}
process.stdout.write(JSON.stringify({ lines, bytes, keys }) + '\n');
