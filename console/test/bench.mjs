// The console's load time in Chromium, for bench/bench_console.sh: for each page, the
// time from navigation to its data shown (the overview's tiles, the device list's
// rows) on the page's own clock (performance.now() counts from the navigation's start;
// a MutationObserver installed before the page's scripts notes when the element first
// appears), median of RUNS loads, and the page's weight (bytes on the wire of its own
// files, and with the API's answers) on a cold load. Prints one JSON object.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const URL = process.env.CONSOLE_URL;
const TOKEN = process.env.ADMIN_TOKEN;
const RUNS = Number(process.env.RUNS || 5);
const PAGES = [
  ['overview', '#/', '[data-testid="risk-tiles"] .tile-n'],
  ['devices', '#/devices', 'main tbody tr'],
];

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'mtd-console-bench-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run',
    '--disable-component-update', '--disable-sync', '--disable-quic'],
  viewport: { width: 1366, height: 900 },
});
const out = {};
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Network.enable');
  const bytes = new Map(); // request id -> { url, bytes }
  cdp.on('Network.responseReceived', (e) => bytes.set(e.requestId, { url: e.response.url, bytes: 0 }));
  cdp.on('Network.loadingFinished', (e) => { const b = bytes.get(e.requestId); if (b) b.bytes = e.encodedDataLength; });

  // signed in once, with the sign-in form, as an admin does
  await page.goto(`${URL}/console/`);
  await page.fill('#token', TOKEN);
  await page.click('button[type="submit"]');
  await page.locator('nav.sidebar').waitFor({ timeout: 120000 });

  // window.__shown(selector): when an element matching it first appeared, in ms since
  // the navigation started
  await page.addInitScript((sels) => {
    const seen = new Map(sels.map((sel) => [sel, null]));
    const look = () => { for (const [sel, t] of seen) if (t === null && document.querySelector(sel)) seen.set(sel, performance.now()); };
    window.__shown = (sel) => seen.get(sel);
    new MutationObserver(look).observe(document, { childList: true, subtree: true });
  }, PAGES.map((p) => p[2]));

  for (const [name, hash, shown] of PAGES) {
    // cold: no cached file, every byte counted
    await cdp.send('Network.clearBrowserCache');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    bytes.clear();
    await page.goto('about:blank');
    await page.goto(`${URL}/console/${hash}`);
    await page.locator(shown).first().waitFor({ timeout: 120000 });
    await page.waitForLoadState('networkidle');
    const all = [...bytes.values()];
    const own = all.filter((b) => b.url.includes('/console'));
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
    // warm loads, as an admin opens the page again (a reload), and in a new tab (from
    // about:blank: the browser first starts a renderer process for the collector's site,
    // which any page of that site would wait for, so it is shown apart)
    await page.goto(`${URL}/console/${hash}`);
    await page.locator(shown).first().waitFor({ timeout: 120000 });
    const times = [], tab = [];
    for (let r = 0; r < RUNS; r++) {
      await page.reload();
      await page.locator(shown).first().waitFor({ timeout: 120000 });
      times.push(await page.evaluate((sel) => window.__shown(sel), shown));
    }
    for (let r = 0; r < RUNS; r++) {
      await page.goto('about:blank');
      await page.goto(`${URL}/console/${hash}`);
      await page.locator(shown).first().waitFor({ timeout: 120000 });
      tab.push(await page.evaluate((sel) => window.__shown(sel), shown));
    }
    out[name] = {
      ms: times.map((t) => Math.round(t)), median_ms: Math.round(median(times)),
      tab_ms: tab.map((t) => Math.round(t)), tab_median_ms: Math.round(median(tab)),
      files_bytes: own.reduce((s, b) => s + b.bytes, 0), files: own.length,
      total_bytes: all.reduce((s, b) => s + b.bytes, 0),
    };
  }
} finally {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
