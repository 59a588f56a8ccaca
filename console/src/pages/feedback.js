// Feedback the users sent (only with their consent, where the policy allows optional
// data). Comments are the users' own words: shown as text, never as markup.
import { usePaged } from '../api.js';
import { html, Card, PagedTable, DeviceLink, when, text } from '../ui.js';

const ICON = { smile: '🙂', frown: '🙁', idea: '💡' };

export function Feedback() {
  const p = usePaged('feedback', {}, (d) => d['feedback.submission'], 25);
  return html`<div class="page">
    <h1 tabindex="-1">Feedback</h1>
    <${Card} title="What users said" id="fb-h">
      <${PagedTable} p=${p} caption="Feedback" empty="No feedback yet."
        columns=${[
          { label: 'Type', render: (r) => html`<span class="fb-type"><span aria-hidden="true">${ICON[r.type] || ''}</span> ${text(r.type)}</span>` },
          { label: 'Comment', render: (r) => html`<span class="comment">${text(r.comment ?? r.message)}</span>`, cls: 'wrap' },
          { label: 'Email', key: 'email' },
          { label: 'Device', render: (r) => html`<${DeviceLink} id=${r.device_id} />` },
          { label: 'Time', render: (r) => when(r.time) },
        ]} />
    <//>
  </div>`;
}
