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
 * The better of two timings of one implementation on one case (rounds of a run): the
 * lower median and the lower fastest sample, samples summed. A failed or skipped timing
 * gives way to one that has figures.
 */
function bestTiming(a, b) {
  if (!a) return b;
  if (!b) return a;
  if (b.ms === undefined) return a;
  if (a.ms === undefined) return b;
  return {
    ...a,
    ms: Math.min(a.ms, b.ms),
    minMs: Math.min(a.minMs ?? a.ms, b.minMs ?? b.ms),
    samples: (a.samples || 0) + (b.samples || 0),
    single: !!(a.single && b.single) || undefined,
    rounds: (a.rounds || 1) + (b.rounds || 1),
  };
}

/** Merges one round's peer outputs ({name: output}) into the earlier rounds'. */
function mergePeerRounds(prev, next) {
  const out = { ...prev };
  for (const [name, r] of Object.entries(next)) {
    const p = out[name];
    if (!p || (p.unavailable && !r.unavailable)) { out[name] = r; continue; }
    if (r.unavailable) continue;
    const results = { ...p.results };
    for (const [id, t] of Object.entries(r.results || {})) results[id] = bestTiming(results[id], t);
    const skipped = { ...(r.skipped || {}), ...(p.skipped || {}) };
    for (const id of Object.keys(results)) delete skipped[id];
    out[name] = { ...p, results, skipped };
  }
  return out;
}

/**
 * spec: {
 *   kind:      name of the work, e.g. 'gemm', 'conv', 'conv-bwd-input'
 *   peerKind:  the kind the peers run (default kind); null for none
 *   metric:    'gflops' (rows carry flops) or 'ms'
 *   cases:     parsed cases (bench/cases.js), each with id, name, flops?, issue2?
 *   prepare(backend, c) -> {fn: () => void, output: Float32Array}  (throws if unsupported)
 *   scaling:   also time native at 1 thread (default true when threads > 1)
 * }
 * With opts.rounds > 1 the native timings and the peers' are taken that many times,
 * alternating which goes first, and each implementation keeps its best round: on a
 * machine whose speed drifts over minutes, every implementation then gets the same
 * chances at its fast phases. The JS backend runs in the first round only.
 */
function runCompare(ctx, spec) {
  const o = ctx.opts;
  const stat = o.stat;
  const rounds = o.rounds ?? 1;
  const timing = { maxTime: o.maxTime, minSamples: o.minSamples, slowMs: o.slowMs };
  const scaling = spec.scaling ?? (ctx.threads > 1 && o.scaling);
  if (o.cases) spec = { ...spec, cases: spec.cases.filter((c) => o.cases.some((w) => c.id === w || c.id.includes(w))) };
  const rows = spec.cases.map((c) => ({ id: c.id, name: c.name, flops: c.flops, issue2: !!c.issue2 }));
  const peerKind = spec.peerKind === undefined ? spec.kind : spec.peerKind;
  let peers = {};

  const nativeRound = (round) => {
    spec.cases.forEach((c, i) => {
      const row = rows[i];
      ctx.log(`  ${spec.kind} ${c.id}${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''}`);
      const t = timeNative(ctx, spec, c, timing, scaling);
      row.native = bestTiming(row.native, t.native);
      if (t.native1t) row.native1t = bestTiming(row.native1t, t.native1t);
      if (round === 0) timeJs(ctx, spec, c, row, t.output, timing);
    });
  };
  // Peers, one process per peer for all the cases (per round).
  const peerRound = (round) => {
    if (!peerKind || o.noPeers) return;
    ctx.log(`  peers for ${spec.kind}${rounds > 1 ? ` (round ${round + 1}/${rounds})` : ''}:`);
    peers = mergePeerRounds(peers, runPeers(peerKind, spec.cases, {
      threads: ctx.threads, maxTime: o.maxTime, minSamples: o.minSamples, slowMs: o.slowMs,
      timeoutS: o.peerTimeoutS, only: o.peers, tfjsCpuMaxGflop: o.tfjsCpuMaxGflop, tfjsWasmMaxGflop: o.tfjsWasmMaxGflop,
    }, ctx.log));
  };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) { nativeRound(round); peerRound(round); } else { peerRound(round); nativeRound(round); }
  }

  for (const row of rows) {
    row.native = withRate(row.native, row.flops);
    if (row.native1t) row.native1t = withRate(row.native1t, row.flops);
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
  const result = { kind: spec.kind, metric: spec.metric, rows, peers: peerInfo, rounds };
  computeRatios(result, stat);
  return result;
}

/** One round of receptive-native on case c: {native, native1t?, output?} (raw timings). */
function timeNative(ctx, spec, c, timing, scaling) {
  if (!ctx.native) return { native: { error: ctx.nativeError || 'native backend unavailable' } };
  const o = ctx.opts;
  try {
    const p = spec.prepare(ctx.native, c);
    ctx.native.setNumThreads(ctx.threads);
    const native = timeSync(p.fn, timing);
    let native1t;
    if (scaling && native.single && native.ms > 10 * o.slowMs) {
      native1t = { skipped: 'native too slow for a 1-thread run' };
    } else if (scaling) {
      ctx.native.setNumThreads(1);
      native1t = timeSync(p.fn, timing);
      ctx.native.setNumThreads(ctx.threads);
    }
    p.fn();
    return { native, native1t, output: p.output };
  } catch (e) {
    try { ctx.native.setNumThreads(ctx.threads); } catch { /* ignore */ }
    return { native: { error: errMsg(e) } };
  }
}

/** receptive-JS on case c (where quick enough), checked against the native output. */
function timeJs(ctx, spec, c, row, nativeOut, timing) {
  const o = ctx.opts;
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

module.exports = {
  zeroArray, runCompare, computeRatios, randomArray, maxRelDiff, geomean, msOf, bestTiming, mergePeerRounds,
};
