// The speed paths must not change a byte: small files read ahead whole (input/reader.ts
// ReadAhead), chunks spread over worker threads (pipeline.ts), long strings written past
// JSON.stringify (serialize.ts). The fixtures laid out as the collector writes them
// (YYYY/MM/DD/HHMM.log, with a few bad lines and an unterminated last line), converted with
// every combination of --workers and read size, must give the same files.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { convertToDune } from '../dist/commands/dune.js';
import { FIXTURE, needsShared, tempDir } from './helpers.mjs';

test('minute files: --workers 1 and 2, whole-file reads and small reads, give the same bytes', needsShared(), async (t) => {
  const dir = tempDir(t);
  const logs = join(FIXTURE, 'logs');
  const fixtures = readdirSync(logs).filter((f) => f.endsWith('.log')).sort().map((f) => readFileSync(join(logs, f)));
  const input = join(dir, 'in');
  for (let i = 0; i < 24; i++) {
    const sub = join(input, '2025', '04', String(24 + Math.floor(i / 12)));
    mkdirSync(sub, { recursive: true });
    let body = fixtures[i % fixtures.length];
    if (i === 5) body = Buffer.concat([body, Buffer.from('{"not json\n\n   \n{"msg_type":999}\n')]);
    if (i === 23) body = Buffer.concat([body, Buffer.from('{"msg_type":141')]); // unterminated, not fresh
    const path = join(sub, `23${String(i).padStart(2, '0')}.log`);
    writeFileSync(path, body);
    const old = (Date.now() - 600_000) / 1000;
    utimesSync(path, old, old);
  }
  const outputs = [];
  for (const [workers, chunkBytes] of [[1, undefined], [2, undefined], [2, 4096], [1, 65536], [2, 65536]]) {
    const out = join(dir, `out-${workers}-${chunkBytes ?? 'd'}`);
    const s = await convertToDune({ paths: [input], out, workers, progress: false, ...(chunkBytes ? { chunkBytes } : {}) });
    assert.ok(s.rows_total > 1000);
    assert.ok(s.rejects >= 3, 'the bad lines are rejects');
    const files = {};
    for (const f of readdirSync(out).sort()) files[f] = readFileSync(join(out, f), 'utf8');
    outputs.push([`workers ${workers}, reads of ${chunkBytes ?? 'default'}`, files]);
  }
  for (const [what, files] of outputs.slice(1)) assert.deepEqual(files, outputs[0][1], what);
});
