#!/usr/bin/env node
'use strict';
// Writes bench/ratio-chart.svg from bench/latest-<suite>.json: per layer, the ratio
// receptive-native / best peer and receptive-native / receptive-JS, on a log scale with
// bars diverging from 1x (right of the line: native is faster). Hand-written SVG, no deps.
//   node bench/chart.js [--stat median|min] [out.svg]
const fs = require('fs');
const path = require('path');

const BENCH = __dirname;
const ORDER = ['gemm', 'conv', 'conv-backward', 'pool', 'models', 'training'];
/** Suites with a bench/latest-<suite>.json, kernels first, then any other suite. */
function suitesRecorded() {
  const names = fs.readdirSync(BENCH).filter((f) => /^latest-.+\.json$/.test(f)).map((f) => f.slice(7, -5));
  const rank = (n) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
const SERIES = [
  { key: 'nativeVsBestPeer', label: 'native / best peer', color: '#1f77b4', peer: 'best' },
  { key: 'nativeVsBestPlainPeer', label: 'native / best NCHW peer (oneDNN blocked excluded)', color: '#2ca02c', peer: 'bestPlain', optional: true },
  { key: 'nativeVsJs', label: 'native / JS', color: '#ff7f0e' },
];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const { computeRatios } = require('./lib/compare');

function loadSections(wantStat = null) {
  const sections = [];
  let meta = null;
  for (const s of suitesRecorded()) {
    const f = path.join(BENCH, `latest-${s}.json`);
    if (!fs.existsSync(f)) continue;
    const rec = JSON.parse(fs.readFileSync(f, 'utf8'));
    meta = meta || { ...rec, stat: wantStat || rec.stat };
    const parts = rec.parts || { '': rec };
    for (const [label, part] of Object.entries(parts)) {
      if (wantStat && wantStat !== rec.stat) computeRatios(part, wantStat);
      sections.push({
        title: `${rec.title}${label ? ` — ${label}` : ''}`,
        rows: part.rows.map((r) => ({
          name: r.name, ratios: r.ratios, best: r.bestPeer ? r.bestPeer.name : null,
          bestPlain: r.bestPlainPeer ? r.bestPlainPeer.name : null,
        })),
      });
    }
  }
  return { sections, meta };
}

function render({ sections, meta }) {
  const W = 980, labelW = 330, plotW = 560, rowH = 32, barH = 8, headH = 30, top = 70;
  let lo = 0.01, hi = 10;
  for (const s of sections) for (const r of s.rows) for (const { key } of SERIES) {
    const v = r.ratios[key];
    if (v && Number.isFinite(v) && v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  const lmin = Math.floor(Math.log10(lo)), lmax = Math.ceil(Math.log10(hi));
  const x = (v) => labelW + ((Math.log10(v) - lmin) / (lmax - lmin)) * plotW;
  const height = top + sections.reduce((a, s) => a + headH + s.rows.length * rowH, 0) + 40;
  const o = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${height}" fill="white"/>`);
  const sub = meta ? `${meta.date.slice(0, 10)} · ${meta.machine.cpu} · ${meta.threads} threads · ${meta.stat}` : '';
  o.push(`<text x="10" y="22" font-size="16" font-weight="bold">receptive: speed ratios per layer (log scale, right of 1x = native faster)</text>`);
  o.push(`<text x="10" y="42" fill="#555">${esc(sub)}</text>`);
  SERIES.forEach((s, i) => {
    const lx = [10, 160, 520][i];
    o.push(`<rect x="${lx}" y="50" width="14" height="10" fill="${s.color}"/><text x="${lx + 20}" y="59">${esc(s.label)}</text>`);
  });
  const plotTop = top, plotBottom = height - 30;
  for (let e = lmin; e <= lmax; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) > lmax) continue;
      const xx = x(v).toFixed(1);
      o.push(`<line x1="${xx}" x2="${xx}" y1="${plotTop}" y2="${plotBottom}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
      if (m === 1 || (lmax - lmin) <= 3) {
        o.push(`<text x="${xx}" y="${plotBottom + 14}" text-anchor="middle" fill="#555">${v >= 1 ? v : v.toPrecision(1)}x</text>`);
      }
    }
  }
  let y = top;
  for (const s of sections) {
    o.push(`<text x="10" y="${y + 20}" font-weight="bold">${esc(s.title)}</text>`);
    y += headH;
    for (const r of s.rows) {
      o.push(`<text x="${labelW - 8}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(r.name.length > 48 ? r.name.slice(0, 47) + '…' : r.name)}</text>`);
      SERIES.forEach((ser, i) => {
        const v = r.ratios[ser.key];
        const by = y + 3 + i * (barH + 2);
        if (ser.optional && !r[ser.peer]) return;
        if (!v || !Number.isFinite(v) || v <= 0) {
          o.push(`<text x="${x(1) + 4}" y="${by + barH - 1}" font-size="9" fill="#999">n/a</text>`);
          return;
        }
        const x0 = Math.min(x(1), x(v)), x1 = Math.max(x(1), x(v));
        o.push(`<rect x="${x0.toFixed(1)}" y="${by}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${barH}" fill="${ser.color}"><title>${esc(`${r.name}: ${ser.label} = ${v.toFixed(3)}x${ser.peer && r[ser.peer] ? ` (${r[ser.peer]})` : ''}`)}</title></rect>`);
        const tx = v >= 1 ? x1 + 3 : x0 - 3;
        o.push(`<text x="${tx.toFixed(1)}" y="${by + barH - 1}" font-size="9" text-anchor="${v >= 1 ? 'start' : 'end'}" fill="#333">${v >= 10 ? v.toFixed(0) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2)}x${ser.peer && r[ser.peer] ? ` ${esc(r[ser.peer])}` : ''}</text>`);
      });
      y += rowH;
    }
  }
  o.push(`<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${plotTop}" y2="${plotBottom}" stroke="#000" stroke-width="1.5"/>`);
  o.push('</svg>');
  return o.join('\n') + '\n';
}

function writeChart(out = path.join(BENCH, 'ratio-chart.svg'), stat = null) {
  const data = loadSections(stat);
  if (!data.sections.length) return null;
  fs.writeFileSync(out, render(data));
  return out;
}

module.exports = { writeChart, render, loadSections };

if (require.main === module) {
  const args = process.argv.slice(2);
  const si = args.indexOf('--stat');
  const stat = si >= 0 ? args.splice(si, 2)[1] : null;
  const out = writeChart(args[0] ? path.resolve(args[0]) : undefined, stat);
  console.log(out ? `wrote ${out}` : 'no bench/latest-*.json yet: run `npm run bench` first');
}
