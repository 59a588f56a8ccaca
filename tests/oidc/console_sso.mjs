// The console's "Sign in with SSO" in a real browser (Debian's Chromium, driven by the
// console's own playwright-core): opened for the tenant, the button goes through the
// provider and back, and the console is signed in by the collector's HttpOnly cookie,
// which the page's scripts cannot read; signing out ends the session. Run by
// tests/e2e/test_oidc.sh with CONSOLE_URL, TENANT and the console's directory.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (k) => { if (!process.env[k]) throw new Error(`${k} is not set`); return process.env[k]; };
const URL = env('CONSOLE_URL'), TENANT = env('TENANT');
const { chromium } = createRequire(join(env('CONSOLE_DIR'), 'package.json'))('playwright-core');
const eq = (want, got, what) => { if (want !== got) throw new Error(`FAIL: ${what}: expected ${want}, got ${got}`); };

const dir = mkdtempSync(join(tmpdir(), 'mtd-oidc-console-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-gpu', '--no-first-run',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = ctx.pages()[0] || await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${URL}/console/`);
  await page.getByLabel('Token').waitFor();
  eq(0, await page.getByText('Sign in with SSO').count(), 'no SSO button without a tenant');
  await page.goto(`${URL}/console/?tenant=${TENANT}`);
  await page.getByText('Sign in with SSO').click();
  await page.locator('.who .role').waitFor({ timeout: 20000 });
  eq('admin', await page.locator('.who .role').textContent(), 'the role after the SSO sign-in');
  eq(`tenant ${TENANT}`, await page.locator('.who .mono').textContent(), 'the tenant shown');
  eq(false, (await page.evaluate(() => document.cookie)).includes('mtd_session'), 'the session cookie is HttpOnly');
  const cookie = (await ctx.cookies(URL)).find((c) => c.name === 'mtd_session');
  eq('Strict true', `${cookie.sameSite} ${cookie.httpOnly}`, 'the cookie is SameSite=Strict and HttpOnly');
  console.log('ok - the console signs in through the provider, by its HttpOnly cookie');
  await page.goto(`${URL}/console/?tenant=${TENANT}#/tokens`);
  await page.getByRole('heading', { name: 'Tokens & roles', level: 1 }).waitFor();
  await page.getByText('oidc:alice').first().waitFor();
  console.log('ok - an admin page with the cookie session: the session is listed among the tokens');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByText('Sign in with SSO').waitFor();
  const status = await page.evaluate(async () => (await fetch('/v1/admin/session',
    { headers: { 'X-Openmtd-Console': '1' }, credentials: 'same-origin' })).status);
  eq(401, status, 'the session after signing out');
  eq('', errors.join('; '), 'page errors');
  console.log('ok - signing out ends the session at the collector');
} finally {
  await ctx.close();
  rmSync(dir, { recursive: true, force: true });
}
