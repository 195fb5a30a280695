// Requests: the form to ask for access (pre-filled from a 403's hint link), one request's
// page, and the card an approver decides from (who, what, how long, why, the policy, the
// approvals still needed, the requester's recent history; approve or deny in one click).

import { api, ApiError, q, session } from './api.js';
import {
  announce, badge, countdown, errorBox, facts, field, h, methods, params, queryText, scopeList, show, timeLeft,
  when,
} from './dom.js';

/** #/request?service=&method=&path=&ttl= */
export async function requestForm(hash) {
  const p = params(hash);
  const service = h('input', { type: 'text', required: true, autocomplete: 'off', value: p.get('service') || '' });
  const meth = h('input', { type: 'text', required: true, autocomplete: 'off', value: p.get('method') || p.get('methods') || 'GET' });
  const paths = h('textarea', { rows: 2, required: true, spellcheck: 'false' });
  paths.value = (p.getAll('path').join('\n')) || '';
  const ttl = h('input', { type: 'text', required: true, value: p.get('ttl') || '30m', list: 'ttl-choices', inputmode: 'text' });
  const reason = h('input', { type: 'text', required: true, autocomplete: 'off', value: p.get('reason') || '' });
  const incident = h('input', { type: 'text', autocomplete: 'off', value: p.get('incident') || '' });
  const errors = h('div', {});
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Ask for access');
  const form = h('form', { class: 'card', novalidate: true },
    field('rq-service', 'Service', service, 'The protected service, e.g. orders'),
    field('rq-methods', 'Methods', meth, 'Comma-separated, e.g. GET, HEAD'),
    field('rq-paths', 'Paths', paths, 'One per line; * is one segment, ** the rest'),
    field('rq-ttl', 'For how long', ttl, 'A duration like 15m, 1h'),
    h('datalist', { id: 'ttl-choices' }, ['15m', '30m', '1h', '2h', '4h'].map((v) => h('option', { value: v }))),
    field('rq-reason', 'Why', reason, 'What you need it for; a ticket id if the policy asks for one'),
    field('rq-incident', 'Incident (optional)', incident),
    errors,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.replaceChildren();
    const body = {
      resources: [{
        service: service.value.trim(),
        methods: meth.value.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean),
        paths: paths.value.split('\n').map((s) => s.trim()).filter(Boolean),
      }],
      ttl: ttl.value.trim(),
      reason: reason.value.trim(),
    };
    if (incident.value.trim()) body.incident = incident.value.trim();
    submit.disabled = true;
    try {
      const r = await api('POST', '/requests', body);
      announce(r.status === 'approved'
        ? `Approved at once (${r.auto_approved_by}); your access is live.`
        : `Request filed; waiting for ${r.approvals_needed} approval(s) from ${r.current_approvers.join(', ')}.`);
      location.hash = `#/requests/${r.id}`;
    } catch (e) {
      errors.replaceChildren(errorBox(e));
      errors.querySelector('[role=alert]').focus();
    } finally {
      submit.disabled = false;
    }
  });
  const prefilled = p.has('service');
  show(h('h1', {}, 'Ask for access'),
    prefilled ? h('p', { class: 'hint' }, 'Pre-filled from the call that was refused. Say why, then ask.') : null,
    form);
  (prefilled ? reason : service).focus();
}

/** #/requests/<id> */
export async function requestPage(id) {
  let r;
  try {
    r = await api('GET', `/requests/${q(id)}`);
  } catch (e) {
    show(h('h1', {}, 'Request'), errorBox(e));
    return;
  }
  const card = await requestCard(r, { onDone: () => requestPage(id), heading: 'h2' });
  show(h('h1', {}, `Request from ${r.requester}`), card);
}

/** The approvals line: "1 of 2 — 1 still needed". */
function approvals(r) {
  const have = (r.approvals || []).length;
  const need = r.min_approvals;
  const line = r.status === 'pending'
    ? `${have} of ${need} — ${r.approvals_needed} still needed`
    : `${have} of ${need}`;
  return h('div', {}, line,
    (r.approvals || []).length ? h('ul', { class: 'verdicts' }, r.approvals.map((a) =>
      h('li', {}, a.by, ' ', when(a.at), a.comment ? [': ', h('q', {}, a.comment)] : null))) : null);
}

async function history(r) {
  try {
    const data = await api('GET', `/requests?requester=${q(r.requester)}&limit=6`);
    const others = data.requests.filter((x) => x.id !== r.id).slice(0, 5);
    if (!others.length) return h('p', { class: 'hint' }, 'No other recent requests you may see.');
    return h('ul', { class: 'history' }, others.map((x) => h('li', {},
      badge(x.status), ' ', h('a', { href: `#/requests/${x.id}` }, summary(x)), ' — ', x.reason, ' ',
      x.denied && x.denied.comment ? ['(', x.denied.by, ': ', h('q', {}, x.denied.comment), ') '] : null,
      when(x.created_at))));
  } catch (e) {
    return h('p', { class: 'hint' }, `History unavailable: ${e.message}`);
  }
}

async function policyLine(name) {
  try {
    const p = await api('GET', `/policies/${q(name)}`);
    const spec = p.spec || p;
    return h('span', {}, h('strong', {}, name), ` — approvers ${(spec.approvers || []).join(', ')}, max ${spec.max_ttl || '?'}`);
  } catch {
    return h('strong', {}, name);
  }
}

export function summary(r) {
  return (r.resources || []).map((s) => `${s.service} ${methods(s.methods)} ${(s.paths || []).join(' ')}${queryText(s)}`).join('; ') + ` for ${r.ttl}`;
}

/** The request as a decision card; buttons only for what the caller may do. */
export async function requestCard(r, { onDone, heading = 'h2' } = {}) {
  const [hist, policy] = await Promise.all([history(r), policyLine(r.policy)]);
  const me = session.me || {};
  const own = r.requester === me.subject;
  const out = h('div', {});
  const card = h('article', { class: 'card request', 'aria-labelledby': `rq-${r.id}` },
    h(heading, { id: `rq-${r.id}` }, h('a', { href: `#/requests/${r.id}` }, `${r.requester} asks for ${r.ttl}`), ' ', badge(r.status)),
    facts([
      ['Who', r.requester],
      ['What', scopeList(r.resources)],
      ['For how long', r.one_time ? `${r.grant_ttl}, for one call` : r.ttl],
      ['Why', r.reason || '(no reason given)'],
      ['Incident', r.incident],
      ['Policy', policy],
      ['Approvals', approvals(r)],
      ['Approvers', (r.current_approvers || []).join(', ')],
      ['Filed', when(r.created_at)],
      ['Decide within', r.status === 'pending' ? countdown(r.expires_at) : null],
      ['Denied', r.denied ? [r.denied.by, r.denied.comment ? [': ', h('q', {}, r.denied.comment)] : ''] : null],
      ['Cancelled by jitgate', r.cancellation ? `its policy ${r.cancellation.cause === 'policy_deleted' ? 'was deleted' : 'no longer allows it'}: ${(r.cancellation.problems || []).join('; ')}` : null],
      ['Grant', r.grant ? [h('a', { href: `#/grants/${r.grant.id}` }, r.grant.id), ' — ', r.grant.status === 'active' ? ['live, ', countdown(r.grant.expires_at), ' left'] : r.grant.status] : null],
      ['Recent requests by them', hist],
    ]),
    out);
  if (r.can_approve && !r.approved_by_you) card.appendChild(decisionForm(r, out, onDone));
  if (own && r.status === 'pending') {
    card.appendChild(h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'secondary', onclick: () => act(out, onDone, 'cancel', r, 'Request cancelled.'),
    }, 'Cancel this request')));
  }
  return card;
}

function decisionForm(r, out, onDone) {
  const comment = h('textarea', { rows: 2 });
  const form = h('form', { class: 'decide' },
    field(`c-${r.id}`, 'Comment (optional)', comment),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'approve', value: 'approve' }, 'Approve'),
      h('button', { type: 'submit', class: 'deny', value: 'deny' }, 'Deny')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const verb = ev.submitter && ev.submitter.value === 'deny' ? 'deny' : 'approve';
    const body = comment.value.trim() ? { comment: comment.value.trim() } : {};
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    act(out, onDone, verb, r, null, body).finally(() => {
      for (const b of form.querySelectorAll('button')) b.disabled = false;
    });
  });
  return form;
}

async function act(out, onDone, verb, r, message, body) {
  try {
    const res = await api('POST', `/requests/${q(r.id)}/${verb}`, body);
    if (verb === 'approve') {
      announce(res.status === 'approved'
        ? `Approved: ${r.requester} has access for ${res.grant ? timeLeft(res.grant.expires_at) : r.grant_ttl} (grant ${res.grant_id}).`
        : `Approval recorded; ${res.approvals_needed} more needed.`);
    } else {
      announce(message || `Request ${res.status}.`);
    }
    if (onDone) await onDone(res);
  } catch (e) {
    out.replaceChildren(errorBox(e instanceof ApiError ? e : new ApiError(0, { message: String(e) })));
  }
}
