// The page's only way to the server: the /v1 REST API, with the same token and the same
// authorization as any other client. A pasted token lives in sessionStorage only (gone when
// the tab closes). Behind a reverse proxy that injects the token (`ui.token_header`), the
// page sends none and the proxy's header is used; every call carries `x-jitgate-csrf: 1`,
// which jitgate requires on state-changing calls made with such an ambient credential.

const KEY = 'jitgate.token';

export const session = {
  token: sessionStorage.getItem(KEY),
  me: null,
  /** Called when the API says the credential is gone (expired token): app.js shows sign-in. */
  onUnauthorized: null,
};

export function setToken(token) {
  session.token = token || null;
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
  session.me = null;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

/** Calls `/v1<path>` relative to the page (works under a path prefix too). */
export async function api(method, path, body) {
  const headers = { accept: 'application/json', 'x-jitgate-csrf': '1' };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(`../v1${path}`, init);
  } catch (e) {
    throw new ApiError(0, { error: 'network', message: `jitgate could not be reached (${e.message}); check your connection and retry` });
  }
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (!resp.ok) {
    const err = new ApiError(resp.status, data);
    if (resp.status === 401 && session.me && session.onUnauthorized) session.onUnauthorized(err);
    throw err;
  }
  return data;
}

export const q = encodeURIComponent;
