// Shared test helpers: where the third-party fixtures are (read in place, never copied), temp
// folders, and running the built CLI.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED = resolve(ROOT, '..', 'shared');
export const FIXTURE = join(SHARED, 'fixtures', 'jamduna-2025-04-24');
export const BIN = join(ROOT, 'bin', 'jam-etl.js');

/**
 * Options for tests that need ../shared: skipped on a developer machine without it, but under
 * CI (CI=true) a missing ../shared fails the test instead of hiding it.
 */
export function needsShared() {
  if (existsSync(FIXTURE)) return {};
  if (process.env.CI) throw new Error(`../shared fixtures are missing at ${FIXTURE} (CI must have them)`);
  return { skip: `no fixtures at ${FIXTURE}` };
}

/** A fresh temp folder removed when the test ends. */
export function tempDir(t, prefix = 'jam-etl-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function readJsonl(path) {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

/** Runs the built CLI; resolves {code, stdout, stderr}. */
export function runCli(args, opts = {}) {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', rej);
    p.on('close', (code) => res({ code, stdout, stderr }));
  });
}

/** A telemetry envelope line as the newer producers write it. */
export function envelope(msgType, json, extra = {}) {
  return JSON.stringify({ time: '2025-04-29T00:44:18.381887381Z', team: 'A-go-cn', sender_id: '0x' + 'ab'.repeat(32), msg_type: String(msgType), json_encoded: json, ...extra });
}

export function sample(name) {
  return JSON.parse(readFileSync(join(FIXTURE, 'samples', name), 'utf8'));
}
