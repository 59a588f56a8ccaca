// Privacy: the tenant's policy (what its devices may send), the privacy statement the
// collector generates from the schema for that policy, and a user's export or
// deletion (privacy officers and admins).
import { useEffect, useState } from 'preact/hooks';
import { api, useApi } from '../api.js';
import { html, Card, ErrorBox, Loading, Input } from '../ui.js';
import { Markdown } from '../markdown.js';

const SWITCHES = [
  ['optional_data', 'Optional data', 'Diagnostics and feedback, only with each user\'s consent.'],
  ['web_protection', 'Web protection', 'The DNS filter and URL checks on the device.'],
  ['app_scanning', 'App scanning', 'Indicators, YARA rules and heuristics over installed apps.'],
  ['network_reporting', 'Network reporting', 'Connection records, as far as "Connections" allows.'],
];
const CHOICES = [
  ['report_urls', 'URLs in web detections', [['full', 'Full URL'], ['domain', 'Domain only'], ['none', 'None']]],
  ['report_connections', 'Connections', [['off', 'Off'], ['threats', 'To threats only'], ['all', 'All']]],
  ['report_app_details', 'App details in app alerts', [['full', 'Full'], ['minimal', 'Minimal']]],
  ['usage_privacy', 'Usage counts', [['exact', 'Exact counts'], ['ldp', 'Local differential privacy']]],
];
const NUMBERS = [
  ['retention_required_days', 'Keep required data (days)'],
  ['retention_diagnostic_days', 'Keep diagnostics (days)'],
  ['retention_feedback_days', 'Keep feedback (days)'],
  ['security_patch_max_age_days', 'Oldest acceptable security patch (days)'],
];

function PolicyForm({ canEdit, onSaved }) {
  const { data, error, loading, reload } = useApi('policy');
  const [draft, setDraft] = useState(null);
  const [msg, setMsg] = useState(null);
  const [saveError, setSaveError] = useState(null);
  useEffect(() => { if (data) setDraft(data); }, [data]);
  if (loading && !data) return html`<${Loading} />`;
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!draft) return null;
  const changed = Object.keys(draft).filter((k) => JSON.stringify(draft[k]) !== JSON.stringify(data[k]));
  const set = (k, v) => { setMsg(null); setDraft({ ...draft, [k]: v }); };
  async function save(e) {
    e.preventDefault();
    setSaveError(null);
    try {
      await api('policy', { method: 'PUT', body: Object.fromEntries(changed.map((k) => [k, draft[k]])) });
      setMsg(`Saved: devices receive the new policy on their next round (${changed.join(', ')}).`);
      reload();
      onSaved();
    } catch (err) { setSaveError(err); }
  }
  return html`<form class="policy" onSubmit=${save} aria-label="Tenant policy">
    <fieldset disabled=${!canEdit}>
      <legend class="sr-only">Feature switches</legend>
      ${SWITCHES.filter(([k]) => k in draft).map(([k, label, help]) => html`<div class="switch">
        <input type="checkbox" role="switch" id=${`p-${k}`} checked=${!!draft[k]}
          aria-describedby=${`p-${k}-help`} onChange=${(e) => set(k, e.currentTarget.checked)} />
        <label for=${`p-${k}`}>${label}</label>
        <span class="muted" id=${`p-${k}-help`}>${help}</span>
      </div>`)}
    </fieldset>
    <fieldset disabled=${!canEdit} class="policy-grid">
      <legend class="sr-only">Reporting and retention</legend>
      ${CHOICES.filter(([k]) => k in draft).map(([k, label, opts]) => html`<div class="field">
        <label for=${`p-${k}`}>${label}</label>
        <select id=${`p-${k}`} value=${draft[k]} onChange=${(e) => set(k, e.currentTarget.value)}>
          ${opts.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
        </select></div>`)}
      ${NUMBERS.filter(([k]) => k in draft).map(([k, label]) => html`<${Input} id=${`p-${k}`} label=${label}
        type="number" min="1" value=${draft[k]} onChange=${(v) => set(k, Number(v))} />`)}
    </fieldset>
    ${canEdit ? html`<div class="actions">
      <button type="submit" class="primary" disabled=${!changed.length}>Save policy</button>
      <button type="button" class="ghost" disabled=${!changed.length} onClick=${() => setDraft(data)}>Discard changes</button>
      <span role="status" class="ok">${msg}</span>
    </div>` : html`<p class="muted">Only an admin can change the policy.</p>`}
    <${ErrorBox} error=${saveError} />
  </form>`;
}

function Statement({ version }) {
  const { data, error, loading } = useApi(`privacy/statement?format=md&v=${version}`, [version], 'text');
  if (loading && !data) return html`<${Loading} />`;
  return html`<${ErrorBox} error=${error} />${data !== undefined && html`<${Markdown} source=${data} />`}`;
}

function download(name, obj) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(obj, null, 2)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function Users() {
  const [upn, setUpn] = useState('');
  const [msg, setMsg] = useState(null);
  const [error, setError] = useState(null);
  const [confirm, setConfirm] = useState(false);
  async function run(what) {
    setError(null);
    setMsg(null);
    try {
      const r = await api(`users/${what}`, { method: 'POST', body: { upn: upn.trim() } });
      if (what === 'export') {
        download('user-export.json', r);
        setMsg(`Exported ${r.devices.length} devices and their records.`);
      } else {
        setMsg(`Deleted ${r.records} records of this user.`);
        setConfirm(false);
      }
    } catch (e) { setError(e); }
  }
  return html`<form class="filters" onSubmit=${(e) => { e.preventDefault(); run('export'); }} aria-label="User export and delete">
    <${Input} id="upn" label="User principal name" value=${upn} onChange=${setUpn} placeholder="jane@example.com"
      autocomplete="off" spellcheck="false" required />
    <button type="submit" class="primary" disabled=${!upn.trim()}>Export</button>
    ${confirm ? html`<span class="confirm">Delete everything of this user?
        <button type="button" class="danger" onClick=${() => run('delete')}>Delete</button>
        <button type="button" class="ghost" onClick=${() => setConfirm(false)}>Cancel</button></span>`
      : html`<button type="button" class="danger" disabled=${!upn.trim()} onClick=${() => setConfirm(true)}>Delete…</button>`}
    <span role="status" class="ok">${msg}</span>
    <${ErrorBox} error=${error} />
  </form>`;
}

export function Privacy({ session }) {
  const [version, setVersion] = useState(0);
  const canUsers = session.role === 'admin' || session.role === 'privacy';
  return html`<div class="page">
    <h1 tabindex="-1">Privacy</h1>
    <${Card} title="Tenant policy" id="policy-h">
      <${PolicyForm} canEdit=${session.role === 'admin'} onSaved=${() => setVersion((v) => v + 1)} />
    <//>
    ${canUsers && html`<${Card} title="A user's data" id="users-h">
      <p class="muted">The UPN is sent in the request body and turned into the tenant's pseudonym by the collector; it is not stored.</p>
      <${Users} />
    <//>`}
    <${Card} title="Privacy statement for this policy" id="stmt-h">
      <${Statement} version=${version} />
    <//>
  </div>`;
}
