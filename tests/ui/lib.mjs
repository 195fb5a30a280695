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

/** Every visible text whose contrast with its background is below WCAG AA (4.5:1). */
export async function lowContrast(page) {
  return page.evaluate(() => {
    const parse = (c) => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return null;
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return { r: 255, g: 255, b: 255, a: 1 };
    };
    const bad = [];
    const seen = new Set();
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      const text = walker.currentNode.textContent.trim();
      const el = walker.currentNode.parentElement;
      if (!text || seen.has(el) || !el.getClientRects().length) continue;
      seen.add(el);
      const fg = parse(getComputedStyle(el).color);
      const [hi, lo] = [lum(fg), lum(background(el))].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      if (ratio < 4.5) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${text.slice(0, 30)}" ${ratio.toFixed(2)}:1`);
    }
    return bad;
  });
}
