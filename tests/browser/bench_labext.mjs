// Timings of the glassbox panel in Debian's chromium, for bench/labext.py (not a test).
//
//   node bench_labext.mjs --url URL --profile DIR --mode latency --n 10 --glassbox PATH
//     event-to-screen: start a container with the CLI, time until its row is in the panel
//   node bench_labext.mjs --url URL --profile DIR --mode render --n 10
//     the panel's update cost with the containers already in the state root (e.g. 500):
//     one refresh = GET /glassbox/containers + JSON + redraw, and the redraw alone
//
// Prints one JSON line.
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');
const option = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const url = option('url');
const profile = option('profile');
const mode = option('mode', 'latency');
const n = Number(option('n', '10'));
const glassbox = option('glassbox', 'glassbox');
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const out = { mode, samples: [] };
const run = (args) => new Promise((resolve, reject) =>
  execFile(glassbox, args, (err, stdout) => (err ? reject(err) : resolve(stdout))));

const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium', headless: true, args: ARGS,
  viewport: { width: 1400, height: 900 }, timeout: 60000,
});
try {
  const page = context.pages()[0] || await context.newPage();
  await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 60000 });
  await page.locator('.jp-SideBar .lm-TabBar-tab[data-id="glassbox-panel"]').click({ timeout: 60000 });
  await page.locator('#glassbox-panel .gbx-banner', { hasText: 'connected' }).waitFor({ timeout: 30000 });
  if (mode === 'latency') {
    for (let i = 0; i < n; i++) {
      const name = `lat-${process.pid}-${i}`;
      const t0 = Date.now();
      let t2 = 0;
      const started = run(['run', '-d', '--network', 'none', '--name', name, 'busybox', 'sleep', '600'])
        .then(() => { t2 = Date.now(); });
      await page.waitForFunction((nm) => !!document.querySelector(`#glassbox-panel .gbx-row[data-name="${nm}"]`),
        name, { polling: 'raf', timeout: 30000 });
      const t1 = Date.now();
      await started;
      out.samples.push({ row_visible_ms: t1 - t0, cli_returned_ms: t2 - t0 });
      await run(['rm', '-f', name]);
    }
  } else {
    const rows = Number(option('rows', '500'));
    await page.waitForFunction((k) => document.querySelectorAll('#glassbox-panel .gbx-row[data-name]').length >= k,
      rows, { timeout: 60000 });
    const r = await page.evaluate(async (times) => {
      const panel = [...window.jupyterapp.shell.widgets('left')].find((w) => w.id === 'glassbox-panel');
      const full = [];
      const draw = [];
      for (let i = 0; i < times; i++) {
        let t = performance.now();
        panel.pending.add('containers');
        await panel.flush();
        await new Promise((res) => requestAnimationFrame(() => res()));
        full.push(performance.now() - t);
        const data = [...panel.rows.values()];
        t = performance.now();
        panel.rowCache = new Map();            // the worst case: every row is new
        panel.drawContainers(data);
        document.body.offsetHeight;            // force the layout the redraw causes
        draw.push(performance.now() - t);
      }
      return { full, draw, rows: document.querySelectorAll('#glassbox-panel .gbx-row[data-name]').length };
    }, n);
    out.samples = r;
  }
} finally {
  await context.close().catch(() => undefined);
}
console.log(JSON.stringify(out));
