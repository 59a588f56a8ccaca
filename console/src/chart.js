// Detections per day as a bar chart (uPlot, drawn on a canvas). The canvas is hidden
// from screen readers; the same figures are in a table below it for them.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './ui.js';

// Every day of the range, the days with no detection as zero.
export function dailySeries(rows, days, now = Date.now()) {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const start = Math.floor(now / 86400000) - (days - 1);
  const x = [], detected = [], resolved = [];
  for (let d = start; d < start + days; d++) {
    const key = new Date(d * 86400000).toISOString().slice(0, 10);
    const r = byDay.get(key);
    x.push(d * 86400);
    detected.push(r ? r.detected : 0);
    resolved.push(r ? r.resolved : 0);
  }
  return [x, detected, resolved];
}

export function ThreatChart({ data, label }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    const left = uPlot.paths.bars({ size: [0.4, 14], align: -1 });
    const right = uPlot.paths.bars({ size: [0.4, 14], align: 1 });
    const opts = {
      width: Math.max(320, el.clientWidth), height: 240,
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, max)] } },
      axes: [{ stroke: '#475569' }, { stroke: '#475569', size: 40 }],
      legend: { show: true },
      series: [
        {},
        { label: 'Detected', stroke: '#b91c1c', fill: 'rgba(185,28,28,0.75)', paths: left, width: 0, points: { show: false } },
        { label: 'Resolved', stroke: '#15803d', fill: 'rgba(21,128,61,0.65)', paths: right, width: 0, points: { show: false } },
      ],
    };
    const u = new uPlot(opts, data, el);
    const resize = () => u.setSize({ width: Math.max(320, el.clientWidth), height: 240 });
    addEventListener('resize', resize);
    return () => { removeEventListener('resize', resize); u.destroy(); };
  }, [data]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${label}></div>`;
}
