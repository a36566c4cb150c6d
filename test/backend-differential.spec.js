// Differential tests: the native and the JS backend must agree (|a - b| <= 1e-4 * max|b| +
// 1e-3 * |b|) on hundreds of seeded random configurations: convolution forward / backward
// input / weight / bias over random batch sizes, channels, groups (depthwise included), odd
// sizes, kernels, strides, dilations and per-side padding (negative bottom/right included);
// max / average pooling with floor and ceil output sizes and countIncludePad; adaptive
// average pooling; gemm shapes. The native side also switches thread counts between cases
// and instruction sets (scalar / AVX2 / AVX-512, those the CPU runs) between cases so that
// its serial and parallel paths and every ISA's kernels meet the JS results.
// Skipped when the native addon is unavailable or RECEPTIVE_BACKEND=js.
'use strict';
const assert = require('assert');
const { mulberry32, randArray, nativeHarness } = require('./helpers/native_harness');
const { assertClose } = require('./helpers/fixtures');

const SEED = 20240611;


const rng = mulberry32(SEED);
const int = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));   // inclusive
const pick = (arr) => arr[Math.floor(rng() * arr.length)];

const outSize = (n, before, after, k, d, s) => Math.floor((n + before + after - d * (k - 1) - 1) / s) + 1;

function poolOut(n, k, s, p, d, ceil) {
  const span = n + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

// ---------------------------------------------------------------------------------------
// configurations (generated at load time so that every case is its own test)

function randomConv() {
  for (;;) {
    const kind = pick(['plain', 'plain', 'grouped', 'depthwise', 'depthwise', 'pointwise', 'conv1d']);
    const N = pick([1, 1, 2, 3]);
    let groups = 1, Cg = int(1, 5), Kg = int(1, 5);
    if (kind === 'grouped') { groups = int(2, 4); Cg = int(1, 3); Kg = int(1, 3); }
    if (kind === 'depthwise') { groups = int(1, 8); Cg = 1; Kg = pick([1, 1, 2]); }
    const oneD = kind === 'conv1d';
    const H = oneD ? 1 : int(1, 13), W = int(1, 15);
    const R = oneD ? 1 : (kind === 'pointwise' ? 1 : int(1, 5));
    const S = kind === 'pointwise' ? 1 : int(1, 5);
    const strideH = oneD ? 1 : (kind === 'pointwise' ? pick([1, 1, 2]) : int(1, 3));
    const strideW = kind === 'pointwise' ? pick([1, 1, 2]) : int(1, 3);
    const dilationH = oneD ? 1 : pick([1, 1, 2, 3]);
    const dilationW = pick([1, 1, 2, 3]);
    const pad = () => (kind === 'pointwise' ? pick([0, 0, 0, 1]) : int(0, 3));
    // negative bottom/right, as a transposed conv's outputPadding produces
    const padAfter = (s) => (rng() < 0.25 ? -int(1, Math.max(1, s)) : pad());
    const padTop = oneD ? 0 : pad(), padLeft = pad();
    const padBottom = oneD ? 0 : padAfter(strideH), padRight = padAfter(strideW);
    const g = { N, C: Cg * groups, H, W, K: Kg * groups, R, S, strideH, strideW, padTop, padBottom,
      padLeft, padRight, dilationH, dilationW, groups };
    const OH = outSize(H, padTop, padBottom, R, dilationH, strideH);
    const OW = outSize(W, padLeft, padRight, S, dilationW, strideW);
    if (OH >= 1 && OW >= 1) return g;
  }
}

/** Larger shapes that reach the banded im2col, the 1x1 GEMM split and the parallel paths. */
const BIG_CONVS = [
  { N: 1, C: 64, H: 40, W: 40, K: 8, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1 },
  { N: 2, C: 32, H: 33, W: 35, K: 12, R: 5, S: 3, strideH: 2, strideW: 1, padTop: 2, padBottom: 1, padLeft: 1, padRight: 0, dilationH: 1, dilationW: 2, groups: 2 },
  { N: 1, C: 24, H: 30, W: 28, K: 16, R: 1, S: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 },
  { N: 3, C: 16, H: 21, W: 19, K: 20, R: 1, S: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: -2, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 4 },
  { N: 2, C: 32, H: 28, W: 28, K: 32, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 32 },
  { N: 1, C: 16, H: 31, W: 31, K: 32, R: 5, S: 5, strideH: 2, strideW: 2, padTop: 2, padBottom: 1, padLeft: 2, padRight: 1, dilationH: 1, dilationW: 1, groups: 16 },
  { N: 4, C: 3, H: 32, W: 32, K: 6, R: 5, S: 5, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 },
  { N: 1, C: 1, H: 64, W: 64, K: 4, R: 7, S: 7, strideH: 2, strideW: 2, padTop: 3, padBottom: 3, padLeft: 3, padRight: 3, dilationH: 1, dilationW: 1, groups: 1 },
  { N: 1, C: 3, H: 1, W: 300, K: 5, R: 1, S: 9, strideH: 1, strideW: 3, padTop: 0, padBottom: 0, padLeft: 4, padRight: 2, dilationH: 1, dilationW: 2, groups: 1 },
  // depthwise rows longer than one vector: fixed-size interior kernels and border taps
  { N: 1, C: 8, H: 20, W: 45, K: 8, R: 3, S: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 0, dilationH: 1, dilationW: 1, groups: 8 },
  { N: 2, C: 4, H: 12, W: 40, K: 4, R: 5, S: 5, strideH: 1, strideW: 1, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, dilationH: 1, dilationW: 1, groups: 4 },
  { N: 1, C: 3, H: 15, W: 50, K: 6, R: 7, S: 7, strideH: 1, strideW: 1, padTop: 3, padBottom: 2, padLeft: 3, padRight: -1, dilationH: 1, dilationW: 1, groups: 3 },
  { N: 1, C: 4, H: 10, W: 36, K: 4, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2, dilationH: 2, dilationW: 2, groups: 4 },
  { N: 1, C: 2, H: 9, W: 70, K: 2, R: 3, S: 3, strideH: 3, strideW: 3, padTop: 1, padBottom: 0, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 2 },
  // depthwise 3x3 s1 p1 (AVX-512 streams rows in strips of up to 64 columns): three strips
  // with a channel multiplier of 2, exactly one strip, one row, one column
  { N: 2, C: 3, H: 9, W: 150, K: 6, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 3 },
  { N: 1, C: 6, H: 5, W: 64, K: 6, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 6 },
  { N: 3, C: 5, H: 1, W: 17, K: 5, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 5 },
  { N: 1, C: 4, H: 7, W: 1, K: 4, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 4 },
  // backward input of strided convolutions by output phases (the transposed 4x4 s2 and 6x6
  // s3 shapes the default policy sends there; other strides under RECEPTIVE_CONV_BWD_INPUT=forward)
  { N: 1, C: 16, H: 56, W: 58, K: 8, R: 4, S: 4, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 },
  { N: 2, C: 32, H: 57, W: 56, K: 12, R: 4, S: 4, strideH: 2, strideW: 2, padTop: 2, padBottom: -1, padLeft: 1, padRight: 2, dilationH: 1, dilationW: 1, groups: 2 },
  { N: 1, C: 8, H: 90, W: 87, K: 6, R: 6, S: 6, strideH: 3, strideW: 3, padTop: 2, padBottom: 1, padLeft: 0, padRight: 3, dilationH: 1, dilationW: 1, groups: 1 },
  // backward weight through the row-pitch GEMMs: stride 1 (with h dilation), strided,
  // few channels with a big filter, groups; negative bottom/right padding
  { N: 1, C: 16, H: 17, W: 19, K: 24, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 2, padBottom: -1, padLeft: 1, padRight: 2, dilationH: 2, dilationW: 1, groups: 1 },
  { N: 2, C: 8, H: 23, W: 25, K: 16, R: 3, S: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: -1, padLeft: 1, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 },
  { N: 2, C: 3, H: 30, W: 29, K: 16, R: 7, S: 7, strideH: 2, strideW: 2, padTop: 3, padBottom: 3, padLeft: 3, padRight: 2, dilationH: 1, dilationW: 1, groups: 1 },
  { N: 3, C: 12, H: 11, W: 13, K: 18, R: 2, S: 4, strideH: 1, strideW: 1, padTop: 0, padBottom: 1, padLeft: 2, padRight: -1, dilationH: 1, dilationW: 1, groups: 3 },
];

/** Pooling rows longer than the vector paths' single-chunk case, and a stride of 3. */
const BIG_POOLS = [
  { N: 1, C: 2, H: 9, W: 75, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1 },
  { N: 2, C: 2, H: 11, W: 90, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1, dilationH: 1, dilationW: 1 },
  { N: 1, C: 3, H: 8, W: 70, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1 },
  { N: 1, C: 1, H: 7, W: 101, kernelH: 3, kernelW: 4, strideH: 3, strideW: 3, padH: 1, padW: 2, dilationH: 1, dilationW: 1 },
  { N: 1, C: 2, H: 9, W: 66, kernelH: 2, kernelW: 3, strideH: 1, strideW: 2, padH: 1, padW: 1, dilationH: 2, dilationW: 2 },
  // GoogLeNet's 3x3 s1 "same" pool on 14x14 planes: AVX-512 (AVX2) runs it as one stream of
  // 16-float (8-float) chunks in blocks of 256, whose starts fall mid-way through the 49-chunk
  // mask period.
  { N: 4, C: 61, H: 14, W: 14, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1 },
];

function hasRealCell(start, k, d, n) {
  for (let r = 0; r < k; r++) { const i = start + r * d; if (i >= 0 && i < n) return true; }
  return false;
}

function randomPool(kind) {
  for (;;) {
    const N = pick([1, 2, 3]), C = int(1, 4), H = int(1, 14), W = int(1, 14);
    const kernelH = int(1, 4), kernelW = int(1, 4);
    const strideH = int(1, 3), strideW = int(1, 3);
    const padH = int(0, Math.floor(kernelH / 2)), padW = int(0, Math.floor(kernelW / 2));
    const dilationH = kind === 'max' ? pick([1, 1, 2]) : 1, dilationW = kind === 'max' ? pick([1, 1, 2]) : 1;
    const ceilMode = rng() < 0.5;
    const OH = poolOut(H, kernelH, strideH, padH, dilationH, ceilMode);
    const OW = poolOut(W, kernelW, strideW, padW, dilationW, ceilMode);
    if (OH < 1 || OW < 1) continue;
    let ok = true;
    for (let o = 0; o < OH && ok; o++) ok = hasRealCell(o * strideH - padH, kernelH, dilationH, H);
    for (let o = 0; o < OW && ok; o++) ok = hasRealCell(o * strideW - padW, kernelW, dilationW, W);
    if (!ok) continue;
    const g = { N, C, H, W, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, OH, OW };
    if (kind === 'avg') g.countIncludePad = rng() < 0.5;
    return { g, ceilMode };
  }
}

function randomAdaptive() {
  const H = int(1, 17), W = int(1, 17);
  return { N: pick([1, 2]), C: int(1, 4), H, W, OH: int(1, Math.min(H + 2, 9)), OW: int(1, Math.min(W + 2, 9)) };
}

function randomGemm() {
  const dim = () => pick([1, 2, 3, int(1, 20), int(1, 70), int(20, 150)]);
  return { ta: rng() < 0.5, tb: rng() < 0.5, M: dim(), N: dim(), K: dim(),
    alpha: pick([1, 1, -0.5, 2]), beta: pick([0, 0, 1, 0.3]) };
}

const convConfigs = [];
for (let i = 0; i < 170; i++) convConfigs.push(randomConv());
convConfigs.push(...BIG_CONVS);
function bigPool(g, kind, ceilMode) {
  const OH = poolOut(g.H, g.kernelH, g.strideH, g.padH, g.dilationH, ceilMode);
  const OW = poolOut(g.W, g.kernelW, g.strideW, g.padW, g.dilationW, ceilMode);
  const out = { ...g, OH, OW };
  if (kind === 'avg') out.countIncludePad = !ceilMode;
  return { g: out, ceilMode };
}
const maxConfigs = Array.from({ length: 60 }, () => randomPool('max'))
  .concat(BIG_POOLS.flatMap((g) => [bigPool(g, 'max', false), bigPool(g, 'max', true)]));
const avgConfigs = Array.from({ length: 60 }, () => randomPool('avg'))
  .concat(BIG_POOLS.filter((g) => g.dilationW === 1).flatMap((g) => [bigPool(g, 'avg', false), bigPool(g, 'avg', true)]));
const adaptiveConfigs = Array.from({ length: 30 }, randomAdaptive);
const gemmConfigs = Array.from({ length: 50 }, randomGemm);

// ---------------------------------------------------------------------------------------

const convLabel = (g) => `N${g.N} C${g.C} ${g.H}x${g.W} K${g.K} k${g.R}x${g.S} s${g.strideH},${g.strideW} ` +
  `p${g.padTop},${g.padBottom},${g.padLeft},${g.padRight} d${g.dilationH},${g.dilationW} g${g.groups}`;
const poolLabel = (g) => `N${g.N} C${g.C} ${g.H}x${g.W} k${g.kernelH}x${g.kernelW} s${g.strideH},${g.strideW} ` +
  `p${g.padH},${g.padW} d${g.dilationH},${g.dilationW} out ${g.OH}x${g.OW}`;

describe('backend differential: native vs js', function () {
  const h = nativeHarness();
  let native = null, js = null;
  let caseNo = 0;
  before(function () { ({ native, js } = h); });
  const isas = h.isas;
  // Alternate 1, 2 and 3 native threads, and the ISAs every third case, so that every
  // pairing occurs.
  beforeEach(function () {
    if (!native) return;
    native.setNumThreads(1 + (caseNo % 3));
    native.setIsa(isas[Math.floor(caseNo / 3) % isas.length] || h.isa0);
    caseNo++;
  });

  /** Runs fn(backend) -> {name: array} on both backends and compares every output. */
  function agree(fn, label) {
    const a = fn(native), b = fn(js);
    for (const key of Object.keys(b)) {
      if (b[key] instanceof Int32Array) assert.deepStrictEqual(a[key], b[key], `${label} ${key}`);
      else assertClose(a[key], b[key], `${label} ${key}`, 1e-4);
    }
  }

  describe('conv2d', function () {
    convConfigs.forEach((g, i) => {
      it(`#${i} ${convLabel(g)}`, function () {
        const OH = outSize(g.H, g.padTop, g.padBottom, g.R, g.dilationH, g.strideH);
        const OW = outSize(g.W, g.padLeft, g.padRight, g.S, g.dilationW, g.strideW);
        const x = randArray(g.N * g.C * g.H * g.W, 3 * i + 1);
        const w = randArray(g.K * (g.C / g.groups) * g.R * g.S, 3 * i + 2);
        const bias = i % 4 === 3 ? null : randArray(g.K, 7 * i);
        const gy = randArray(g.N * g.K * OH * OW, 3 * i + 3);
        agree((b) => {
          const y = new Float32Array(gy.length);
          b.conv2dForward(g, x, w, bias, y);
          const gx = new Float32Array(x.length).fill(NaN);
          b.conv2dBackwardInput(g, gy, w, gx);
          const gw = new Float32Array(w.length).fill(NaN);
          b.conv2dBackwardWeight(g, x, gy, gw);
          const gb = new Float32Array(g.K).fill(NaN);
          b.conv2dBackwardBias(g, gy, gb);
          return { y, gx, gw, gb };
        }, convLabel(g));
      });
    });
  });

  describe('maxPool2d', function () {
    maxConfigs.forEach(({ g, ceilMode }, i) => {
      it(`#${i} ${poolLabel(g)}${ceilMode ? ' ceil' : ''}`, function () {
        const x = randArray(g.N * g.C * g.H * g.W, 1000 + i);
        const gy = randArray(g.N * g.C * g.OH * g.OW, 2000 + i);
        agree((b) => {
          const y = new Float32Array(gy.length), indices = new Int32Array(gy.length);
          b.maxPool2dForward(g, x, y, indices);
          const yNoIndices = new Float32Array(gy.length).fill(NaN);
          b.maxPool2dForward(g, x, yNoIndices, null);
          assert.deepStrictEqual(yNoIndices, y, `${poolLabel(g)}: y without indices`);
          const gx = new Float32Array(x.length).fill(NaN);
          b.maxPool2dBackward(g, gy, indices, gx);
          return { y, yNoIndices, indices, gx };
        }, poolLabel(g));
      });
    });
  });

  describe('avgPool2d', function () {
    avgConfigs.forEach(({ g, ceilMode }, i) => {
      it(`#${i} ${poolLabel(g)}${ceilMode ? ' ceil' : ''} countIncludePad=${g.countIncludePad}`, function () {
        const x = randArray(g.N * g.C * g.H * g.W, 3000 + i);
        const gy = randArray(g.N * g.C * g.OH * g.OW, 4000 + i);
        agree((b) => {
          const y = new Float32Array(gy.length);
          b.avgPool2dForward(g, x, y);
          const gx = new Float32Array(x.length).fill(NaN);
          b.avgPool2dBackward(g, gy, gx);
          return { y, gx };
        }, poolLabel(g));
      });
    });
  });

  describe('adaptiveAvgPool2d', function () {
    adaptiveConfigs.forEach((g, i) => {
      it(`#${i} N${g.N} C${g.C} ${g.H}x${g.W} -> ${g.OH}x${g.OW}`, function () {
        const x = randArray(g.N * g.C * g.H * g.W, 5000 + i);
        const gy = randArray(g.N * g.C * g.OH * g.OW, 6000 + i);
        agree((b) => {
          const y = new Float32Array(gy.length);
          b.adaptiveAvgPool2dForward(g, x, y);
          const gx = new Float32Array(x.length).fill(NaN);
          b.adaptiveAvgPool2dBackward(g, gy, gx);
          return { y, gx };
        }, 'adaptive');
      });
    });
  });

  describe('gemm', function () {
    gemmConfigs.forEach((c, i) => {
      it(`#${i} ${c.M}x${c.N}x${c.K} transA=${c.ta} transB=${c.tb} alpha=${c.alpha} beta=${c.beta}`, function () {
        const A = randArray(c.M * c.K, 7000 + i), B = randArray(c.K * c.N, 8000 + i);
        const C0 = randArray(c.M * c.N, 9000 + i);
        agree((b) => {
          const C = Float32Array.from(C0);
          b.gemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A, B, c.beta, C);
          return { C };
        }, 'gemm');
      });
    });
  });

  it(`covers at least 300 configurations (${convConfigs.length + maxConfigs.length + avgConfigs.length + adaptiveConfigs.length + gemmConfigs.length})`, function () {
    assert.ok(convConfigs.length + maxConfigs.length + avgConfigs.length + adaptiveConfigs.length + gemmConfigs.length >= 300);
    assert.ok(convConfigs.some((g) => g.C === g.groups && g.K === g.groups && g.groups > 1), 'a depthwise case');
    assert.ok(convConfigs.some((g) => g.padBottom < 0) && convConfigs.some((g) => g.padRight < 0), 'negative bottom/right padding');
    assert.ok(convConfigs.some((g) => g.N === 1) && convConfigs.some((g) => g.H === 1), 'N = 1 and 1-D cases');
    assert.ok(maxConfigs.some((c) => c.ceilMode) && avgConfigs.some((c) => c.g.countIncludePad), 'ceil mode, countIncludePad');
  });
});
