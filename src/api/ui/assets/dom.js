// DOM helpers: elements are built with textContent only (never innerHTML), so nothing the
// API returns (reasons, comments, paths) can become markup or script.

/** h('p', {class: 'x'}, 'text', child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces the main region's content and moves focus to its heading. */
export function show(...children) {
  const main = document.getElementById('main');
  main.replaceChildren();
  append(main, children);
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

/** A polite announcement in the status bar (read out by screen readers). */
export function announce(text, kind = 'ok') {
  const s = document.getElementById('status');
  s.className = `status ${kind}`;
  s.textContent = text;
}

export function clearStatus() {
  const s = document.getElementById('status');
  s.className = 'status';
  s.textContent = '';
}

/** An error box: the API's message and every detail it lists. */
export function errorBox(err) {
  const body = (err && err.body) || {};
  const details = Array.isArray(body.details) ? body.details : [];
  return h('div', { class: 'alert', role: 'alert', tabindex: '-1' },
    h('p', {}, h('strong', {}, 'Refused: '), errorText(err)),
    details.length ? h('ul', {}, details.map((d) => h('li', {}, d))) : null);
}

export function errorText(err) {
  if (err && err.body && err.body.message) return `${err.body.message} (${err.status} ${err.body.error})`;
  return String((err && err.message) || err);
}

/** "12m 05s" until `iso`, or "expired". */
export function timeLeft(iso) {
  const ms = Date.parse(iso) - Date.now();
  if (!(ms > 0)) return 'expired';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60), sec = s % 60;
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${String(m).padStart(2, '0')}m`;
  return `${m}m ${String(sec).padStart(2, '0')}s`;
}

/** A live countdown; app.js refreshes every [data-expires] once a second. */
export function countdown(iso) {
  return h('span', { class: 'countdown', 'data-expires': iso }, timeLeft(iso));
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return h('time', { datetime: iso, title: iso }, d.toLocaleString());
}

export function methods(m) {
  return Array.isArray(m) ? m.join(', ') : String(m);
}

/** A scope as a small definition list: service, methods, paths and, for one exact call,
 * its query string (approvers see exactly what the grant will cover). */
export function scopeList(resources) {
  return h('ul', { class: 'scopes' }, (resources || []).map((r) =>
    h('li', {},
      h('span', { class: 'svc' }, r.service), ' ',
      h('span', { class: 'methods' }, methods(r.methods)), ' ',
      (r.paths || []).map((p, i) => [i ? ', ' : '', h('code', {}, p)]),
      queryText(r))));
}

/** ` ?a=1` for a scope bound to a query string, ` (no query string)` for one bound to none. */
export function queryText(r) {
  if (r.query === undefined || r.query === null) return '';
  return r.query === '' ? ' (no query string)' : ` ?${r.query}`;
}

export function badge(status) {
  return h('span', { class: `badge ${status}` }, status);
}

/** A <dl> from [label, value] pairs; empty values are skipped. */
export function facts(pairs) {
  const items = pairs.filter(([, v]) => v !== undefined && v !== null && v !== '');
  return h('dl', { class: 'facts' }, items.map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
}

/** Parses `?a=b&c=d` of a hash route. */
export function params(hash) {
  const i = hash.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : hash.slice(i + 1));
}

/** A labelled field: <label for> + input. */
export function field(id, label, input, hint) {
  input.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', `${id}-hint`);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}
