// Tokens and roles: who may use the admin API. Only admins list, create and revoke
// tokens; a new token is shown once, here, and never again.
import { useState } from 'preact/hooks';
import { api, useApi } from '../api.js';
import { html, Card, ErrorBox, Loading, Table, Select, Input, when, text } from '../ui.js';

const ROLES = [
  ['admin', 'Admin', 'Everything in the tenant: policy, devices, tokens, users.'],
  ['analyst', 'Analyst', 'Reads every report; changes nothing.'],
  ['privacy', 'Privacy officer', 'Reads reports; exports and deletes a user\'s data.'],
  ['enroll', 'Enrollment', 'Enrolls devices; nothing else.'],
];

function Create({ onCreated }) {
  const [role, setRole] = useState('analyst');
  const [label, setLabel] = useState('');
  const [made, setMade] = useState(null);
  const [error, setError] = useState(null);
  async function create(e) {
    e.preventDefault();
    setError(null);
    try {
      setMade(await api('tokens', { method: 'POST', body: { role, label } }));
      setLabel('');
      onCreated();
    } catch (err) { setError(err); }
  }
  return html`<form class="filters" onSubmit=${create} aria-label="Create a token">
    <${Select} id="t-role" label="Role" value=${role} onChange=${setRole} options=${ROLES.map(([v, l]) => [v, l])} />
    <${Input} id="t-label" label="Label" value=${label} onChange=${setLabel} placeholder="who or what it is for" maxlength="128" />
    <button type="submit" class="primary">Create token</button>
    <${ErrorBox} error=${error} />
    ${made && html`<div class="newtoken" role="status">
      <p>New ${made.role} token — copy it now, it is not shown again:</p>
      <code class="mono token-value">${made.token}</code></div>`}
  </form>`;
}

export function Tokens({ session }) {
  const admin = session.role === 'admin';
  const list = useApi(admin ? 'tokens' : null, [admin]);
  const [error, setError] = useState(null);
  async function revoke(id) {
    setError(null);
    try { await api(`tokens/${id}`, { method: 'DELETE' }); list.reload(); } catch (e) { setError(e); }
  }
  return html`<div class="page">
    <h1 tabindex="-1">Tokens & roles</h1>
    <${Card} title="Roles" id="roles-h">
      <${Table} caption="Roles" rows=${ROLES} rowKey=${(r) => r[0]}
        columns=${[{ label: 'Role', render: (r) => html`<span class=${`role role-${r[0]}`}>${r[1]}</span>` },
          { label: 'May', render: (r) => r[2] }]} />
      <p class="muted">You are signed in as <strong>${session.role}</strong>.</p>
    <//>
    ${admin ? html`
      <${Card} title="New token" id="new-h"><${Create} onCreated=${list.reload} /><//>
      <${Card} title="Tokens of this tenant" id="list-h">
        <${ErrorBox} error=${list.error || error} />
        ${list.loading && !list.data ? html`<${Loading} />` : list.data && html`<${Table} caption="Tokens"
          rows=${list.data.tokens} rowKey=${(r) => r.id}
          columns=${[
            { key: 'id', label: 'ID', cls: 'mono' },
            { label: 'Role', render: (r) => html`<span class=${`role role-${r.role}`}>${r.role}</span>` },
            { key: 'label', label: 'Label' },
            { label: 'Created', render: (r) => when(r.created_at) },
            { label: 'State', render: (r) => (r.revoked_at ? `revoked ${when(r.revoked_at)}` : 'live') },
            { label: 'Action', render: (r) => (r.revoked_at ? '' : html`<button type="button" class="danger small"
              aria-label=${`Revoke token ${r.id}`} onClick=${() => revoke(r.id)}>Revoke</button>`) },
          ]} />`}
      <//>` : html`<p class="muted">Only an admin sees and manages the tenant's tokens.</p>`}
  </div>`;
}
