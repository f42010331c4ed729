// Terminal, Markdown and CSV renderings of a Report (the JSON is the Report itself).
import { ACTIVITIES, ACTIVITY_INFO, type Activity, type NodeReport, type Report, type TeamReport, type Timing } from './model.js';

const SHORT: Record<Activity, string> = { block: 'block', statistics: 'stats', refine: 'refine', assurance: 'assure', ticket: 'ticket' };

function fmtMs(v: number | null): string {
  if (v === null) return '-';
  if (v >= 10000) return v.toFixed(0);
  if (v >= 100) return v.toFixed(1);
  return v.toFixed(2);
}
const fmtScore = (v: number | null) => (v === null ? '-' : v.toFixed(2));
const fmtPct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(1)}%`);
/** 0x1234…abcd: enough to tell nodes apart in a 100-column table; json/csv keep the full key. */
export function shortId(id: string | null): string {
  if (id === null) return '(none)';
  return id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-4)}` : id;
}
const hhmm = (t: string | null) => (t === null ? '-' : t.slice(11, 16));
function cut(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

type Align = 'l' | 'r';
function grid(head: string[], rows: string[][], align: Align[], sep = '  '): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (align[i] === 'l' ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(sep).trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

function windowLine(r: Report): string {
  const w = r.window;
  const from = w.since ?? w.first_time;
  const to = w.until ?? w.last_time;
  if (from === null && to === null) return 'window: no rows';
  const span = `${from ?? '…'} .. ${to ?? '…'}${w.until ? ' (until exclusive)' : ''}`;
  return `window: ${span}: ${w.slots} slots, ${w.minutes} minutes`;
}

export function renderTable(r: Report): string {
  const out: string[] = ['jam-etl report', windowLine(r)];
  if (r.teams.length === 0) {
    out.push('', 'No rows in the window: nothing to rank.');
    return out.join('\n') + '\n';
  }
  out.push('', `Leaderboard: score per activity = weighted ratio to the median team (1.00 = median,`);
  out.push(`lower = faster); overall = geometric mean; ranked with >= ${r.scoring.min_samples} samples in an activity.`, '');
  const head = ['#', 'team', 'score', ...ACTIVITIES.map((a) => SHORT[a]), 'nodes', 'blocks', 'share', 'guar', 'assur', 'tick', 'min'];
  const rows = r.teams.map((t) => [
    t.rank === null ? '-' : String(t.rank),
    cut(t.team, 14),
    fmtScore(t.score),
    ...ACTIVITIES.map((a) => fmtScore(t.activities[a].score)),
    String(t.nodes),
    String(t.blocks_authored),
    fmtPct(t.block_share),
    String(t.reports_guaranteed),
    String(t.assurances),
    String(t.tickets),
    String(t.minutes_active),
  ]);
  out.push(...grid(head, rows, ['r', 'l', ...Array<Align>(15).fill('r')], ' '));
  const unranked = r.teams.filter((t) => t.unranked_reason !== null);
  if (unranked.length > 0) {
    out.push('', 'Not ranked:');
    for (const t of unranked) out.push(`  ${t.team}: ${t.unranked_reason}`);
  }
  for (const a of ACTIVITIES) {
    const ts = r.teams.filter((t) => t.activities[a].n > 0);
    if (ts.length === 0) continue;
    out.push('', `${a} (${ACTIVITY_INFO[a].msgType}): ${ACTIVITY_INFO[a].what}, ms`, '');
    out.push(...grid(['team', 'n', 'p50', 'p90', 'p99', 'mean', 'stddev', 'score'], ts.map((t) => timingRow(cut(t.team, 20), t.activities[a])), ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r']));
  }
  out.push('', 'Nodes', '');
  const nh = ['team', 'node', 'blocks', 'share', 'guar', 'audit', 'assur', 'tick', 'min', 'first', 'last'];
  const nr = r.nodes.map((n) => [
    cut(n.team, 14),
    shortId(n.sender_id),
    String(n.blocks_authored),
    fmtPct(n.block_share),
    String(n.reports_guaranteed),
    String(n.reports_audited),
    String(n.assurances),
    String(n.tickets),
    String(n.minutes_active),
    hhmm(n.first_seen),
    hhmm(n.last_seen),
  ]);
  out.push(...grid(nh, nr, ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'l']));
  out.push('', 'Node timings: p50 ms per activity, (score) against the median team', '');
  const th = ['team', 'node', ...ACTIVITIES.map((a) => SHORT[a])];
  const tr = r.nodes.map((n) => [cut(n.team, 14), shortId(n.sender_id), ...ACTIVITIES.map((a) => nodeCell(n, a))]);
  out.push(...grid(th, tr, ['l', 'l', 'r', 'r', 'r', 'r', 'r']));
  return out.join('\n') + '\n';
}

function timingRow(label: string, t: Timing): string[] {
  return [label, String(t.n), fmtMs(t.p50_ms), fmtMs(t.p90_ms), fmtMs(t.p99_ms), fmtMs(t.mean_ms), fmtMs(t.stddev_ms), fmtScore(t.score)];
}

function nodeCell(n: NodeReport, a: Activity): string {
  const t = n.activities[a];
  if (t.n === 0) return '-';
  return t.score === null ? fmtMs(t.p50_ms) : `${fmtMs(t.p50_ms)}(${t.score.toFixed(1)})`;
}

function mdEscape(s: string): string {
  return s.replaceAll('|', '\\|');
}

export function renderMarkdown(r: Report): string {
  const out: string[] = ['# jam-etl report', '', windowLine(r).replace(/^window: /, 'Window: '), ''];
  if (r.teams.length === 0) return out.concat('No rows in the window: nothing to rank.', '').join('\n');
  out.push(`Score per activity: weighted ratio to the median team (1.00 = median, lower = faster); overall: geometric mean over the activities a team reports (at least ${r.scoring.min_samples} samples).`, '');
  out.push(`| rank | team | score | ${ACTIVITIES.join(' | ')} | nodes | blocks | share | guaranteed | assurances | tickets | minutes | not ranked because |`);
  out.push(`|${'---|'.repeat(ACTIVITIES.length + 11)}`);
  for (const t of r.teams) {
    out.push(`| ${t.rank ?? '-'} | ${mdEscape(t.team)} | ${fmtScore(t.score)} | ${ACTIVITIES.map((a) => fmtScore(t.activities[a].score)).join(' | ')} | ${t.nodes} | ${t.blocks_authored} | ${fmtPct(t.block_share)} | ${t.reports_guaranteed} | ${t.assurances} | ${t.tickets} | ${t.minutes_active} | ${mdEscape(t.unranked_reason ?? '')} |`);
  }
  for (const a of ACTIVITIES) {
    const ts = r.teams.filter((t) => t.activities[a].n > 0);
    if (ts.length === 0) continue;
    out.push('', `## ${a} (${ACTIVITY_INFO[a].msgType}): ${ACTIVITY_INFO[a].what}, ms`, '', '| team | n | p50 | p90 | p99 | mean | stddev | score |', '|---|---|---|---|---|---|---|---|');
    for (const t of ts) out.push(`| ${timingRow(mdEscape(t.team), t.activities[a]).join(' | ')} |`);
  }
  out.push('', '## Nodes', '', `| team | node | blocks | guaranteed | assurances | tickets | minutes | first seen | last seen | ${ACTIVITIES.map((a) => `${a} p50 (score)`).join(' | ')} |`, `|${'---|'.repeat(9 + ACTIVITIES.length)}`);
  for (const n of r.nodes) {
    out.push(`| ${mdEscape(n.team)} | ${n.sender_id ?? '(none)'} | ${n.blocks_authored} | ${n.reports_guaranteed} | ${n.assurances} | ${n.tickets} | ${n.minutes_active} | ${n.first_seen ?? '-'} | ${n.last_seen ?? '-'} | ${ACTIVITIES.map((a) => nodeCell(n, a)).join(' | ')} |`);
  }
  return out.join('\n') + '\n';
}

/** The columns of the CSV: one row per team (level=team) and per node (level=node). */
export const CSV_COUNTERS = ['nodes', 'rows', 'messages', 'first_seen', 'last_seen', 'minutes_active', 'blocks_authored', 'block_share', 'reports_guaranteed', 'reports_audited', 'work_reports', 'assurances', 'tickets', 'statistics_messages'] as const;
export const CSV_TIMING = ['n', 'p50_ms', 'p90_ms', 'p99_ms', 'mean_ms', 'stddev_ms', 'score'] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function renderCsv(r: Report): string {
  const head = ['level', 'team', 'sender_id', 'rank', 'score', 'unranked_reason', ...CSV_COUNTERS, ...ACTIVITIES.flatMap((a) => CSV_TIMING.map((k) => `${a}_${k}`))];
  const lines = [head.join(',')];
  const row = (level: string, x: TeamReport | NodeReport) => {
    const t = x as Partial<TeamReport>;
    const n = x as Partial<NodeReport>;
    const cells: unknown[] = [level, x.team, n.sender_id ?? null, t.rank ?? null, t.score ?? null, t.unranked_reason ?? null];
    for (const k of CSV_COUNTERS) cells.push(k === 'nodes' ? (level === 'node' ? 1 : t.nodes) : x[k]);
    for (const a of ACTIVITIES) for (const k of CSV_TIMING) cells.push(x.activities[a][k]);
    lines.push(cells.map(csvCell).join(','));
  };
  for (const t of r.teams) row('team', t);
  for (const n of r.nodes) row('node', n);
  return lines.join('\n') + '\n';
}
