// The JIT flow on the page, as four people: a requester asks from a 403's hint link, an
// approver decides from the queue, the requester sees the live grant, an SRE revokes it and
// reads its audit trail; then the page's authorization refusals and accessibility checks.
// Run by tests/ui_browser.rs with BASE, HINT_URL and tokens in the environment.

import { createServer } from 'node:http';
import {
  ARTIFACTS, check, env, launch, lowContrast, main, pageFetch, shot, signedIn,
} from './lib.mjs';

const BASE = env('BASE');
const [ALICE, BOB, ADMIN, CAROL] = ['ALICE', 'BOB', 'ADMIN', 'CAROL'].map(env);

// The policy's webhook: what an approver's chat would receive.
const deliveries = [];
const hooks = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => { deliveries.push(JSON.parse(body)); res.end('ok'); });
});

async function webhookLink(id) {
  for (let i = 0; i < 100; i++) {
    const d = deliveries.find((e) => e.request && e.request.id === id);
    if (d) return d.links && d.links.request;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no webhook delivery for request ${id}; got ${JSON.stringify(deliveries)}`);
}

main(async () => {
  await new Promise((r) => hooks.listen(Number(env('HOOK_PORT')), '127.0.0.1', r));
  const context = await launch();
  try {
    await headers();
    const id = await requesterAsks(context);
    const link = await webhookLink(id);
    check(link === `${BASE}/ui/#/requests/${id}`, "the webhook message links to the request's page", link);
    await approverDecides(context, link);
    await requesterSeesGrant(context, id);
    await sreRevokes(context, id);
    await requesterCancelsAndDrops(context);
    await refusals(context, id);
    await keyboardAndPhone(context);
  } finally {
    await context.close();
    hooks.close();
  }
});

async function headers() {
  const r = await fetch(`${BASE}/ui/`);
  const csp = r.headers.get('content-security-policy') || '';
  check(r.status === 200 && r.headers.get('content-type').startsWith('text/html'), '/ui/ is HTML');
  check(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'") && !csp.includes('unsafe-inline'), 'strict CSP', csp);
  check(r.headers.get('x-content-type-options') === 'nosniff' && r.headers.get('x-frame-options') === 'DENY'
    && r.headers.get('referrer-policy') === 'no-referrer', 'nosniff, DENY, no-referrer');
  const again = await fetch(`${BASE}/ui/app.js`, { headers: { 'if-none-match': (await fetch(`${BASE}/ui/app.js`)).headers.get('etag') } });
  check(again.status === 304, 'an unchanged asset answers 304 to its ETag', again.status);
}

async function requesterAsks(context) {
  const hint = env('HINT_URL');
  check(hint.startsWith(`${BASE}/ui/#/request?`), "the 403's hint carries a link to the page", hint);
  const page = await signedIn(context, hint, ALICE);
  await page.getByRole('heading', { name: 'Ask for access' }).waitFor();
  check(await page.getByLabel('Service').inputValue() === 'orders', 'service pre-filled');
  check(await page.getByLabel('Methods').inputValue() === 'GET', 'method pre-filled');
  check(await page.getByLabel('Paths').inputValue() === '/orders/7', 'path pre-filled');
  await page.getByLabel('For how long').fill('30m');
  await page.getByLabel('Why').fill('INC-4312 latency');
  await page.getByRole('button', { name: 'Ask for access' }).click();
  await page.waitForURL(/#\/requests\//);
  await page.locator('.badge.pending').first().waitFor();
  const text = await page.locator('main').innerText();
  check(text.includes('1 still needed'), 'the requester sees how many approvals are needed', text);
  const id = decodeURIComponent(page.url().split('#/requests/')[1]);
  await shot(page, 'requester-pending');
  await page.close();
  return id;
}

async function approverDecides(context, link) {
  // The webhook's link opens this request directly (after sign-in); then the queue.
  const page = await signedIn(context, link, BOB);
  await page.getByRole('heading', { name: 'Request from user:alice' }).waitFor();
  await page.getByRole('button', { name: 'Approve' }).waitFor();
  await page.goto(`${BASE}/ui/#/queue`);
  await page.getByRole('heading', { name: 'Waiting for your decision' }).waitFor();
  const card = page.locator('article.request').filter({ hasText: 'user:alice' });
  await card.waitFor();
  const text = await card.innerText();
  for (const want of ['user:alice', 'orders', 'GET', '/orders/7', '30m', 'INC-4312 latency', 'orders-read', '0 of 1 — 1 still needed', 'Recent requests by them', 'INC-4100 is over']) {
    check(text.includes(want), `the queue card shows ${want}`, text);
  }
  const low = await lowContrast(page);
  check(low.length === 0, 'every text on the queue has contrast >= 4.5:1', low.join('; '));
  await shot(page, 'approver-queue');
  await page.setViewportSize({ width: 375, height: 812 });
  check(await page.evaluate(() => document.documentElement.scrollWidth <= 375), 'readable at 375 px: no sideways scrolling');
  await shot(page, 'approver-phone');
  await page.setViewportSize({ width: 1200, height: 900 });
  await card.getByLabel('Comment (optional)').fill('go ahead, INC-4312');
  await card.getByRole('button', { name: 'Approve' }).click();
  await page.locator('#status').filter({ hasText: 'Approved' }).waitFor();
  check(true, 'approved with a comment in one click');
  await page.close();
}

async function requesterSeesGrant(context, id) {
  const page = await signedIn(context, `${BASE}/ui/#/mine`, ALICE);
  const grant = page.locator('article.grant').filter({ hasText: `req-${id}` });
  await grant.waitFor();
  const left = await grant.locator('.countdown').innerText();
  check(/^(29|30)m \d\ds$/.test(left), 'the requester sees the live grant with time left', left);
  const low = await lowContrast(page);
  check(low.length === 0, "every text on 'My access' has contrast >= 4.5:1", low.join('; '));
  await shot(page, 'requester-grant');
  await page.close();
}

async function sreRevokes(context, id) {
  const page = await signedIn(context, `${BASE}/ui/#/grants`, ADMIN);
  await page.getByLabel('Subject').fill('user:alice');
  await page.getByLabel('Source').selectOption('request');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/#\/grants\?subject=user%3Aalice&source=request$/);
  const card = page.locator('article.grant').filter({ hasText: `req-${id}` });
  await card.waitFor();
  // The unfiltered list may still be on screen for a moment: wait for the filtered one.
  await page
    .waitForFunction(() => {
      const names = [...document.querySelectorAll('article.grant h2 a')].map((a) => a.textContent);
      return names.length > 0 && names.every((t) => t === 'user:alice');
    }, null, { timeout: 5000 })
    .catch(() => {});
  const subjects = await page.locator('article.grant h2 a').allInnerTexts();
  check(subjects.length > 0 && subjects.every((t) => t === 'user:alice'), 'the SRE filters live grants by subject and source', subjects.join(','));
  await card.waitFor();
  await card.getByLabel('Reason for revoking').fill('incident over');
  await card.getByRole('button', { name: /Revoke/ }).click();
  await page.locator('#status').filter({ hasText: 'Revoked' }).waitFor();
  check(true, 'the SRE revoked the grant');
  await page.goto(`${BASE}/ui/#/grants/req-${id}`);
  const trail = page.locator('ol.trail');
  await trail.waitFor();
  const text = await trail.innerText();
  for (const kind of ['request.filed', 'request.approved', 'grant.created', 'grant.revoked', 'go ahead, INC-4312', 'incident over']) {
    check(text.includes(kind), `the audit trail shows ${kind}`, text);
  }
  check((await page.locator('.badge').first().innerText()) === 'revoked', 'the grant shows as revoked');
  const shown = await page.locator('article.grant').innerText();
  check(shown.includes('user:root') && !shown.includes('Time left'), 'a revoked grant shows who revoked it, not a countdown', shown);
  const low = await lowContrast(page);
  check(low.length === 0, 'every text on the grant page has contrast >= 4.5:1', low.join('; '));
  await shot(page, 'sre-grant-trail');
  await page.close();
}

async function requesterCancelsAndDrops(context) {
  const page = await signedIn(context, `${BASE}/ui/#/mine`, ALICE);
  const filed = await pageFetch(page, 'POST', '/requests', { resources: [{ service: 'orders', methods: ['GET'], paths: ['/orders/2'] }], ttl: '10m', reason: 'INC-2 check' });
  check(filed.status === 201, 'alice files another request', JSON.stringify(filed));
  await page.reload();
  const pending = page.locator('article').filter({ hasText: '/orders/2' });
  await pending.getByRole('button', { name: 'Cancel' }).click();
  await page.locator('#status').filter({ hasText: 'cancelled' }).waitFor();
  await page.locator('article').filter({ hasText: '/orders/2' }).filter({ has: page.getByRole('button', { name: 'Cancel' }) }).waitFor({ state: 'detached' });
  check(true, 'the requester cancels a pending request');
  const grant = page.locator('article.grant').filter({ hasText: env('ALICE_GRANT') });
  await grant.getByRole('button', { name: 'Drop this access now' }).click();
  await page.locator('#status').filter({ hasText: 'dropped' }).waitFor();
  await grant.waitFor({ state: 'detached' });
  check(true, 'the requester drops a live grant early');
  await page.close();
}

async function refusals(context, id) {
  // Carol is an engineer, not an approver: the request is not hers to see.
  const carol = await signedIn(context, `${BASE}/ui/#/requests/${id}`, CAROL);
  await carol.locator('[role=alert]').waitFor();
  check((await carol.locator('[role=alert]').innerText()).includes('not yours to see'), "a stranger cannot open someone's request");
  const own = await pageFetch(carol, 'POST', '/requests', { resources: [{ service: 'orders', methods: ['GET'], paths: ['/orders/1'] }], ttl: '10m', reason: 'INC-1 check' });
  check(own.status === 201, 'carol files her own request', JSON.stringify(own));
  await carol.goto(`${BASE}/ui/#/requests/${own.body.id}`);
  await carol.locator('.badge.pending').first().waitFor();
  check(await carol.getByRole('button', { name: 'Approve' }).count() === 0, 'no Approve button on your own request');
  const self = await pageFetch(carol, 'POST', `/requests/${own.body.id}/approve`, {});
  check(self.status === 403 && self.body.message.includes('may not approve'), 'the page cannot approve its own request (403)', JSON.stringify(self));
  const queue = await pageFetch(carol, 'GET', '/requests?status=pending&decidable=true');
  check(queue.status === 200 && queue.body.requests.length === 0, "a requester's queue holds no one else's requests", JSON.stringify(queue.body));
  const revoke = await pageFetch(carol, 'DELETE', `/grants/${encodeURIComponent(process.env.BOB_GRANT)}`);
  check([403, 404].includes(revoke.status), 'a non-admin cannot revoke a grant of someone else', JSON.stringify(revoke));
  const audit = await pageFetch(carol, 'GET', '/audit?limit=1');
  check(audit.status === 403, 'a non-admin cannot read the audit log', JSON.stringify(audit));
  await carol.goto(`${BASE}/ui/#/grants`);
  await carol.getByRole('heading', { name: 'Live grants' }).waitFor();
  check(await carol.getByRole('button', { name: /Revoke/ }).count() === 0, 'no Revoke button on grants that are not yours');
  await carol.close();
}

async function keyboardAndPhone(context) {
  // Bob decides Carol's request with the keyboard only, on a phone-sized screen.
  const page = await signedIn(context, `${BASE}/ui/#/queue`, BOB);
  await page.setViewportSize({ width: 375, height: 812 });
  await page.locator('article.request').first().waitFor();
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, textarea, select')]
    .filter((el) => el.type !== 'hidden' && el.labels.length === 0).map((el) => el.outerHTML));
  check(unlabelled.length === 0, 'every input has a label', unlabelled.join(' '));
  let reached = false;
  for (let i = 0; i < 60 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement && document.activeElement.textContent === 'Approve');
  }
  check(reached, 'Approve is reachable with Tab');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check(outline !== 'none', 'the focused button shows a visible focus ring', outline);
  await page.keyboard.press('Enter');
  await page.locator('#status').filter({ hasText: 'Approved' }).waitFor();
  check(true, 'approved with the keyboard alone');
  await shot(page, 'approver-keyboard-phone');
  await page.close();
  console.log(`artifacts in ${ARTIFACTS}`);
}
