// Reverse-proxy header mode: the proxy adds the caller's token to every request (simulated
// with extra HTTP headers), so the page signs in by itself, and its own writes pass the
// CSRF rule, while a cross-site page that makes the same browser post to jitgate (a form, a
// no-cors fetch, a CORS fetch with the custom header) is refused.

import { check, env, launch, main, shot } from './lib.mjs';

const BASE = env('BASE');
const HEADER = env('TOKEN_HEADER');

main(async () => {
  const context = await launch();
  try {
    const page = await context.newPage();
    await page.setExtraHTTPHeaders({ [HEADER]: env('BOB') });
    await page.goto(`${BASE}/ui/#/requests/${env('FIRST')}`);
    await page.locator('#who').filter({ hasText: 'user:bob' }).waitFor();
    check(await page.getByLabel('Bearer token').count() === 0, 'signed in by the proxy header, no token pasted');
    check(await page.getByRole('button', { name: 'Sign out' }).count() === 0, 'no sign-out in proxy mode');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.locator('#status').filter({ hasText: 'Approved' }).waitFor();
    check(true, "the page's own write passes the CSRF rule");
    await shot(page, 'proxy-mode-approved');

    // A page on another origin, in the same browser, with the same ambient credential.
    const evil = await context.newPage();
    await evil.setExtraHTTPHeaders({ [HEADER]: env('BOB') });
    const target = `${BASE}/v1/requests/${env('SECOND')}/approve`;
    await evil.route('http://evil.test/**', (route) => route.fulfill({
      contentType: 'text/html',
      body: `<html><body><form id="f" method="post" action="${target}" enctype="text/plain">
        <input name='{"comment": "x", "pad": "' value='"}'></form></body></html>`,
    }));
    await evil.goto('http://evil.test/');
    const results = await evil.evaluate(async (target) => {
      const out = {};
      try {
        await fetch(target, { method: 'POST', mode: 'no-cors', body: '{}' });
        out.noCors = 'sent';
      } catch (e) { out.noCors = `blocked: ${e.message}`; }
      try {
        const r = await fetch(target, { method: 'POST', headers: { 'x-jitgate-csrf': '1', 'content-type': 'application/json' }, body: '{}' });
        out.cors = `status ${r.status}`;
      } catch (e) { out.cors = `blocked: ${e.message}`; }
      return out;
    }, target);
    check(results.cors.startsWith('blocked'), 'a cross-site fetch with the custom header dies at the CORS preflight', JSON.stringify(results));
    await Promise.all([evil.waitForNavigation(), evil.evaluate(() => document.getElementById('f').submit())]);
    const answer = await evil.locator('body').innerText();
    check(answer.includes('csrf_refused'), 'a cross-site form post is refused with csrf_refused', answer);
    await evil.close();
    await page.close();
  } finally {
    await context.close();
  }
});
