// The tenant's append-only audit log: every call of the admin API, who made it.
import { usePaged } from '../api.js';
import { html, Card, PagedTable, when, text } from '../ui.js';

export function Audit() {
  const p = usePaged('audit', {}, (d) => d.audit, 50);
  return html`<div class="page">
    <h1 tabindex="-1">Audit log</h1>
    <${Card} title="Every call, in order" id="audit-h">
      <${PagedTable} p=${p} caption="Audit log" empty="Nothing recorded yet."
        columns=${[
          { key: 'id', label: '#' },
          { label: 'Time', render: (r) => when(r.time) },
          { key: 'actor', label: 'Actor', cls: 'mono' },
          { key: 'action', label: 'Action', cls: 'strong' },
          { label: 'Detail', render: (r) => text(r.detail), cls: 'mono wrap' },
        ]} />
    <//>
  </div>`;
}
