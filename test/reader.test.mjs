// The reader against a reference splitter: whatever the read size and line limit, the chunks
// carry exactly the file's lines, with the right line numbers and byte offsets, and a line over
// the limit becomes one over-long record (its head and its size).
import assert from 'node:assert/strict';
import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReadAhead, readChunks, readFiles, wholeFileChunks } from '../dist/input/reader.js';
import { readFileSync } from 'node:fs';
import { tempDir } from './helpers.mjs';

function reference(buf) {
  const out = [];
  let s = 0;
  let line = 1;
  while (s < buf.length) {
    let nl = buf.indexOf(10, s);
    const end = nl === -1 ? buf.length : nl + 1;
    out.push({ line, offset: s, bytes: buf.subarray(s, nl === -1 ? buf.length : nl) });
    line++;
    s = end;
  }
  return out;
}

async function lines(file, opts) {
  return linesOf(readChunks(file, opts));
}

async function linesOf(chunks) {
  const out = [];
  for await (const c of chunks) {
    if (c.overlong) {
      out.push({ line: c.startLine, offset: c.startOffset, overlong: c.overlong.bytes, head: c.overlong.head, terminated: c.overlong.terminated });
      continue;
    }
    let s = 0;
    let line = c.startLine;
    const d = c.data;
    let n = 0;
    while (s < d.length) {
      const nl = d.indexOf(10, s);
      const e = nl === -1 ? d.length : nl;
      out.push({ line, offset: c.startOffset + s, bytes: Buffer.from(d.subarray(s, e)) });
      line++;
      n++;
      s = nl === -1 ? d.length : nl + 1;
    }
    assert.equal(n, c.lines, 'Chunk.lines counts its lines');
  }
  return out;
}

test('reader: lines, numbers and offsets at every read size, long lines read whole, over-long ones cut', async (t) => {
  const dir = tempDir(t);
  let x = 12345;
  const rnd = (n) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
  const parts = [];
  for (let i = 0; i < 60; i++) {
    const kind = rnd(6);
    const len = kind === 0 ? 0 : kind === 1 ? rnd(10) : kind === 2 ? rnd(200) : kind === 3 ? 1000 + rnd(3000) : kind === 4 ? 5000 + rnd(20000) : 40000 + rnd(30000);
    parts.push(Buffer.alloc(len, 97 + (i % 26)));
  }
  // Tiny reads on a small file (lines up to ~25 KB), ordinary ones on the whole (~1 MB).
  const small = parts.filter((p) => p.length < 6000).slice(0, 12);
  for (const [set, sizes] of [[small, [1, 7, 100]], [parts, [4096, 65536, 1 << 20]]])
  for (const lastNewline of [true, false]) {
    const buf = Buffer.concat(set.flatMap((p, i) => (i < set.length - 1 || lastNewline ? [p, Buffer.from('\n')] : [p])));
    const file = join(dir, `in-${set.length}-${lastNewline}.log`);
    writeFileSync(file, buf);
    const ref = reference(buf);
    for (const chunkBytes of sizes) {
      for (const maxLineBytes of [undefined, 30000, 4096]) {
        if (maxLineBytes !== undefined && chunkBytes > maxLineBytes && chunkBytes !== 1 << 20) continue;
        const got = await lines(file, { chunkBytes, ...(maxLineBytes ? { maxLineBytes } : {}) });
        const what = `chunkBytes ${chunkBytes}, maxLineBytes ${maxLineBytes}, last newline ${lastNewline}`;
        assert.equal(got.length, ref.length, what);
        for (let i = 0; i < ref.length; i++) {
          const r = ref[i], g = got[i];
          assert.equal(g.line, r.line, what);
          assert.equal(g.offset, r.offset, what);
          if (maxLineBytes !== undefined && r.bytes.length > maxLineBytes) {
            assert.equal(g.overlong, r.bytes.length, `${what}: line ${r.line} is over-long`);
            assert.ok(r.bytes.subarray(0, g.head.length).equals(g.head), what);
            assert.equal(g.terminated, i < ref.length - 1 || lastNewline, what);
          } else {
            assert.ok(g.bytes && g.bytes.equals(r.bytes), `${what}: line ${r.line} (${r.bytes.length} bytes)`);
          }
        }
      }
    }
  }
});

test('reader: a long last line without its newline is the last chunk, even if the file grows after it was given out', async (t) => {
  const { appendFileSync } = await import('node:fs');
  const dir = tempDir(t);
  const file = join(dir, 'growing.log');
  writeFileSync(file, 'short\n' + 'x'.repeat(200_000));
  const got = [];
  for await (const c of readChunks(file, { chunkBytes: 4096 })) {
    got.push(c.data.toString());
    // A collector finishes the line (and writes another) while the consumer works on it.
    if (!c.data.toString().endsWith('\n')) appendFileSync(file, 'yy\nnext\n');
  }
  assert.deepEqual(got.map((s) => s.length), [6, 200_000], 'nothing read after the unterminated last line');
});

test('readFiles: many files, small ones read whole, give the same lines, numbers, offsets and files as readChunks file by file', async (t) => {
  const dir = tempDir(t);
  const bodies = ['', 'a\nbb\n', 'no newline at all', '\n\nx\n', 'one\ntwo\nunterminated', 'y'.repeat(3000) + '\n' + 'z'.repeat(10) + '\n', 'q\n'.repeat(900), '\r\n{}\r\n'];
  const files = bodies.map((b, i) => {
    const path = join(dir, `${String(i).padStart(2, '0')}.log`);
    writeFileSync(path, b);
    return { path, size: statSync(path).size };
  });
  // A file that grows after it was listed: the listed size is stale, all of it is still read.
  appendFileSync(files[1].path, 'grown\n'.repeat(500));
  for (const chunkBytes of [7, 64, 1024, 4096, 1 << 20]) {
    const want = [];
    for (const f of files) for (const l of await lines(f.path, { chunkBytes })) want.push({ file: f.path, ...l });
    const got = [];
    for await (const c of readFiles(files, { chunkBytes })) {
      for (const l of await linesOf([c])) got.push({ file: c.file, ...l });
    }
    assert.deepEqual(got, want, `chunkBytes ${chunkBytes}`);
  }
});

test('readFiles: a file that cannot be opened fails when it is reached, after the files before it', async (t) => {
  const dir = tempDir(t);
  const ok = join(dir, 'a.log');
  writeFileSync(ok, 'x\n');
  const files = [{ path: ok, size: 2 }, { path: join(dir, 'gone.log'), size: 10 }, { path: join(dir, 'gone-big.log'), size: 10 << 20 }];
  const seen = [];
  await assert.rejects(async () => {
    for await (const c of readFiles(files)) seen.push(c.file);
  }, /cannot open .*gone\.log/);
  assert.deepEqual(seen, [ok]);
});

test('ReadAhead: small files come whole and in order even when the caller skips some; grown, large and missing files are left to the ordinary reads', async (t) => {
  const dir = tempDir(t);
  const files = [];
  for (let i = 0; i < 40; i++) {
    const path = join(dir, `${String(i).padStart(2, '0')}.log`);
    writeFileSync(path, `{"n":${i}}\n`.repeat(1 + (i % 5)) + (i % 3 === 0 ? 'tail' : ''));
    files.push({ path, size: statSync(path).size });
  }
  files.push({ path: join(dir, 'missing.log'), size: 10 });
  const big = join(dir, 'big.log');
  writeFileSync(big, 'x'.repeat(5000) + '\n');
  files.push({ path: big, size: 5001 });
  appendFileSync(files[30].path, 'grown\n'); // listed shorter than it is now
  const ahead = new ReadAhead(files, { chunkBytes: 4096 });
  for (let i = 0; i < 40; i += 1 + (i % 2)) {
    const got = await ahead.take(files[i].path);
    if (i === 30) {
      assert.equal(got, undefined, 'a file grown since listed is not given');
      continue;
    }
    assert.deepEqual(got, readFileSync(files[i].path), `file ${i}`);
    // Its chunks are readChunks' chunks, from any start.
    const want = await lines(files[i].path, { chunkBytes: 4096 });
    assert.deepEqual(await linesOf(wholeFileChunks(files[i].path, got)), want);
  }
  assert.equal(await ahead.take(files[40].path), undefined, 'a missing file: the ordinary path reports it');
  assert.equal(await ahead.take(big), undefined, 'not shorter than a read');
  await ahead.close();
});
