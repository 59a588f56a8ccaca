// Devices: the fleet list (filtered by risk or by how long a device has been silent)
// and one device's page: its record and lifecycle, apps, threats, posture, connections
// and app history, each a paged list of its own.
import { useState } from 'preact/hooks';
import { api, useApi, usePaged } from '../api.js';
import {
  html, go, Card, ErrorBox, Loading, PagedTable, Table, Select, Input, Badge, Status, DeviceLink, Facts,
  when, ago, text, list, yesno,
} from '../ui.js';

const deviceColumns = [
  { label: 'Device', render: (r) => html`<${DeviceLink} id=${r.device_id} />` },
  { label: 'Model', render: (r) => text([r.manufacturer, r.model].filter(Boolean).join(' ')) },
  { label: 'OS', render: (r) => text([r.os_name, r.os_version].filter(Boolean).join(' ')) },
  { label: 'Agent', key: 'agent_version' },
  { label: 'Risk', render: (r) => html`<${Badge} level=${r.risk} />` },
  { label: 'Last seen', render: (r) => html`<span title=${when(r.last_seen)}>${ago(r.last_seen)}</span>` },
];

export function Devices({ params }) {
  const risk = params.risk || '';
  const days = params.not_seen_days || '';
  const p = usePaged('devices', { risk, not_seen_days: days }, (d) => d.devices);
  const set = (k) => (v) => go('devices', { ...params, [k]: v });
  return html`<div class="page">
    <h1 tabindex="-1">Devices</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="Filter devices">
      <${Select} id="f-risk" label="Risk" value=${risk} onChange=${set('risk')}
        options=${['', 'high', 'medium', 'low', 'none']} />
      <${Input} id="f-days" label="Not seen for at least (days)" type="number" min="1" max="3650"
        value=${days} onChange=${set('not_seen_days')} />
    </form>
    <${Card} title="Enrolled devices" id="devices-h">
      <${PagedTable} p=${p} caption="Enrolled devices" columns=${deviceColumns} rowKey=${(r) => r.device_id}
        empty="No device matches." />
    <//>
  </div>`;
}

const threatColumns = [
  { label: 'Threat', key: 'threat_name', cls: 'strong' },
  { label: 'Category', key: 'category' },
  { label: 'Severity', render: (r) => html`<${Badge} level=${r.severity} />` },
  { label: 'Source', key: 'source' },
  { label: 'Package', key: 'package', cls: 'mono' },
  { label: 'Evidence', key: 'evidence', cls: 'wrap' },
  { label: 'Status', render: (r) => html`<${Status} value=${r.status} />` },
  { label: 'Last seen', render: (r) => when(r.last_seen) },
];

function DeviceThreats({ id, status }) {
  const p = usePaged('threats', { device: id, status }, (d) => d.threats, 20);
  return html`<${PagedTable} p=${p} caption=${`${status} threats`} columns=${threatColumns}
    empty=${status === 'active' ? 'No active threat.' : 'No resolved threat.'} />`;
}

function Posture({ id }) {
  const p = usePaged('threats', { device: id, source: 'device' }, (d) => d.threats, 20);
  return html`<${PagedTable} p=${p} caption="Posture findings" empty="No posture finding: the device passed every check."
    columns=${[threatColumns[0], threatColumns[2], threatColumns[5], threatColumns[6], threatColumns[7]]} />`;
}

function DeviceApps({ id }) {
  const p = usePaged('apps', { device: id }, (d) => d.apps, 25);
  return html`<${PagedTable} p=${p} caption="Installed apps" empty="No app reported."
    columns=${[
      { label: 'Package', key: 'package', cls: 'mono strong' },
      { label: 'Version', render: (r) => text(r.version_name ?? r.version_code) },
      { label: 'Installer', key: 'install_source', cls: 'mono' },
      { label: 'Permissions', render: (r) => html`<span title=${list(r.permissions).join('\n')}>${list(r.permissions).length}</span>` },
      { label: 'System', render: (r) => yesno(r.is_system) },
      { label: 'Updated', render: (r) => when(r.last_update_time) },
    ]} />`;
}

function Connections({ id, policy }) {
  const p = usePaged('connections', { device: id }, (d) => [
    ...(d['web.detection'] || []).map((r) => ({ ...r, kind: 'web' })),
    ...(d['net.connection'] || []).map((r) => ({ ...r, kind: 'connection' })),
    ...(d['net.dns'] || []).map((r) => ({ ...r, kind: 'dns' })),
  ], 20);
  const mode = policy?.report_connections;
  return html`<p class="muted">The tenant's policy reports
      ${mode === 'all' ? ' every background connection' : mode === 'threats' ? ' only connections to threats' : ' no background connection'}${' '}
      and ${policy?.report_urls === 'full' ? 'full URLs' : policy?.report_urls === 'domain' ? 'domains only' : 'no URL'} of blocked pages.</p>
    <${PagedTable} p=${p} caption="Connections" empty="Nothing reported under the current policy."
    columns=${[
      { label: 'Kind', key: 'kind' },
      { label: 'Domain', render: (r) => text(r.domain ?? r.name ?? r.qname), cls: 'mono' },
      { label: 'URL / IP', render: (r) => text(r.url ?? r.ip), cls: 'mono wrap' },
      { label: 'Protocol', render: (r) => text(r.protocol ?? r.qtype) },
      { label: 'Verdict', render: (r) => text(r.verdict ?? r.threat_name) },
      { label: 'Time', render: (r) => when(r.time) },
    ]} />`;
}

function History({ id }) {
  const p = usePaged('apps/history', { device: id }, (d) => d['app.lifecycle'], 20);
  return html`<${PagedTable} p=${p} caption="App history" empty="No install, update or removal reported."
    columns=${[
      { label: 'Time', render: (r) => when(r.time) },
      { label: 'Action', key: 'action', cls: 'strong' },
      { label: 'Package', key: 'package', cls: 'mono' },
      { label: 'From', key: 'old_version' },
      { label: 'To', key: 'new_version' },
    ]} />`;
}

// The key the collector files a threat's notes under (as it keys the threat itself).
const threatKey = (t) => t.threat_id || `${t.threat_name}/${t.package || ''}`;

// What admins wrote about this device's threats (how each was handled), and a form to
// add one (admins only; the API refuses the other roles).
function Notes({ id, canWrite }) {
  const p = usePaged('threats/notes', { device: id }, (d) => d.notes, 20);
  const threats = useApi(canWrite ? `threats?device=${encodeURIComponent(id)}&limit=100` : null, [id, canWrite]);
  const [threat, setThreat] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState(null);
  const options = (threats.data?.threats || []).map((t) => [threatKey(t), `${t.threat_name} (${t.status})`]);
  async function add(e) {
    e.preventDefault();
    setError(null);
    try {
      await api('threats/notes', { method: 'POST', body: { device_id: id, threat_id: threat || options[0][0], note: note.trim() } });
      setNote('');
      p.reload();
    } catch (err) { setError(err); }
  }
  return html`<${PagedTable} p=${p} caption="Threat notes" empty="No note on this device's threats."
      columns=${[
        { label: 'Time', render: (r) => when(r.time) },
        { label: 'Threat', key: 'threat_id', cls: 'mono' },
        { label: 'Note', key: 'note', cls: 'wrap' },
        { label: 'By', key: 'actor', cls: 'mono' },
      ]} />
    ${canWrite && options.length ? html`<form class="filters notes-form" onSubmit=${add} aria-label="Add a note">
      <${Select} id="n-threat" label="Threat" value=${threat || options[0][0]} onChange=${setThreat} options=${options} />
      <${Input} id="n-note" label="Note" value=${note} onChange=${setNote} maxlength="1000" required
        placeholder="e.g. app removed by the user; verified" />
      <button type="submit" class="primary" disabled=${!note.trim()}>Add note</button>
      <${ErrorBox} error=${error} />
    </form>` : null}`;
}

// Enrollments, re-enrollments and revocations of the device's credentials, oldest
// first (the collector reads them from its credentials; a handful per device).
function Lifecycle({ items }) {
  return html`<${Table} rows=${items || []} caption="Lifecycle history"
    empty="This device was never enrolled with a credential."
    columns=${[
      { label: 'Time', render: (r) => when(r.time) },
      { label: 'Event', key: 'event', cls: 'strong' },
      { label: 'Credential', key: 'credential', cls: 'mono' },
      { label: 'Reason', key: 'reason' },
    ]} />`;
}

function Retire({ id, onDone }) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState(null);
  async function retire() {
    try {
      await api(`devices/${encodeURIComponent(id)}`, { method: 'DELETE' });
      setConfirming(false);
      onDone();
    } catch (e) { setError(e); }
  }
  if (!confirming) return html`<button type="button" class="danger" onClick=${() => setConfirming(true)}>Retire device…</button>`;
  return html`<div class="confirm" role="group" aria-label="Confirm retirement">
    <span>Revoke every credential of this device? Its agent is refused from now on.</span>
    <button type="button" class="danger" onClick=${retire}>Retire</button>
    <button type="button" class="ghost" onClick=${() => setConfirming(false)}>Cancel</button>
    <${ErrorBox} error=${error} />
  </div>`;
}

export function Device({ id, session }) {
  const { data: d, error, loading, reload } = useApi(`devices/${encodeURIComponent(id)}`, [id]);
  const { data: policy } = useApi('policy');
  return html`<div class="page">
    <p class="crumbs"><a href="#/devices">Devices</a> › <span class="mono">${id}</span></p>
    <h1 tabindex="-1">${d ? text([d.manufacturer, d.model].filter(Boolean).join(' ') || 'Device') : 'Device'}</h1>
    <${ErrorBox} error=${error} />
    ${loading && !d ? html`<${Loading} />` : d && html`
      <${Card} title="Device" id="dev-h" actions=${session.role === 'admin' && !d.retired
        ? html`<${Retire} id=${id} onDone=${reload} />` : d.retired ? html`<span class="badge badge-retired">Retired</span>` : null}>
        <${Facts} items=${[
          ['Pseudonym', html`<span class="mono">${d.device_id}</span>`],
          ['Risk', html`<${Badge} level=${d.risk} />`],
          ['OS', text([d.os_name, d.os_version].filter(Boolean).join(' '))],
          ['Build', text(d.build)],
          ['Model', text([d.manufacturer, d.model, d.model_id && `(${d.model_id})`].filter(Boolean).join(' '))],
          ['CPU', text(d.cpu)],
          ['Agent', text(d.agent_version)],
          ['Identifier from', text(d.device_id_source)],
          ['User (pseudonym)', html`<span class="mono">${text(d.upn)}</span>`],
          ['Consent to optional data', yesno(d.consent)],
          ['First seen', when(d.first_seen)],
          ['Last seen', `${when(d.last_seen)} (${ago(d.last_seen)})`],
          ['Credentials', `${d.credentials_live} live of ${d.credentials_issued}`],
        ]} />
      <//>
      <${Card} title="Lifecycle" id="life-h"><${Lifecycle} items=${d.lifecycle} /><//>
      <${Card} title="Active threats" id="act-h"><${DeviceThreats} id=${id} status="active" /><//>
      <${Card} title="Posture" id="pos-h"><${Posture} id=${id} /><//>
      <${Card} title="Apps" id="apps-h"><${DeviceApps} id=${id} /><//>
      <${Card} title="Resolved threats" id="res-h"><${DeviceThreats} id=${id} status="resolved" /><//>
      <${Card} title="Threat notes" id="notes-h"><${Notes} id=${id} canWrite=${session.role === 'admin'} /><//>
      <${Card} title="Connections" id="con-h"><${Connections} id=${id} policy=${policy} /><//>
      <${Card} title="App history" id="hist-h"><${History} id=${id} /><//>`}
  </div>`;
}
