// The privacy statement is Markdown made by the collector from the schema. This turns
// the subset it uses (headings, paragraphs, lists, tables, **bold**, `code`) into
// elements whose content is text, so nothing in it can become markup. Written here
// rather than taken from npm: a general Markdown library renders to an HTML string,
// which the page's Trusted Types policy refuses.
import { html } from './ui.js';

function inline(s) {
  return s.split(/(\*\*[^*]+\*\*|`[^`]+`)/).filter(Boolean).map((part) => {
    if (part.startsWith('**') && part.endsWith('**')) return html`<strong>${part.slice(2, -2)}</strong>`;
    if (part.startsWith('`') && part.endsWith('`')) return html`<code>${part.slice(1, -1)}</code>`;
    return part;
  });
}

const cells = (line) => line.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());

export function Markdown({ source }) {
  const lines = source.split('\n');
  const out = [];
  for (let i = 0; i < lines.length;) {
    const l = lines[i];
    const m = /^(#{1,4})\s+(.*)$/.exec(l);
    if (m) {
      const level = Math.min(6, m[1].length + 1); // the page has its own h1
      out.push(h(`h${level}`, inline(m[2])));
      i++;
    } else if (/^\s*[-*]\s+/.test(l)) {
      const items = [];
      for (; i < lines.length && /^\s*[-*]\s+/.test(lines[i]); i++) items.push(lines[i].replace(/^\s*[-*]\s+/, ''));
      out.push(html`<ul>${items.map((t) => html`<li>${inline(t)}</li>`)}</ul>`);
    } else if (l.trim().startsWith('|')) {
      const rows = [];
      for (; i < lines.length && lines[i].trim().startsWith('|'); i++) rows.push(lines[i]);
      const body = rows.slice(2).map(cells);
      out.push(html`<div class="table-wrap" tabindex="0" role="region" aria-label=${cells(rows[0]).join(', ')}><table><thead><tr>${cells(rows[0]).map((c) => html`<th scope="col">${inline(c)}</th>`)}</tr></thead>
        <tbody>${body.map((r) => html`<tr>${r.map((c) => html`<td>${inline(c)}</td>`)}</tr>`)}</tbody></table></div>`);
    } else if (l.trim()) {
      const para = [];
      for (; i < lines.length && lines[i].trim() && !/^(#|\s*[-*]\s|\s*\|)/.test(lines[i]); i++) para.push(lines[i].trim());
      out.push(html`<p>${inline(para.join(' '))}</p>`);
    } else {
      i++;
    }
  }
  return html`<div class="markdown">${out}</div>`;
}

function h(tag, children) {
  return html`<${tag}>${children}<//>`;
}
