// Reference (p): a stand-in for the reference PoC's Dune converter (jam-duna/jam-etl,
// dune/jam_to_dune.js; its code is not copied here, only the shape of its loop): every file in
// name order, line by line with readline, JSON.parse, a switch on msg_type, and one
// appendFileSync (open, write, close) per row into <out>/<table>.jsonl. Statistics fan out per
// validator, core and service as the PoC's tables do; a preimage's blob is hashed (Blake2b-512
// from node:crypto, as the PoC does); a block's row has no codec_encoded (the PoC leaves it out).
// No validation, no rejects, no atomic files. Rows are built roughly (envelope fields + the JAM
// object's fields): the cost that matters is one appendFileSync per row. BENCHMARKS.md says how
// close its ratio to (a) is to the PoC's own, measured in issue 11.
// Usage: node bench/poc-like.mjs <out-dir> <files...>; prints {"lines", "bytes", "rows"} as JSON.
import { createHash } from 'node:crypto';
import { appendFileSync, createReadStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [out, ...files] = process.argv.slice(2);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const TABLES = { 128: 'blocks', 255: 'workreports', 142: 'preimages', 141: 'assurances', 131: 'tickets', 133: 'workpackages', 143: 'services', 135: 'segments' };
let lines = 0;
let bytes = 0;
let rows = 0;
const put = (table, row) => {
  appendFileSync(join(out, `${table}.jsonl`), JSON.stringify(row) + '\n');
  rows++;
};
for (const file of [...files].sort()) {
  bytes += statSync(file).size;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    lines++;
    let o;
    try {
      o = JSON.parse(line);
    } catch (e) {
      console.error(`bad line: ${e.message}`);
      continue;
    }
    const env = { time: o.time, sender_id: o.sender_id, team: String(o.sender_id ?? '').slice(0, 4), elapsed: o.elapsed ?? null };
    const j = o.json_encoded ?? {};
    const t = Number(o.msg_type);
    if (t === 13) {
      (j.vals_current ?? []).forEach((v, i) => put('validatorstatistics', { ...env, validator_id: i, ...v }));
      (j.cores ?? []).forEach((c, i) => put('corestatistics', { ...env, core: i, ...c }));
      (j.services ?? []).forEach((s) => put('servicestatistics', { ...env, service_id: s.id, ...s.record }));
    } else if (TABLES[t]) {
      const row = t === 128 ? { ...env } : { ...env, codec_encoded: o.codec_encoded ?? null };
      if (t === 142 && typeof j.blob === 'string') row.preimage_hash = '0x' + createHash('blake2b512').update(Buffer.from(j.blob.replace(/^0x/, ''), 'hex')).digest().subarray(0, 32).toString('hex');
      if (j && typeof j === 'object' && !Array.isArray(j)) for (const [k, v] of Object.entries(j)) row[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
      else row.data = JSON.stringify(j);
      put(TABLES[t], row);
    }
  }
}
process.stdout.write(JSON.stringify({ lines, bytes, rows }) + '\n');
