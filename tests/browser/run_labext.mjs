// Drive the glassbox JupyterLab panel in Debian's chromium, as a student would use it:
// open the panel, start a busy container from a notebook and watch it appear with a moving
// CPU sparkline, run `monitor(c)` and watch the browser draw its chart (and the kernel stop
// redrawing its PNG), lower the memory limit in the Stats tab, run `hostname` in its
// Terminal tab, stop it from the panel, open the busybox image's layer tree, and page
// through a long log in the Logs tab.
//
//   node run_labext.mjs --url http://127.0.0.1:PORT/lab/tree/labext.ipynb?token=T \
//        --profile /tmp/fresh-profile --out tests/browser/artifacts [--limit 32m] \
//        [--name t1] [--logname t1-log --loglines 1200]
//
// The notebook: cell 0 starts the container, cell 1 is `m = gj.monitor(NAME); m`, cell 2
// prints what the kernel did (`browser: True draws: 0 samples: 57`), cell 3 is `m.stop()`.
//
// playwright-core from tests/browser/node_modules (scripts/setup-browser.sh) or
// $PLAYWRIGHT_CORE; no bundled browser, and chromium talks to 127.0.0.1 only.
// Prints one JSON line (checks, timings, screenshots); exits 0 when every check passed.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const url = option('url');
const profile = option('profile');
const out = option('out', 'artifacts');
const limit = option('limit', '32m');
const name = option('name', 't1');
const logname = option('logname', '');
const loglines = Number(option('loglines', '0'));
const unreachable = process.argv.includes('--unreachable');
const executablePath = option('chromium', '/usr/bin/chromium');
if (!url || !profile) {
  console.error('usage: node run_labext.mjs --url URL --profile DIR [--out DIR]');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const report = { checks: {}, errors: [], timings: {}, screenshots: [] };
const check = (what, ok, detail) => {
  report.checks[what] = detail === undefined ? !!ok : { ok: !!ok, detail };
  if (!ok) report.errors.push(`${what} failed${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
  return !!ok;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let context;
let page;
let code = 1;
const shot = async (file) => {
  const p = path.join(out, file);
  await page.screenshot({ path: p });
  report.screenshots.push(p);
};
const row = () => page.locator(`#glassbox-panel .gbx-row[data-name="${name}"]`);

/** Run notebook cell `i` through JupyterLab's command (a probe, not a student's action)
 * and return the text of its outputs once it ran. */
async function runCell(i) {
  const before = await page.evaluate((idx) => {
    const app = window.jupyterapp;
    const p = [...app.shell.widgets('main')].find((w) => w.content && w.sessionContext);
    const count = p.content.widgets[idx].model.executionCount;
    p.content.activeCellIndex = idx;
    app.commands.execute('notebook:run-cell');
    return count;
  }, i);
  await page.waitForFunction(([idx, was]) => {
    const p = [...window.jupyterapp.shell.widgets('main')].find((w) => w.content && w.sessionContext);
    const c = p.content.widgets[idx].model;
    return c.executionCount != null && c.executionCount !== was;
  }, [i, before], { timeout: 30000, polling: 100 });
  return page.evaluate((idx) => {
    const p = [...window.jupyterapp.shell.widgets('main')].find((w) => w.content && w.sessionContext);
    return p.content.widgets[idx].model.outputs.toJSON()
      .map((o) => o.text || (o.data && o.data['text/plain']) || o.evalue || '').join('');
  }, i);
}

/** What the kernel's monitor did: claimed by the browser chart, PNGs drawn, samples taken. */
async function kernelSide() {
  const text = await runCell(2);
  const m = /browser: (True|False) draws: (\d+) samples: (\d+)/.exec(text);
  if (!m) throw new Error(`the kernel's monitor did not answer: ${text.slice(0, 300)}`);
  return { browser: m[1] === 'True', draws: Number(m[2]), samples: Number(m[3]) };
}

async function unreachableChecks() {
  // the engine cannot be reached: the panel says so, where, and how to fix it
  await page.locator('.jp-SideBar .lm-TabBar-tab[data-id="glassbox-panel"]').waitFor({ timeout: 90000 });
  await dismissThemeError();
  await page.locator('.jp-SideBar .lm-TabBar-tab[data-id="glassbox-panel"]').click({ timeout: 90000 });
  const banner = page.locator('#glassbox-panel .gbx-banner.gbx-error');
  await banner.waitFor({ timeout: 20000 });
  report.banner = await banner.innerText();
  check('unreachable state with its fix', report.banner.includes('engine unreachable') &&
    report.banner.includes('fix:'), report.banner);
  const status = await page.locator('.gbx-status').innerText();
  check('status bar says unreachable', status.includes('unreachable'), status);
  await shot('labext-unreachable.png');
}

/** JupyterLab's own "Error Loading Theme" dialog (its stylesheet request timed out on a
 * loaded machine) would cover the page: note it and close it. */
async function dismissThemeError() {
  const dialog = page.locator('.jp-Dialog', { hasText: 'Error Loading Theme' });
  if (await dialog.count()) {
    report.notes = (report.notes || []).concat('JupyterLab showed "Error Loading Theme" (slow machine)');
    await dialog.locator('.jp-mod-accept').click();
  }
}

async function panelChecks() {
  // 1. the panel: its tab in the left sidebar opens it, and it says what it is connected to
  await page.waitForFunction(() => {
    const app = window.jupyterapp;
    const p = app && [...app.shell.widgets('main')].find((w) => w.content && w.sessionContext);
    const k = p && p.sessionContext.session && p.sessionContext.session.kernel;
    return !!(k && k.status === 'idle');
  }, null, { timeout: 90000, polling: 250 });
  await dismissThemeError();
  await page.locator('.jp-SideBar .lm-TabBar-tab[data-id="glassbox-panel"]').click();
  await page.locator('#glassbox-panel .gbx-banner', { hasText: 'connected to state root' })
    .waitFor({ timeout: 15000 });
  check('panel opens and is connected', await page.locator('#glassbox-panel').isVisible());
  await shot('labext-panel.png');

  // 2. start the busy container from the notebook; it appears with a moving CPU sparkline
  await page.locator('.jp-Notebook .jp-Cell').first().click();
  await page.keyboard.press('Shift+Enter');
  const t0 = Date.now();
  await page.waitForFunction((nm) =>
    document.querySelector(`#glassbox-panel .gbx-row[data-name="${nm}"]`) ||
    document.querySelector('.jp-Notebook .jp-Cell .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'),
  name, { timeout: 30000, polling: 'raf' });
  if (!(await row().count())) {          // the cell failed: say why, not just "timed out"
    const err = await page.locator('.jp-Notebook .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]')
      .first().innerText();
    throw new Error(`the notebook cell failed: ${err.slice(0, 600)}`);
  }
  report.timings.row_visible_s = (Date.now() - t0) / 1000;
  await page.waitForFunction((n) => {
    const r = document.querySelector(`#glassbox-panel .gbx-row[data-name="${n}"]`);
    const s = r && r.querySelector('.gbx-spark.gbx-cpu');
    return !!(s && Number(s.dataset.last) > 20 && s.querySelector('polyline')
      .getAttribute('points').split(' ').length >= 2);
  }, name, { timeout: 30000, polling: 100 });
  report.timings.moving_cpu_s = (Date.now() - t0) / 1000;
  const cpu = await row().locator('.gbx-spark.gbx-cpu').getAttribute('data-last');
  check('container row with a moving CPU sparkline', Number(cpu) > 20, { cpu, ...report.timings });
  check('row shows the 64 MiB limit', (await row().innerText()).includes('/ 64 MiB'),
    await row().innerText());
  await sleep(3000);                  // a few more samples: what a student looks at
  await shot('labext-running.png');

  // 2b. `m = gj.monitor(NAME); m` (second cell): the browser draws the chart from the lab's
  // socket, the widget (the kernel's PNG) is not what shows, and the kernel stops redrawing
  await page.keyboard.press('Shift+Enter');
  const chart = page.locator('.jp-Notebook .gbx-livechart');
  await chart.waitFor({ timeout: 30000 });
  await page.waitForFunction(() => {
    const c = document.querySelector('.gbx-livechart');
    return !!(c && Number(c.dataset.samples) >= 30 && c.dataset.claimed === 'true');
  }, null, { timeout: 30000, polling: 200 });
  report.timings.livechart_rate_hz = Number(await chart.getAttribute('data-rate'));
  check('monitor(c) chart drawn by the browser gets samples', report.timings.livechart_rate_hz > 0,
    report.timings.livechart_rate_hz);
  const widgetImages = await page.evaluate(() =>
    document.querySelectorAll('.jp-Notebook .jp-OutputArea-output .jupyter-widgets img').length);
  check('the kernel\'s PNG widget is not what shows', widgetImages === 0, widgetImages);
  const frame = () => chart.evaluate((c) => ({
    frames: Number(c.dataset.frames || 0), pixels: c.querySelector('canvas').toDataURL() }));
  const f1 = await frame();
  await sleep(1500);
  const f2 = await frame();
  check('the chart\'s canvas keeps changing', f2.frames > f1.frames && f2.pixels !== f1.pixels,
    { frames: [f1.frames, f2.frames] });
  await chart.scrollIntoViewIfNeeded();
  await shot('labext-monitor.png');
  // the kernel: the comm from the chart arrived before this cell (one shell channel, in order)
  report.kernel = { first: await kernelSide() };
  await sleep(2000);
  report.kernel.later = await kernelSide();
  check('the kernel stopped redrawing the PNG once the browser drew',
    report.kernel.first.browser && report.kernel.later.draws === report.kernel.first.draws,
    report.kernel);
  // `m.stop()` in the kernel: the browser chart stops too (the comm stays open for that)
  await runCell(3);
  await page.waitForFunction(() => document.querySelector('.gbx-livechart').dataset.state === 'stopped',
    null, { timeout: 15000, polling: 100 });
  check('m.stop() stops the browser chart', true, await chart.locator('.gbx-sub').innerText());

  // 3. the detail view: Stats tab, lower the memory limit in place
  await row().locator('.gbx-name').click();
  const detail = page.locator('.gbx-detail').first();
  await detail.waitFor({ timeout: 15000 });
  await detail.locator('.lm-TabBar-tab', { hasText: 'Stats' }).click();
  await detail.locator('.gbx-limit').fill(limit);
  await detail.locator('.gbx-apply-limit').click();
  await detail.locator('.gbx-tab-stats .gbx-sub', { hasText: 'limit now' }).waitFor({ timeout: 15000 });
  report.limitMessage = await detail.locator('.gbx-tab-stats .gbx-sub').innerText();
  await sleep(1500);                  // the chart draws the new limit from the next samples
  await shot('labext-stats.png');
  const logsText = await (async () => {
    await detail.locator('.lm-TabBar-tab', { hasText: 'Namespaces' }).click();
    await detail.locator('.gbx-tab-namespaces table').waitFor({ timeout: 10000 });
    await shot('labext-namespaces.png');
    return detail.locator('.gbx-tab-namespaces').innerText();
  })();
  check('namespaces tab shows own uts', /uts\s+\d+\s+\d+\s+own/.test(logsText), logsText.slice(0, 300));

  // 4. the Terminal tab runs `glassbox exec -it <id> sh`; `hostname` prints the container's
  const cid = await row().getAttribute('data-id');
  await detail.locator('.lm-TabBar-tab', { hasText: 'Terminal' }).click();
  // what the terminal prints, from its session (xterm draws on a canvas, not in the DOM)
  const wid = `glassbox-container-${cid.slice(0, 12)}`;
  await page.waitForFunction((id) => {
    const w = [...window.jupyterapp.shell.widgets('main')].find((x) => x.id === id);
    const t = w && w.content.terminal;
    if (!t || window.__gbxTermHooked) return !!window.__gbxTermHooked;
    window.__gbxTerm = '';
    t.session.messageReceived.connect((_, msg) => {
      if (msg.type === 'stdout') window.__gbxTerm += msg.content.join('');
    });
    window.__gbxTermHooked = true;
    return true;
  }, wid, { timeout: 20000, polling: 50 });
  const termOut = () => page.evaluate(() => window.__gbxTerm);
  for (let i = 0; i < 100 && !/\/ # $/m.test(await termOut()); i++) await sleep(200);
  await detail.locator('.gbx-terminal').click();
  await page.keyboard.type('hostname\n');
  let lines = [];
  for (let i = 0; i < 50; i++) {
    lines = (await termOut()).split(/\r?\n/).map((l) => l.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '').trim());
    if (lines.includes(cid.slice(0, 12))) break;
    await sleep(200);
  }
  check('terminal hostname is the container\'s', lines.includes(cid.slice(0, 12)),
    { want: cid.slice(0, 12), lines: lines.filter(Boolean).slice(-6) });
  await shot('labext-terminal.png');
  await page.keyboard.type('exit\n');

  // 5. stop it from the panel (confirmation dialog), the row turns exited
  await row().locator('.gbx-act-stop').click();
  await page.locator('.jp-Dialog .jp-mod-accept').click();
  await page.locator(`#glassbox-panel .gbx-row[data-name="${name}"] .gbx-state`, { hasText: 'exited' })
    .waitFor({ timeout: 30000 });
  check('stopped from the panel', (await row().innerText()).includes('exited'), await row().innerText());

  // 6. the image's layer tree
  await page.locator('#glassbox-panel .gbx-image-row[data-ref="busybox:latest"]').click();
  await page.locator('#glassbox-panel .gbx-layer').first().waitFor({ timeout: 10000 });
  const layers = await page.locator('#glassbox-panel .gbx-layer').allInnerTexts();
  check('layer tree with sizes', layers.length >= 1 && /\d+(\.\d)? (KiB|MiB)/.test(layers[0]), layers);
  await shot('labext-layers.png');

  // 6b. the Logs tab on a long log: the last page shows, earlier pages load on demand
  if (logname) await logPages();

  // 7. the WebSocket drops: the panel says so and reconnects by itself
  const sockets = await page.evaluate(() => window.__gbxSockets.length);
  await page.evaluate(() => window.__gbxSockets[window.__gbxSockets.length - 1].close());
  await page.locator('#glassbox-panel .gbx-banner', { hasText: 'reconnecting' }).waitFor({ timeout: 5000 });
  await page.waitForFunction((k) => window.__gbxSockets.length > k &&
    window.__gbxSockets[window.__gbxSockets.length - 1].readyState === 1, sockets, { timeout: 15000 });
  await page.locator('#glassbox-panel .gbx-banner', { hasText: 'connected to state root' })
    .waitFor({ timeout: 10000 });
  check('reconnects by itself after the socket dropped', true,
    { sockets: await page.evaluate(() => window.__gbxSockets.length) });
}

async function logPages() {
  const lrow = page.locator(`#glassbox-panel .gbx-row[data-name="${logname}"]`);
  const lid = await lrow.getAttribute('data-id');
  await lrow.locator('.gbx-name').click();
  const d = page.locator(`#glassbox-container-${lid.slice(0, 12)}.gbx-detail`);
  await d.waitFor({ timeout: 15000 });
  await d.locator('.lm-TabBar-tab', { hasText: 'Logs' }).click();
  const lines = () => d.locator('.gbx-tab-logs .gbx-log > div').allInnerTexts();
  const info = () => d.locator('.gbx-tab-logs .gbx-sub').innerText();
  const shown = async (n) => {
    await page.waitForFunction(([sel, k]) => document.querySelectorAll(sel).length >= k,
      [`#glassbox-container-${lid.slice(0, 12)}.gbx-detail .gbx-tab-logs .gbx-log > div`, n],
      { timeout: 15000, polling: 100 });
    return lines();
  };
  // numbers from..to, each once, in order
  const exactly = (got, from, to) => got.length === to - from + 1 &&
    got.every((t, i) => t.trim() === String(from + i));
  const page1 = await shown(Math.min(500, loglines));
  const first = Math.max(1, loglines - 499);
  check('logs: the last page shows first', exactly(page1, first, loglines) &&
    (await info()).includes(`lines ${first}–${loglines} of ${loglines}`),
  { n: page1.length, head: page1.slice(0, 2), tail: page1.slice(-2), info: await info() });
  await shot('labext-logs.png');
  const older = d.locator('.gbx-log-older');
  let all = page1;
  while (!(await older.isDisabled())) {
    await older.click();
    all = await shown(all.length + 1);
  }
  check('logs: earlier pages load on demand, each line once', exactly(all, 1, loglines) &&
    (await info()).includes(`lines 1–${loglines} of ${loglines}`),
  { n: all.length, head: all.slice(0, 2), info: await info() });
}

try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: ARGS, viewport: { width: 1400, height: 900 }, timeout: 60000,
  });
  // keep a handle on the panel's WebSocket(s), to drop one and watch the panel reconnect
  await context.addInitScript(() => {
    const Real = window.WebSocket;
    window.__gbxSockets = [];
    window.WebSocket = class extends Real {
      constructor(...args) {
        super(...args);
        if (String(args[0]).includes('/glassbox/events')) window.__gbxSockets.push(this);
      }
    };
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => report.errors.push(`page error: ${e.message}`.slice(0, 300)));
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });

  await (unreachable ? unreachableChecks() : panelChecks());
  code = report.errors.length ? 1 : 0;
} catch (e) {
  report.errors.push(`${e.name}: ${e.message}`.slice(0, 1000));
  code = 1;
  if (page) await shot('labext-failure.png').catch(() => undefined);
} finally {
  if (context) await context.close().catch(() => undefined);
}
console.log(JSON.stringify(report));
process.exit(code);
