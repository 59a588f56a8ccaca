// Threats across the fleet, one row per device and threat with its latest state,
// filtered by status, category and severity by the collector.
import { usePaged } from '../api.js';
import { html, go, Card, PagedTable, Select, Badge, Status, DeviceLink, when, text } from '../ui.js';

// The values threat.detection declares (src/schema/mtd_schema_table.c); the API
// refuses any other with a 400 that lists them.
const CATEGORIES = ['', 'malware', 'phishing', 'adware', 'spyware', 'riskware', 'pua', 'vulnerability',
  'exploit', 'command_and_control', 'scam', 'tampering', 'sideload', 'policy', 'integrity', 'os', 'app', 'network'];
const SEVERITIES = ['', 'critical', 'high', 'medium', 'low', 'info'];

export function Threats({ params }) {
  const f = { status: params.status || '', category: params.category || '', severity: params.severity || '' };
  const p = usePaged('threats', f, (d) => d.threats);
  const set = (k) => (v) => go('threats', { ...params, [k]: v });
  return html`<div class="page">
    <h1 tabindex="-1">Threats</h1>
    <form class="filters" onSubmit=${(e) => e.preventDefault()} aria-label="Filter threats">
      <${Select} id="f-status" label="Status" value=${f.status} onChange=${set('status')} options=${['', 'active', 'resolved']} />
      <${Select} id="f-category" label="Category" value=${f.category} onChange=${set('category')} options=${CATEGORIES} />
      <${Select} id="f-severity" label="Severity" value=${f.severity} onChange=${set('severity')} options=${SEVERITIES} />
    </form>
    <${Card} title="Threats by severity" id="threats-h">
      <${PagedTable} p=${p} caption="Threats" empty="No threat matches."
        columns=${[
          { label: 'Severity', render: (r) => html`<${Badge} level=${r.severity} />` },
          { label: 'Threat', key: 'threat_name', cls: 'strong' },
          { label: 'Category', key: 'category' },
          { label: 'Device', render: (r) => html`<${DeviceLink} id=${r.device_id} />` },
          { label: 'Source', key: 'source' },
          { label: 'Package', key: 'package', cls: 'mono' },
          { label: 'Evidence', key: 'evidence', cls: 'wrap' },
          { label: 'Status', render: (r) => html`<${Status} value=${r.status} />` },
          { label: 'Last seen', render: (r) => html`<span title=${`first seen ${when(r.first_seen)}`}>${when(r.last_seen)}</span>`, cls: 'nowrap' },
        ]} />
    <//>
  </div>`;
}
