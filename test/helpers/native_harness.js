// Shared by the specs that drive the native backend directly (differential, Winograd,
// direct-small): seeded random numbers, and a describe-level harness that finds the native
// and JS backends and the ISAs this CPU runs, and puts threads, ISA and the convolution
// policy back afterwards. The suite is skipped when the addon is unavailable or
// RECEPTIVE_BACKEND=js.
'use strict';
const select = require('../../dist/backend/select');

function mulberry32(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [-1, 1) from their own seeded generator. */
function randArray(n, seed) {
  const r = mulberry32(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

/**
 * Registers before/after hooks in the calling describe and returns their live state:
 * { native, js, isas, isa0 } and eachSetting(policy, fn) running fn(label) under every ISA
 * at 1 and 2 threads with the convolution policy set. With honourIsaEnv, a run that sets
 * RECEPTIVE_ISA keeps to that ISA.
 */
function nativeHarness({ honourIsaEnv = false } = {}) {
  const h = { native: null, js: null, isas: [], isa0: null, threads0: 1, policy0: 'auto' };
  before(function () {
    if (process.env.RECEPTIVE_BACKEND === 'js') this.skip();
    h.native = select.tryNative();
    if (!h.native) this.skip();
    h.js = select.getBackendInstance('js');
    h.threads0 = h.native.getNumThreads();
    h.isa0 = h.native.info().isa;
    h.policy0 = h.native.getConvAlgorithm();
    const wanted = honourIsaEnv && process.env.RECEPTIVE_ISA ? [h.isa0] : ['scalar', 'avx2', 'avx512'];
    for (const isa of wanted) {
      try {
        h.native.setIsa(isa);
        h.isas.push(isa);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
      }
    }
    h.native.setIsa(h.isa0);
  });
  after(function () {
    if (!h.native) return;
    h.native.setNumThreads(h.threads0);
    h.native.setIsa(h.isa0);
    h.native.setConvAlgorithm(h.policy0);
  });
  h.eachSetting = (policy, fn) => {
    for (const isa of h.isas) {
      for (const t of [1, 2]) {
        h.native.setIsa(isa);
        h.native.setNumThreads(t);
        h.native.setConvAlgorithm(policy);
        fn(`${isa} ${t}t`);
      }
    }
  };
  return h;
}

module.exports = { mulberry32, randArray, nativeHarness };
