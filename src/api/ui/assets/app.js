// The page's entry: sign-in (paste a token, or the reverse proxy's header), navigation and
// the hash router. Routes: #/ (home), #/request?service=&method=&path=&ttl= (ask for access),
// #/requests/<id> (one request), #/queue (approvals), #/mine (my access),
// #/grants?filters (live grants), #/grants/<id> (one grant and its audit trail).

import { api, ApiError, session, setToken } from './api.js';
import { announce, clearStatus, errorBox, field, h, show, timeLeft } from './dom.js';
import { grantPage, grantsList } from './grants.js';
import { mine } from './mine.js';
import { queue, queueCount } from './queue.js';
import { requestForm, requestPage } from './request.js';

const routes = [
  [/^#\/request(\?.*)?$/, (m, hash) => requestForm(hash)],
  [/^#\/requests\/([^/?]+)$/, (m) => requestPage(decodeURIComponent(m[1]))],
  [/^#\/queue$/, () => queue()],
  [/^#\/mine$/, () => mine()],
  [/^#\/grants(\?.*)?$/, (m, hash) => grantsList(hash)],
  [/^#\/grants\/([^/?]+)$/, (m) => grantPage(decodeURIComponent(m[1]))],
  [/^#\/signin$/, () => signIn()],
];

async function route() {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return; // in-page anchors
  if (!session.me && !(await whoAmI())) {
    if (hash !== '#/signin') sessionStorage.setItem('jitgate.next', hash);
    signIn();
    return;
  }
  renderNav(hash);
  for (const [re, view] of routes) {
    const m = hash.match(re);
    if (m) return view(m, hash);
  }
  return home();
}

async function home() {
  const waiting = await queueCount();
  location.replace(waiting ? '#/queue' : '#/mine');
}

/** Loads the caller; false when there is no usable credential (then the sign-in form shows). */
async function whoAmI() {
  try {
    session.me = await api('GET', '/me');
    return true;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      if (session.token) {
        setToken(null);
        announce(`Your token was refused: ${e.body.message || 'sign in again'}`, 'error');
      }
      return false;
    }
    show(h('h1', {}, 'jitgate is not answering'), errorBox(e));
    throw e;
  }
}

function signIn() {
  document.getElementById('nav').replaceChildren();
  document.getElementById('who').replaceChildren();
  const token = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const errors = h('div', {});
  const form = h('form', { class: 'card' },
    field('token', 'Bearer token', token, 'The same token the jitgate CLI uses (JITGATE_TOKEN). It stays in this tab only.'),
    errors,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    setToken(token.value.trim());
    try {
      if (!(await whoAmI())) {
        errors.replaceChildren(h('p', { class: 'alert', role: 'alert' }, 'That token was refused: check it is current and from a trusted issuer.'));
        return;
      }
    } catch (e) {
      errors.replaceChildren(errorBox(e));
      return;
    }
    clearStatus();
    const next = sessionStorage.getItem('jitgate.next') || '#/';
    sessionStorage.removeItem('jitgate.next');
    if (location.hash === next) route(); else location.hash = next;
  });
  show(h('h1', {}, 'Sign in'), h('p', {}, 'Paste your bearer token to see your access, your approvals and live grants.'), form);
  token.focus();
}

async function renderNav(hash) {
  const me = session.me;
  const link = (href, text, extra) => h('li', {}, h('a', {
    href, 'aria-current': hash.split('?')[0] === href ? 'page' : null,
  }, text, extra));
  const badge = h('span', { class: 'count', 'aria-label': 'waiting' });
  document.getElementById('nav').replaceChildren(
    link('#/request', 'Ask for access'),
    link('#/mine', 'My access'),
    link('#/queue', 'Approvals ', badge),
    link('#/grants', 'Grants'));
  const out = me.token_source === 'proxy_header' ? null
    : h('button', { type: 'button', class: 'link', onclick: () => { setToken(null); session.me = null; location.hash = '#/signin'; } }, 'Sign out');
  document.getElementById('who').replaceChildren(h('span', { title: me.principals.join(' ') }, me.subject), ' ', out);
  badge.textContent = await queueCount();
}

// A token that expires mid-session: back to sign-in, then to where the user was.
session.onUnauthorized = (err) => {
  setToken(null);
  session.me = null;
  sessionStorage.setItem('jitgate.next', location.hash || '#/');
  announce(`Signed out: ${err.body.message || 'your token is no longer accepted'}. Sign in again.`, 'error');
  signIn();
};

// Every countdown on the page ticks once a second.
setInterval(() => {
  for (const el of document.querySelectorAll('[data-expires]')) el.textContent = timeLeft(el.dataset.expires);
}, 1000);

document.getElementById('skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  document.getElementById('main').focus();
});

window.addEventListener('hashchange', () => { route().catch(() => {}); });
route().catch(() => {});
