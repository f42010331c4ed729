// Benchmark inputs, built once into bench/data/ (git-ignored; never committed) and reused while
// their stamp matches:
//   w1/    the real fixtures replicated: 8 files, each every fixture log concatenated 25 times
//          (267 MB, 55,200 lines; the reference PoC's measurement used the same recipe)
//   w1m/   the same bytes as the collector writes them: the fixtures x200 as 1,600 minute files
//          YYYY/MM/DD/HHMM.log (~167 KB each, distinct names; the headline workload)
//   w2/    one minute of `jam-etl generate` at toaster scale (V=1023, C=341)
//   big/   160 symlinks to the w1 files: 5.3 GB of input that costs no disk space
//   long/  lines of 32 MiB (preimage blobs, block codec_encoded, segment data) between
//          ordinary lines
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const DATA = join(ROOT, 'bench', 'data');
export const FIXTURES = join(ROOT, '..', 'shared', 'fixtures', 'jamduna-2025-04-24', 'logs');

/** A prepared input: the folder jam-etl is given, and the same files listed for the baselines. */
export function listInput(dir) {
  const files = readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.log')).sort().map((f) => join(dir, f));
  let bytes = 0;
  for (const f of files) bytes += statSync(f).size;
  return { dir, files, bytes };
}

function stamped(dir, stamp) {
  const p = join(dir, '.stamp');
  return existsSync(p) && readFileSync(p, 'utf8') === JSON.stringify(stamp);
}

function stamp(dir, s) {
  writeFileSync(join(dir, '.stamp'), JSON.stringify(s));
}

export function prepareW1(log) {
  const dir = join(DATA, 'w1');
  const s = { recipe: 'fixtures x25 per file, 8 files', v: 1 };
  if (!stamped(dir, s)) {
    if (!existsSync(FIXTURES)) throw new Error(`fixtures not found at ${FIXTURES}`);
    log(`preparing W1 in ${dir}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const one = Buffer.concat(readdirSync(FIXTURES).filter((f) => f.endsWith('.log')).sort().map((f) => readFileSync(join(FIXTURES, f))));
    const file = Buffer.concat(Array.from({ length: 25 }, () => one));
    for (let i = 0; i < 8; i++) writeFileSync(join(dir, `${String(i).padStart(2, '0')}.log`), file);
    stamp(dir, s);
  }
  return listInput(dir);
}

/**
 * W1 as the collector lays it out: one file per minute, YYYY/MM/DD/HHMM.log, minute i holding
 * the i-th fixture file (mod 8); 1,600 minutes = the fixtures x200, the same 267 MB as W1.
 */
export function prepareW1Minutes(log) {
  const dir = join(DATA, 'w1m');
  const s = { recipe: 'fixtures x200 as 1600 minute files YYYY/MM/DD/HHMM.log', v: 1 };
  if (!stamped(dir, s)) {
    if (!existsSync(FIXTURES)) throw new Error(`fixtures not found at ${FIXTURES}`);
    log(`preparing W1 minute files in ${dir}`);
    rmSync(dir, { recursive: true, force: true });
    const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.log')).sort().map((f) => readFileSync(join(FIXTURES, f)));
    const t0 = Date.UTC(2025, 3, 24, 0, 0);
    const p2 = (n) => String(n).padStart(2, '0');
    for (let i = 0; i < 1600; i++) {
      const d = new Date(t0 + i * 60_000);
      const sub = join(dir, String(d.getUTCFullYear()), p2(d.getUTCMonth() + 1), p2(d.getUTCDate()));
      mkdirSync(sub, { recursive: true });
      writeFileSync(join(sub, `${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}.log`), fixtures[i % fixtures.length]);
    }
    stamp(dir, s);
  }
  return listInput(dir);
}

/** W2 needs `jam-etl generate`; undefined (with the reason) when the build has none. */
export function prepareW2(log) {
  const dir = join(DATA, 'w2');
  const args = ['generate', '--out', dir, '--minutes', '1', '--validators', '1023', '--cores', '341', '--seed', '1', '--quiet'];
  const s = { args, v: 1 };
  if (!stamped(dir, s)) {
    try {
      execFileSync(process.execPath, [join(ROOT, 'bin', 'jam-etl.js'), 'generate', '--help'], { stdio: 'ignore' });
    } catch {
      return { missing: '`jam-etl generate` is not available in this build' };
    }
    log(`preparing W2 in ${dir}: jam-etl ${args.join(' ')}`);
    rmSync(dir, { recursive: true, force: true });
    execFileSync(process.execPath, [join(ROOT, 'bin', 'jam-etl.js'), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    stamp(dir, s);
  }
  return { ...listInput(dir), command: `jam-etl ${args.filter((a) => a !== dir && a !== '--out' && a !== '--quiet').join(' ')}` };
}

/** ≥ 5 GB of input as symlinks to W1's files (jam-etl follows them; each name is a new file). */
export function prepareBig(w1, targetBytes = 5e9) {
  const dir = join(DATA, 'big');
  const copies = Math.ceil(targetBytes / w1.bytes);
  const s = { copies, files: w1.files.length, v: 1 };
  if (!stamped(dir, s)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (let r = 0; r < copies; r++) {
      for (const f of w1.files) symlinkSync(f, join(dir, `${String(r).padStart(3, '0')}-${f.split('/').pop()}`));
    }
    stamp(dir, s);
  }
  return listInput(dir);
}

// Deterministic filler so the 32 MiB payloads are not one repeated byte (blake2 and the parser
// see realistic data).
function filler(bytes, seed) {
  const out = Buffer.allocUnsafe(bytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  return out;
}

/** Lines of 32 MiB of three kinds, with an ordinary fixture line after each. */
export async function prepareLong(log) {
  const dir = join(DATA, 'long');
  const LINE = 32 << 20;
  const s = { LINE, lines: 8, v: 1 };
  if (!stamped(dir, s)) {
    log(`preparing 32 MiB lines in ${dir}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const fixture = readFileSync(join(FIXTURES, readdirSync(FIXTURES).filter((f) => f.endsWith('.log')).sort()[0]), 'utf8').split('\n').filter(Boolean);
    const sample = (t) => JSON.parse(readdirSync(FIXTURES).filter((f) => f.endsWith('.log')).sort()
      .flatMap((f) => readFileSync(join(FIXTURES, f), 'utf8').split('\n')).find((l) => l.includes(`"msg_type":"${t}"`)));
    const ws = createWriteStream(join(dir, 'long.log'));
    const put = (text) => new Promise((res) => (ws.write(text) ? res() : ws.once('drain', res)));
    for (let i = 0; i < s.lines; i++) {
      const kind = i % 3;
      let o;
      if (kind === 0) {
        // A preimage whose blob makes the line 32 MiB (16 MiB of bytes as hex): hashed and kept.
        o = sample(142);
        o.json_encoded.blob = '0x' + filler(LINE / 2 - 512, i + 1).toString('hex');
      } else if (kind === 1) {
        // A block with a 32 MiB codec_encoded: copied through as a string.
        o = sample(128);
        o.codec_encoded = '0x' + filler(LINE / 2 - 4096, i + 1).toString('hex');
      } else {
        // A segment whose json_encoded is a list of base64 strings: re-serialised into `data`.
        o = sample(135);
        const b64 = filler((LINE * 3) / 4 - 4096, i + 1).toString('base64');
        const parts = [];
        for (let k = 0; k < b64.length; k += 4104) parts.push(b64.slice(k, k + 4104));
        o.json_encoded = parts;
      }
      await put(JSON.stringify(o) + '\n');
      await put(fixture[i % fixture.length] + '\n');
    }
    await new Promise((res, rej) => ws.end((e) => (e ? rej(e) : res())));
    stamp(dir, s);
  }
  return listInput(dir);
}
