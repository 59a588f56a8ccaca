// The console in a real browser: Debian's Chromium driven by playwright-core against
// the collector tests/e2e/test_console.sh started and filled (its environment names
// the URL, the tokens, the agent and the hostile strings). Each check prints "ok - ..."
// or throws; a screenshot of every page goes to $ARTIFACTS, and axe-core runs on
// every page (no serious or critical violation allowed).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k) => { if (!process.env[k]) throw new Error(`${k} is not set`); return process.env[k]; };
const URL = env('CONSOLE_URL');
const ART = env('ARTIFACTS');
const ADMIN = env('ADMIN_TOKEN'), ANALYST = env('ANALYST_TOKEN'), PRIVACY = env('PRIVACY_TOKEN');
const EVIL_PKG = env('EVIL_PKG'), EVIL_MODEL = env('EVIL_MODEL'), EVIL_COMMENT = env('EVIL_COMMENT');
const DA = env('DEVICE_AGENT'), DB = env('DEVICE_PHONE');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let passed = 0;
function ok(what) { passed++; console.log(`ok - ${what}`); }
function check(cond, what) { if (!cond) throw new Error(`FAIL: ${what}`); }
function eq(want, got, what) {
  if (JSON.stringify(want) !== JSON.stringify(got)) throw new Error(`FAIL: ${what}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

const profiles = [];
const contexts = [];
const problems = []; // third-party requests, CSP violations, dialogs, page errors
let shot = 0;

async function browser(name) {
  // a fresh profile for each user, as the brief for Chromium here says
  const dir = mkdtempSync(join(tmpdir(), `mtd-console-${name}-`));
  profiles.push(dir);
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
    viewport: { width: 1366, height: 900 },
    acceptDownloads: true,
  });
  contexts.push(ctx);
  ctx.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(`${URL}/`) && !u.startsWith('blob:') && !u.startsWith('data:')) problems.push(`request to ${u}`);
    if ([ADMIN, ANALYST, PRIVACY].some((t) => u.includes(t))) problems.push(`a token in a URL: ${u}`);
    if (u.startsWith(`${URL}/v1/`) && !/^Bearer /.test(r.headers().authorization || '') && !u.endsWith('/v1/admin/session'))
      problems.push(`an API request without a token: ${u}`);
  });
  await ctx.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  page.on('dialog', (d) => { problems.push(`a dialog opened: ${d.message()}`); d.dismiss(); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { ctx, page };
}

function noProblems(page, what) {
  return page.evaluate(() => window.__csp).then((csp) => {
    const all = [...problems, ...csp.map((c) => `CSP violation: ${c}`)];
    if (all.length) throw new Error(`FAIL: ${what}: ${all.join('; ')}`);
  });
}

async function snap(page, name) {
  shot++;
  await page.screenshot({ path: join(ART, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

// axe-core in the page; evaluated through the DevTools protocol, which the page's CSP
// does not govern, so the console's own policy stays on while it runs.
async function axe(page, name) {
  const has = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!has) await page.evaluate(axeSource);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length)
    throw new Error(`FAIL: axe on ${name}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`).join('; ')}`);
  return res.violations.length;
}

async function open(page, hash, heading) {
  await page.goto(`${URL}/console/#/${hash}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"]') && !document.querySelector('[role="status"].muted'));
}

async function signIn(page, tok) {
  await page.goto(`${URL}/console/`);
  await page.getByLabel('Token').fill(tok);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Fleet overview' }).waitFor();
}

function runAgent() {
  try {
    execFileSync(env('AGENT_BIN'), ['run', '--state', env('AGENT_STATE'), '--once'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { code: 0, err: '' };
  } catch (e) {
    return { code: e.status, err: String(e.stderr) };
  }
}

const PAGES = [
  ['', 'Fleet overview', 'overview'],
  ['devices', 'Devices', 'devices'],
  [`devices/${DB}`, 'Acme', 'device'],
  ['threats', 'Threats', 'threats'],
  ['apps', 'Apps', 'apps'],
  ['usage', 'Usage & crashes', 'usage'],
  ['feedback', 'Feedback', 'feedback'],
  ['privacy', 'Privacy', 'privacy'],
  ['tokens', 'Tokens & roles', 'tokens'],
  ['audit', 'Audit log', 'audit'],
];

async function main() {
  const admin = await browser('admin');
  const { page } = admin;

  // sign-in: a wrong token is refused and nothing is kept
  await page.goto(`${URL}/console/`);
  await page.getByRole('heading', { name: 'Sign in to the admin console' }).waitFor();
  await snap(page, 'signin');
  await axe(page, 'sign-in');
  await page.getByLabel('Token').fill('adm.0000000000000000.wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
  eq(null, await page.evaluate(() => sessionStorage.getItem('openmtd.admin_token')), 'a refused token is not kept');
  await signIn(page, ADMIN);
  eq(ADMIN, await page.evaluate(() => sessionStorage.getItem('openmtd.admin_token')), 'the token in sessionStorage');
  eq('', await page.evaluate(() => document.cookie), 'no cookie');
  eq([], await admin.ctx.cookies(), 'no cookie in the browser');
  eq(0, await page.evaluate(() => localStorage.length), 'nothing in localStorage');
  ok('sign-in: a wrong token refused, the right one kept in sessionStorage only');

  // the overview, counted by the collector
  const tiles = page.getByTestId('risk-tiles');
  await tiles.getByText('Devices', { exact: true }).waitFor();
  const tileText = (await tiles.innerText()).replace(/\s+/g, ' ');
  check(/^2 Devices 1 High risk 0 Medium risk 0 Low risk 1 No risk 0 Not seen for 7\+ days$/.test(tileText), `overview tiles: ${tileText}`);
  await page.locator('.chart canvas').first().waitFor(); // uPlot is loaded when the chart is first drawn
  ok('overview: devices by risk, the threats chart, devices not seen for 7 days');

  // every page: opens, screenshot, axe
  for (const [hash, heading, name] of PAGES) {
    await open(page, hash, heading);
    eq([], await page.getByRole('alert').allInnerTexts(), `no error shown on ${name}`);
    const minor = await axe(page, name);
    await snap(page, name);
    await noProblems(page, name);
    ok(`page ${name}: opens, no serious accessibility violation (${minor} minor), no CSP violation`);
  }

  // hostile strings are text
  await open(page, `apps?package=${encodeURIComponent(EVIL_PKG)}`, 'Apps');
  eq(1, await page.locator('td').getByText(EVIL_PKG, { exact: true }).count(), 'the hostile package name as text in the apps table');
  await open(page, `devices/${DB}`, 'Acme');
  check(await page.getByRole('heading', { level: 1 }).innerText() === `Acme ${EVIL_MODEL}`, 'the hostile model as the heading text');
  eq(1, await page.locator('td').getByText(EVIL_PKG, { exact: true }).count() >= 1 ? 1 : 0, 'the hostile package in the device\'s threats');
  await snap(page, 'hostile-device');
  await open(page, 'feedback', 'Feedback');
  eq(1, await page.getByText(EVIL_COMMENT, { exact: true }).count(), 'the hostile comment as text');
  eq(0, await page.locator('main img, main script, main b').count(), 'no element made from the hostile strings');
  await snap(page, 'hostile-feedback');
  await noProblems(page, 'hostile strings');
  ok('a hostile package name, device model and feedback comment render as text');

  // a note on how a threat was handled, kept as text
  await open(page, `devices/${DB}`, 'Acme');
  const NOTE = 'Called the user <b>today</b>; app removed & verified';
  await page.getByLabel('Threat', { exact: true }).selectOption({ label: 'Rooted device (active)' });
  await page.getByLabel('Note', { exact: true }).fill(NOTE);
  await page.getByRole('button', { name: 'Add note' }).click();
  await page.locator('td').getByText(NOTE, { exact: true }).waitFor();
  eq(1, await page.getByRole('cell', { name: 'android.su_binary' }).count(), 'the note is filed under the threat');
  await snap(page, 'threat-note');
  ok('threat notes: an admin adds one, shown as text under its threat');

  // threats filters go to the API
  await open(page, 'threats', 'Threats');
  await page.getByLabel('Category', { exact: true }).selectOption('integrity');
  await page.getByRole('cell', { name: 'Rooted device' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('main tbody tr').length === 1);
  await page.getByLabel('Severity', { exact: true }).selectOption('high');
  await page.getByText('No threat matches.').waitFor();
  check(page.url().endsWith('#/threats?category=integrity&severity=high'), `filters in the fragment: ${page.url()}`);
  ok('threat filters: category and severity answered by the API');

  // keyboard: skip link, then the navigation
  await open(page, '', 'Fleet overview');
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Fleet overview' }).waitFor();
  await page.keyboard.press('Tab');
  eq('Skip to content', await page.evaluate(() => document.activeElement.textContent), 'Tab reaches the skip link first');
  await page.keyboard.press('Enter');
  eq('H1', await page.evaluate(() => document.activeElement.tagName), 'the skip link moves focus to the heading');
  await page.locator('nav.sidebar a', { hasText: 'Threats' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Threats' }).waitFor();
  // the page moves focus once it has rendered, a moment after its heading appears (CI
  // read the focus in between once); a page that never moves it still fails below
  await page.waitForFunction(() => document.activeElement.tagName === 'H1', null, { timeout: 5000 }).catch(() => {});
  eq('H1', await page.evaluate(() => document.activeElement.tagName), 'a new page moves focus to its heading');
  ok('keyboard: skip link, navigation by Enter, focus on each page\'s heading');

  // a policy toggle, and the agent receives it on its next round
  await open(page, 'privacy', 'Privacy');
  await page.locator('.markdown h2').first().waitFor();
  check((await page.locator('.markdown').innerText()).includes('What your organization'), 'the privacy statement is shown');
  const sw = page.getByRole('switch', { name: 'App scanning' });
  const was = await sw.isChecked();
  await sw.click();
  await page.getByRole('button', { name: 'Save policy' }).click();
  await page.getByText(/^Saved: devices receive/).waitFor();
  await snap(page, 'policy-saved');
  const before = JSON.parse(readFileSync(join(env('AGENT_STATE'), 'policy.json'), 'utf8'));
  eq(was, before.app_scanning, 'the agent still has the old policy');
  const run = runAgent();
  eq(0, run.code, `the agent's next round (${run.err})`);
  const after = JSON.parse(readFileSync(join(env('AGENT_STATE'), 'policy.json'), 'utf8'));
  eq(!was, after.app_scanning, 'the agent received the toggle');
  ok(`policy: app_scanning ${was} -> ${!was} in the console, received by the agent on its next round`);

  // retire the agent's device
  await open(page, `devices/${DA}`, /.*/);
  await page.getByRole('button', { name: 'Retire device…' }).click();
  await page.getByRole('button', { name: 'Retire', exact: true }).click();
  await page.getByText('Retired', { exact: true }).waitFor();
  const life = page.getByRole('region', { name: 'Lifecycle history' });
  await life.getByRole('cell', { name: 'credential revoked' }).waitFor();
  eq(['enrolled', 'credential revoked'], await life.locator('tbody td:nth-child(2)').allTextContents(), 'the lifecycle after retirement');
  eq(['—', 'retired'], await life.locator('tbody td:nth-child(4)').allTextContents(), 'the revocation\'s reason');
  await snap(page, 'retired');
  const refused = runAgent();
  check(refused.code !== 0 || /401|unauthori|revoked/i.test(refused.err), `the retired device's agent was not refused: ${refused.code} ${refused.err}`);
  ok('retire: the device shows as retired, its lifecycle the revocation, and its agent is refused');
  await noProblems(page, 'admin session');

  // an analyst sees no write control, and the API refuses writes anyway
  const an = await browser('analyst');
  await signIn(an.page, ANALYST);
  await open(an.page, 'privacy', 'Privacy');
  eq(0, await an.page.getByRole('button', { name: 'Save policy' }).count(), 'no save button for an analyst');
  check(await an.page.getByRole('switch', { name: 'App scanning' }).isDisabled(), 'the switches are disabled for an analyst');
  eq(0, await an.page.getByRole('heading', { name: 'A user\'s data' }).count(), 'no user export for an analyst');
  await snap(an.page, 'analyst-privacy');
  await open(an.page, `devices/${DB}`, 'Acme');
  eq(0, await an.page.getByRole('button', { name: /Retire/ }).count(), 'no retire button for an analyst');
  await an.page.getByRole('cell', { name: 'android.su_binary' }).waitFor(); // the admin's note, readable
  eq(0, await an.page.getByRole('button', { name: 'Add note' }).count(), 'no note form for an analyst');
  await open(an.page, 'tokens', 'Tokens & roles');
  eq(0, await an.page.getByRole('button', { name: 'Create token' }).count(), 'no token creation for an analyst');
  const statuses = await an.page.evaluate(async (dev) => {
    const h = { Authorization: `Bearer ${sessionStorage.getItem('openmtd.admin_token')}`, 'Content-Type': 'application/json' };
    const calls = [['PUT', 'policy', '{"app_scanning": true}'], ['DELETE', `devices/${dev}`], ['POST', 'tokens', '{"role":"admin"}'],
      ['POST', 'users/delete', '{"upn":"alice@example.com"}'],
      ['POST', 'threats/notes', JSON.stringify({ device_id: dev, threat_id: 'thr-1', note: 'x' })]];
    const out = [];
    for (const [method, path, body] of calls) out.push((await fetch(`/v1/admin/${path}`, { method, headers: h, body })).status);
    return out;
  }, DB);
  eq([403, 403, 403, 403, 403], statuses, 'the API refuses the analyst\'s writes');
  await noProblems(an.page, 'analyst session');
  ok('analyst: no write control shown, and policy, retire, token, user delete and notes refused by the API (403)');

  // a privacy officer: user export and delete, no policy edit
  const pr = await browser('privacy');
  await signIn(pr.page, PRIVACY);
  await open(pr.page, 'privacy', 'Privacy');
  eq(0, await pr.page.getByRole('button', { name: 'Save policy' }).count(), 'no save button for a privacy officer');
  await pr.page.getByLabel('User principal name').fill('alice@example.com');
  const [dl] = await Promise.all([pr.page.waitForEvent('download'), pr.page.getByRole('button', { name: 'Export' }).click()]);
  const exported = JSON.parse(readFileSync(await dl.path(), 'utf8'));
  eq(1, exported.devices.length, 'the export holds alice\'s device');
  eq(DA, exported.devices[0].device_id, 'alice\'s device');
  check(await pr.page.getByRole('button', { name: 'Delete…' }).isEnabled(), 'delete offered to a privacy officer');
  await snap(pr.page, 'privacy-officer');
  await axe(pr.page, 'privacy officer');
  await noProblems(pr.page, 'privacy officer session');
  ok('privacy officer: exports a user\'s data, may delete it, cannot edit the policy');

  // signing out forgets the token
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to the admin console' }).waitFor();
  eq(null, await page.evaluate(() => sessionStorage.getItem('openmtd.admin_token')), 'the token is gone after sign-out');
  ok('sign-out forgets the token');

}

main().then(() => {
  console.log(`${passed} passed, 0 failed`);
}, (e) => {
  console.error(e.message || e);
  console.log(`${passed} passed, 1 failed`);
  process.exitCode = 1;
}).finally(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  profiles.forEach((d) => rmSync(d, { recursive: true, force: true }));
});
