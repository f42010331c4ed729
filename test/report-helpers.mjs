// Helpers for the report tests: convert logs with the built CLI, load them into a DuckDB file,
// and an independent JS computation of every figure `jam-etl report --format json` prints.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync, rmSync, mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const CLI = join(ROOT, 'bin', 'jam-etl.js');
export const FIXTURE_LOGS = join(ROOT, '..', 'shared', 'fixtures', 'jamduna-2025-04-24', 'logs');
export const SCHEMA_DIR = join(ROOT, 'schema');
export const TABLES = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

export function run(args, opts = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Reads `<dir>/<table>.jsonl` for every table (missing file = no rows). */
export function readTables(dir) {
  const out = {};
  for (const t of TABLES) {
    const f = join(dir, `${t}.jsonl`);
    out[t] = existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l)) : [];
  }
  return out;
}


/** Builds a DuckDB warehouse from logs with the built `jam-etl duckdb`. */
export async function buildDb(logsPaths, dbFile, workDir, extraArgs = []) {
  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}.wal`, { force: true });
  let paths = logsPaths;
  if (paths.length === 0) {
    // A folder without .log files is an error (exit 2): an empty .log file makes the empty tables.
    mkdirSync(join(workDir, 'no-logs'), { recursive: true });
    paths = [join(workDir, 'no-logs', 'empty.log')];
    writeFileSync(paths[0], '');
  }
  const r = run(['duckdb', ...paths, '--db', dbFile, '-q', ...extraArgs]);
  if (r.code !== 0) throw new Error(`jam-etl duckdb failed: ${r.stderr}`);
}

/**
 * Generated multi-team logs, with what the generator does not make: elapsed on the statistics
 * (13) messages of every node but one, and a team that sent a single ticket.
 */
export function generatedLogs(out) {
  const g = run(['generate', '--out', out, '--minutes', '4', '--validators', '6', '--cores', '2', '--seed', '11', '-q']);
  if (g.code !== 0) throw new Error(g.stderr);
  const files = readdirSync(out).filter((f) => f.endsWith('.log')).sort();
  let i = 0;
  let ticket = null;
  for (const f of files) {
    const p = join(out, f);
    const lines = readFileSync(p, 'utf8').split('\n');
    const outLines = lines.map((l) => {
      if (l.includes('"msg_type":"131"') && ticket === null) ticket = JSON.parse(l);
      if (!l.includes('"msg_type":"13"')) return l;
      i++;
      // leave one node's statistics unmeasured (validator 2's key appears in its lines)
      if (i % 5 === 0) return l;
      return `{"elapsed":${60_000 + ((i * 7919) % 90_000)},${l.slice(1)}`;
    });
    writeFileSync(p, outLines.join('\n'));
  }
  if (!ticket) throw new Error('the generator made no ticket');
  ticket.team = 'solo';
  ticket.sender_id = `0x${'ab'.repeat(32)}`;
  ticket.time = '2025-04-24T23:40:30.123456789Z';
  ticket.elapsed = 123_456;
  appendFileSync(join(out, files[1]), `${JSON.stringify(ticket)}\n`);
  // a team whose five tickets all took 0 µs (a measured zero, not a missing elapsed)
  for (let k = 0; k < 5; k++) {
    appendFileSync(join(out, files[2]), `${JSON.stringify({ ...ticket, team: 'zippy', sender_id: `0x${'cd'.repeat(32)}`, time: `2025-04-24T23:41:0${k}.000001Z`, elapsed: 0 })}\n`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The independent reference: every figure of the report computed in plain JS from the JSONL rows
// (what `jam-etl dune` wrote from the same logs), without DuckDB or the SQL files.

export const ACTS = ['block', 'statistics', 'refine', 'assurance', 'ticket'];
const STATS = ['p50_ms', 'p90_ms', 'p99_ms', 'mean_ms', 'stddev_ms'];
const SLOT0_US = Date.UTC(2025, 0, 1, 12) * 1000;

/** Microseconds since the epoch of an RFC 3339 UTC time with up to 9 fraction digits. */
export function timeUs(s) {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(s);
  if (!m) throw new Error(`bad time ${s}`);
  return Date.parse(`${m[1]}Z`) * 1000 + Number(((m[2] ?? '') + '000000').slice(0, 6));
}
function isoUs(us) {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(us % 1_000_000).padStart(6, '0')}Z`;
}
const isoMinute = (us) => `${new Date(Math.floor(us / 60e6) * 60e3).toISOString().slice(0, 16)}Z`;
const slotOf = (us) => Math.floor((us - SLOT0_US) / 6e6);

/** Linear interpolation between closest ranks (DuckDB quantile_cont, numpy 'linear'). */
export function percentile(sorted, p) {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** The report gives milliseconds to 6 decimals (1 ns). */
const r6 = (v) => (v === null ? null : Math.round(v * 1e6) / 1e6);

function timing(ms) {
  if (ms.length === 0) return { n: 0, p50_ms: null, p90_ms: null, p99_ms: null, mean_ms: null, stddev_ms: null, min_ms: null, max_ms: null, score: null };
  const s = [...ms].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const sd = s.length < 2 ? null : Math.sqrt(s.reduce((a, x) => a + (x - mean) ** 2, 0) / (s.length - 1));
  return { n: s.length, p50_ms: r6(percentile(s, 0.5)), p90_ms: r6(percentile(s, 0.9)), p99_ms: r6(percentile(s, 0.99)), mean_ms: r6(mean), stddev_ms: r6(sd), min_ms: r6(s[0]), max_ms: r6(s[s.length - 1]), score: null };
}

function med(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const STATS_TABLES = ['validatorstatistics', 'corestatistics', 'servicestatistics'];

export function expectedReport(tables, { since, until, minSamples = 5, weights = { p50_ms: 0.35, p90_ms: 0.25, p99_ms: 0.15, mean_ms: 0.15, stddev_ms: 0.1 } } = {}) {
  const s0 = since ? Date.parse(since) * 1000 : -Infinity;
  const s1 = until ? Date.parse(until) * 1000 : Infinity;
  const inWin = (r) => { const t = timeUs(r.time); return t >= s0 && t < s1; };
  const T = {};
  for (const [k, rows] of Object.entries(tables)) T[k] = rows.filter(inWin);

  // window
  const all = Object.values(T).flat();
  const times = all.map((r) => timeUs(r.time));
  const first = times.length ? Math.min(...times) : null;
  const last = times.length ? Math.max(...times) : null;
  const t0 = since ? s0 : first;
  const t1 = until ? s1 - 1 : last;
  const window = {
    since: since ? isoUs(s0) : null, until: until ? isoUs(s1) : null,
    first_time: first === null ? null : isoUs(first), last_time: last === null ? null : isoUs(last),
    from_slot: t0 === null ? null : slotOf(t0), to_slot: t1 === null ? null : slotOf(t1),
    slots: t0 === null || t1 === null ? 0 : Math.max(0, slotOf(t1) - slotOf(t0) + 1),
    from_minute: t0 === null ? null : isoMinute(t0), to_minute: t1 === null ? null : isoMinute(t1),
    minutes: t0 === null || t1 === null ? 0 : Math.max(0, Math.floor(t1 / 60e6) - Math.floor(t0 / 60e6) + 1),
  };

  // statistics messages: one per distinct (time, team, sender_id, elapsed) over the three tables
  const statMsgs = new Map();
  for (const t of STATS_TABLES) for (const r of T[t]) statMsgs.set(JSON.stringify([r.time, r.team, r.sender_id, r.elapsed]), r);
  const samplesOf = { block: T.blocks, statistics: [...statMsgs.values()], refine: T.workreports, assurance: T.assurances, ticket: T.tickets };

  const nodeKey = (r) => JSON.stringify([r.team, r.sender_id]);
  const newCounters = () => ({ rows: 0, messages: 0, first: Infinity, last: -Infinity, minutes: new Set(), blocks_authored: 0, reports_guaranteed: 0, reports_audited: 0, work_reports: 0, assurances: 0, tickets: 0, statistics_messages: 0, senders: new Set() });
  const teamC = new Map(), nodeC = new Map(), minuteC = new Map();
  const seenMsg = new Set();
  const bump = (c, table, r, isNewMsg) => {
    const t = timeUs(r.time);
    c.rows++; if (isNewMsg) c.messages++;
    c.first = Math.min(c.first, t); c.last = Math.max(c.last, t); c.minutes.add(isoMinute(t)); c.senders.add(r.sender_id);
    if (table === 'blocks') c.blocks_authored++;
    if (table === 'workreports') { c.work_reports++; if (r.role === 'Guarantor') c.reports_guaranteed++; if (r.role === 'Auditor') c.reports_audited++; }
    if (table === 'assurances') c.assurances++;
    if (table === 'tickets') c.tickets++;
    if (STATS_TABLES.includes(table) && isNewMsg) c.statistics_messages++;
  };
  for (const [table, rows] of Object.entries(T)) {
    for (const r of rows) {
      let isNew = true;
      if (STATS_TABLES.includes(table)) {
        const k = JSON.stringify([r.time, r.team, r.sender_id, r.elapsed]);
        isNew = !seenMsg.has(k); seenMsg.add(k);
      }
      for (const [m, k] of [[teamC, r.team], [nodeC, nodeKey(r)], [minuteC, JSON.stringify([r.team, isoMinute(timeUs(r.time))])]]) {
        if (!m.has(k)) m.set(k, newCounters());
        bump(m.get(k), table, r, isNew);
      }
    }
  }
  const counters = (c) => ({
    rows: c.rows, messages: c.messages, first_seen: isoUs(c.first), last_seen: isoUs(c.last), minutes_active: c.minutes.size,
    blocks_authored: c.blocks_authored, block_share: window.slots > 0 ? c.blocks_authored / window.slots : null,
    reports_guaranteed: c.reports_guaranteed, reports_audited: c.reports_audited, work_reports: c.work_reports,
    assurances: c.assurances, tickets: c.tickets, statistics_messages: c.statistics_messages,
  });
  const msOf = (rows, pred) => rows.filter((r) => r.elapsed !== null && pred(r)).map((r) => r.elapsed / 1000);
  const teams = [...teamC.entries()].map(([team, c]) => ({
    team, rank: null, score: null, unranked_reason: null, nodes: c.senders.size, ...counters(c),
    activities: Object.fromEntries(ACTS.map((a) => [a, timing(msOf(samplesOf[a], (r) => r.team === team))])),
  }));
  const nodes = [...nodeC.entries()].map(([k, c]) => {
    const [team, sender] = JSON.parse(k);
    return { team, sender_id: sender, ...counters(c), activities: Object.fromEntries(ACTS.map((a) => [a, timing(msOf(samplesOf[a], (r) => r.team === team && r.sender_id === sender))])) };
  });

  // scores and ranks
  const reference = {};
  const scoreOf = (t, ref) => {
    let sum = 0, w = 0;
    for (const k of STATS) if (t[k] !== null && ref[k] !== null && ref[k] > 0) { sum += weights[k] * t[k] / ref[k]; w += weights[k]; }
    return w > 0 ? sum / w : null;
  };
  for (const a of ACTS) {
    const q = teams.filter((t) => t.team !== 'unknown' && t.activities[a].n >= minSamples);
    if (q.length === 0) { reference[a] = null; continue; }
    reference[a] = Object.fromEntries(STATS.map((k) => [k, med(q.map((t) => t.activities[a][k]).filter((v) => v !== null))]));
    for (const t of q) t.activities[a].score = scoreOf(t.activities[a], reference[a]);
    for (const n of nodes) if (n.activities[a].n >= minSamples) n.activities[a].score = scoreOf(n.activities[a], reference[a]);
  }
  for (const t of teams) {
    const sc = ACTS.map((a) => t.activities[a].score).filter((s) => s !== null).map((s) => Math.max(s, 1e-9));
    if (t.team === 'unknown') t.unranked_reason = 'team not attributed';
    else if (sc.length === 0) t.unranked_reason = ACTS.some((a) => t.activities[a].n > 0) ? 'fewer than' : 'no timed samples';
    else t.score = Math.exp(sc.reduce((s, x) => s + Math.log(x), 0) / sc.length);
  }
  const byName = (x, y) => (x.team < y.team ? -1 : x.team > y.team ? 1 : 0);
  const ranked = teams.filter((t) => t.score !== null).sort((x, y) => x.score - y.score || byName(x, y));
  ranked.forEach((t, i) => { t.rank = i > 0 && Math.abs(ranked[i - 1].score - t.score) <= 1e-12 * Math.max(1, t.score) ? ranked[i - 1].rank : i + 1; });

  const per_minute = [...minuteC.entries()].map(([k, c]) => { const [team, minute] = JSON.parse(k); return { minute, team, rows: c.rows, messages: c.messages, blocks_authored: c.blocks_authored }; })
    .sort((x, y) => (x.minute < y.minute ? -1 : x.minute > y.minute ? 1 : byName(x, y)));

  const distributions = Object.fromEntries(ACTS.map((a) => [a, Object.fromEntries(teams.filter((t) => t.activities[a].n > 0).map((t) => {
    const s = msOf(samplesOf[a], (r) => r.team === t.team).sort((x, y) => x - y);
    return [t.team, Array.from({ length: 101 }, (_, i) => r6(percentile(s, i / 100)))];
  }))]));

  return {
    format: 'jam-etl-report/1', window, scoring: { min_samples: minSamples, weights, reference },
    teams: [...ranked, ...teams.filter((t) => t.score === null).sort(byName)],
    nodes: nodes.sort((x, y) => byName(x, y) || ((x.sender_id ?? '') < (y.sender_id ?? '') ? -1 : (x.sender_id ?? '') > (y.sender_id ?? '') ? 1 : 0)),
    per_minute, validators: expectedValidators(T), distributions,
  };
}

/** Blocks per validator: epochs cut where last_blocks changes or the sum of current_blocks drops. */
function expectedValidators(T) {
  const msgs = new Map();
  for (const r of T.validatorstatistics) {
    const k = JSON.stringify([r.time, r.team, r.sender_id]);
    if (!msgs.has(k)) msgs.set(k, { us: timeUs(r.time), sender: r.sender_id ?? '', team: r.team, rows: [] });
    msgs.get(k).rows.push(r);
  }
  const ordered = [...msgs.values()].sort((x, y) => x.us - y.us || (x.sender < y.sender ? -1 : x.sender > y.sender ? 1 : x.team < y.team ? -1 : x.team > y.team ? 1 : 0));
  const acc = new Map(); // validator -> {epochMax: Map(epoch -> {blocks,...})}
  let epoch = 0, prevVec = null, prevTotal = null;
  for (const m of ordered) {
    m.rows.sort((a, b) => a.validator_id - b.validator_id);
    const vec = m.rows.map((r) => r.last_blocks).join(',');
    const total = m.rows.reduce((s, r) => s + r.current_blocks, 0);
    if (prevVec !== null && (vec !== prevVec || total < prevTotal)) epoch++;
    prevVec = vec; prevTotal = total;
    for (const r of m.rows) {
      if (!acc.has(r.validator_id)) acc.set(r.validator_id, new Map());
      const e = acc.get(r.validator_id);
      const cur = e.get(epoch) ?? { blocks: -Infinity, tickets: -Infinity, guarantees: -Infinity, assurances: -Infinity };
      cur.blocks = Math.max(cur.blocks, r.current_blocks); cur.tickets = Math.max(cur.tickets, r.current_tickets);
      cur.guarantees = Math.max(cur.guarantees, r.current_guarantees); cur.assurances = Math.max(cur.assurances, r.current_assurances);
      e.set(epoch, cur);
    }
  }
  const logged = new Map();
  for (const b of T.blocks) logged.set(b.author_index, (logged.get(b.author_index) ?? 0) + 1);
  const ids = [...new Set([...acc.keys(), ...logged.keys()])].sort((a, b) => a - b);
  return ids.map((id) => {
    const e = acc.get(id);
    const sum = (k) => (e ? [...e.values()].reduce((s, x) => s + x[k], 0) : null);
    return { validator_id: id, blocks: sum('blocks'), tickets: sum('tickets'), guarantees: sum('guarantees'), assurances: sum('assurances'), epochs: e ? e.size : null, blocks_logged: logged.get(id) ?? 0 };
  });
}

/** Deep comparison; numbers within 1e-6 (+ a relative 1e-9); the reason strings are checked by prefix. */
export function assertSame(actual, expected, path = '$') {
  if (typeof expected === 'number' && typeof actual === 'number') {
    // ms are rounded to 1e-6 on both sides: two computations may land either side of a half
    if (Math.abs(actual - expected) > 1.001e-6 + 1e-9 * Math.abs(expected)) throw new Error(`${path}: ${actual} != expected ${expected}`);
    return;
  }
  if (path.endsWith('.unranked_reason') && typeof expected === 'string') {
    if (typeof actual !== 'string' || !actual.startsWith(expected)) throw new Error(`${path}: ${JSON.stringify(actual)} does not start with ${JSON.stringify(expected)}`);
    return;
  }
  if (expected === null || typeof expected !== 'object') {
    if (actual !== expected) throw new Error(`${path}: ${JSON.stringify(actual)} != expected ${JSON.stringify(expected)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) throw new Error(`${path}: length ${actual?.length} != expected ${expected.length}`);
    expected.forEach((e, i) => assertSame(actual[i], e, `${path}[${i}]`));
    return;
  }
  if (actual === null || typeof actual !== 'object') throw new Error(`${path}: ${JSON.stringify(actual)} is not an object`);
  const ka = Object.keys(actual).sort(), ke = Object.keys(expected).sort();
  if (JSON.stringify(ka) !== JSON.stringify(ke)) throw new Error(`${path}: keys ${ka} != expected ${ke}`);
  for (const k of ke) assertSame(actual[k], expected[k], `${path}.${k}`);
}
