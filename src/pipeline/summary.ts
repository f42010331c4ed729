// What a person sees: a progress bar on stderr while a run works (only on a terminal), and a
// summary at the end; what a script sees: the same summary as JSON with --json.
import cliProgress from 'cli-progress';
import type { Counters } from '../telemetry/convert.js';
import { TABLE_NAMES } from '../tables/schema.js';

export interface Progress {
  tick(bytes: number, rows: number): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { tick() {}, stop() {} };

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

/** A bar of bytes done out of total with rows/s, or nothing when stderr is not a terminal. */
export function startProgress(label: string, totalBytes: number, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return NO_PROGRESS;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} |{bar}| {percentage}% {done}/{totalMb} MB | {rows} rows | {rate} rows/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const t0 = performance.now();
  let done = 0;
  let rows = 0;
  bar.start(Math.max(totalBytes, 1), 0, { done: "0.0", totalMb: mb(totalBytes), rows: 0, rate: 0 });
  return {
    tick(b, r) {
      done += b;
      rows += r;
      const s = (performance.now() - t0) / 1000;
      bar.update(done, { done: mb(done), rows, rate: s > 0 ? Math.round(rows / s) : 0 });
    },
    stop() {
      bar.stop();
    },
  };
}

export interface RunSummary {
  command: string;
  files: number;
  lines: number;
  blank_lines: number;
  row_lines: number;
  rejects: number;
  rejects_by_reason: Record<string, number>;
  rows: Record<string, number>;
  rows_total: number;
  bytes: number;
  seconds: number;
  [extra: string]: unknown;
}

export function summarise(command: string, files: number, c: Counters, seconds: number, extra: Record<string, unknown> = {}): RunSummary {
  const rows: Record<string, number> = {};
  let total = 0;
  for (const t of TABLE_NAMES) {
    rows[t] = c.rows[t];
    total += c.rows[t];
  }
  return {
    command,
    files,
    lines: c.lines,
    blank_lines: c.blank,
    row_lines: c.rowLines,
    rejects: c.rejects,
    rejects_by_reason: { ...c.rejectsByCode } as Record<string, number>,
    rows,
    rows_total: total,
    bytes: c.bytes,
    seconds: Math.round(seconds * 1000) / 1000,
    ...extra,
  };
}

/** The end-of-run table for people. */
export function formatSummary(s: RunSummary): string {
  const lines: string[] = [];
  const w = Math.max(...TABLE_NAMES.map((t) => t.length), 'rejects'.length);
  lines.push(`${s.command}: ${s.files} file(s), ${s.lines} lines (${s.row_lines} to rows, ${s.rejects} rejected, ${s.blank_lines} blank), ${mb(s.bytes)} MB in ${s.seconds.toFixed(2)} s`);
  for (const [t, n] of Object.entries(s.rows)) if (n > 0) lines.push(`  ${t.padEnd(w)} ${String(n).padStart(10)} rows`);
  lines.push(`  ${'total'.padEnd(w)} ${String(s.rows_total).padStart(10)} rows`);
  for (const [reason, n] of Object.entries(s.rejects_by_reason)) lines.push(`  rejected: ${reason} ${n}`);
  if (typeof s.pending_lines === 'number' && s.pending_lines > 0) {
    const files = Array.isArray(s.pending_files) ? (s.pending_files as string[]) : [];
    lines.push(`  pending: ${s.pending_lines} unterminated last line(s) held back, still being written (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''}): read once complete`);
  }
  if (s.seconds > 0) {
    lines.push(`  throughput: ${(s.bytes / 1e6 / s.seconds).toFixed(1)} MB/s, ${Math.round(s.rows_total / s.seconds)} rows/s`);
  }
  return lines.join('\n');
}
