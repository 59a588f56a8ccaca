// Usage and crashes: the agent's actions (exact counts, and the fleet estimates of
// devices under local differential privacy) and crash groups by signature.
import { useApi, usePaged } from '../api.js';
import { html, Card, ErrorBox, Loading, PagedTable, Table, when, text } from '../ui.js';

export function Usage() {
  const a = useApi('usage/actions');
  const c = usePaged('crashes', {}, (d) => d.crashes, 25);
  return html`<div class="page">
    <h1 tabindex="-1">Usage & crashes</h1>
    <${Card} title="Actions in the agent" id="act-h">
      <${ErrorBox} error=${a.error} />
      ${a.loading && !a.data ? html`<${Loading} />` : a.data && html`
        <${Table} caption="Actions" rows=${a.data.actions} empty="No action reported."
          columns=${[{ key: 'action', label: 'Action', cls: 'strong' }, { key: 'count', label: 'Count' }, { key: 'devices', label: 'Devices' }]} />
        ${a.data.ldp.length ? html`<h3>Estimates under local differential privacy</h3>
          <${Table} caption="LDP estimates" rows=${a.data.ldp}
            columns=${[{ key: 'period', label: 'Day' }, { key: 'action', label: 'Action' }, { key: 'reports', label: 'Reports' },
              { key: 'estimate', label: 'Estimate' }, { label: '95% interval', render: (r) => `${r.ci_low} – ${r.ci_high}` }]} />` : null}`}
    <//>
    <${Card} title="Crashes by signature" id="crash-h">
      <${PagedTable} p=${c} caption="Crash groups" empty="No crash reported."
        columns=${[
          { key: 'signal', label: 'Signal', cls: 'strong' },
          { label: 'Top frames', render: (r) => text(r.top_frames), cls: 'mono wrap' },
          { key: 'version', label: 'Version' },
          { key: 'count', label: 'Crashes' },
          { key: 'devices', label: 'Devices' },
          { label: 'Last seen', render: (r) => when(r.last_seen) },
        ]} />
    <//>
  </div>`;
}
