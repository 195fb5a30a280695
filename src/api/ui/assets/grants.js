// SREs: live grants with filters, revoke (admins, or a grant's own user), and one grant's
// page with its usage and its audit trail (admins and audit readers).

import { api, q, session } from './api.js';
import {
  announce, badge, countdown, errorBox, facts, field, h, params, scopeList, show, when,
} from './dom.js';

const FILTERS = ['subject', 'service', 'source', 'expiring_within', 'unused'];

/** #/grants?subject=&service=&source=&expiring_within=&unused= */
export async function grantsList(hash) {
  const p = params(hash);
  const query = new URLSearchParams();
  for (const k of FILTERS) if (p.get(k)) query.set(k, p.get(k));
  const subject = h('input', { type: 'text', value: p.get('subject') || '', placeholder: 'user:alice' });
  const service = h('input', { type: 'text', value: p.get('service') || '' });
  const source = h('select', {}, ['', 'api', 'request', 'manifest'].map((s) =>
    h('option', { value: s, selected: p.get('source') === s }, s || 'any')));
  const expiring = h('input', { type: 'text', value: p.get('expiring_within') || '', placeholder: '10m' });
  const unused = h('input', { type: 'checkbox', checked: p.get('unused') === 'true' });
  const form = h('form', { class: 'card filters', role: 'search', 'aria-label': 'Filter grants' },
    field('f-subject', 'Subject', subject),
    field('f-service', 'Service', service),
    field('f-source', 'Source', source),
    field('f-expiring', 'Expiring within', expiring),
    h('div', { class: 'field check' }, unused, h('label', { for: 'f-unused' }, 'Never used')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Filter')));
  unused.id = 'f-unused';
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = new URLSearchParams();
    if (subject.value.trim()) next.set('subject', subject.value.trim());
    if (service.value.trim()) next.set('service', service.value.trim());
    if (source.value) next.set('source', source.value);
    if (expiring.value.trim()) next.set('expiring_within', expiring.value.trim());
    if (unused.checked) next.set('unused', 'true');
    location.hash = `#/grants?${next}`;
  });
  const out = h('div', {});
  let list;
  try {
    const data = await api('GET', `/grants?${query}`);
    data.grants.sort((a, b) => Date.parse(a.expires_at) - Date.parse(b.expires_at));
    list = data.grants.length
      ? h('ul', { class: 'cards' }, data.grants.map((g) => h('li', {}, grantCard(g, out, () => grantsList(hash)))))
      : h('p', { class: 'hint' }, 'No live grant matches.');
  } catch (e) {
    list = errorBox(e);
  }
  show(h('h1', {}, 'Live grants'),
    session.me.admin ? null : h('p', { class: 'hint' }, 'You see the grants that name you; admins see all.'),
    form, out, list);
}

function grantCard(g, out, after) {
  return h('article', { class: 'card grant', 'aria-labelledby': `gl-${g.id}` },
    h('h2', { id: `gl-${g.id}` }, h('a', { href: `#/grants/${g.id}` }, g.subject), ' ', badge(g.status)),
    facts([
      ['What', scopeList(g.resources)],
      g.status === 'active' ? ['Time left', countdown(g.expires_at)] : ['Expires', when(g.expires_at)],
      ['Revoked', g.revoked ? [g.revoked.by, ' ', when(g.revoked.at), g.revoked.reason ? [': ', h('q', {}, g.revoked.reason)] : ''] : null],
      ['Source', g.request_id ? [g.source, ' (', h('a', { href: `#/requests/${g.request_id}` }, 'request'), ')'] : g.source],
      ['Approved by', (g.approved_by || []).join(', ') || g.auto_approved_by],
      ['Uses', g.max_uses ? `${g.uses} of ${g.max_uses}` : String(g.uses)],
      ['Why', g.reason],
      ['Grant id', h('code', {}, g.id)],
    ]),
    g.status === 'active' && (session.me.admin || g.subject === session.me.subject) ? revokeForm(g, out, after) : null);
}

function revokeForm(g, out, after) {
  const reason = h('input', { type: 'text', autocomplete: 'off' });
  const form = h('form', { class: 'inline' },
    field(`rv-${g.id}`, 'Reason for revoking', reason),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'deny' }, `Revoke ${g.subject}'s access`)));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = reason.value.trim();
      await api('DELETE', `/grants/${q(g.id)}${r ? `?reason=${q(r)}` : ''}`);
      announce(`Revoked ${g.id}: ${g.subject} lost this access.`);
      await after();
    } catch (e) {
      out.replaceChildren(errorBox(e));
    }
  });
  return form;
}

/** #/grants/<id>: the grant, its usage, its audit trail. */
export async function grantPage(id) {
  let g;
  try {
    g = await api('GET', `/grants/${q(id)}`);
  } catch (e) {
    show(h('h1', {}, 'Grant'), errorBox(e));
    return;
  }
  const out = h('div', {});
  show(h('h1', {}, `Grant ${g.id}`),
    out,
    grantCard(g, out, () => grantPage(id)),
    h('section', { 'aria-labelledby': 'h-trail' }, h('h2', { id: 'h-trail' }, 'Audit trail'), await trail(g)));
}

async function trail(g) {
  if (!session.me.audit_reader) return h('p', { class: 'hint' }, 'Only admins and audit readers may read the audit log.');
  try {
    const calls = [api('GET', `/audit?grant=${q(g.id)}&order=asc&limit=200`)];
    if (g.request_id) calls.push(api('GET', `/audit?request=${q(g.request_id)}&order=asc&limit=200`));
    const pages = await Promise.all(calls);
    const seen = new Map();
    for (const p of pages) for (const e of p.entries) seen.set(e.seq, e);
    const entries = [...seen.values()].sort((a, b) => a.seq - b.seq);
    if (!entries.length) return h('p', { class: 'hint' }, 'No audit entries yet.');
    return h('ol', { class: 'trail' }, entries.map((e) => {
      const ev = e.event || {};
      const extra = ev.details && (ev.details.comment || ev.details.reason);
      return h('li', {},
        h('span', { class: 'kind' }, ev.kind), ' ',
        ev.actor ? ['by ', h('strong', {}, ev.actor), ' '] : null,
        ev.method ? h('code', {}, `${ev.method} ${ev.path}`) : null, ' ',
        ev.reason ? `(${ev.reason}) ` : null,
        extra ? h('q', {}, extra) : null, ' ',
        when(ev.at), ' ',
        h('span', { class: 'hint' }, `#${e.seq}`));
    }));
  } catch (e) {
    return errorBox(e);
  }
}
