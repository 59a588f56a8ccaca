// Shared pieces of the pages. Everything from the API is rendered as text: Preact sets
// text nodes and attribute values, never markup, and nothing here uses
// dangerouslySetInnerHTML (the page's Trusted Types policy would refuse it anyway).
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);

// A page's filters live in the fragment (#/threats?status=active), so that back and
// forward work; none of them is ever a secret.
export function go(page, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  location.hash = `#/${page}${s ? `?${s}` : ''}`;
}

// "2026-11-24T10:00:00Z" or seconds since the epoch, as the admin's local time.
export function when(v) {
  if (v === null || v === undefined || v === '') return '—';
  const d = typeof v === 'number' ? new Date(v * 1000) : new Date(v);
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function ago(v) {
  const t = typeof v === 'number' ? v * 1000 : Date.parse(v);
  if (!t) return '—';
  const days = Math.floor((Date.now() - t) / 86400000);
  if (days <= 0) return 'today';
  return days === 1 ? 'yesterday' : `${days} days ago`;
}

export function text(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

// An array the API answers as an array, or (older collectors) as JSON text.
export function list(v) {
  if (Array.isArray(v)) return v;
  if (typeof v === 'string') { try { const a = JSON.parse(v); return Array.isArray(a) ? a : []; } catch { return []; } }
  return [];
}

export function yesno(v) {
  if (v === null || v === undefined) return '—';
  return v === true || v === 1 || v === '1' ? 'yes' : 'no';
}

export function short(id, n = 14) {
  const s = String(id ?? '');
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

const LEVELS = ['critical', 'high', 'medium', 'low', 'none'];
export function Badge({ level, children }) {
  const l = LEVELS.includes(level) ? level : 'other';
  return html`<span class=${`badge badge-${l}`}>${children ?? text(level)}</span>`;
}

export function Status({ value }) {
  return html`<span class=${`status status-${value === 'active' ? 'active' : 'resolved'}`}>${text(value)}</span>`;
}

export function Loading() {
  return html`<p class="muted" role="status">Loading…</p>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error" role="alert"><strong>${error.status ? `Error ${error.status}` : 'Error'}:</strong> ${error.message}</div>`;
}

export function Card({ title, children, actions, id }) {
  return html`<section class="card" aria-labelledby=${id}>
    <div class="card-head"><h2 id=${id}>${title}</h2>${actions}</div>
    ${children}
  </section>`;
}

// A table of rows; columns: [{ key, label, render(row) }]. caption is for screen readers.
export function Table({ columns, rows, caption, empty = 'Nothing to show.', rowKey }) {
  if (!rows.length) return html`<p class="muted empty">${empty}</p>`;
  // focusable, so that a keyboard can scroll a table wider than the page
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption}><table>
    <caption class="sr-only">${caption}</caption>
    <thead><tr>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((r, i) => html`<tr key=${rowKey ? rowKey(r) : i}>
      ${columns.map((c) => html`<td class=${c.cls || ''}>${c.render ? c.render(r) : text(r[c.key])}</td>`)}
    </tr>`)}</tbody>
  </table></div>`;
}

// Previous / next through the pages of a usePaged list.
export function Pager({ p, label }) {
  if (!p.hasPrev && !p.hasNext) return null;
  const last = p.first + p.rows.length - 1;
  return html`<nav class="pager" aria-label=${`${label} pages`}>
    <button type="button" onClick=${p.prev} disabled=${!p.hasPrev}>‹ Previous</button>
    <span aria-live="polite">Rows ${p.first}–${last}</span>
    <button type="button" onClick=${p.next} disabled=${!p.hasNext}>Next ›</button>
  </nav>`;
}

// A paged list with its loading and error states.
export function PagedTable({ p, columns, caption, empty, rowKey }) {
  return html`<div aria-busy=${p.loading ? 'true' : 'false'}>
    <${ErrorBox} error=${p.error} />
    ${p.loading && !p.data ? html`<${Loading} />` : html`<${Table} columns=${columns} rows=${p.rows}
      caption=${caption} empty=${empty} rowKey=${rowKey} />`}
    <${Pager} p=${p} label=${caption} />
  </div>`;
}

export function Select({ id, label, value, onChange, options }) {
  return html`<div class="field"><label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${options.map((o) => (Array.isArray(o)
        ? html`<option value=${o[0]}>${o[1]}</option>`
        : html`<option value=${o}>${o || 'Any'}</option>`))}
    </select></div>`;
}

export function Input({ id, label, value, onChange, type = 'text', ...rest }) {
  return html`<div class="field"><label for=${id}>${label}</label>
    <input id=${id} type=${type} value=${value} onInput=${(e) => onChange(e.currentTarget.value)} ...${rest} /></div>`;
}

export function DeviceLink({ id }) {
  return html`<a href=${`#/devices/${encodeURIComponent(id)}`} class="mono">${short(id, 18)}</a>`;
}

// Key/value list of one record.
export function Facts({ items }) {
  return html`<dl class="facts">${items.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}
