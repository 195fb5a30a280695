// "My access": the caller's pending requests (cancel) and live grants with the time left
// (drop access early), plus their recently decided requests.

import { api, q, session } from './api.js';
import { announce, badge, countdown, errorBox, facts, h, scopeList, show, when } from './dom.js';
import { summary } from './request.js';

export async function mine() {
  const me = session.me;
  let pending, grants, recent;
  try {
    [pending, grants, recent] = await Promise.all([
      api('GET', '/requests?mine=true&status=pending'),
      api('GET', `/grants?subject=${q(me.subject)}`),
      api('GET', '/requests?mine=true&limit=10'),
    ]);
  } catch (e) {
    show(h('h1', {}, 'My access'), errorBox(e));
    return;
  }
  const out = h('div', {});
  show(
    h('h1', {}, 'My access'),
    h('p', {}, h('a', { href: '#/request', class: 'button primary' }, 'Ask for access')),
    out,
    h('section', { 'aria-labelledby': 'h-grants' },
      h('h2', { id: 'h-grants' }, 'Live grants'),
      grants.grants.length ? grants.grants.map((g) => grantCard(g, out)) : h('p', { class: 'hint' }, 'No live grants.')),
    h('section', { 'aria-labelledby': 'h-pending' },
      h('h2', { id: 'h-pending' }, 'Pending requests'),
      pending.requests.length ? pending.requests.map((r) => pendingCard(r, out)) : h('p', { class: 'hint' }, 'Nothing pending.')),
    h('section', { 'aria-labelledby': 'h-recent' },
      h('h2', { id: 'h-recent' }, 'Recent requests'),
      h('ul', { class: 'history' }, recent.requests.filter((r) => r.status !== 'pending').map((r) =>
        h('li', {}, badge(r.status), ' ', h('a', { href: `#/requests/${r.id}` }, summary(r)), ' ', when(r.created_at))))),
  );
}

function grantCard(g, out) {
  return h('article', { class: 'card grant', 'aria-labelledby': `g-${g.id}` },
    h('h3', { id: `g-${g.id}` }, h('a', { href: `#/grants/${g.id}` }, g.id), ' ', badge(g.status)),
    facts([
      ['What', scopeList(g.resources)],
      ['Time left', countdown(g.expires_at)],
      ['Uses', g.max_uses ? `${g.uses} of ${g.max_uses}` : String(g.uses)],
      ['Why', g.reason],
      ['Approved by', (g.approved_by || []).join(', ')],
    ]),
    g.subject === session.me.subject ? h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'secondary',
      onclick: () => run(out, 'DELETE', `/grants/${q(g.id)}?reason=${q('done early')}`, `Access ${g.id} dropped.`),
    }, 'Drop this access now')) : null);
}

function pendingCard(r, out) {
  return h('article', { class: 'card', 'aria-labelledby': `p-${r.id}` },
    h('h3', { id: `p-${r.id}` }, h('a', { href: `#/requests/${r.id}` }, summary(r)), ' ', badge(r.status)),
    facts([
      ['Approvals', `${(r.approvals || []).length} of ${r.min_approvals} — ${r.approvals_needed} still needed`],
      ['Approvers', (r.current_approvers || []).join(', ')],
      ['Decide within', countdown(r.expires_at)],
    ]),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'secondary',
      onclick: () => run(out, 'POST', `/requests/${q(r.id)}/cancel`, 'Request cancelled.'),
    }, 'Cancel')));
}

async function run(out, method, path, message) {
  try {
    await api(method, path);
    announce(message);
    await mine();
  } catch (e) {
    out.replaceChildren(errorBox(e));
  }
}
