// From the SQL files' rows to the Report: scores per activity (relative to the median team),
// the overall rank (geometric mean), and the counters per team and node.
import {
  ACTIVITIES, DEFAULT_MIN_SAMPLES, DEFAULT_WEIGHTS, SCORE_STATS, UNATTRIBUTED_TEAM,
  type Activity, type Counters, type MinuteRow, type NodeReport, type Report, type ScoreStat,
  type TeamReport, type Timing, type ValidatorRow, type Window,
} from './model.js';
import type { Json, SqlRow, Warehouse } from './warehouse.js';

export interface ReportOptions {
  since?: Date;
  until?: Date;
  minSamples?: number;
  weights?: Record<ScoreStat, number>;
}

export async function buildReport(w: Warehouse, o: ReportOptions = {}): Promise<Report> {
  const win = { since: o.since, until: o.until };
  const [window, timings, activity, validators] = [await w.query('window', win), await w.query('timings', win), await w.query('activity', win), await w.query('validators', win)];
  return assemble({ window: window[0] ?? {}, timings, activity, validators }, o);
}

function num(v: Json | undefined): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}
const int = (v: Json | undefined): number => num(v) ?? 0;
const str = (v: Json | undefined): string | null => (v === null || v === undefined ? null : String(v));

export function emptyTiming(): Timing {
  return { n: 0, p50_ms: null, p90_ms: null, p99_ms: null, mean_ms: null, stddev_ms: null, min_ms: null, max_ms: null, score: null };
}
function emptyActivities(): Record<Activity, Timing> {
  return Object.fromEntries(ACTIVITIES.map((a) => [a, emptyTiming()])) as Record<Activity, Timing>;
}

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Σ w·(stat / reference) over the statistics both have (reference > 0), divided by the weights used. */
export function scoreOf(t: Timing, ref: Record<ScoreStat, number | null>, weights: Record<ScoreStat, number>): number | null {
  let sum = 0;
  let wsum = 0;
  for (const k of SCORE_STATS) {
    const v = t[k];
    const r = ref[k];
    const wk = weights[k];
    if (v === null || r === null || !(r > 0) || !(wk > 0)) continue;
    sum += wk * (v / r);
    wsum += wk;
  }
  return wsum > 0 ? sum / wsum : null;
}

function counters(r: SqlRow, slots: number): Counters {
  const blocks = int(r['blocks_authored']);
  return {
    rows: int(r['rows']),
    messages: int(r['messages']),
    first_seen: str(r['first_seen']),
    last_seen: str(r['last_seen']),
    minutes_active: int(r['minutes_active']),
    blocks_authored: blocks,
    block_share: slots > 0 ? blocks / slots : null,
    reports_guaranteed: int(r['reports_guaranteed']),
    reports_audited: int(r['reports_audited']),
    work_reports: int(r['work_reports']),
    assurances: int(r['assurances']),
    tickets: int(r['tickets']),
    statistics_messages: int(r['statistics_messages']),
  };
}

/**
 * Milliseconds to 6 decimals (1 ns): the data has microseconds, so this loses nothing that was
 * measured and keeps the output free of binary noise (107.53399999999999).
 */
export function roundMs(v: number | null): number | null {
  return v === null ? null : Math.round(v * 1e6) / 1e6;
}

function timingOf(r: SqlRow): Timing {
  const ms = (k: string) => roundMs(num(r[k]));
  return {
    n: int(r['n']),
    p50_ms: ms('p50_ms'),
    p90_ms: ms('p90_ms'),
    p99_ms: ms('p99_ms'),
    mean_ms: ms('mean_ms'),
    stddev_ms: ms('stddev_ms'),
    min_ms: ms('min_ms'),
    max_ms: ms('max_ms'),
    score: null,
  };
}

const MIN_SCORE = 1e-9;

const nodeKey = (team: string, sender: string | null) => `${team}\u0000${sender ?? ''}\u0000${sender === null ? 'null' : 's'}`;

export function assemble(q: { window: SqlRow; timings: SqlRow[]; activity: SqlRow[]; validators: SqlRow[] }, o: ReportOptions = {}): Report {
  const minSamples = o.minSamples ?? DEFAULT_MIN_SAMPLES;
  const weights = o.weights ?? DEFAULT_WEIGHTS;
  const wr = q.window;
  const window: Window = {
    since: str(wr['since']),
    until: str(wr['until']),
    first_time: str(wr['first_time']),
    last_time: str(wr['last_time']),
    from_slot: num(wr['from_slot']),
    to_slot: num(wr['to_slot']),
    slots: int(wr['slots']),
    from_minute: str(wr['from_minute']),
    to_minute: str(wr['to_minute']),
    minutes: int(wr['minutes']),
  };

  const teams = new Map<string, TeamReport>();
  const nodes = new Map<string, NodeReport>();
  const perMinute: MinuteRow[] = [];
  for (const r of q.activity) {
    const team = String(r['team']);
    if (r['level'] === 'team') {
      teams.set(team, { team, rank: null, score: null, unranked_reason: null, nodes: 0, ...counters(r, window.slots), activities: emptyActivities() });
    } else if (r['level'] === 'node') {
      const sender = str(r['sender_id']);
      nodes.set(nodeKey(team, sender), { team, sender_id: sender, ...counters(r, window.slots), activities: emptyActivities() });
    } else if (r['level'] === 'minute') {
      perMinute.push({ minute: String(r['minute']), team, rows: int(r['rows']), messages: int(r['messages']), blocks_authored: int(r['blocks_authored']) });
    }
  }
  for (const n of nodes.values()) {
    const t = teams.get(n.team);
    if (t) t.nodes++;
  }

  const distributions = Object.fromEntries(ACTIVITIES.map((a) => [a, {} as Record<string, number[]>])) as Report['distributions'];
  for (const r of q.timings) {
    const a = String(r['activity']) as Activity;
    if (!ACTIVITIES.includes(a)) continue;
    const team = String(r['team']);
    if (r['level'] === 'team') {
      const t = teams.get(team);
      if (t) t.activities[a] = timingOf(r);
      const cdf = r['cdf'];
      if (Array.isArray(cdf)) distributions[a][team] = cdf.map((x) => roundMs(num(x)) ?? 0);
    } else {
      const n = nodes.get(nodeKey(team, str(r['sender_id'])));
      if (n) n.activities[a] = timingOf(r);
    }
  }

  // Scores: per activity, relative to the median of the teams that qualify for it.
  const qualifies = (team: string, t: Timing) => team !== UNATTRIBUTED_TEAM && t.n >= minSamples;
  const reference = {} as Report['scoring']['reference'];
  for (const a of ACTIVITIES) {
    const scored = [...teams.values()].filter((t) => qualifies(t.team, t.activities[a]));
    if (scored.length === 0) {
      reference[a] = null;
      continue;
    }
    const ref = {} as Record<ScoreStat, number | null>;
    for (const k of SCORE_STATS) ref[k] = median(scored.map((t) => t.activities[a][k]).filter((v): v is number => v !== null));
    reference[a] = ref;
    for (const t of scored) t.activities[a].score = scoreOf(t.activities[a], ref, weights);
    // Nodes are scored against the same reference, so that one slow node stands out.
    for (const n of nodes.values()) if (n.activities[a].n >= minSamples) n.activities[a].score = scoreOf(n.activities[a], ref, weights);
  }

  for (const t of teams.values()) {
    const scores = ACTIVITIES.map((a) => t.activities[a].score).filter((s): s is number => s !== null);
    if (t.team === UNATTRIBUTED_TEAM) {
      t.unranked_reason = 'team not attributed: these nodes sent no team name (use --teams when converting)';
    } else if (scores.length === 0) {
      const timed = ACTIVITIES.filter((a) => t.activities[a].n > 0).map((a) => `${a} ${t.activities[a].n}`);
      t.unranked_reason = timed.length === 0 ? 'no timed samples (no elapsed) in the window' : `fewer than ${minSamples} timed samples in every activity (${timed.join(', ')})`;
    } else {
      // A score of 0 (a team whose times are all 0 ms) would make the logarithm -Infinity: it
      // counts as 1e-9 of the median team, the fastest possible, instead.
      t.score = Math.exp(scores.reduce((s, x) => s + Math.log(Math.max(x, MIN_SCORE)), 0) / scores.length);
    }
  }
  const ranked = [...teams.values()].filter((t) => t.score !== null).sort((x, y) => x.score! - y.score! || (x.team < y.team ? -1 : 1));
  ranked.forEach((t, i) => {
    const prev = ranked[i - 1];
    t.rank = prev && Math.abs(prev.score! - t.score!) <= 1e-12 * Math.max(1, t.score!) ? prev.rank : i + 1;
  });
  const unranked = [...teams.values()].filter((t) => t.score === null).sort((x, y) => (x.team < y.team ? -1 : x.team > y.team ? 1 : 0));

  const validators: ValidatorRow[] = q.validators.map((r) => ({
    validator_id: int(r['validator_id']),
    blocks: num(r['blocks']),
    tickets: num(r['tickets']),
    guarantees: num(r['guarantees']),
    assurances: num(r['assurances']),
    epochs: num(r['epochs']),
    blocks_logged: int(r['blocks_logged']),
  }));

  const nodeList = [...nodes.values()].sort((x, y) => (x.team < y.team ? -1 : x.team > y.team ? 1 : (x.sender_id ?? '') < (y.sender_id ?? '') ? -1 : (x.sender_id ?? '') > (y.sender_id ?? '') ? 1 : 0));
  perMinute.sort((x, y) => (x.minute < y.minute ? -1 : x.minute > y.minute ? 1 : x.team < y.team ? -1 : x.team > y.team ? 1 : 0));
  return {
    format: 'jam-etl-report/1',
    window,
    scoring: { min_samples: minSamples, weights, reference },
    teams: [...ranked, ...unranked],
    nodes: nodeList,
    per_minute: perMinute,
    validators,
    distributions,
  };
}
