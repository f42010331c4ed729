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

/**
 * The bar's format for a terminal `columns` wide: the percentage and MB done always, then as
 * room allows the bar (10 to 40 wide), rows, ETA and rows/s. A narrow terminal thus keeps what
 * matters instead of a line cut after the first characters.
 */
export function progressLayout(label: string, columns: number, totalMb: string): { format: string; barsize: number } {
  const room = Math.max(columns, 20) - 1;
  const parts = [`${label} {percentage}%`, ` {done}/{totalMb} MB`];
  // Widths at their widest: "100%", the MB figures, up to 10-digit rows, hh:mm:ss ETA.
  let used = label.length + 5 + (2 * totalMb.length + 5);
  const optional: [string, number][] = [
    [' | {rows} rows', 18],
    [' | ETA {eta_formatted}', 15],
    [' | {rate} rows/s', 17],
  ];
  const kept: string[] = [];
  for (const [p, w] of optional) {
    if (used + w + 13 > room) break; // keep room for a bar of at least 10
    kept.push(p);
    used += w;
  }
  const barsize = Math.min(40, room - used - 3);
  const bar = barsize >= 10 ? ` |{bar}|` : '';
  return { format: parts[0] + bar + parts[1] + kept.join(''), barsize: Math.max(barsize, 1) };
}

/** A bar of bytes done out of total with rows/s, or nothing when stderr is not a terminal. */
export function startProgress(label: string, totalBytes: number, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return NO_PROGRESS;
  const layout = progressLayout(label, process.stderr.columns || 80, mb(totalBytes));
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: layout.format,
      barsize: layout.barsize,
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

/** `1 line`, `2 lines`. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Bytes for people: B, kB or MB. */
function size(n: number): string {
  return n < 1e3 ? `${n} B` : n < 1e6 ? `${(n / 1e3).toFixed(1)} kB` : `${mb(n)} MB`;
}

/** The end-of-run table for people. */
export function formatSummary(s: RunSummary): string {
  const lines: string[] = [];
  const w = Math.max(...TABLE_NAMES.map((t) => t.length), 'rejects'.length);
  lines.push(`${s.command}: ${count(s.files, 'file')}, ${count(s.lines, 'line')} (${s.row_lines} to rows, ${s.rejects} rejected, ${s.blank_lines} blank), ${size(s.bytes)} in ${s.seconds.toFixed(2)} s`);
  for (const [t, n] of Object.entries(s.rows)) if (n > 0) lines.push(`  ${t.padEnd(w)} ${String(n).padStart(10)} ${n === 1 ? 'row' : 'rows'}`);
  lines.push(`  ${'total'.padEnd(w)} ${String(s.rows_total).padStart(10)} ${s.rows_total === 1 ? 'row' : 'rows'}`);
  for (const [reason, n] of Object.entries(s.rejects_by_reason)) lines.push(`  rejected: ${reason} ${n}`);
  if (typeof s.pending_lines === 'number' && s.pending_lines > 0) {
    const files = Array.isArray(s.pending_files) ? (s.pending_files as string[]) : [];
    lines.push(`  pending: ${s.pending_lines} unterminated last line(s) held back, still being written (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''}): read once complete`);
  }
  // Where the output went (a file-writing run: dune).
  if (typeof s.out === 'string') {
    lines.push(`  output: ${s.out}`);
    lines.push(`  rejects: ${typeof s.rejects_file === 'string' ? s.rejects_file : 'none (no file written)'}`);
  }
  // Where the rows went (a database: duckdb), and what a rerun skipped.
  if (typeof s.db === 'string') {
    const created = Array.isArray(s.tables_created) ? s.tables_created.length : 0;
    const added = Array.isArray(s.columns_added) ? s.columns_added.length : 0;
    const schema = [created > 0 ? `${count(created, 'table')} created` : '', added > 0 ? `${count(added, 'column')} added` : ''].filter(Boolean).join(', ');
    lines.push(`  database: ${s.db}${schema ? ` (${schema})` : ''}`);
    const r = typeof s.rejects_stored === 'number' ? s.rejects_stored : 0;
    lines.push(`  rejects: ${r > 0 ? `${count(r, 'record')} into table _rejects` : 'none'}`);
  }
  if (typeof s.files_already_done === 'number' && s.files_already_done > 0) {
    lines.push(`  already loaded: ${count(s.files_already_done, 'file')} (nothing new in them since the last run)`);
  }
  // A rate over a tiny input or a blink of time says nothing (and shows as 0.0 MB/s).
  if (s.seconds >= 0.05 && s.bytes >= 1e6) {
    lines.push(`  throughput: ${(s.bytes / 1e6 / s.seconds).toFixed(1)} MB/s, ${Math.round(s.rows_total / s.seconds)} rows/s`);
  }
  return lines.join('\n');
}
