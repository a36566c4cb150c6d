'use strict';
// Plain-text (and Markdown) tables for a comparison result (bench/lib/compare.js).

function fmt(x, digits = 1) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 1000) return x.toFixed(0);
  if (Math.abs(x) >= 100) return x.toFixed(Math.max(0, digits - 1));
  if (Math.abs(x) < 0.01 && x !== 0) return x.toPrecision(2);
  return x.toFixed(Math.max(digits, Math.abs(x) < 1 ? 3 : digits));
}
function ratio(x) { return x === null || x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(2)}x`; }

function cell(r, metric, stat) {
  if (!r) return '-';
  if (r.ms === undefined) return r.error ? 'ERR' : 'skip';
  const ms = stat === 'min' ? (r.minMs ?? r.ms) : r.ms;
  const v = metric === 'gflops' ? r.gflops !== undefined ? (stat === 'min' ? (r.gflopsBest ?? r.gflops) : r.gflops) : null : ms;
  return fmt(v, metric === 'gflops' ? 1 : 3) + (r.single ? '*' : '');
}

/** Column order of the peers present in a result. */
function peerNames(result) {
  return Object.keys(result.peers).filter((p) => !result.peers[p].unavailable);
}

/**
 * Returns {header: [...], rows: [[...]]} for a result. opts: {stat, peak}
 * (peak: GFLOP/s at the run's thread count, adds a '% peak' column).
 */
function tableData(result, opts = {}) {
  const stat = opts.stat || 'median';
  const gf = result.metric === 'gflops';
  const unit = gf ? 'GF/s' : 'ms';
  const peers = peerNames(result);
  const scaling = result.rows.some((r) => r.native1t);
  const header = ['case', `native ${unit}`];
  if (gf && opts.peak) header.push('% peak');
  header.push(`JS ${unit}`, 'nat/JS');
  if (scaling) header.push(`nat 1t ${unit}`, '2t/1t');
  for (const p of peers) header.push(`${p} ${unit}`);
  header.push('best peer', 'nat/best');
  const plain = peers.some((p) => result.peers[p].layout === 'blocked');
  if (plain) header.push('best NCHW peer', 'nat/NCHW');
  const rows = result.rows.map((r) => {
    const line = [r.name];
    line.push(cell(r.native, result.metric, stat));
    if (gf && opts.peak) {
      const g = r.native && r.native.ms !== undefined ? (stat === 'min' ? (r.native.gflopsBest ?? r.native.gflops) : r.native.gflops) : null;
      line.push(g ? `${((100 * g) / opts.peak).toFixed(0)}%` : '-');
    }
    let js = cell(r.js, result.metric, stat);
    if (r.check && r.check.maxRelDiff !== null && r.check.maxRelDiff > 1e-3) js += ' (!diff)';
    line.push(js, ratio(r.ratios.nativeVsJs));
    if (scaling) line.push(cell(r.native1t, result.metric, stat), ratio(r.ratios.scaling));
    for (const p of peers) line.push(cell(r.peers[p], result.metric, stat));
    line.push(r.bestPeer ? r.bestPeer.name : '-', ratio(r.ratios.nativeVsBestPeer));
    if (plain) line.push(r.bestPlainPeer ? r.bestPlainPeer.name : '-', ratio(r.ratios.nativeVsBestPlainPeer));
    return line;
  });
  return { header, rows };
}

function textTable({ header, rows }) {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
  return [line(header), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable({ header, rows }) {
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

module.exports = { tableData, textTable, markdownTable, fmt, ratio, peerNames };
