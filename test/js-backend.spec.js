// The TypeScript backend against naive float64 references written here: GEMM over edge
// shapes (tile boundaries, transposes, alpha/beta, NaN in C with beta = 0), convolution
// forward/backward over random geometries (groups, depthwise, dilation, stride, asymmetric
// and negative far-side padding), pooling with ties and ceil-mode-like output sizes, and the
// argument validation. The cross-backend fixture and differential specs live elsewhere.
'use strict';
const assert = require('assert');
const { getBackendInstance } = require('../dist/backend/select');
const { convOutputSize, poolOutputSize } = require('../dist/backend/backend');

const b = getBackendInstance('js');

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}
function randArray(n, rand, lo = -1, hi = 1) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}
const randInt = (rand, lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

/** |got - want| <= atol * max|want| + rtol * |want|, element-wise. */
function assertClose(got, want, label, rtol = 1e-4) {
  assert.strictEqual(got.length, want.length, `${label}: length`);
  let maxAbs = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) maxAbs = Math.max(maxAbs, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    if (!Number.isFinite(want[i])) {
      if (!Object.is(got[i], Math.fround(want[i]))) assert.fail(`${label}: element ${i} is ${got[i]}, expected ${want[i]}`);
      continue;
    }
    const tol = rtol * Math.max(maxAbs, 1e-6) + rtol * Math.abs(want[i]);
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      assert.fail(`${label}: element ${i} is ${got[i]}, expected ${want[i]} (tol ${tol})`);
    }
  }
}

// ---------------------------------------------------------------------------------
// references

function refGemm(ta, tb, M, N, K, alpha, A, B, beta, C) {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) {
        acc += (ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
      }
      out[i * N + j] = alpha * acc + (beta === 0 ? 0 : beta * C[i * N + j]);
    }
  }
  return out;
}

function outSize(g) {
  return [convOutputSize(g.H, g.R, g.strideH, g.padTop, g.padBottom, g.dilationH),
    convOutputSize(g.W, g.S, g.strideW, g.padLeft, g.padRight, g.dilationW)];
}

/** Calls fn(n, k, c, oh, ow, ih, iw, wIndex, xIndex) for every in-bounds tap. */
function forEachTap(g, fn) {
  const [OH, OW] = outSize(g);
  const Cg = g.C / g.groups, Kg = g.K / g.groups;
  for (let n = 0; n < g.N; n++) {
    for (let k = 0; k < g.K; k++) {
      const grp = Math.floor(k / Kg);
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          const yi = ((n * g.K + k) * OH + oh) * OW + ow;
          for (let cc = 0; cc < Cg; cc++) {
            const c = grp * Cg + cc;
            for (let r = 0; r < g.R; r++) {
              const ih = oh * g.strideH - g.padTop + r * g.dilationH;
              if (ih < 0 || ih >= g.H) continue;
              for (let s = 0; s < g.S; s++) {
                const iw = ow * g.strideW - g.padLeft + s * g.dilationW;
                if (iw < 0 || iw >= g.W) continue;
                fn(yi, ((k * Cg + cc) * g.R + r) * g.S + s, ((n * g.C + c) * g.H + ih) * g.W + iw);
              }
            }
          }
        }
      }
    }
  }
}

function refConvForward(g, x, w, bias) {
  const [OH, OW] = outSize(g);
  const y = new Float64Array(g.N * g.K * OH * OW);
  if (bias) for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / (OH * OW)) % g.K];
  forEachTap(g, (yi, wi, xi) => { y[yi] += w[wi] * x[xi]; });
  return y;
}
function refConvBackwardInput(g, gy, w) {
  const gx = new Float64Array(g.N * g.C * g.H * g.W);
  forEachTap(g, (yi, wi, xi) => { gx[xi] += w[wi] * gy[yi]; });
  return gx;
}
function refConvBackwardWeight(g, x, gy) {
  const gw = new Float64Array(g.K * (g.C / g.groups) * g.R * g.S);
  forEachTap(g, (yi, wi, xi) => { gw[wi] += x[xi] * gy[yi]; });
  return gw;
}
function refConvBackwardBias(g, gy) {
  const [OH, OW] = outSize(g);
  const gb = new Float64Array(g.K);
  for (let i = 0; i < gy.length; i++) gb[Math.floor(i / (OH * OW)) % g.K] += gy[i];
  return gb;
}

function refMaxPool(g, x) {
  const y = new Float64Array(g.N * g.C * g.OH * g.OW), idx = new Int32Array(y.length);
  for (let p = 0; p < g.N * g.C; p++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++) {
        let best = -Infinity, at = -1;
        for (let r = 0; r < g.kernelH; r++) {
          for (let s = 0; s < g.kernelW; s++) {
            const ih = oh * g.strideH - g.padH + r * g.dilationH;
            const iw = ow * g.strideW - g.padW + s * g.dilationW;
            if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
            const v = x[(p * g.H + ih) * g.W + iw];
            if (at < 0 || v > best) { best = v; at = ih * g.W + iw; }
          }
        }
        const o = (p * g.OH + oh) * g.OW + ow;
        y[o] = best; idx[o] = at;
      }
    }
  }
  return { y, idx };
}
function refMaxPoolBackward(g, gy, idx) {
  const gx = new Float64Array(g.N * g.C * g.H * g.W);
  for (let p = 0; p < g.N * g.C; p++) {
    for (let o = 0; o < g.OH * g.OW; o++) {
      const i = idx[p * g.OH * g.OW + o];
      if (i >= 0) gx[p * g.H * g.W + i] += gy[p * g.OH * g.OW + o];
    }
  }
  return gx;
}
/** PyTorch's avg-pool divisor (dilation 1). */
function avgDivisor(g, oh, ow) {
  const hs = oh * g.strideH - g.padH, ws = ow * g.strideW - g.padW;
  if (g.countIncludePad) {
    return (Math.min(hs + g.kernelH, g.H + g.padH) - hs) * (Math.min(ws + g.kernelW, g.W + g.padW) - ws);
  }
  const h0 = Math.max(hs, 0), h1 = Math.min(hs + g.kernelH, g.H);
  const w0 = Math.max(ws, 0), w1 = Math.min(ws + g.kernelW, g.W);
  return (h1 - h0) * (w1 - w0);
}
function refAvgPool(g, x) {
  const y = new Float64Array(g.N * g.C * g.OH * g.OW);
  for (let p = 0; p < g.N * g.C; p++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++) {
        let sum = 0;
        for (let r = 0; r < g.kernelH; r++) {
          for (let s = 0; s < g.kernelW; s++) {
            const ih = oh * g.strideH - g.padH + r, iw = ow * g.strideW - g.padW + s;
            if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) sum += x[(p * g.H + ih) * g.W + iw];
          }
        }
        y[(p * g.OH + oh) * g.OW + ow] = sum / avgDivisor(g, oh, ow);
      }
    }
  }
  return y;
}
function refAvgPoolBackward(g, gy) {
  const gx = new Float64Array(g.N * g.C * g.H * g.W);
  for (let p = 0; p < g.N * g.C; p++) {
    for (let oh = 0; oh < g.OH; oh++) {
      for (let ow = 0; ow < g.OW; ow++) {
        const v = gy[(p * g.OH + oh) * g.OW + ow] / avgDivisor(g, oh, ow);
        for (let r = 0; r < g.kernelH; r++) {
          for (let s = 0; s < g.kernelW; s++) {
            const ih = oh * g.strideH - g.padH + r, iw = ow * g.strideW - g.padW + s;
            if (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) gx[(p * g.H + ih) * g.W + iw] += v;
          }
        }
      }
    }
  }
  return gx;
}
function refAdaptive(g, x) {
  const y = new Float64Array(g.N * g.C * g.OH * g.OW);
  for (let p = 0; p < g.N * g.C; p++) {
    for (let oh = 0; oh < g.OH; oh++) {
      const h0 = Math.floor(oh * g.H / g.OH), h1 = Math.ceil((oh + 1) * g.H / g.OH);
      for (let ow = 0; ow < g.OW; ow++) {
        const w0 = Math.floor(ow * g.W / g.OW), w1 = Math.ceil((ow + 1) * g.W / g.OW);
        let sum = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum += x[(p * g.H + h) * g.W + w];
        y[(p * g.OH + oh) * g.OW + ow] = sum / ((h1 - h0) * (w1 - w0));
      }
    }
  }
  return y;
}
function refAdaptiveBackward(g, gy) {
  const gx = new Float64Array(g.N * g.C * g.H * g.W);
  for (let p = 0; p < g.N * g.C; p++) {
    for (let oh = 0; oh < g.OH; oh++) {
      const h0 = Math.floor(oh * g.H / g.OH), h1 = Math.ceil((oh + 1) * g.H / g.OH);
      for (let ow = 0; ow < g.OW; ow++) {
        const w0 = Math.floor(ow * g.W / g.OW), w1 = Math.ceil((ow + 1) * g.W / g.OW);
        const v = gy[(p * g.OH + oh) * g.OW + ow] / ((h1 - h0) * (w1 - w0));
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) gx[(p * g.H + h) * g.W + w] += v;
      }
    }
  }
  return gx;
}

// ---------------------------------------------------------------------------------

describe('js backend', function () {
  it('reports itself and runs on one thread', function () {
    assert.deepStrictEqual(b.info(), { name: 'js', isa: 'js', cpuFeatures: [], openmp: false });
    assert.strictEqual(b.name, 'js');
    b.setNumThreads(8);
    assert.strictEqual(b.getNumThreads(), 1);
    assert.throws(() => b.setNumThreads(0), RangeError);
    assert.throws(() => b.setNumThreads(2.5), RangeError);
    assert.throws(() => b.setNumThreads('4'), TypeError);
  });

  describe('gemm', function () {
    const rand = rng(1);
    function check(ta, tb, M, N, K, alpha, beta) {
      const A = randArray(M * K, rand), B = randArray(K * N, rand);
      const C = randArray(M * N, rand);
      const want = refGemm(ta, tb, M, N, K, Math.fround(alpha), A, B, Math.fround(beta), C);
      b.gemm(ta, tb, M, N, K, alpha, A, B, beta, C);
      assertClose(C, want, `gemm(${ta}, ${tb}, ${M}, ${N}, ${K}, ${alpha}, ${beta})`);
    }

    it('matches the reference over edge shapes 1..70 with all transposes', function () {
      const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 70];
      let i = 0;
      for (const M of sizes) {
        for (const N of sizes) {
          const K = sizes[(i++ * 7) % sizes.length];
          check((i & 1) === 1, (i & 2) === 2, M, N, K, 1, 0);
        }
      }
    });

    it('crosses the K, M and N blocking boundaries', function () {
      for (const [M, N, K] of [[129, 5, 257], [3, 1030, 9], [130, 1029, 260], [4, 4, 513]]) {
        for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
          check(ta, tb, M, N, K, 1, 0);
        }
      }
    });

    it('applies alpha and beta', function () {
      for (const [alpha, beta] of [[2, 0], [1, 1], [-0.5, 0.25], [0, 2], [0.3, -1]]) {
        check(false, false, 13, 11, 21, alpha, beta);
        check(true, true, 9, 17, 300, alpha, beta);
        for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
          check(ta, tb, 1, 37, 19, alpha, beta);   // matrix-vector paths
          check(ta, tb, 41, 1, 23, alpha, beta);
        }
      }
    });

    it('with beta = 0 never reads C (NaN does not leak)', function () {
      const M = 9, N = 10, K = 11;
      const A = randArray(M * K, rand), B = randArray(K * N, rand);
      for (const alpha of [1, 0]) {
        const C = new Float32Array(M * N).fill(NaN);
        b.gemm(false, true, M, N, K, alpha, A, new Float32Array(B), 0, C);
        for (const v of C) assert.ok(Number.isFinite(v));
      }
      for (const [m, n] of [[1, N], [M, 1]]) {
        const Cv = new Float32Array(m * n).fill(NaN);
        b.gemm(false, false, m, n, K, 1, A.subarray(0, m * K), B.subarray(0, K * n), 0, Cv);
        for (const v of Cv) assert.ok(Number.isFinite(v));
      }
      const C = new Float32Array(M * N).fill(NaN);
      b.gemm(false, false, M, N, 0, 1, new Float32Array(0), new Float32Array(0), 0, C);
      assert.ok(C.every((v) => v === 0));
    });

    it('handles empty shapes', function () {
      b.gemm(false, false, 0, 5, 3, 1, new Float32Array(0), new Float32Array(15), 0, new Float32Array(0));
      const C = new Float32Array(6).fill(2);
      b.gemm(false, false, 2, 3, 0, 1, new Float32Array(0), new Float32Array(0), 0.5, C);
      assert.ok(C.every((v) => v === 1));
    });
  });

  describe('convolution', function () {
    function runConv(g, rand, label) {
      const [OH, OW] = outSize(g);
      const x = randArray(g.N * g.C * g.H * g.W, rand);
      const w = randArray(g.K * (g.C / g.groups) * g.R * g.S, rand);
      const bias = rand() < 0.8 ? randArray(g.K, rand) : null;
      const gy = randArray(g.N * g.K * OH * OW, rand);
      const y = new Float32Array(g.N * g.K * OH * OW).fill(NaN);
      b.conv2dForward(g, x, w, bias, y);
      assertClose(y, refConvForward(g, x, w, bias), `${label} forward`);
      const gx = new Float32Array(x.length).fill(NaN);
      b.conv2dBackwardInput(g, gy, w, gx);
      assertClose(gx, refConvBackwardInput(g, gy, w), `${label} backward input`);
      const gw = new Float32Array(w.length).fill(NaN);
      b.conv2dBackwardWeight(g, x, gy, gw);
      assertClose(gw, refConvBackwardWeight(g, x, gy), `${label} backward weight`);
      const gb = new Float32Array(g.K).fill(NaN);
      b.conv2dBackwardBias(g, gy, gb);
      assertClose(gb, refConvBackwardBias(g, gy), `${label} backward bias`);
    }

    it('matches the direct reference on 200 random geometries', function () {
      const rand = rng(7);
      let done = 0;
      while (done < 200) {
        const groups = [1, 1, 1, 2, 3][randInt(rand, 0, 4)];
        const depthwise = rand() < 0.15;
        const C = depthwise ? randInt(rand, 1, 6) : groups * randInt(rand, 1, 4);
        const g = {
          N: randInt(rand, 1, 3), C, H: randInt(rand, 1, 11), W: randInt(rand, 1, 11),
          K: depthwise ? C * randInt(rand, 1, 2) : groups * randInt(rand, 1, 4),
          R: randInt(rand, 1, 4), S: randInt(rand, 1, 4),
          strideH: randInt(rand, 1, 3), strideW: randInt(rand, 1, 3),
          padTop: randInt(rand, 0, 2), padBottom: randInt(rand, -2, 2),
          padLeft: randInt(rand, 0, 2), padRight: randInt(rand, -2, 2),
          dilationH: randInt(rand, 1, 2), dilationW: randInt(rand, 1, 2),
          groups: depthwise ? C : groups,
        };
        const [OH, OW] = outSize(g);
        if (OH < 1 || OW < 1) continue;
        runConv(g, rand, JSON.stringify(g));
        done++;
      }
    });

    it('1-D convolution (H = 1, R = 1)', function () {
      const rand = rng(3);
      runConv({ N: 2, C: 3, H: 1, W: 40, K: 5, R: 1, S: 7, strideH: 1, strideW: 2, padTop: 0,
        padBottom: 0, padLeft: 3, padRight: 2, dilationH: 1, dilationW: 2, groups: 1 }, rand, 'conv1d');
    });

    it('1x1 pointwise and batched small-plane paths', function () {
      const rand = rng(5);
      const base = { strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0,
        dilationH: 1, dilationW: 1 };
      runConv({ ...base, N: 3, C: 8, H: 9, W: 10, K: 6, R: 1, S: 1, groups: 2 }, rand, 'pointwise');
      runConv({ ...base, N: 70, C: 16, H: 5, W: 5, K: 12, R: 5, S: 5, groups: 1 }, rand, '1x1 output, many images');
      runConv({ ...base, N: 9, C: 6, H: 14, W: 14, K: 16, R: 5, S: 5, groups: 1 }, rand, 'LeNet conv2');
      runConv({ ...base, N: 2, C: 1, H: 32, W: 32, K: 6, R: 5, S: 5, groups: 1 }, rand, 'LeNet conv1');
    });

    it('crosses every blocking boundary (CRS > 512, K/groups > 256, pixels > 256)', function () {
      this.timeout(60000);
      const rand = rng(13);
      runConv({ N: 6, C: 36, H: 7, W: 9, K: 260, R: 4, S: 4, strideH: 1, strideW: 1, padTop: 1,
        padBottom: 0, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1 }, rand, 'large');
      runConv({ N: 3, C: 40, H: 6, W: 6, K: 250, R: 3, S: 3, strideH: 2, strideW: 1, padTop: 2,
        padBottom: 1, padLeft: 0, padRight: 2, dilationH: 1, dilationW: 2, groups: 2 }, rand, 'large grouped');
    });

    it('depthwise 3x3 (unrolled path) over strides, dilations, paddings and tiny planes', function () {
      const rand = rng(17);
      let done = 0;
      while (done < 80) {
        const C = randInt(rand, 1, 3);
        const g = { N: randInt(rand, 1, 2), C, H: randInt(rand, 1, 12), W: randInt(rand, 1, 12),
          K: C * randInt(rand, 1, 2), R: 3, S: 3, strideH: randInt(rand, 1, 2), strideW: randInt(rand, 1, 2),
          padTop: randInt(rand, 0, 4), padBottom: randInt(rand, -2, 3), padLeft: randInt(rand, 0, 4),
          padRight: randInt(rand, -2, 3), dilationH: randInt(rand, 1, 2), dilationW: randInt(rand, 1, 2),
          groups: C };
        if (C === 1) g.groups = 1;   // then it is an ordinary convolution: still worth checking
        const [OH, OW] = outSize(g);
        if (OH < 1 || OW < 1) continue;
        runConv(g, rand, `dw3x3 ${JSON.stringify(g)}`);
        done++;
      }
    });

    it('depthwise with a channel multiplier, stride and padding', function () {
      const rand = rng(11);
      runConv({ N: 2, C: 4, H: 12, W: 9, K: 8, R: 3, S: 3, strideH: 2, strideW: 1, padTop: 1,
        padBottom: 1, padLeft: 1, padRight: 0, dilationH: 1, dilationW: 2, groups: 4 }, rand, 'depthwise');
    });
  });

  describe('pooling', function () {
    function poolCase(rand, over) {
      const g = { N: randInt(rand, 1, 2), C: randInt(rand, 1, 3), H: randInt(rand, 1, 12), W: randInt(rand, 1, 12),
        kernelH: randInt(rand, 1, 4), kernelW: randInt(rand, 1, 4), strideH: randInt(rand, 1, 3),
        strideW: randInt(rand, 1, 3), dilationH: 1, dilationW: 1, ...over };
      g.padH = randInt(rand, 0, Math.floor(g.kernelH / 2));
      g.padW = randInt(rand, 0, Math.floor(g.kernelW / 2));
      const ceil = rand() < 0.5;
      g.OH = poolOutputSize(g.H, g.kernelH, g.strideH, g.padH, g.dilationH, ceil);
      g.OW = poolOutputSize(g.W, g.kernelW, g.strideW, g.padW, g.dilationW, ceil);
      return g;
    }

    it('max pooling forward/backward with ties, ceil mode and dilation', function () {
      const rand = rng(21);
      let done = 0;
      while (done < 150) {
        const g = poolCase(rand, { dilationH: randInt(rand, 1, 2), dilationW: randInt(rand, 1, 2) });
        if (g.OH < 1 || g.OW < 1) continue;
        // few distinct values so that windows hold ties
        const x = new Float32Array(g.N * g.C * g.H * g.W).map(() => randInt(rand, 0, 3));
        const y = new Float32Array(g.N * g.C * g.OH * g.OW), idx = new Int32Array(y.length);
        b.maxPool2dForward(g, x, y, idx);
        const ref = refMaxPool(g, x);
        assert.deepStrictEqual(Array.from(idx), Array.from(ref.idx), JSON.stringify(g));
        assertClose(y, ref.y, 'max forward');
        const gy = randArray(y.length, rand);
        const gx = new Float32Array(x.length).fill(NaN);
        b.maxPool2dBackward(g, gy, idx, gx);
        assertClose(gx, refMaxPoolBackward(g, gy, idx), 'max backward');
        done++;
      }
    });

    it('2x2 stride 2 max pooling (fast path) with ties and odd sizes', function () {
      const rand = rng(22);
      for (const [H, W] of [[28, 28], [10, 10], [7, 9], [2, 2]]) {
        const g = { N: 2, C: 3, H, W, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0,
          dilationH: 1, dilationW: 1, OH: Math.floor(H / 2), OW: Math.floor(W / 2) };
        const x = new Float32Array(g.N * g.C * H * W).map(() => randInt(rand, 0, 2));
        const y = new Float32Array(g.N * g.C * g.OH * g.OW), idx = new Int32Array(y.length);
        b.maxPool2dForward(g, x, y, idx);
        const ref = refMaxPool(g, x);
        assert.deepStrictEqual(Array.from(idx), Array.from(ref.idx));
        assertClose(y, ref.y, 'max 2x2');
      }
    });

    it('max pooling propagates NaN like PyTorch', function () {
      const g = { N: 1, C: 1, H: 2, W: 2, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0,
        dilationH: 1, dilationW: 1, OH: 1, OW: 1 };
      const y = new Float32Array(1), idx = new Int32Array(1);
      b.maxPool2dForward(g, new Float32Array([1, NaN, 5, 2]), y, idx);
      assert.ok(Number.isNaN(y[0]));
      assert.strictEqual(idx[0], 1);
    });

    it('average pooling forward/backward, countIncludePad on and off', function () {
      const rand = rng(23);
      let done = 0;
      while (done < 150) {
        const g = poolCase(rand, {});
        if (g.OH < 1 || g.OW < 1) continue;
        g.countIncludePad = rand() < 0.5;
        const x = randArray(g.N * g.C * g.H * g.W, rand);
        const y = new Float32Array(g.N * g.C * g.OH * g.OW).fill(NaN);
        b.avgPool2dForward(g, x, y);
        assertClose(y, refAvgPool(g, x), `avg forward ${JSON.stringify(g)}`);
        const gy = randArray(y.length, rand);
        const gx = new Float32Array(x.length).fill(NaN);
        b.avgPool2dBackward(g, gy, gx);
        assertClose(gx, refAvgPoolBackward(g, gy), `avg backward ${JSON.stringify(g)}`);
        done++;
      }
    });

    it('adaptive average pooling forward/backward (bins overlap when In % Out != 0)', function () {
      const rand = rng(24);
      for (const [H, W, OH, OW] of [[7, 5, 3, 2], [5, 5, 5, 5], [6, 4, 4, 7], [1, 9, 1, 1], [10, 10, 3, 4]]) {
        const g = { N: 2, C: 3, H, W, OH, OW };
        const x = randArray(g.N * g.C * H * W, rand);
        const y = new Float32Array(g.N * g.C * OH * OW).fill(NaN);
        b.adaptiveAvgPool2dForward(g, x, y);
        assertClose(y, refAdaptive(g, x), 'adaptive forward');
        const gy = randArray(y.length, rand);
        const gx = new Float32Array(x.length).fill(NaN);
        b.adaptiveAvgPool2dBackward(g, gy, gx);
        assertClose(gx, refAdaptiveBackward(g, gy), 'adaptive backward');
      }
    });
  });

  describe('validation', function () {
    const g = { N: 1, C: 2, H: 5, W: 5, K: 4, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 0,
      padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 2 };
    const x = new Float32Array(50), w = new Float32Array(4 * 1 * 9), y = new Float32Array(4 * 9);
    const throwsWith = (fn, Cls, re) => assert.throws(fn, (e) => e instanceof Cls && re.test(e.message));

    it('wrong typed-array types are TypeErrors naming the argument', function () {
      throwsWith(() => b.conv2dForward(g, new Float64Array(50), w, null, y), TypeError,
        /^conv2dForward: x must be a Float32Array/);
      throwsWith(() => b.gemm(false, false, 1, 1, 1, 1, [1], new Float32Array(1), 0, new Float32Array(1)),
        TypeError, /\bA\b/);
      throwsWith(() => b.maxPool2dForward({ N: 1, C: 1, H: 2, W: 2, kernelH: 2, kernelW: 2, strideH: 2,
        strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, OH: 1, OW: 1 }, new Float32Array(4),
      new Float32Array(1), new Float32Array(1)), TypeError, /indices must be an Int32Array/);
      throwsWith(() => b.conv2dForward(null, x, w, null, y), TypeError, /geometry/);
    });

    it('wrong lengths are RangeErrors with the expected count', function () {
      throwsWith(() => b.conv2dForward(g, new Float32Array(49), w, null, y), RangeError,
        /x has 49 elements, expected 1\*2\*5\*5 = 50/);
      throwsWith(() => b.conv2dForward(g, x, w, null, new Float32Array(35)), RangeError, /\by\b.*expected/);
      throwsWith(() => b.gemm(true, false, 2, 3, 4, 1, new Float32Array(8), new Float32Array(11), 0,
        new Float32Array(6)), RangeError, /\bB\b/);
    });

    it('bad geometry fields are RangeErrors naming the field', function () {
      for (const [field, v] of [['N', 0], ['C', -1], ['R', NaN], ['strideW', 1.5], ['dilationH', 0],
        ['groups', 0], ['padTop', -1], ['padLeft', -2], ['padBottom', 0.5], ['W', Infinity]]) {
        throwsWith(() => b.conv2dForward({ ...g, [field]: v }, x, w, null, y), RangeError,
          new RegExp(`g\\.${field}\\b`));
      }
      throwsWith(() => b.conv2dForward({ ...g, groups: 3 }, x, w, null, y), RangeError, /divisible by groups/);
      throwsWith(() => b.conv2dForward({ ...g, C: 4, groups: 4, K: 6 }, x, w, null, y), RangeError,
        /K \(6\) must be divisible by groups/);
      throwsWith(() => b.conv2dForward({ ...g, H: 3, W: 3, R: 5, S: 5 }, x, w, null, y), RangeError,
        /kernel 5x5 \(dilation 1\) larger than padded input 3x3/);
      throwsWith(() => b.conv2dForward({ ...g, padBottom: -3 }, x, w, null, y), RangeError, /larger than padded input 2x5/);
    });

    it('a negative padBottom/padRight that leaves an output is accepted', function () {
      const g2 = { ...g, padTop: 1, padBottom: -1, padLeft: 2, padRight: -1 };
      const [OH, OW] = outSize(g2);
      const out = new Float32Array(4 * OH * OW);
      b.conv2dForward(g2, x, w, null, out);
    });

    it('pool windows starting past the input and bad indices are RangeErrors', function () {
      const pg = { N: 1, C: 1, H: 4, W: 4, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0,
        padW: 0, dilationH: 1, dilationW: 1, OH: 3, OW: 2 };
      throwsWith(() => b.maxPool2dForward(pg, new Float32Array(16), new Float32Array(6), new Int32Array(6)),
        RangeError, /g\.OH = 3 is too large/);
      const ok = { ...pg, OH: 2 };
      const idx = new Int32Array(4).fill(16);
      const gx = new Float32Array(16).fill(7);
      throwsWith(() => b.maxPool2dBackward(ok, new Float32Array(4), idx, gx), RangeError, /indices\[0\] = 16/);
      assert.ok(gx.every((v) => v === 7), 'gx untouched');
      throwsWith(() => b.avgPool2dForward({ ...ok, countIncludePad: 'yes' }, new Float32Array(16),
        new Float32Array(4)), TypeError, /countIncludePad/);
    });

    it('outputs sharing memory with inputs are RangeErrors', function () {
      const buf = new Float32Array(100);
      throwsWith(() => b.conv2dForward(g, buf.subarray(0, 50), w, null, buf.subarray(40, 76)), RangeError,
        /y must not share memory with x/);
    });
  });
});
