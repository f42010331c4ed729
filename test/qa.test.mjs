// A hostile tester's pass over the commands new this session (duckdb, sql, report, collect,
// replay, generate --format jip3): each test runs the built CLI as a user would, bounded in
// time (a hang is killed and fails the test), and asserts a one-line error, an exit code, or
// that nothing is lost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, tempDir } from './helpers.mjs';

/** Runs the CLI; kills it after `ms` (then `timedOut` is true). */
function run(args, { ms = 20_000, cwd = ROOT, signalAfter, signal = 'SIGINT' } = {}) {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const kill = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, ms);
    const sig = signalAfter === undefined ? null : setTimeout(() => p.kill(signal), signalAfter);
    p.on('error', rej);
    p.on('close', (code) => {
      clearTimeout(kill);
      if (sig) clearTimeout(sig);
      res({ code, stdout, stderr, timedOut });
    });
  });
}

/** One line on stderr starting with jam-etl, no stack trace. */
function oneLineError(r, re) {
  assert.equal(r.timedOut, false, `hung: ${r.stderr}`);
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('collect -o under /proc: a one-line error, not a 100 % CPU hang in mkdir', async () => {
  const r = await run(['collect', '--syslog', '127.0.0.1:0', '--http', 'off', '-o', '/proc/jam-etl-qa/out'], { ms: 10_000 });
  oneLineError(r, /^jam-etl: cannot start: cannot make output folder \/proc\/jam-etl-qa\/out/);
});

test('collect --jip3 -o under /proc: a one-line error, not a hang', async () => {
  const r = await run(['collect', '--syslog', 'off', '--jip3', '127.0.0.1:0', '--http', 'off', '-o', '/proc/jam-etl-qa/out'], { ms: 10_000 });
  oneLineError(r, /^jam-etl: cannot start.*cannot make output folder \/proc\/jam-etl-qa/);
});

test('generate --format jip3 -o under /proc: a one-line error, not a hang', async () => {
  const r = await run(['generate', '--format', 'jip3', '-o', '/proc/jam-etl-qa/g', '-q'], { ms: 10_000 });
  oneLineError(r, /^jam-etl: cannot make output folder \/proc\/jam-etl-qa\/g/);
});
