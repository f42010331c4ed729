// The one driver (src/pipeline/run.ts): resume positions given by the sink, batches in input
// order with their positions, a half-written last line held back (or, once the file is old, a
// reject of its own), --workers capped, SIGINT/SIGTERM stop cleanly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runToSink } from '../dist/pipeline/run.js';
import { fileIdentity } from '../dist/input/identity.js';
import { convertToDune } from '../dist/commands/dune.js';
import { BIN, envelope, readJsonl, ROOT, runCli, tempDir } from './helpers.mjs';

const ASSURANCE = { anchor: '0x' + '11'.repeat(32), bitfield: '0x03', signature: '0x' + '22'.repeat(64) };
const line = (i) => envelope(141, { ...ASSURANCE, validator_index: i }) + '\n';

/** A sink that records what it is given and starts files where `positions` says. */
function recordingSink(positions = new Map(), extra = {}) {
  const batches = [];
  return {
    name: 'test',
    batches,
    committed: false,
    aborted: false,
    async open() {
      return positions;
    },
    write(b) {
      batches.push(b);
    },
    async commit() {
      this.committed = true;
      return { tables: [] };
    },
    async abort() {
      this.aborted = true;
    },
    ...extra,
  };
}

test('runToSink: each file starts at the position the sink holds for its identity; batches carry contiguous positions', async (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'a.log');
  const b = join(dir, 'b.log');
  writeFileSync(a, line(1) + line(2) + line(3));
  writeFileSync(b, line(4) + '\n' + line(5));
  const idA = await fileIdentity(a, true);
  const second = Buffer.byteLength(line(1));
  const sink = recordingSink(new Map([[idA, { offset: second, line: 2 }]]));
  for (const workers of [1, 2]) {
    sink.batches.length = 0;
    const { summary } = await runToSink(sink, { command: 'test', paths: [dir], workers, progress: false, chunkBytes: 64 });
    assert.ok(sink.committed);
    const rows = sink.batches.filter((x) => x.path === a).reduce((n, x) => n + x.counters.rows.assurances, 0);
    assert.equal(rows, 2, 'a.log resumed after its first line');
    assert.equal(summary.files_resumed, 1);
    for (const p of [a, b]) {
      const bs = sink.batches.filter((x) => x.path === p);
      assert.equal(bs[0].start.offset, p === a ? second : 0);
      for (let i = 1; i < bs.length; i++) assert.deepEqual(bs[i].start, bs[i - 1].end, 'contiguous');
      assert.equal(bs.at(-1).end.offset, readFileSync(p).length);
      assert.ok(bs.every((x) => x.fileId === (p === a ? idA : x.fileId) && typeof x.fileId === 'string'));
    }
    assert.equal(sink.batches.at(-1).end.line, 4, 'b.log: 3 lines, next is line 4');
  }
});

test('runToSink: a sink asking for rowRefs gets line, index and line end per row, inline and on workers', async (t) => {
  const dir = tempDir(t);
  const a = join(dir, 'a.log');
  writeFileSync(a, line(1) + '\n' + line(3));
  for (const workers of [1, 2]) {
    const sink = recordingSink(new Map(), { rowRefs: true });
    await runToSink(sink, { command: 'test', paths: [a], workers, progress: false, chunkBytes: 16 << 10 });
    const refs = sink.batches.flatMap((x) => x.rowRefs.flatMap(([, r]) => [...r]));
    const l1 = Buffer.byteLength(line(1));
    assert.deepEqual(refs, [1, 0, l1, 3, 0, l1 + 1 + Buffer.byteLength(line(3))]);
  }
});

test('an unterminated last line: held back while the file is fresh (pending, not a reject); a reject unterminated_line once it is old', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'in.log');
  const half = line(2).slice(0, 50);
  writeFileSync(file, line(1) + half);
  const out = join(dir, 'out');
  const fresh = await convertToDune({ paths: [file], out, workers: 1, progress: false });
  assert.equal(fresh.rejects, 0);
  assert.equal(fresh.rows_total, 1);
  assert.equal(fresh.pending_lines, 1);
  assert.equal(fresh.pending_bytes, 50);
  assert.deepEqual(fresh.pending_files, [file]);
  const strict = await runCli(['dune', file, '-o', out, '--strict', '-q']);
  assert.equal(strict.code, 0, 'healthy input being written passes --strict');
  // A complete last line without its newline is a line like any other, fresh or not.
  const whole = join(dir, 'whole.log');
  writeFileSync(whole, line(1) + line(2).trimEnd());
  const w = await convertToDune({ paths: [whole], out, workers: 1, progress: false });
  assert.equal(w.rows_total, 2);
  assert.equal(w.pending_lines, 0);
  // Unchanged for longer than the settle time: it will never be completed.
  const old = (Date.now() - 60_000) / 1000;
  utimesSync(file, old, old);
  const s = await convertToDune({ paths: [file], out, workers: 2, progress: false });
  assert.equal(s.pending_lines, 0);
  assert.equal(s.rejects, 1);
  assert.deepEqual(s.rejects_by_reason, { unterminated_line: 1 });
  const rec = readJsonl(join(out, '_rejects.jsonl'));
  assert.equal(rec.length, 1);
  assert.equal(rec[0].code, 'unterminated_line');
  assert.equal(rec[0].line, 2);
  assert.equal(rec[0].raw, half);
  assert.equal(s.lines, s.row_lines + s.rejects + s.blank_lines);
});

test('--workers is capped at what can help (cores, chunks of input), and --help says so', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'in.log');
  writeFileSync(file, line(1));
  const t0 = Date.now();
  const r = await runCli(['dune', file, '-o', join(dir, 'out'), '-w', '1000', '--json', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).workers, 1, 'one chunk of input: one worker');
  assert.ok(Date.now() - t0 < 10_000, 'no thousand workers started');
  const help = await runCli(['dune', '--help']);
  assert.match(help.stdout, /capped at the number of cores/);
});

/** A log big enough that converting it takes a few seconds (spawned CLI, one worker). */
function bigLog(dir) {
  const file = join(dir, 'big.log');
  const lines = [];
  for (let i = 0; i < 20_000; i++) lines.push(line(i % 1000));
  const text = lines.join('');
  writeFileSync(file, text.repeat(8));
  return file;
}

for (const [sig, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
]) {
  test(`dune: ${sig} mid-run removes the temporary files, says "stopped", exits ${code}, leaves the previous export alone`, async (t) => {
    const dir = tempDir(t);
    const file = bigLog(dir);
    const out = join(dir, 'out');
    // A previous export in the folder: a stopped run must not replace or delete it.
    const small = join(dir, 'small.log');
    writeFileSync(small, line(1));
    assert.equal((await runCli(['dune', small, '-o', out, '-q'])).code, 0);
    const before = readFileSync(join(out, 'assurances.jsonl'));
    const child = spawn(process.execPath, [BIN, 'dune', file, '-o', out, '-w', '1'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise((res) => child.on('close', (c, s) => res({ code: c, signal: s })));
    // Wait until its temporary files exist, then signal it.
    const t0 = Date.now();
    while (!readdirSync(out).some((f) => f.endsWith('.tmp'))) {
      assert.ok(Date.now() - t0 < 30_000, 'temporary files appeared');
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill(sig);
    const r = await done;
    assert.equal(r.code, code, stderr);
    assert.match(stderr, /stopped/);
    assert.match(stderr, /lines read/);
    assert.deepEqual(readdirSync(out).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
    assert.ok(readFileSync(join(out, 'assurances.jsonl')).equals(before), 'the previous export is untouched');
    assert.ok(!existsSync(join(out, '_rejects.jsonl')));
  });
}

test('runToSink --follow: appended lines arrive, a half line waits, then (the file quiet) becomes unterminated_line; checkpoints per poll; a signal commits a resumable sink', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'a.log');
  writeFileSync(file, line(1));
  let checkpoints = 0;
  const sink = recordingSink(new Map(), {
    resumable: true,
    async checkpoint() {
      checkpoints++;
    },
  });
  const stop = new AbortController();
  const rows = () => sink.batches.reduce((n, b) => n + b.counters.rows.assurances, 0);
  const until = async (cond, what) => {
    const t0 = Date.now();
    while (!cond()) {
      assert.ok(Date.now() - t0 < 20_000, what);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const running = runToSink(sink, { command: 'test', paths: [dir], workers: 1, progress: false, follow: { pollMs: 30 }, signal: stop.signal });
  await until(() => rows() === 1, 'first row');
  writeFileSync(file, line(1) + line(2) + '{"half');
  await until(() => rows() === 2, 'appended row');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(sink.batches.reduce((n, b) => n + b.counters.rejects, 0), 0, 'the half line is held back');
  const old = (Date.now() - 60_000) / 1000;
  utimesSync(file, old, old);
  await until(() => sink.batches.some((b) => b.counters.rejectsByCode.unterminated_line === 1), 'the half line rejected once the file is quiet');
  stop.abort();
  const { summary, stopped } = await running;
  assert.ok(stopped);
  assert.ok(sink.committed && !sink.aborted, 'a resumable sink is committed on a stop');
  assert.ok(checkpoints >= 2, `checkpointed at the end of polls that wrote (${checkpoints})`);
  assert.equal(summary.rejects, 1);
  assert.equal(summary.pending_lines, 0);
  assert.ok(summary.polls > 3);
  assert.equal(sink.batches.at(-1).end.offset, readFileSync(file).length);
});

test('identityFromStart (from the first chunk) equals fileIdentity; a copy of a file is read once', async (t) => {
  const { identityFromStart } = await import('../dist/input/identity.js');
  const dir = tempDir(t);
  const cases = [line(1) + line(2), 'x'.repeat(70_000) + '\n' + line(1), line(3).trimEnd()];
  for (const [i, text] of cases.entries()) {
    const p = join(dir, `c${i}.log`);
    writeFileSync(p, text);
    const data = readFileSync(p);
    assert.equal(identityFromStart(p, data.subarray(0, Math.min(data.length, data.indexOf(10) === -1 ? data.length : Math.max(data.indexOf(10) + 1, 1024)))), await fileIdentity(p, true), `case ${i}`);
  }
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  for (const d of [a, b]) {
    (await import('node:fs')).mkdirSync(d);
    writeFileSync(join(d, 'same.log'), line(1) + line(2));
  }
  const s = await convertToDune({ paths: [a, b], out: join(dir, 'out'), workers: 1, progress: false });
  assert.equal(s.rows_total, 2, 'the copy adds nothing');
  assert.equal(s.files_duplicate, 1);
});
