#!/usr/bin/env node
'use strict';
// Markdown tables from bench/latest-<suite>.json.
//   node bench/report.js                  print them
//   node bench/report.js --update-readme  replace the block between the results markers
//                                         of bench/README.md
//   --stat median|min                     which statistic of the recorded samples to show
//                                         (default: the one the run used)
const fs = require('fs');
const path = require('path');
const { tableData, markdownTable, ratio, fmt } = require('./lib/table');
const { geomean, computeRatios } = require('./lib/compare');
const { gemmFloors, peakAt } = require('./suites/gemm');

const BENCH = __dirname;
const ORDER = ['gemm', 'conv', 'conv-backward', 'pool', 'models', 'training'];
/** Suites with a bench/latest-<suite>.json, kernels first, then any other suite. */
function suitesRecorded() {
  const names = fs.readdirSync(BENCH).filter((f) => /^latest-.+\.json$/.test(f)).map((f) => f.slice(7, -5));
  const rank = (n) => (ORDER.includes(n) ? ORDER.indexOf(n) : ORDER.length);
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

// Runs with --rounds timed every implementation that many times, alternating the order.
function roundsNote(rec) {
  const r = rec.options && rec.options.rounds;
  return r > 1 ? ` of each implementation's best of ${r} rounds (native and peers alternated)` : '';
}

function report(wantStat = null) {
  const out = [];
  let first = null;
  for (const s of suitesRecorded()) {
    const f = path.join(BENCH, `latest-${s}.json`);
    if (!fs.existsSync(f)) continue;
    const rec = JSON.parse(fs.readFileSync(f, 'utf8'));
    const stat = wantStat || rec.stat;
    if (!first) {
      first = rec;
      const p = rec.peak;
      out.push(`Measured ${rec.date.slice(0, 16).replace('T', ' ')} UTC on ${rec.machine.cpu} (${rec.machine.logicalCpus} CPUs, ${rec.machine.simdFlags.join(' ')}), node ${rec.machine.node}, ${rec.threads} threads; figures are the ${stat === 'min' ? 'fastest sample' : 'median of samples'}${roundsNote(rec)}.`);
      const addon = rec.backends.native.addon;
      out.push(`Backends: native ${rec.backends.native.isa || rec.backends.native.error}${rec.backends.native.openmp ? ' + OpenMP' : ''}${addon ? ` (addon ${addon.path})` : ''}; JS ${rec.backends.js.error ? rec.backends.js.error : 'ok'}.`);
      if (p) {
        const part = (isa) => (p[isa] ? `${isa} ${Object.entries(p[isa]).map(([t, g]) => `${fmt(g)} GFLOP/s on ${t}`).join(', ')}` : null);
        out.push(`Peak (bench/peers/fma_peak.cc): ${[part('ymm'), part('zmm')].filter(Boolean).join('; ')}.`);
      }
    }
    const parts = rec.parts || { '': rec };
    for (const [label, part] of Object.entries(parts)) {
      if (stat !== rec.stat) computeRatios(part, stat);
      out.push('', `### ${rec.title}${label ? ` — ${label}` : ''} (${rec.threads} threads, ${part.metric === 'gflops' ? 'GFLOP/s' : 'ms'}; load average ${rec.loadavg.start[0].toFixed(2)} at start, ${rec.loadavg.end[0].toFixed(2)} at end)`, '');
      let peak = null;
      if (s === 'gemm' && rec.peak) peak = Math.max(...['ymm', 'zmm'].map((i) => peakAt(rec.peak, i, rec.threads) || 0));
      out.push(markdownTable(tableData(part, { stat, peak })));
      const gm = (k) => geomean(part.rows.map((r) => r.ratios[k]));
      out.push('', `Geometric means: native/JS ${ratio(gm('nativeVsJs'))}, native/best peer ${ratio(gm('nativeVsBestPeer'))}` +
        (part.rows.some((r) => r.bestPlainPeer) ? `, native/best NCHW peer ${ratio(gm('nativeVsBestPlainPeer'))}` : '') +
        (part.rows.some((r) => r.ratios.scaling) ? `, 2 threads/1 thread ${ratio(gm('scaling'))}` : '') + '.');
      const peers = Object.entries(part.peers).map(([n, i]) => (i.unavailable ? `${n}: not run (${i.unavailable})` : `${n} ${i.version || ''}`));
      if (peers.length) out.push(`Peers: ${peers.join('; ')}.`);
    }
    if (rec.memory) {
      const m = rec.memory;
      const mb = (r) => (r && r.maxRssMB ? `${r.maxRssMB.toFixed(0)} MB` : r && r.error ? `error (${r.error})` : 'not run');
      const met = m.native && m.native.maxRssMB ? (m.native.maxRssMB <= m.limitMB ? 'met' : 'not met') : 'not measured';
      out.push('', `Peak RSS of a process that builds ${m.model} and runs two batches of ${m.batch}: native ${mb(m.native)}, onnxruntime ${mb(m.onnxruntime)} (issue 5: at most ${m.limitMB} MB — **${met}**).`);
    }
    if (rec.floors) {
      const f = gemmFloors(rec.rows, rec.peak, rec.threads, stat);
      if (f.native1024) {
        out.push('', `Issue 2 floor, native: ${f.native1024.rule}: ${fmt(f.native1024.gflops)} GFLOP/s = ${f.native1024.fraction !== null ? (100 * f.native1024.fraction).toFixed(0) : '-'}% of the ${f.native1024.peakIsa} FMA-loop peak ${fmt(f.native1024.peak)}` +
          (f.native1024.ymmPeak ? ` (${f.native1024.fractionOfYmmPeak !== null ? (100 * f.native1024.fractionOfYmmPeak).toFixed(0) : '-'}% of the 256-bit FMA peak ${fmt(f.native1024.ymmPeak)})` : '') +
          ` — **${f.native1024.met ? 'met' : 'not met'}**.`);
      }
      if (f.js1024) out.push(`Issue 2 floor, JS: ${f.js1024.rule}: ${fmt(f.js1024.gflops)} GFLOP/s — **${f.js1024.met ? 'met' : 'not met'}**.`);
    }
  }
  return out.join('\n');
}

if (require.main === module) {
  const i = process.argv.indexOf('--stat');
  const md = report(i > 0 ? process.argv[i + 1] : null);
  if (process.argv.includes('--update-readme')) {
    const f = path.join(BENCH, 'README.md');
    const text = fs.readFileSync(f, 'utf8');
    const a = '<!-- results:start -->', b = '<!-- results:end -->';
    const i = text.indexOf(a), j = text.indexOf(b);
    if (i < 0 || j < 0) throw new Error('README.md has no results markers');
    fs.writeFileSync(f, `${text.slice(0, i + a.length)}\n${md}\n${text.slice(j)}`);
    console.log('updated bench/README.md');
  } else {
    console.log(md || 'no bench/latest-*.json yet: run `npm run bench` first');
  }
}

module.exports = { report };
