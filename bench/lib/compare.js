'use strict';
// The shared machinery of a comparison suite: time receptive-native (at the chosen
// thread count, and at 1 thread for the scaling figure), receptive-JS (where it is
// quick enough), check that both computed the same thing, run the peers on the same
// cases, and build rows with GFLOP/s (or ms) and ratios. A suite supplies the cases,
// how to prepare one case on a backend, and which peer kind does the same work.
const { timeSync } = require('./timing');
const { runPeers } = require('../peers');

/** Deterministic uniform [-1, 1) data (the same on every backend for a given seed). */
// Operands come from the backend's activation allocator where it has one (the native
// backend's start on a 64-byte line, as the library's own layers get them).
function zeroArray(n, be) {
  return be && typeof be.allocate === 'function' ? be.allocate(n) : new Float32Array(n);
}

function randomArray(n, seed, be) {
  const a = zeroArray(n, be);
  let s = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = ((s >>> 8) & 0xffff) / 32768 - 1;
  }
  return a;
}

function maxRelDiff(a, b) {
  if (!a || !b || a.length !== b.length) return null;
  let scale = 0, diff = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]);
    if (x > scale) scale = x;
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= diff)) diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
  }
  return diff / (scale || 1);
}

function msOf(t, stat) { return stat === 'min' ? (t.minMs ?? t.ms) : t.ms; }

function withRate(t, flops) {
  if (!t || t.ms === undefined) return t;
  const r = { ...t };
  if (r.minMs === undefined) r.minMs = r.ms;
  if (flops) { r.gflops = flops / (t.ms * 1e6); r.gflopsBest = flops / (t.minMs * 1e6); }
  return r;
}

function errMsg(e) { return String(e && e.message ? e.message : e).split('\n')[0]; }

/**
 * spec: {
 *   kind:      name of the work, e.g. 'gemm', 'conv', 'conv-bwd-input'
 *   peerKind:  the kind the peers run (default kind); null for none
 *   metric:    'gflops' (rows carry flops) or 'ms'
 *   cases:     parsed cases (bench/cases.js), each with id, name, flops?, issue2?
 *   prepare(backend, c) -> {fn: () => void, output: Float32Array}  (throws if unsupported)
 *   scaling:   also time native at 1 thread (default true when threads > 1)
 * }
 */
function runCompare(ctx, spec) {
  const o = ctx.opts;
  const stat = o.stat;
  const timing = { maxTime: o.maxTime, minSamples: o.minSamples, slowMs: o.slowMs };
  const rows = [];
  const scaling = spec.scaling ?? (ctx.threads > 1 && o.scaling);
  if (o.cases) spec = { ...spec, cases: spec.cases.filter((c) => o.cases.some((w) => c.id === w || c.id.includes(w))) };
  for (const c of spec.cases) {
    const row = { id: c.id, name: c.name, flops: c.flops, issue2: !!c.issue2 };
    let nativeOut = null;
    ctx.log(`  ${spec.kind} ${c.id}`);
    if (ctx.native) {
      try {
        const p = spec.prepare(ctx.native, c);
        ctx.native.setNumThreads(ctx.threads);
        row.native = withRate(timeSync(p.fn, timing), c.flops);
        if (scaling && row.native.single && row.native.ms > 10 * o.slowMs) {
          row.native1t = { skipped: 'native too slow for a 1-thread run' };
        } else if (scaling) {
          ctx.native.setNumThreads(1);
          row.native1t = withRate(timeSync(p.fn, timing), c.flops);
          ctx.native.setNumThreads(ctx.threads);
        }
        p.fn();
        nativeOut = p.output;
      } catch (e) {
        row.native = { error: errMsg(e) };
        try { ctx.native.setNumThreads(ctx.threads); } catch { /* ignore */ }
      }
    } else {
      row.native = { error: ctx.nativeError || 'native backend unavailable' };
    }
    const gflop = (c.flops || 0) / 1e9;
    if (!ctx.js) {
      row.js = { skipped: ctx.jsError || 'JS backend unavailable' };
    } else if (!o.jsAll && !(c.issue2 && o.issue2Js) && gflop > o.jsMaxGflop) {
      row.js = { skipped: `slow: ${gflop.toFixed(2)} GFLOP > --js-max-gflop ${o.jsMaxGflop}` };
    } else {
      try {
        const p = spec.prepare(ctx.js, c);
        row.js = withRate(timeSync(p.fn, timing), c.flops);
        if (nativeOut) row.check = { maxRelDiff: maxRelDiff(nativeOut, p.output) };
      } catch (e) {
        row.js = { error: errMsg(e) };
      }
    }
    rows.push(row);
  }

  // Peers, one process per peer for all the cases.
  const peerKind = spec.peerKind === undefined ? spec.kind : spec.peerKind;
  let peers = {};
  if (peerKind && !o.noPeers) {
    ctx.log(`  peers for ${spec.kind}:`);
    peers = runPeers(peerKind, spec.cases, {
      threads: ctx.threads, maxTime: o.maxTime, minSamples: o.minSamples, slowMs: o.slowMs,
      timeoutS: o.peerTimeoutS, only: o.peers, tfjsCpuMaxGflop: o.tfjsCpuMaxGflop, tfjsWasmMaxGflop: o.tfjsWasmMaxGflop,
    }, ctx.log);
  }
  for (const row of rows) {
    row.peers = {};
    for (const [name, out] of Object.entries(peers)) {
      if (out.unavailable) continue;
      const r = out.results && out.results[row.id];
      if (r) row.peers[name] = withRate(r, row.flops);
      else row.peers[name] = { skipped: (out.skipped && out.skipped[row.id]) || 'not run' };
    }
  }
  const peerInfo = {};
  for (const [name, out] of Object.entries(peers)) {
    peerInfo[name] = out.unavailable ? { unavailable: out.unavailable }
      : { version: out.version, threads: out.threads, ...(out.layout ? { layout: out.layout } : {}) };
  }
  const result = { kind: spec.kind, metric: spec.metric, rows, peers: peerInfo };
  computeRatios(result, stat);
  return result;
}

/**
 * (Re)computes each row's bestPeer, bestPlainPeer and ratios from its timings with the
 * given statistic ('median' uses ms, 'min' uses minMs); report.js uses it to show a
 * recorded run with the other statistic.
 */
function computeRatios(result, stat) {
  const peers = result.peers;
  for (const row of result.rows) {
    // Best peer over every column; best 'plain' peer over those that take the caller's
    // layout as it is (not oneDNN on its blocked layouts with the reorders untimed).
    const pick = (plainOnly) => {
      let best = null;
      for (const [name, r] of Object.entries(row.peers)) {
        if (r.ms === undefined) continue;
        if (plainOnly && peers[name] && peers[name].layout === 'blocked') continue;
        if (!best || msOf(r, stat) < best.ms) best = { name, ms: msOf(r, stat) };
      }
      if (best && row.flops) best.gflops = row.flops / (best.ms * 1e6);
      return best;
    };
    const best = pick(false);
    row.bestPeer = best;
    const hasBlocked = Object.values(peers).some((p) => p.layout === 'blocked');
    const bestPlain = hasBlocked ? pick(true) : best;
    if (hasBlocked) row.bestPlainPeer = bestPlain;
    const nat = row.native && row.native.ms !== undefined ? msOf(row.native, stat) : null;
    const js = row.js && row.js.ms !== undefined ? msOf(row.js, stat) : null;
    row.ratios = {
      nativeVsJs: nat && js ? js / nat : null,
      nativeVsBestPeer: nat && best ? best.ms / nat : null,
      nativeVsBestPlainPeer: nat && bestPlain ? bestPlain.ms / nat : null,
      scaling: nat && row.native1t && row.native1t.ms !== undefined ? msOf(row.native1t, stat) / nat : null,
    };
  }
  result.stat = stat;
  return result;
}

function geomean(xs) {
  const v = xs.filter((x) => x && Number.isFinite(x) && x > 0);
  if (!v.length) return null;
  return Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
}

module.exports = { zeroArray, runCompare, computeRatios, randomArray, maxRelDiff, geomean, msOf };
