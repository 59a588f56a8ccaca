// The console's shell: sign-in, navigation and the hash router (#/devices/ID...). The
// route lives in the fragment, so the collector serves one page and nothing in a URL
// ever carries the token.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import './style.css';
import { api, token, COOKIE, ssoAvailable } from './api.js';
import { html, ErrorBox } from './ui.js';
import { Overview } from './pages/overview.js';
import { Devices, Device } from './pages/devices.js';
import { Threats } from './pages/threats.js';
import { Apps } from './pages/apps.js';
import { Usage } from './pages/usage.js';
import { Feedback } from './pages/feedback.js';
import { Privacy } from './pages/privacy.js';
import { Tokens } from './pages/tokens.js';
import { Audit } from './pages/audit.js';

const PAGES = [
  ['', 'Overview', Overview],
  ['devices', 'Devices', Devices],
  ['threats', 'Threats', Threats],
  ['apps', 'Apps', Apps],
  ['usage', 'Usage & crashes', Usage],
  ['feedback', 'Feedback', Feedback],
  ['privacy', 'Privacy', Privacy],
  ['tokens', 'Tokens & roles', Tokens],
  ['audit', 'Audit log', Audit],
];

function useHash() {
  const [hash, set] = useState(location.hash);
  useEffect(() => {
    const f = () => set(location.hash);
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  const [path, q = ''] = hash.replace(/^#\/?/, '').split('?');
  return { parts: path.split('/').map(decodeURIComponent), params: Object.fromEntries(new URLSearchParams(q)) };
}

// The tenant the page was opened for (/console/?tenant=ID, where the collector sends
// an admin back after a sign-in through the identity provider), or null.
const TENANT = new URLSearchParams(location.search).get('tenant');

function SignIn({ onSession }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState(false);
  useEffect(() => { ssoAvailable(TENANT).then(setSso); }, []);
  async function submit(e) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const t = value.trim();
    try {
      const s = await api('session', { tok: t });
      token.set(t);
      token.setSession(s);
      onSession(s);
    } catch (err) {
      setError(err.status === 401 ? new Error('This token is not valid for any tenant (unknown, revoked or expired).') : err);
    } finally {
      setBusy(false);
    }
  }
  return html`<main class="signin" id="main">
    <form class="signin-card" onSubmit=${submit}>
      <div class="brand brand-lg"><img src="/console/favicon.svg" alt="" width="36" height="36" /><span>openmtd</span></div>
      <h1>Sign in to the admin console</h1>
      <p class="muted">Paste an admin, analyst or privacy-officer token of your tenant.
        It is kept in this tab only and forgotten when you close it.</p>
      <div class="field">
        <label for="token">Token</label>
        <input id="token" type="password" autocomplete="off" spellcheck="false" required
          value=${value} onInput=${(e) => setValue(e.currentTarget.value)} />
      </div>
      <${ErrorBox} error=${error} />
      <button class="primary" type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      ${sso && html`<p class="muted">or, with your organization's account:</p>
        <a class="button" href=${`/v1/auth/oidc/login?tenant=${TENANT}`}>Sign in with SSO</a>`}
    </form>
  </main>`;
}

function Shell({ session }) {
  const { parts: [page, ...rest], params } = useHash();
  const main = useRef(null);
  const first = useRef(true);
  // a new page takes focus to its heading (as a page load would put a reader at its
  // top); the first page leaves focus where the browser put it, before the skip link
  useEffect(() => {
    if (first.current) first.current = false;
    else main.current?.querySelector('h1')?.focus();
  }, [page, rest[0]]);
  const entry = PAGES.find((p) => p[0] === page) || PAGES[0];
  const Page = page === 'devices' && rest[0] ? Device : entry[2];
  useEffect(() => { document.title = `${entry[1]} · openmtd console`; }, [entry]);
  return html`<div class="layout">
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); main.current?.querySelector('h1')?.focus(); }}>Skip to content</a>
    <header class="topbar">
      <div class="brand"><img src="/console/favicon.svg" alt="" width="24" height="24" /><span>openmtd</span></div>
      <div class="who">
        <span class="mono" title="tenant">tenant ${session.tenant_id}</span>
        <span class=${`role role-${session.role}`}>${session.role}</span>
        <button type="button" class="ghost" onClick=${() => token.clear()}>Sign out</button>
      </div>
    </header>
    <nav class="sidebar" aria-label="Console">
      <ul>${PAGES.map(([id, label]) => html`<li><a href=${`#/${id}`}
        aria-current=${entry[0] === id ? 'page' : undefined}>${label}</a></li>`)}</ul>
    </nav>
    <main id="main" ref=${main}>
      <${Page} session=${session} id=${rest[0]} params=${params} />
    </main>
  </div>`;
}

// A reload shows the pages at once with the session this tab last saw, and asks the
// collector again meanwhile: the role only decides what the page offers (the API
// checks it on every call), and a revoked token signs the tab out.
// Back from the identity provider (?tenant= and no token in the tab), the session may
// be the collector's cookie: asked once, and taken when it is the tenant's.
function App() {
  const [session, setSession] = useState(() => (token.get() ? token.session() : null));
  const [checking, setChecking] = useState((!!token.get() && !session) || (!token.get() && !!TENANT));
  useEffect(() => token.onChange(() => { if (!token.get()) setSession(null); }), []);
  useEffect(() => {
    if (!token.get() && TENANT) {
      api('session', { tok: COOKIE }).then((s) => {
        if (s.tenant_id !== TENANT) return;
        token.set(COOKIE);
        token.setSession(s);
        setSession(s);
      }, () => {}).finally(() => setChecking(false)); // no cookie session: the sign-in page
      return;
    }
    if (!token.get()) return;
    api('session').then((s) => { token.setSession(s); setSession(s); }, () => {}) // a 401 signs out (api)
      .finally(() => setChecking(false));
  }, []);
  if (checking) return null;
  return session ? html`<${Shell} session=${session} />` : html`<${SignIn} onSession=${setSession} />`;
}

render(html`<${App} />`, document.getElementById('app'));
