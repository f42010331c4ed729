// The leaderboard as one self-contained HTML page: the report's JSON, chart.js's UMD build (read
// from node_modules at run time, so it is a runtime dependency) and a small script, all inline.
// The page makes no request: no fonts, images or scripts from anywhere.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ACTIVITIES, ACTIVITY_INFO, type Report } from './model.js';

function chartJsSource(): string {
  const require = createRequire(import.meta.url);
  // The package's exports map has no entry for the UMD file; it sits beside the CommonJS main.
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

/** JSON safe inside <script>: no "</script>", no "<!--". */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replaceAll('<', '\\u003c').replaceAll('\u2028', '\\u2028').replaceAll('\u2029', '\\u2029');
}

function esc(s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1b2a41;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:22px}header p{margin:0;color:#c9d3e0}
main{padding:16px 24px;max-width:1400px}
section{min-width:0;overflow-wrap:anywhere;background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px;margin:0 0 16px}
h2{font-size:17px;margin:4px 0 8px}p.note{color:#4b5563;margin:4px 0 10px;font-size:13px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:right;white-space:nowrap}
th{background:#eef1f5;cursor:pointer;user-select:none;position:sticky;top:0}
th[data-dir="asc"]::after{content:" \\25B2"}th[data-dir="desc"]::after{content:" \\25BC"}
td.l,th.l{text-align:left}td.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
tr:hover td{background:#f3f6fb}.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(620px,100%),1fr));gap:16px}
.chart{position:relative;height:340px}.scroll{overflow-x:auto}#nodes .scroll{max-height:640px;overflow-y:auto}.empty{color:#6b7280;font-style:italic}
`;

/** The script that draws the page from the embedded report. Plain ES2017, no imports. */
const SCRIPT = String.raw`
(function () {
  var R = JSON.parse(document.getElementById('report-data').textContent);
  var ALL_ACTS = JSON.parse(document.getElementById('report-activities').textContent);
  // Columns only for the activities someone timed in the window (the charts say the same).
  var ACTS = ALL_ACTS.filter(function (a) { return R.teams.some(function (t) { return t.activities[a.name].n > 0; }); });
  // Okabe-Ito and Paul Tol's dark colours: distinguishable on white, also for most colour-blind
  // readers (no yellow: it vanishes on white). The unattributed "unknown" is always grey.
  var PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#332288', '#882255', '#44AA99', '#999933', '#117733', '#AA4499', '#661100', '#000000'];
  var teamNames = R.teams.map(function (t) { return t.team; }).filter(function (t) { return t !== 'unknown'; }).sort();
  var colour = { unknown: '#8A8A8A' };
  teamNames.forEach(function (t, i) { colour[t] = PALETTE[i % PALETTE.length]; });
  window.__charts = [];
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, "DejaVu Sans", sans-serif';
  Chart.defaults.color = '#1b1f24';

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v, d) { return v === null || v === undefined ? '–' : (typeof v === 'number' ? (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(d === undefined ? 2 : d)) : String(v)); }
  function pct(v) { return v === null ? '–' : (100 * v).toFixed(1) + '%'; }

  // Sortable tables: click a header; numbers sort as numbers, blanks last.
  function sortable(table) {
    var ths = table.querySelectorAll('th');
    ths.forEach(function (th, col) {
      th.addEventListener('click', function () {
        var dir = th.getAttribute('data-dir') === 'asc' ? 'desc' : 'asc';
        ths.forEach(function (o) { o.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute('data-v'), y = b.cells[col].getAttribute('data-v');
          if (x === '' && y === '') return 0; if (x === '') return 1; if (y === '') return -1;
          var nx = Number(x), ny = Number(y), c;
          c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : (x < y ? -1 : x > y ? 1 : 0);
          return dir === 'asc' ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }
  function table(host, cols, rows) {
    var t = el('table'), thead = el('thead'), tr = el('tr');
    cols.forEach(function (c) { var th = el('th', { title: c.title || c.label }, c.label); if (c.left) th.className = 'l'; tr.appendChild(th); });
    thead.appendChild(tr); t.appendChild(thead);
    var tb = el('tbody');
    rows.forEach(function (r) {
      var row = el('tr');
      cols.forEach(function (c) {
        var v = c.value(r), td = el('td');
        td.setAttribute('data-v', v === null || v === undefined ? '' : String(v));
        if (c.left) td.className = 'l' + (c.mono ? ' mono' : '');
        if (c.swatch) { var s = el('span', { 'class': 'swatch' }); s.style.background = colour[r.team] || '#999'; td.appendChild(s); }
        td.appendChild(document.createTextNode(c.show ? c.show(r) : fmt(v)));
        row.appendChild(td);
      });
      tb.appendChild(row);
    });
    t.appendChild(tb);
    var wrap = el('div', { 'class': 'scroll' }); wrap.appendChild(t); host.appendChild(wrap);
    sortable(t);
    return t;
  }

  // Leaderboard
  var lb = document.getElementById('leaderboard');
  if (R.teams.length === 0) lb.appendChild(el('p', { 'class': 'empty' }, 'No rows in the window.'));
  else {
    var cols = [
      { label: 'rank', value: function (t) { return t.rank; }, show: function (t) { return t.rank === null ? '–' : String(t.rank); } },
      { label: 'team', left: true, swatch: true, value: function (t) { return t.team; } },
      { label: 'score', title: 'overall: geometric mean of the activity scores (1 = median team, lower = faster)', value: function (t) { return t.score; } }
    ];
    ACTS.forEach(function (a) {
      cols.push({ label: a.name + ' score', title: a.name + ' (' + a.msgType + '): ' + a.what, value: function (t) { return t.activities[a.name].score; } });
      cols.push({ label: a.name + ' p50 ms', title: a.name + ' median, ms (n samples)', value: function (t) { return t.activities[a.name].p50_ms; }, show: function (t) { var x = t.activities[a.name]; return x.n === 0 ? '–' : fmt(x.p50_ms) + ' (' + x.n + ')'; } });
    });
    cols.push(
      { label: 'nodes', value: function (t) { return t.nodes; }, show: function (t) { return String(t.nodes); } },
      { label: 'blocks', value: function (t) { return t.blocks_authored; }, show: function (t) { return String(t.blocks_authored); } },
      { label: 'slot share', title: 'blocks authored / slots in the window', value: function (t) { return t.block_share; }, show: function (t) { return pct(t.block_share); } },
      { label: 'guaranteed', title: 'work reports with role Guarantor', value: function (t) { return t.reports_guaranteed; }, show: function (t) { return String(t.reports_guaranteed); } },
      { label: 'assurances', value: function (t) { return t.assurances; }, show: function (t) { return String(t.assurances); } },
      { label: 'tickets', value: function (t) { return t.tickets; }, show: function (t) { return String(t.tickets); } },
      { label: 'minutes', title: 'minutes with at least one row, of ' + R.window.minutes, value: function (t) { return t.minutes_active; }, show: function (t) { return String(t.minutes_active); } },
      { label: 'not ranked because', left: true, value: function (t) { return t.unranked_reason || ''; }, show: function (t) { return t.unranked_reason || ''; } }
    );
    table(lb, cols, R.teams);
  }

  // Nodes
  var nb = document.getElementById('nodes');
  if (R.nodes.length === 0) nb.appendChild(el('p', { 'class': 'empty' }, 'No nodes in the window.'));
  else {
    var ncols = [
      { label: 'team', left: true, swatch: true, value: function (n) { return n.team; } },
      { label: 'node (sender_id)', left: true, mono: true, value: function (n) { return n.sender_id || '(none)'; } }
    ];
    ACTS.forEach(function (a) {
      ncols.push({ label: a.name + ' p50 ms', value: function (n) { return n.activities[a.name].p50_ms; }, show: function (n) { var x = n.activities[a.name]; return x.n === 0 ? '–' : fmt(x.p50_ms) + ' (' + x.n + ')'; } });
      ncols.push({ label: a.name + ' score', value: function (n) { return n.activities[a.name].score; } });
    });
    ncols.push(
      { label: 'blocks', value: function (n) { return n.blocks_authored; }, show: function (n) { return String(n.blocks_authored); } },
      { label: 'guaranteed', value: function (n) { return n.reports_guaranteed; }, show: function (n) { return String(n.reports_guaranteed); } },
      { label: 'assurances', value: function (n) { return n.assurances; }, show: function (n) { return String(n.assurances); } },
      { label: 'tickets', value: function (n) { return n.tickets; }, show: function (n) { return String(n.tickets); } },
      { label: 'minutes', value: function (n) { return n.minutes_active; }, show: function (n) { return String(n.minutes_active); } },
      { label: 'first seen', left: true, value: function (n) { return n.first_seen; } },
      { label: 'last seen', left: true, value: function (n) { return n.last_seen; } }
    );
    table(nb, ncols, R.nodes);
  }

  function chart(host, title, config) {
    var box = el('div'); box.appendChild(el('h3', {}, title));
    var holder = el('div', { 'class': 'chart' }); var canvas = el('canvas', { role: 'img', 'aria-label': title });
    holder.appendChild(canvas); box.appendChild(holder); host.appendChild(box);
    config.options = config.options || {};
    config.options.responsive = true; config.options.maintainAspectRatio = false;
    window.__charts.push({ title: title, canvas: canvas, chart: new Chart(canvas, config) });
  }

  // Log axes: bounds at 1, 2 or 5 x 10^k around the data; labels only at mantissas 1, 2, 3, 5.
  function niceDown(v) { var p = Math.pow(10, Math.floor(Math.log10(v))); var m = v / p; return (m >= 5 ? 5 : m >= 2 ? 2 : 1) * p; }
  function niceUp(v) { var p = Math.pow(10, Math.floor(Math.log10(v))); var m = v / p; return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p; }
  function logLabel(v) {
    var p = Math.pow(10, Math.floor(Math.log10(v) + 1e-9)), m = Math.round(v / p * 1000) / 1000;
    if ([1, 2, 3, 5].indexOf(m) < 0) return '';
    return v >= 1 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
  }

  // Distributions: one CDF per activity, a line per team, on a log time axis.
  var dh = document.getElementById('distributions');
  var anyDist = false;
  ACTS.forEach(function (a) {
    var d = R.distributions[a.name] || {};
    var teams = Object.keys(d).sort();
    if (teams.length === 0) return;
    anyDist = true;
    var lo = Infinity, hi = 0;
    teams.forEach(function (t) { d[t].forEach(function (ms) { if (ms > 0) { lo = Math.min(lo, ms); hi = Math.max(hi, ms); } }); });
    if (!(lo < Infinity)) { lo = 0.001; hi = 1; }
    var xmin = niceDown(lo), xmax = niceUp(hi); // 0 ms cannot sit on a log axis: drawn at its left edge
    chart(dh, a.name + ' (' + a.msgType + '): ' + a.what, {
      type: 'line',
      data: { datasets: teams.map(function (t) {
        var n = 0; R.teams.forEach(function (x) { if (x.team === t) n = x.activities[a.name].n; });
        return { label: t + ' (n=' + n + ')', borderDash: t === 'unknown' ? [6, 4] : [], data: d[t].map(function (ms, i) { return { x: Math.max(ms, xmin), y: i }; }),
          borderColor: colour[t], backgroundColor: colour[t], pointRadius: 0, pointStyle: 'line', borderWidth: 2, stepped: false };
      }) },
      options: { parsing: false, scales: {
        x: { type: 'logarithmic', min: xmin, max: xmax, title: { display: true, text: 'elapsed (ms, log scale)' },
          ticks: { autoSkip: false, maxRotation: 0, callback: function (v) { return logLabel(Number(v)); } } },
        y: { min: 0, max: 100, title: { display: true, text: 'samples at or below (%)' } } },
        plugins: { legend: { position: 'bottom', labels: { usePointStyle: true, pointStyleWidth: 28 } }, tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': p' + c.parsed.y + ' = ' + c.parsed.x.toFixed(3) + ' ms'; } } } } }
    });
  });
  if (!anyDist) dh.appendChild(el('p', { 'class': 'empty' }, 'No timed samples in the window.'));

  // Activity over time: rows per minute per team (every minute of the window, zeros included).
  var th = document.getElementById('timeline');
  var minutes = [];
  if (R.window.from_minute && R.window.to_minute) {
    var m0 = Date.parse(R.window.from_minute.replace('Z', ':00Z')), m1 = Date.parse(R.window.to_minute.replace('Z', ':00Z'));
    for (var m = m0; m <= m1 && minutes.length < 100000; m += 60000) minutes.push(new Date(m).toISOString().slice(0, 16) + 'Z');
  }
  if (R.per_minute.length === 0) th.appendChild(el('p', { 'class': 'empty' }, 'No rows in the window.'));
  else {
    var idx = {}; minutes.forEach(function (m, i) { idx[m] = i; });
    var series = {};
    R.per_minute.forEach(function (r) {
      if (!series[r.team]) series[r.team] = minutes.map(function () { return 0; });
      if (idx[r.minute] !== undefined) series[r.team][idx[r.minute]] = r.rows;
    });
    chart(th, 'Rows per minute per team (all 11 tables)', {
      type: 'line',
      data: { labels: minutes.map(function (m) { return m.slice(11, 16); }), datasets: Object.keys(series).sort().map(function (t) {
        return { label: t, data: series[t], borderColor: colour[t], backgroundColor: colour[t], pointRadius: 2, borderWidth: 2 };
      }) },
      options: { scales: { x: { title: { display: true, text: 'minute (UTC)' } }, y: { beginAtZero: true, title: { display: true, text: 'rows per minute' } } },
        plugins: { legend: { position: 'bottom' } } }
    });
  }

  // Blocks per validator from validatorstatistics, beside the blocks table's count.
  var vh = document.getElementById('validators');
  if (R.validators.length === 0) vh.appendChild(el('p', { 'class': 'empty' }, 'No validatorstatistics or blocks in the window.'));
  else chart(vh, 'Blocks per validator index, in the window', {
    type: 'bar',
    data: { labels: R.validators.map(function (v) { return String(v.validator_id); }), datasets: [
      { label: 'blocks (validatorstatistics counters)', data: R.validators.map(function (v) { return v.blocks === null ? 0 : v.blocks; }), backgroundColor: '#0072B2' },
      { label: 'blocks logged (blocks table, author_index)', data: R.validators.map(function (v) { return v.blocks_logged; }), backgroundColor: '#E69F00' }
    ] },
    options: { scales: { x: { title: { display: true, text: 'validator index' } }, y: { beginAtZero: true, title: { display: true, text: 'blocks' }, ticks: { precision: 0 } } },
      plugins: { legend: { position: 'bottom' } } }
  });
  window.__reportReady = true;
})();
`;

export function renderHtml(r: Report): string {
  const w = r.window;
  const from = w.since ?? w.first_time ?? '…';
  const to = w.until ?? w.last_time ?? '…';
  const acts = ACTIVITIES.map((a) => ({ name: a, msgType: ACTIVITY_INFO[a].msgType, what: ACTIVITY_INFO[a].what }));
  const weights = Object.entries(r.scoring.weights).map(([k, v]) => `${k.replace('_ms', '')} ${v}`).join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>JAM implementer leaderboard (jam-etl report)</title>
<style>${CSS}</style></head>
<body>
<header><h1>JAM implementer leaderboard</h1>
<p>${esc(from)} – ${esc(to)}${w.until ? ' (until exclusive)' : ''} · ${w.slots} slots · ${w.minutes} minutes · ${r.teams.length} teams · ${r.nodes.length} nodes</p></header>
<main>
<section><h2>Leaderboard</h2>
<p class="note">Per activity, a team's score is a weighted ratio of its statistics to the median team's (${esc(weights)}): 1.00 is the median team, lower is faster. The overall score is the geometric mean over the activities the team reports; teams with fewer than ${r.scoring.min_samples} samples in every activity, and the unattributed team "unknown", are listed but not ranked. Times in milliseconds; (n) = samples. Click a header to sort.</p>
<div id="leaderboard"></div></section>
<section><h2>Timing distributions</h2>
<p class="note">Cumulative distribution per team: the share of samples (y) that took at most x milliseconds (log scale). Further left is faster; a flat top is a long tail.</p>
<div id="distributions" class="grid"></div></section>
<section><h2>Activity over time</h2><div id="timeline"></div></section>
<section><h2>Blocks per validator</h2>
<p class="note">From the chain's per-epoch counters in validatorstatistics (the largest current_blocks seen in each epoch, summed over the epochs in the window), beside the rows of the blocks table by author_index.</p>
<div id="validators"></div></section>
<section><h2>Nodes</h2><p class="note">The same per node (sender_id); node scores use the same median-team reference, so one slow node stands out.</p><div id="nodes"></div></section>
</main>
<script id="report-data" type="application/json">${scriptJson(r)}</script>
<script id="report-activities" type="application/json">${scriptJson(acts)}</script>
<script>${chartJsSource()}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
