// jam-etl report --html: the page opened in a real headless Chromium (Debian's chromium, driven by
// playwright-core): no console errors, no request leaves the page, every chart drew, the tables
// sort, and a screenshot under test/output/ for people to look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, buildDb, generatedLogs, run } from './report-helpers.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const OUT = join(ROOT, 'test', 'output');
const haveBrowser = existsSync(CHROMIUM);
// Under CI a missing browser is a failure (.ci/run installs it); on a dev machine it skips, loudly.
const skip = !haveBrowser && process.env.CI !== 'true' ? `no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH) to run the page test` : false;
if (skip) process.stderr.write(`report-html.test: SKIPPED: ${skip}\n`);

const work = mkdtempSync(join(tmpdir(), 'jam-report-html-'));
let browser;
let db;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  db = join(work, 'w.duckdb');
  await buildDb([generatedLogs(join(work, 'logs'))], db, work);
  if (skip) return;
  assert.ok(haveBrowser, `CI=true and no Chromium at ${CHROMIUM}`);
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
});
after(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Opens the page with every request recorded (and anything but the page itself refused). */
async function open(file, viewport = { width: 1400, height: 900 }) {
  const page = await browser.newPage({ viewport });
  const url = pathToFileURL(file).href;
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  await page.waitForFunction(() => window.__reportReady === true, null, { timeout: 15_000 });
  return { page, url, requests, errors };
}

/** Per chart: its title and how many of its canvas pixels are painted. */
function paintedPixels(page) {
  return page.evaluate(() => window.__charts.map(({ title, canvas }) => {
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0) { painted++; if (colours.size < 64) colours.add(`${d[i]},${d[i + 1]},${d[i + 2]}`); }
    return { title, painted, total: canvas.width * canvas.height, colours: colours.size };
  }));
}

test('the report page: no errors, no request leaves it, every chart drew, tables sort, screenshot', { skip, timeout: 120_000 }, async () => {
  const html = join(work, 'report.html');
  const r = run(['report', '--db', db, '--html', html, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const text = readFileSync(html, 'utf8');
  assert.ok(!/<script[^>]+src=|<link[^>]+href=|https?:\/\/[a-z]/i.test(text.replace(/<script>[\s\S]*?<\/script>/g, '')), 'no external resource in the markup');
  const { page, url, requests, errors } = await open(html);
  try {
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url], 'the only request is the page itself');
    // charts: one distribution per timed activity, the timeline, the blocks per validator
    const timed = Object.entries(report.distributions).filter(([, d]) => Object.keys(d).length > 0).length;
    assert.ok(timed >= 4, `${timed} timed activities`);
    const charts = await paintedPixels(page);
    assert.equal(charts.length, timed + 2, charts.map((c) => c.title).join(' | '));
    for (const c of charts) {
      assert.ok(c.painted > 0.02 * c.total, `${c.title}: ${c.painted}/${c.total} pixels painted`);
      assert.ok(c.colours > 3, `${c.title}: ${c.colours} colours`);
    }
    // the leaderboard lists every team; sorting by team name and by score reorders it
    const col = (i) => page.$$eval('#leaderboard tbody tr', (rows, i) => rows.map((r) => r.cells[i].getAttribute('data-v')), i);
    assert.deepEqual(await col(1), report.teams.map((t) => t.team));
    await page.click('#leaderboard th:nth-child(2)');
    assert.deepEqual(await col(1), report.teams.map((t) => t.team).sort());
    await page.click('#leaderboard th:nth-child(2)');
    assert.deepEqual(await col(1), report.teams.map((t) => t.team).sort().reverse());
    await page.click('#leaderboard th:nth-child(3)');
    const scores = (await col(2)).filter((v) => v !== '').map(Number);
    assert.deepEqual(scores, [...scores].sort((a, b) => a - b));
    assert.equal(await page.$$eval('#nodes tbody tr', (rows) => rows.length), report.nodes.length);
    await page.click('#leaderboard th:nth-child(1)');
    const shot = join(OUT, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 20_000);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url]);
  } finally {
    await page.close();
  }
});

test('the page of an empty window: says so, draws no chart, no errors', { skip, timeout: 60_000 }, async () => {
  const html = join(work, 'empty.html');
  const r = run(['report', '--db', db, '--since', '2030-01-01T00:00:00Z', '--html', html]);
  assert.equal(r.code, 0, r.stderr);
  const { page, url, requests, errors } = await open(html);
  try {
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url]);
    assert.equal((await paintedPixels(page)).length, 0);
    assert.match(await page.textContent('#leaderboard'), /No rows in the window/);
    await page.screenshot({ path: join(OUT, 'report-empty.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

test('the page at a phone width has no page-wide horizontal scroll (tables scroll in their box)', { skip, timeout: 60_000 }, async () => {
  const html = join(work, 'narrow.html');
  assert.equal(run(['report', '--db', db, '--html', html]).code, 0);
  const { page, errors } = await open(html, { width: 420, height: 900 });
  try {
    assert.deepEqual(errors, []);
    const [scrollW, clientW] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
    assert.ok(scrollW <= clientW + 1, `page ${scrollW} px wide in a ${clientW} px window`);
  } finally {
    await page.close();
  }
});
