// Shared by the specs that drive the native backend directly (differential, Winograd,
// direct-small): seeded random numbers, and a describe-level harness that finds the native
// and JS backends and the ISAs this CPU runs, and puts threads, ISA and the convolution
// policy back afterwards. The suite is skipped when the addon is unavailable or
// RECEPTIVE_BACKEND=js.
'use strict';
const assert = require('assert');
const select = require('../../dist/backend/select');
const { assertClose } = require('./fixtures');

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
 * { native, js, isas, isa0 }, eachSetting(policy, fn) running fn(label) under every ISA
 * at 1 and 2 threads with the convolution policy set, and forcedAgrees / preparedAgrees,
 * the checks a forced convolution algorithm must pass. With honourIsaEnv, a run that sets
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
  const outLength = (g) => g.N * g.K *
    (Math.floor((g.H + g.padTop + g.padBottom - g.dilationH * (g.R - 1) - 1) / g.strideH) + 1) *
    (Math.floor((g.W + g.padLeft + g.padRight - g.dilationW * (g.S - 1) - 1) / g.strideW) + 1);

  /**
   * The forward of g with `policy` forced, under every setting, against the GEMM path and
   * the JS backend, on random x and w (seeded from `seed`) and a bias when `withBias`.
   */
  h.forcedAgrees = (policy, g, seed, withBias, label) => {
    const x = randArray(g.N * g.C * g.H * g.W, seed + 1);
    const w = randArray(g.K * (g.C / g.groups) * g.R * g.S, seed + 2);
    const bias = withBias ? randArray(g.K, seed + 3) : null;
    const want = new Float32Array(outLength(g));
    h.js.conv2dForward(g, x, w, bias, want);
    h.native.setConvAlgorithm('gemm');
    const viaGemm = new Float32Array(want.length).fill(NaN);
    h.native.conv2dForward(g, x, w, bias, viaGemm);
    assertClose(viaGemm, want, `${label} gemm`, 1e-4);
    h.eachSetting(policy, (s) => {
      const y = new Float32Array(want.length).fill(NaN);
      h.native.conv2dForward(g, x, w, bias, y);
      assertClose(y, want, `${label} ${policy} ${s}`, 1e-4);
      assertClose(y, viaGemm, `${label} ${policy} vs gemm ${s}`, 1e-4);
    });
  };

  /**
   * Prepared weights with `policy` forced (scale, bias, residual, ReLU in four mixes), under
   * every setting, against the JS backend; the prepared form's algorithm must be in `algorithms`.
   */
  h.preparedAgrees = (policy, g, seed, algorithms, label) => {
    const x = randArray(g.N * g.C * g.H * g.W, seed + 1);
    const w = randArray(g.K * (g.C / g.groups) * g.R * g.S, seed + 2);
    const scale = randArray(g.K, seed + 3);
    const bias = randArray(g.K, seed + 4);
    const residual = randArray(outLength(g), seed + 5);
    for (const [sc, b, res, relu] of [[scale, bias, residual, true], [null, null, null, false],
      [scale, null, null, true], [null, bias, residual, false]]) {
      const want = new Float32Array(residual.length);
      h.js.conv2dForwardPrepared(g, x, h.js.prepareConv2d(g, w, sc, b), res, relu, want);
      h.eachSetting(policy, (s) => {
        const p = h.native.prepareConv2d(g, w, sc, b);
        assert.ok(algorithms.includes(p.algorithm), `${label}: prepared as ${p.algorithm}`);
        const y = new Float32Array(want.length).fill(NaN);
        h.native.conv2dForwardPrepared(g, x, p, res, relu, y);
        assertClose(y, want, `${label} prepared ${s} relu=${relu}`, 1e-4);
      });
    }
  };

  /** Weights prepared under `policy` on the widest ISA keep giving the same result on every ISA. */
  h.preparedSurvivesIsaChange = (policy, g) => {
    const x = randArray(g.N * g.C * g.H * g.W, 91);
    const w = randArray(g.K * (g.C / g.groups) * g.R * g.S, 92);
    const want = new Float32Array(outLength(g));
    h.js.conv2dForwardPrepared(g, x, h.js.prepareConv2d(g, w, null, null), null, false, want);
    h.native.setConvAlgorithm(policy);
    const widest = h.isas[h.isas.length - 1];
    h.native.setIsa(widest);
    const p = h.native.prepareConv2d(g, w, null, null);
    try {
      for (const isa of h.isas) {
        h.native.setIsa(isa);
        const y = new Float32Array(want.length).fill(NaN);
        h.native.conv2dForwardPrepared(g, x, p, null, false, y);
        assertClose(y, want, `prepared on ${widest}, run on ${isa}`, 1e-4);
      }
    } finally {
      h.native.setIsa(h.isa0);
    }
  };

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
