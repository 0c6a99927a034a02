// Drive a real JupyterLab in Debian's chromium: open 00-tour.ipynb, run every cell from
// the Run menu, wait until the kernel is done, check what the page shows, keep screenshots.
//
//   node run_tour.mjs --url http://127.0.0.1:PORT/lab/tree/00-tour.ipynb?token=T \
//        --profile /tmp/fresh-profile --out tests/browser/artifacts [--timeout 240]
//
// playwright-core is the driver only (no bundled browser): it comes from
// tests/browser/node_modules (scripts/setup-browser.sh) or from $PLAYWRIGHT_CORE (a path
// to an installed playwright-core). Chromium is started with networking limited to what
// the page asks for (127.0.0.1): no background, component-update, sync or QUIC traffic.
// Prints one JSON line with what it found; exits 0 when every check passed, 1 otherwise.

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
const timeoutMs = Number(option('timeout', '240')) * 1000;
const executablePath = option('chromium', '/usr/bin/chromium');
if (!url || !profile) {
  console.error('usage: node run_tour.mjs --url URL --profile DIR [--out DIR] [--timeout S]');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const report = { url: url.replace(/token=[^&]+/, 'token=…'), checks: {}, errors: [] };
const check = (name, ok, detail) => {
  report.checks[name] = detail === undefined ? !!ok : { ok: !!ok, detail };
  if (!ok) report.errors.push(`${name} failed${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
};

// Everything below runs in the page. JupyterLab exposes the app as window.jupyterapp
// (the lab is started with expose_app_in_browser); the DOM is used for what a user sees.
function notebookState() {
  const app = window.jupyterapp;
  const panel = app && [...app.shell.widgets('main')].find((w) => w.content && w.sessionContext);
  if (!panel || !panel.content || !panel.sessionContext) return { ready: false };
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const code = panel.content.widgets.filter((c) => c.model.type === 'code');
  const prompts = [...document.querySelectorAll('.jp-InputArea-prompt')].map((p) => p.textContent);
  return {
    ready: true,
    kernel: kernel ? kernel.status : 'none',
    codeCells: code.length,
    executed: code.filter((c) => c.model.executionCount != null).length,
    running: prompts.filter((t) => t.includes('*')).length,
    tracebacks: code.filter((c) => c.model.outputs.toJSON()
      .some((o) => o.output_type === 'error')).length,
  };
}

function pageFacts() {
  const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
  const text = outputs.map((o) => o.textContent).join('\n');
  const imgs = [...document.querySelectorAll('.jp-OutputArea-output img')];
  const loaded = imgs.filter((i) => i.complete && i.naturalWidth > 100 && i.naturalHeight > 50);
  return {
    text,
    images: imgs.length,
    loadedImages: loaded.length,
    pngImages: loaded.filter((i) => i.src.startsWith('data:image/png')).length,
    widgetImages: loaded.filter((i) => i.closest('.jupyter-widgets, .widget-image') ||
                                       i.classList.contains('widget-image')).length,
    // monitor(c) in JupyterLab with the glassbox extension: a canvas the browser draws
    browserCharts: [...document.querySelectorAll('.jp-Notebook .gbx-livechart')]
      .map((c) => ({ samples: Number(c.dataset.samples || 0), claimed: c.dataset.claimed === 'true',
                     state: c.dataset.state || '', info: c.querySelector('.gbx-sub').textContent })),
    sliders: document.querySelectorAll('.jupyter-widgets .widget-slider, .widget-hslider').length,
    errorBoxes: outputs.filter((o) => o.textContent.includes('Error:')).length,
    tables: document.querySelectorAll('.jp-OutputArea-output table').length,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let context;
let page;
let code = 1;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath, headless: true, args: ARGS, viewport: { width: 1400, height: 1000 },
    timeout: 60000,
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => report.errors.push(`page error: ${e.message}`.slice(0, 300)));
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });

  // the notebook is open and its kernel is idle
  await page.waitForFunction(() => {
    const app = window.jupyterapp;
    const p = app && [...app.shell.widgets('main')].find((w) => w.content && w.sessionContext);
    const k = p && p.sessionContext && p.sessionContext.session && p.sessionContext.session.kernel;
    return !!(k && k.status === 'idle' && p.content && p.content.widgets.length > 0);
  }, null, { timeout: 90000, polling: 250 });
  // JupyterLab's own "Error Loading Theme" dialog (its stylesheet request timed out on a
  // loaded machine) would cover the menu: note it and close it
  const themeError = page.locator('.jp-Dialog', { hasText: 'Error Loading Theme' });
  if (await themeError.count()) {
    report.notes = ['JupyterLab showed "Error Loading Theme" (slow machine)'];
    await themeError.locator('.jp-mod-accept').click();
  }
  const before = await page.evaluate(notebookState);
  check('notebook opened with a kernel', before.ready && before.codeCells > 5, before);

  // Run → Run All Cells, as a user would
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
  const t0 = Date.now();

  // done: every code cell has an execution count, no [*] prompt, kernel idle
  // (or an error stopped the run: JupyterLab stops Run All at the first failing cell)
  let state;
  for (;;) {
    state = await page.evaluate(notebookState);
    const finished = state.executed === state.codeCells && state.running === 0 &&
                     state.kernel === 'idle';
    if (finished || state.tracebacks > 0) break;
    if (Date.now() - t0 > timeoutMs) { report.errors.push(`timed out: ${JSON.stringify(state)}`); break; }
    await sleep(500);
  }
  await sleep(1500);                  // let the last widget redraw land in the page
  report.seconds = Math.round((Date.now() - t0) / 100) / 10;
  check('all cells ran', state.executed === state.codeCells && state.running === 0, state);
  check('no traceback', state.tracebacks === 0, state.tracebacks);

  const facts = await page.evaluate(pageFacts);
  const { text } = facts;
  check('build step log', text.includes('[2/3] RUN echo hi > /hi') &&
        text.includes('Successfully tagged tour:1'));
  check('CACHED step in the rebuild', text.includes('[2/4] CACHED RUN echo hi > /hi'));
  check('run --rm printed hi and exit code 0', /(^|\n)hi\n/.test(text) && text.includes('exit code 0'));
  check('limit slider applied', text.includes('cgroup memory limit now: 96 MiB'));
  check('hog exited 0', text.includes('hog exited with code 0'));
  check('OOM kill: exit 137', text.includes('oom exited with code 137 - OOM killed: True'));
  check('chart and layer images shown', facts.pngImages >= 5, facts.pngImages);
  // monitor(c): drawn by the browser (the extension), from the lab's stream, claimed from
  // the kernel; not the kernel's PNG widget
  check('monitor(c) chart drawn by the browser', facts.browserCharts.length === 1 &&
        facts.browserCharts[0].samples > 0 && facts.browserCharts[0].claimed, facts.browserCharts);
  check('no kernel-drawn chart widget', facts.widgetImages === 0, facts.widgetImages);
  check('limit sliders rendered', facts.sliders >= 3, facts.sliders);
  check('ps / images tables', facts.tables >= 2, facts.tables);
  check('no glassbox error box', facts.errorBoxes === 0, facts.errorBoxes);
  report.images = { total: facts.images, loaded: facts.loadedImages };

  // screenshots: the top (build log + layer diagram), then the live chart and the OOM chart
  const shot = async (name, cellText, outputSelector) => {
    await page.evaluate(([want, sel]) => {
      const cell = [...document.querySelectorAll('.jp-Cell')]
        .find((c) => (c.querySelector('.jp-InputArea') || c).textContent.includes(want));
      const el = cell && sel ? cell.querySelector(sel) || cell : cell;
      if (el) el.scrollIntoView({ block: 'start' });
    }, [cellText, outputSelector || '']);
    await sleep(500);
    const file = path.join(out, name);
    await page.screenshot({ path: file });
    return file;
  };
  await page.evaluate(() => window.jupyterapp.shell.collapseLeft());   // room for the notebook
  report.screenshots = [
    await shot('tour.png', '%%dockerfile -t tour:1'),            // build log + layer tree
    await shot('tour-monitor.png', 'c = %container run -d'),     // hog, live chart, sliders
    await shot('tour-layers.png', 'glassbox.jupyter.layers('),   // shared layers + R/W
    await shot('tour-oom.png', 'o = %container run -d'),         // the OOM kill on a chart
  ];
  code = report.errors.length ? 1 : 0;
} catch (e) {
  report.errors.push(`${e.name}: ${e.message}`.slice(0, 1000));
  code = 1;
  if (page) {                       // what the page looked like when it went wrong
    report.atFailure = await page.evaluate(() => ({
      jupyterapp: typeof window.jupyterapp,
      main: window.jupyterapp && [...window.jupyterapp.shell.widgets('main')]
        .map((w) => w.title.label),
      dialogs: [...document.querySelectorAll('.jp-Dialog')].map((d) => d.innerText.slice(0, 200)),
      title: document.title,
    })).catch((err) => String(err));
    report.screenshots = [path.join(out, 'failure.png')];
    await page.screenshot({ path: report.screenshots[0] }).catch(() => undefined);
  }
} finally {
  if (context) await context.close().catch(() => undefined);
}
console.log(JSON.stringify(report));
process.exit(code);
