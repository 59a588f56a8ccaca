// Detections per day as a bar chart (uPlot, drawn on a canvas). The canvas is hidden
// from screen readers; the same figures are in a table below it for them. uPlot is
// half of the console's script: it is loaded on its own when a chart is first drawn,
// so that no page waits for it before showing its figures.
import { useEffect, useRef } from 'preact/hooks';
import { html } from './ui.js';

let uPlotModule = null;
const loadUPlot = () => (uPlotModule ||= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')])
  .then(([m]) => m.default));

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
    let u = null;
    let live = true;
    const el = box.current;
    const resize = () => u && u.setSize({ width: Math.max(320, el.clientWidth), height: 240 });
    loadUPlot().then((uPlot) => { if (live) u = draw(uPlot, el, data); });
    addEventListener('resize', resize);
    return () => { live = false; removeEventListener('resize', resize); u && u.destroy(); };
  }, [data]);
  return html`<div class="chart" ref=${box} role="img" aria-label=${label}></div>`;
}

// uPlot's bars (detected left of the day, resolved right), as wide as the box.
function draw(uPlot, el, data) {
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
  return new uPlot(opts, data, el);
}
