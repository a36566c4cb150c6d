'use strict';
// Timing with benchmark.js, reporting the median (and min) of its per-cycle means,
// the same statistic the C++ and Python peers print. The first call is a warm-up and is
// never reported (it may record an inference plan or pack weights: ResNet-50's at batch
// 32 took 6.5 s against 2.0 s for the calls after it). When it alone exceeds `slowMs`, a
// second call is timed: under `slowMs` it was the warm-up's one-off work, and the case is
// sampled as usual; over it, the case is reported from that call (flagged single: true)
// instead of sampling a minutes-long loop.

const path = require('path');

function loadBenchmark() {
  let Benchmark;
  try {
    Benchmark = require('benchmark');
  } catch {
    Benchmark = require(path.join(__dirname, '..', '..', 'node_modules', 'benchmark'));
  }
  // Call the function by reference, never decompiled into a template: our functions
  // are closures over prepared buffers.
  Benchmark.support.decompilation = false;
  return Benchmark;
}
const Benchmark = loadBenchmark();

function stats(sampleSeconds) {
  const s = sampleSeconds.slice().sort((a, b) => a - b);
  const n = s.length;
  const med = n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  return { ms: med * 1e3, minMs: s[0] * 1e3, samples: n };
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

// One call after the warm-up, for cases too slow to sample.
function single(fn) {
  const t = nowMs();
  fn();
  const ms = nowMs() - t;
  return { ms, minMs: ms, samples: 1, single: true };
}

// After a warm-up slower than slowMs: the next call's timing, or null when it was quick
// enough to sample.
function slowCase(fn, slowMs) {
  const t = single(fn);
  return t.ms > slowMs ? t : null;
}

/**
 * Times a synchronous fn. opts: maxTime (s, default 1), minSamples (default 5),
 * slowMs (default 4000).
 */
function timeSync(fn, opts = {}) {
  const maxTime = opts.maxTime ?? 1;
  const minSamples = opts.minSamples ?? 5;
  const slowMs = opts.slowMs ?? 4000;
  const t0 = nowMs();
  fn();
  const first = nowMs() - t0;
  if (first > slowMs) {
    const slow = slowCase(fn, slowMs);
    if (slow) return slow;
  }
  // minTime 10 ms per cycle (benchmark.js's default is 50 ms): more, shorter samples, so
  // the fastest sample ('--stat min') is more often an undisturbed one on a shared machine.
  const b = new Benchmark({ fn, maxTime, minSamples, minTime: 0.01, initCount: 1, async: false, delay: 0 });
  b.run();
  if (b.error) throw b.error;
  return stats(b.stats.sample);
}

/** Times an async fn (returning a promise) with a deferred benchmark. */
async function timeAsync(fn, opts = {}) {
  const maxTime = opts.maxTime ?? 1;
  const minSamples = opts.minSamples ?? 5;
  const slowMs = opts.slowMs ?? 4000;
  const t0 = nowMs();
  await fn();
  const first = nowMs() - t0;
  const t1 = nowMs();
  await fn();
  if (first > slowMs) {
    const ms = nowMs() - t1;
    if (ms > slowMs) return { ms, minMs: ms, samples: 1, single: true };
  }
  return new Promise((resolve, reject) => {
    const b = new Benchmark({
      defer: true, maxTime, minSamples, minTime: 0.01, delay: 0,
      fn: (deferred) => { fn().then(() => deferred.resolve(), (e) => { b.error = e; deferred.resolve(); }); },
      onComplete() {
        if (b.error) reject(b.error);
        else resolve(stats(b.stats.sample));
      },
      onError(e) { reject(e.target?.error ?? e); },
    });
    b.run({ async: true });
  });
}

module.exports = { timeSync, timeAsync, stats, Benchmark };
