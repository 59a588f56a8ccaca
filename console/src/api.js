// The admin API as the console uses it. A pasted token lives in sessionStorage only
// (gone when the tab closes) and goes in the Authorization header, never in a URL. A
// sign-in through the tenant's identity provider (SSO) leaves an HttpOnly cookie this
// code cannot read: the tab then stores only the word COOKIE, and its calls send the
// cookie with the header X-Openmtd-Console, without which the collector ignores the
// cookie; a form or link of another site cannot add the header, so neither way of
// signing in gives CSRF anything to ride on.
import { useEffect, useRef, useState, useCallback } from 'preact/hooks';

const KEY = 'openmtd.admin_token';
const SESSION = 'openmtd.session'; // who the token is (GET session), to show a reload at once
const listeners = new Set();
export const COOKIE = 'cookie'; // the session is the collector's HttpOnly cookie

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set(t) { sessionStorage.setItem(KEY, t); listeners.forEach((f) => f()); },
  clear() {
    if (sessionStorage.getItem(KEY) === COOKIE) // the session ends at the collector too
      fetch('/v1/auth/oidc/logout', { method: 'POST', headers: { 'X-Openmtd-Console': '1' },
        credentials: 'same-origin', cache: 'no-store', redirect: 'error' }).catch(() => {});
    sessionStorage.removeItem(KEY); sessionStorage.removeItem(SESSION); listeners.forEach((f) => f());
  },
  session() { try { return JSON.parse(sessionStorage.getItem(SESSION)); } catch { return null; } },
  setSession(s) { sessionStorage.setItem(SESSION, JSON.stringify(s)); },
  onChange(f) { listeners.add(f); return () => listeners.delete(f); },
};

export class ApiError extends Error {
  constructor(status, error, detail) {
    super(detail || error || `HTTP ${status}`);
    this.status = status;
    this.error = error;
  }
}

// Whether tenant has a sign-in through its identity provider (GET, no credential).
export async function ssoAvailable(tenant) {
  if (!/^[0-9a-f]{16}$/.test(tenant || '')) return false;
  const res = await fetch(`/v1/auth/oidc/available?tenant=${tenant}`,
    { cache: 'no-store', credentials: 'omit', redirect: 'error' }).catch(() => null);
  return !!res && res.ok;
}

// ?a=1&b=2 of the values that are set.
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '' && v !== false) q.set(k, v === true ? '1' : String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

// One call to /v1/admin/PATH: the parsed JSON (or text with as: 'text').
export async function api(path, { method = 'GET', body, as = 'json', tok = token.get() } = {}) {
  const cookie = tok === COOKIE;
  const headers = cookie ? { 'X-Openmtd-Console': '1' } : { Authorization: `Bearer ${tok}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/v1/admin/${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store', credentials: cookie ? 'same-origin' : 'omit', redirect: 'error',
  });
  if (res.status === 401 && tok === token.get()) token.clear(); // revoked or expired: sign in again
  if (!res.ok) {
    let e = {};
    try { e = await res.json(); } catch { /* not JSON */ }
    throw new ApiError(res.status, e.error, e.detail);
  }
  return as === 'text' ? res.text() : res.json();
}

// Loads path once per change of deps: { data, error, loading, reload } (data is text
// with as = 'text'; while a new request runs, the last answer stays shown). The
// request starts while the page renders and its answer is taken as soon as it comes,
// not in an effect: Preact runs effects only after the next frame is painted, which
// would put a frame or two between a page's first render and its data.
export function useApi(path, deps = [path], as = 'json') {
  const [state, set] = useState({});
  const [n, bump] = useState(0);
  const req = useRef(null);
  const key = JSON.stringify([...deps, n]);
  if (path && req.current?.key !== key) {
    if (req.current) req.current.live = false; // an answer to an older request is dropped
    const r = { key, live: true };
    req.current = r;
    api(path, { as }).then((data) => r.live && set({ key, data }), (error) => r.live && set({ key, error }));
  }
  useEffect(() => () => { if (req.current) req.current.live = false; }, []);
  const reload = useCallback(() => bump((x) => x + 1), []);
  return { data: state.data, error: state.key === key ? state.error : undefined, loading: state.key !== key, reload };
}

// One page of a list report at a time. The API answers a page and says where the next
// begins: "next_cursor" (keyset, when the collector has it) or "next_offset". The
// positions of the pages seen are kept so that "previous" goes back exactly.
export function usePaged(path, params, pick, limit = 50) {
  const key = path + query(params);
  const [stack, setStack] = useState([{}]);
  useEffect(() => setStack([{}]), [key]);
  const pos = stack[stack.length - 1];
  const url = path + query({ ...params, limit, ...pos });
  const { data, error, loading, reload } = useApi(url, [url]);
  const rows = data ? pick(data) || [] : [];
  const next = data && (data.next_cursor ? { cursor: data.next_cursor }
    : data.next_offset != null ? { offset: data.next_offset } : null);
  return {
    rows, data, error, loading, reload,
    first: (stack.length - 1) * limit + 1,
    page: stack.length,
    hasPrev: stack.length > 1,
    hasNext: !!next,
    next: () => next && setStack((s) => [...s, next]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}
