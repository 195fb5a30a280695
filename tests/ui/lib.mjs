// Shared helpers of the browser tests: launch Debian's chromium through playwright-core
// (no browser download), with the flags this closed network needs and a fresh profile;
// sign in; assertions that print what they saw.

import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is missing (tests/ui_browser.rs sets it)`);
  return v;
};

export const ARTIFACTS = process.env.UI_ARTIFACTS || 'target/ui-artifacts';
mkdirSync(ARTIFACTS, { recursive: true });

export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'jitgate-ui-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 900 },
  });
  context.setDefaultTimeout(10000);
  return context;
}

export function check(cond, what, seen) {
  if (!cond) throw new Error(`FAILED: ${what}${seen === undefined ? '' : ` — saw: ${String(seen).slice(0, 600)}`}`);
  console.log(`ok - ${what}`);
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  console.log(`artifact - ${join(ARTIFACTS, `${name}.png`)}`);
}

/** A new tab for one user; `url` shows the sign-in form first, then the page asked for. */
export async function signedIn(context, url, token) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(url);
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#who').filter({ hasText: 'user:' }).waitFor();
  return page;
}

/** fetch() from inside the page, as its own code would call the API (same token, same origin). */
export async function pageFetch(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const headers = { 'x-jitgate-csrf': '1', 'content-type': 'application/json' };
    const t = sessionStorage.getItem('jitgate.token');
    if (t) headers.authorization = `Bearer ${t}`;
    const r = await fetch(`../v1${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, path, body]);
}

export async function main(fn) {
  try {
    await fn();
    console.log('ALL PASSED');
  } catch (e) {
    console.error(e.stack || String(e));
    process.exit(1);
  }
}
