// Fleet overview: devices per risk level, detections per day, and the devices that
// have not been seen for N days. Counted by the collector (GET summary): the page
// never loads the fleet.
import { useState } from 'preact/hooks';
import { useApi, usePaged } from '../api.js';
import { html, Card, ErrorBox, Loading, PagedTable, Input, Badge, DeviceLink, when, ago, text, Table } from '../ui.js';
import { ThreatChart, dailySeries } from '../chart.js';

const RISKS = [['high', 'High risk'], ['medium', 'Medium risk'], ['low', 'Low risk'], ['none', 'No risk']];

export function StaleDevices({ days }) {
  const p = usePaged('devices', { not_seen_days: days }, (d) => d.devices, 10);
  return html`<${PagedTable} p=${p} caption="Devices not seen lately" rowKey=${(r) => r.device_id}
    empty=${`Every device has been seen in the last ${days} days.`}
    columns=${[
      { label: 'Device', render: (r) => html`<${DeviceLink} id=${r.device_id} />` },
      { label: 'Model', render: (r) => text([r.manufacturer, r.model].filter(Boolean).join(' ')) },
      { label: 'OS', render: (r) => text([r.os_name, r.os_version].filter(Boolean).join(' ')) },
      { label: 'Risk', render: (r) => html`<${Badge} level=${r.risk} />` },
      { label: 'Last seen', render: (r) => html`<span title=${when(r.last_seen)}>${ago(r.last_seen)}</span>` },
    ]} />`;
}

export function Overview() {
  const [stale, setStale] = useState('7');
  const days = Math.min(3650, Math.max(1, parseInt(stale, 10) || 7));
  const { data, error, loading } = useApi(`summary?stale_days=${days}&days=30`, [days]);
  return html`<div class="page">
    <h1 tabindex="-1">Fleet overview</h1>
    <${ErrorBox} error=${error} />
    ${loading && !data ? html`<${Loading} />` : data && html`
      <div class="tiles" data-testid="risk-tiles">
        <a class="tile" href="#/devices"><span class="tile-n">${data.devices}</span><span class="tile-l">Devices</span></a>
        ${RISKS.map(([k, label]) => html`<a class=${`tile tile-${k}`} href=${`#/devices?risk=${k}`}>
          <span class="tile-n">${data.by_risk[k]}</span><span class="tile-l">${label}</span></a>`)}
        <div class="tile tile-stale"><span class="tile-n">${data.stale_devices}</span>
          <span class="tile-l">Not seen for ${data.stale_days}+ days</span></div>
      </div>
      <div class="grid2">
        <${Card} title="Threats over the last 30 days" id="chart-h">
          <${ThreatChart} data=${dailySeries(data.threats_by_day, data.days)}
            label=${`Detections and resolutions per day over the last ${data.days} days`} />
          <details class="chart-data"><summary>Figures per day</summary>
            <${Table} caption="Detections per day" rows=${data.threats_by_day} empty="No detection in this period."
              columns=${[{ key: 'day', label: 'Day' }, { key: 'detected', label: 'Detected' }, { key: 'resolved', label: 'Resolved' }]} />
          </details>
        <//>
        <${Card} title="Open threats by severity" id="open-h">
          <ul class="sev-list">${['critical', 'high', 'medium', 'low'].map((s) => html`<li>
            <a href=${`#/threats?status=active&severity=${s}`}><${Badge} level=${s} /></a>
            <span class="sev-n">${data.open_threats[s]}</span></li>`)}</ul>
        <//>
      </div>`}
    <${Card} title="Devices not seen lately" id="stale-h"
      actions=${html`<div class="inline"><${Input} id="stale-days" label="Not seen for (days)" type="number"
        min="1" max="3650" value=${stale} onChange=${setStale} /></div>`}>
      <${StaleDevices} days=${days} />
    <//>
  </div>`;
}
