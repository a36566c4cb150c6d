// Backend kernels against the PyTorch fixtures and hand-computed examples, once per backend
// (and, for native, once per instruction set the CPU can run): gemm, conv2d forward /
// backward input / weight / bias (conv1d, conv2d variants, true convolution, transposed
// convolution as the backward-input of the mirrored convolution), max / avg / adaptive pooling.
'use strict';
const assert = require('assert');
const { describeEachBackend } = require('./helpers/backends');
const { opCases, decode, assertClose } = require('./helpers/fixtures');

// ---------------------------------------------------------------------------------------
// geometry from a fixture's params, computed here by hand (not with the library helpers)

const pair = (v) => (Array.isArray(v) ? v : [v, v]);

/** Per-side padding [before, after] along one axis for PyTorch's padding option. */
function padSides(padding, k, dilation) {
  if (padding === 'valid') return [0, 0];
  if (padding === 'same') {
    const total = dilation * (k - 1);
    const before = Math.floor(total / 2);
    return [before, total - before];   // the odd extra cell goes bottom/right
  }
  return [padding, padding];
}

/** ConvGeometry of a conv1d / conv2d / convolve2d fixture. */
function convGeometry(c) {
  const x = c.inputs.x.shape, w = c.inputs.weight.shape;
  const p = c.params;
  const oneD = x.length === 3;
  const [N, C] = x;
  const H = oneD ? 1 : x[2], W = oneD ? x[2] : x[3];
  const R = oneD ? 1 : w[2], S = oneD ? w[2] : w[3];
  const [sh, sw] = oneD ? [1, p.stride] : pair(p.stride);
  const [dh, dw] = oneD ? [1, p.dilation] : pair(p.dilation);
  let ph, pw;
  if (oneD) {
    ph = [0, 0];
    pw = padSides(p.padding, S, dw);
  } else if (typeof p.padding === 'string') {
    ph = padSides(p.padding, R, dh);
    pw = padSides(p.padding, S, dw);
  } else {
    const [a, b] = pair(p.padding);
    ph = [a, a];
    pw = [b, b];
  }
  if (p.pad) {   // F.pad's [left, right, top, bottom] before the conv
    pw = [pw[0] + p.pad[0], pw[1] + p.pad[1]];
    ph = [ph[0] + p.pad[2], ph[1] + p.pad[3]];
  }
  return {
    N, C, H, W, K: w[0], R, S, strideH: sh, strideW: sw,
    padTop: ph[0], padBottom: ph[1], padLeft: pw[0], padRight: pw[1],
    dilationH: dh, dilationW: dw, groups: p.groups,
  };
}

/**
 * A transposed convolution x[N, Cin, Hin, Win] -> y[N, Cout, Hout, Wout] with weight
 * [Cin, Cout/g, kh, kw] is the backward-input of the mirrored convolution y -> x: K = Cin,
 * C = Cout, the same weight, padTop = pad, padBottom = pad - outputPadding.
 */
function transposedGeometry(c) {
  const x = c.inputs.x.shape, w = c.inputs.weight.shape, y = c.expected.y.shape;
  const p = c.params;
  const oneD = x.length === 3;
  const [s, d, pad, op] = [p.stride, p.dilation, p.padding, p.outputPadding].map(pair);
  const g = {
    N: x[0], C: y[1], H: oneD ? 1 : y[2], W: oneD ? y[2] : y[3],
    K: x[1], R: oneD ? 1 : w[2], S: oneD ? w[2] : w[3],
    strideH: oneD ? 1 : s[0], strideW: oneD ? s[0] : s[1],
    padTop: oneD ? 0 : pad[0], padBottom: oneD ? 0 : pad[0] - op[0],
    padLeft: oneD ? pad[0] : pad[1], padRight: oneD ? pad[0] - op[0] : pad[1] - op[1],
    dilationH: oneD ? 1 : d[0], dilationW: oneD ? d[0] : d[1], groups: p.groups,
  };
  return g;
}

/** Output size of a pooling window, PyTorch's rule (ceil mode keeps a last window only if
 *  it starts inside the input or the left padding). */
function poolOut(n, k, s, p, d, ceil) {
  const span = n + 2 * p - d * (k - 1) - 1;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

function poolGeometry(c) {
  const x = c.inputs.x.shape, p = c.params;
  const oneD = x.length === 3;
  const H = oneD ? 1 : x[2], W = oneD ? x[2] : x[3];
  const [kh, kw] = oneD ? [1, p.kernelSize] : pair(p.kernelSize);
  const [sh, sw] = oneD ? [1, p.stride] : pair(p.stride);
  const [ph, pw] = oneD ? [0, p.padding] : pair(p.padding);
  const [dh, dw] = oneD ? [1, p.dilation ?? 1] : pair(p.dilation ?? 1);
  const g = {
    N: x[0], C: x[1], H, W, kernelH: kh, kernelW: kw, strideH: sh, strideW: sw,
    padH: ph, padW: pw, dilationH: dh, dilationW: dw,
    OH: poolOut(H, kh, sh, ph, dh, p.ceilMode), OW: poolOut(W, kw, sw, pw, dw, p.ceilMode),
  };
  if (p.countIncludePad !== undefined) g.countIncludePad = p.countIncludePad;
  return g;
}

function flipKernels(w, R, S) {
  const out = new Float32Array(w.length);
  for (let base = 0; base < w.length; base += R * S)
    for (let r = 0; r < R; r++)
      for (let s = 0; s < S; s++) out[base + r * S + s] = w[base + (R - 1 - r) * S + (S - 1 - s)];
  return out;
}

const numel = (t) => t.shape.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------------------
// runners

function runConvCase(b, c) {
  const g = convGeometry(c);
  const flip = c.op === 'convolve2d';
  const x = decode(c.inputs.x);
  const w0 = decode(c.inputs.weight);
  const w = flip ? flipKernels(w0, g.R, g.S) : w0;
  const bias = c.inputs.bias ? decode(c.inputs.bias) : null;
  const gy = decode(c.gradOutput);
  const e = c.expected;

  const y = new Float32Array(numel(e.y));
  b.conv2dForward(g, x, w, bias, y);
  assertClose(y, decode(e.y), `${c.name} y`);

  const gx = new Float32Array(x.length).fill(NaN);   // must be overwritten
  b.conv2dBackwardInput(g, gy, w, gx);
  assertClose(gx, decode(e.gradX), `${c.name} gradX`);

  const gw = new Float32Array(w.length).fill(NaN);
  b.conv2dBackwardWeight(g, x, gy, gw);
  assertClose(flip ? flipKernels(gw, g.R, g.S) : gw, decode(e.gradWeight), `${c.name} gradWeight`);

  if (bias) {
    const gb = new Float32Array(bias.length).fill(NaN);
    b.conv2dBackwardBias(g, gy, gb);
    assertClose(gb, decode(e.gradBias), `${c.name} gradBias`);
  }
}

function runTransposedCase(b, c) {
  const g = transposedGeometry(c);
  const x = decode(c.inputs.x);            // the mirrored conv's output gradient
  const w = decode(c.inputs.weight);
  const bias = c.inputs.bias ? decode(c.inputs.bias) : null;
  const gy = decode(c.gradOutput);         // the mirrored conv's input
  const e = c.expected;
  const plane = g.H * g.W;

  const y = new Float32Array(numel(e.y));
  b.conv2dBackwardInput(g, x, w, y);
  if (bias) for (let i = 0; i < y.length; i++) y[i] += bias[Math.floor(i / plane) % g.C];
  assertClose(y, decode(e.y), `${c.name} y`);

  const gx = new Float32Array(x.length);
  b.conv2dForward(g, gy, w, null, gx);
  assertClose(gx, decode(e.gradX), `${c.name} gradX`);

  const gw = new Float32Array(w.length);
  b.conv2dBackwardWeight(g, gy, x, gw);
  assertClose(gw, decode(e.gradWeight), `${c.name} gradWeight`);

  if (bias) {
    // Bias of the transposed conv: sums of its output gradient per output channel, i.e. a
    // 1x1 convolution geometry whose "K" is Cout.
    const gb1 = { N: g.N, C: 1, H: g.H, W: g.W, K: g.C, R: 1, S: 1, strideH: 1, strideW: 1,
      padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 };
    const gb = new Float32Array(bias.length);
    b.conv2dBackwardBias(gb1, gy, gb);
    assertClose(gb, decode(e.gradBias), `${c.name} gradBias`);
  }
}

function runPoolCase(b, c) {
  const x = decode(c.inputs.x);
  const gy = decode(c.gradOutput);
  const e = c.expected;
  const y = new Float32Array(numel(e.y));
  const gx = new Float32Array(x.length).fill(NaN);
  let g;
  if (c.op.startsWith('adaptive')) {
    const [oh, ow] = pair(c.params.outputSize);
    g = { N: c.inputs.x.shape[0], C: c.inputs.x.shape[1], H: c.inputs.x.shape[2],
      W: c.inputs.x.shape[3], OH: oh, OW: ow };
    b.adaptiveAvgPool2dForward(g, x, y);
    assertClose(y, decode(e.y), `${c.name} y`);
    b.adaptiveAvgPool2dBackward(g, gy, gx);
  } else {
    g = poolGeometry(c);
    assert.strictEqual(g.N * g.C * g.OH * g.OW, y.length, `${c.name}: output size by hand`);
    if (c.op.startsWith('max')) {
      const idx = new Int32Array(y.length);
      b.maxPool2dForward(g, x, y, idx);
      assertClose(y, decode(e.y), `${c.name} y`);
      // Without indices (inference): the same y.
      const yn = new Float32Array(y.length).fill(12345);
      b.maxPool2dForward(g, x, yn, null);
      assert.deepStrictEqual(yn, y, `${c.name}: y without indices`);
      for (let i = 0; i < y.length; i++) {
        const plane = Math.floor(i / (g.OH * g.OW));
        assert.strictEqual(x[plane * g.H * g.W + idx[i]], y[i], `${c.name}: indices[${i}] points at the max`);
      }
      b.maxPool2dBackward(g, gy, idx, gx);
    } else {
      b.avgPool2dForward(g, x, y);
      assertClose(y, decode(e.y), `${c.name} y`);
      b.avgPool2dBackward(g, gy, gx);
    }
  }
  assertClose(gx, decode(e.gradX), `${c.name} gradX`);
}

// ---------------------------------------------------------------------------------------
// gemm against a float64 triple loop

function makeRng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function randArray(n, rng) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng() * 2 - 1;
  return a;
}

function naiveGemm(ta, tb, M, N, K, alpha, A, B, beta, C) {
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += (ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
      out[i * N + j] = alpha * acc + (beta === 0 ? 0 : beta * C[i * N + j]);
    }
  }
  return out;
}

const GEMM_SHAPES = [[1, 1, 1], [1, 7, 3], [5, 1, 9], [3, 4, 5], [8, 8, 8], [17, 33, 9],
  [64, 48, 40], [67, 45, 33], [130, 70, 129], [16, 300, 1],
  // Native driver paths on two threads: B read in place panel by panel (small M, N split),
  // A read in place with K unblocked (N small, M split), both operands packed.
  [64, 600, 70], [300, 40, 200], [300, 300, 40],
  // B in place whose rows (12 lines apart) reach only 16 of L1's sets: each panel is
  // copied before the A panels run over it (AVX2's 11 panels of 6 rows).
  [64, 192, 120],
  // Matrix-vector problems (one row or one column of C) big enough for two threads: the
  // matrix read once in place, in dot or axpy form by the transposes.
  [1, 1500, 400], [1500, 1, 400], [1, 1, 2000],
  // A few rows against a large B (a fully connected layer on a small batch). From 16 rows
  // AVX2 runs blocks of 6 rows of B over pairs of A rows, K in chunks of 512: an odd row
  // count, B rows past the last block, K tails under one vector and under one chunk.
  [6, 1030, 300], [16, 284, 1100], [21, 1030, 4100]];

function gemmTests(getBackend) {
  for (const [M, N, K] of GEMM_SHAPES) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        it(`gemm ${M}x${N}x${K} transA=${ta} transB=${tb}`, function () {
          const b = getBackend();
          const rng = makeRng(M * 131 + N * 17 + K + (ta ? 1000 : 0) + (tb ? 2000 : 0));
          const A = randArray(M * K, rng), B = randArray(K * N, rng), C0 = randArray(M * N, rng);
          for (const [alpha, beta] of [[1, 0], [0.5, 1], [-2, 0.25]]) {
            const C = Float32Array.from(C0);
            b.gemm(ta, tb, M, N, K, alpha, A, B, beta, C);
            assertClose(C, naiveGemm(ta, tb, M, N, K, alpha, A, B, beta, C0), `gemm alpha=${alpha} beta=${beta}`);
          }
        });
      }
    }
  }

  it('gemm with beta = 0 ignores C (NaN does not propagate)', function () {
    const b = getBackend();
    const rng = makeRng(7);
    const A = randArray(6 * 5, rng), B = randArray(5 * 4, rng);
    const C = new Float32Array(6 * 4).fill(NaN);
    b.gemm(false, false, 6, 4, 5, 1, A, B, 0, C);
    assertClose(C, naiveGemm(false, false, 6, 4, 5, 1, A, B, 0, C), 'C');
  });

  it('gemm on subarray views writes in place and nowhere else', function () {
    const b = getBackend();
    const rng = makeRng(8);
    const big = randArray(200, rng);
    const A = big.subarray(3, 3 + 4 * 5), B = big.subarray(40, 40 + 5 * 6);
    const store = new Float32Array(100).fill(7);
    const C = store.subarray(11, 11 + 24);
    b.gemm(false, false, 4, 6, 5, 1, A, B, 0, C);
    assertClose(C, naiveGemm(false, false, 4, 6, 5, 1, A, B, 0, C), 'C');
    for (let i = 0; i < 100; i++) if (i < 11 || i >= 35) assert.strictEqual(store[i], 7, `store[${i}] untouched`);
  });
}

// ---------------------------------------------------------------------------------------

function convTests(getBackend) {
  for (const c of opCases(['conv1d', 'conv2d', 'convolve2d'])) {
    it(`${c.name} (fixture): forward, backward input / weight / bias`, function () {
      runConvCase(getBackend(), c);
    });
  }
  for (const c of opCases(['conv_transpose1d', 'conv_transpose2d'])) {
    it(`${c.name} (fixture) as the backward input of the mirrored conv`, function () {
      runTransposedCase(getBackend(), c);
    });
  }

  it('conv on subarray views (byteOffset respected)', function () {
    const b = getBackend();
    const c = opCases(['conv2d']).find((k) => k.name === 'conv2d_stride2_pad1');
    const g = convGeometry(c);
    const x0 = decode(c.inputs.x), w0 = decode(c.inputs.weight), b0 = decode(c.inputs.bias);
    const want = decode(c.expected.y);
    const pool = new Float32Array(x0.length + w0.length + b0.length + 10);
    const x = pool.subarray(1, 1 + x0.length); x.set(x0);
    const w = pool.subarray(2 + x0.length, 2 + x0.length + w0.length); w.set(w0);
    const bias = pool.subarray(3 + x0.length + w0.length, 3 + x0.length + w0.length + b0.length); bias.set(b0);
    const out = new Float32Array(want.length + 8).fill(-3);
    const y = out.subarray(5, 5 + want.length);
    b.conv2dForward(g, x, w, bias, y);
    assertClose(y, want, 'y');
    for (let i = 0; i < out.length; i++) if (i < 5 || i >= 5 + want.length) assert.strictEqual(out[i], -3);
  });
}

function examplesTests(getBackend) {
  it('notes: 1-D signal through the decaying filter [1, 0.5, 0.25] (true convolution, full)', function () {
    const b = getBackend();
    // y[t] = sum_k f[k] x[t-k]: cross-correlation with the flipped filter, k-1 zeros each side.
    const x = Float32Array.from([1, 0, 0, 2, 0]);
    const w = Float32Array.from([0.25, 0.5, 1]);
    const g = { N: 1, C: 1, H: 1, W: 5, K: 1, R: 1, S: 3, strideH: 1, strideW: 1, padTop: 0,
      padBottom: 0, padLeft: 2, padRight: 2, dilationH: 1, dilationW: 1, groups: 1 };
    const y = new Float32Array(7);
    b.conv2dForward(g, x, w, null, y);
    assert.deepStrictEqual(Array.from(y), [1, 0.5, 0.25, 2, 1, 0.5, 0]);
  });

  it('notes: 3x3 mean filter over a 4x4 image', function () {
    const b = getBackend();
    const x = Float32Array.from({ length: 16 }, (_, i) => i + 1);
    const w = new Float32Array(9).fill(1 / 9);
    const g = { N: 1, C: 1, H: 4, W: 4, K: 1, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 0,
      padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 };
    const y = new Float32Array(4);
    b.conv2dForward(g, x, w, null, y);
    // The mean of a linear ramp over a 3x3 neighbourhood is its centre value.
    assertClose(y, Float32Array.from([6, 7, 10, 11]), 'mean filter');
    // With 'same' padding the corners average 4 real cells over 9.
    const ys = new Float32Array(16);
    b.conv2dForward({ ...g, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }, x, w, null, ys);
    assertClose([ys[0]], [(1 + 2 + 5 + 6) / 9], 'corner');
  });

  it('notes: max and mean pooling of a 4x4 block with 2x2 windows', function () {
    const b = getBackend();
    const x = Float32Array.from([1, 3, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4]);
    const g = { N: 1, C: 1, H: 4, W: 4, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0,
      padW: 0, dilationH: 1, dilationW: 1, OH: 2, OW: 2 };
    const y = new Float32Array(4), idx = new Int32Array(4);
    b.maxPool2dForward(g, x, y, idx);
    assert.deepStrictEqual(Array.from(y), [6, 8, 3, 4]);
    assert.deepStrictEqual(Array.from(idx), [5, 7, 8, 15]);
    const gx = new Float32Array(16);
    b.maxPool2dBackward(g, Float32Array.from([1, 2, 3, 4]), idx, gx);
    assert.deepStrictEqual(Array.from(gx), [0, 0, 0, 0, 0, 1, 0, 2, 3, 0, 0, 0, 0, 0, 0, 4]);
    const m = new Float32Array(4);
    b.avgPool2dForward({ ...g, countIncludePad: true }, x, m);
    assert.deepStrictEqual(Array.from(m), [3.75, 5.25, 2, 2]);
  });

  it('max pool: ties go to the first maximum in row-major window order', function () {
    const b = getBackend();
    const x = Float32Array.from([2, 2, 2, 2, 2, 2, 2, 2, 2]);
    const g = { N: 1, C: 1, H: 3, W: 3, kernelH: 2, kernelW: 2, strideH: 1, strideW: 1, padH: 1,
      padW: 1, dilationH: 1, dilationW: 1, OH: 3, OW: 3 };
    const y = new Float32Array(9), idx = new Int32Array(9);
    b.maxPool2dForward(g, x, y, idx);
    // window (oh, ow) starts at (oh-1, ow-1); its first real cell is (max(oh-1,0), max(ow-1,0))
    assert.deepStrictEqual(Array.from(idx), [0, 0, 1, 0, 0, 1, 3, 3, 4]);
  });

  it('max pool: -inf inputs still point at the first real cell; a NaN wins its windows', function () {
    const b = getBackend();
    const x = new Float32Array(9).fill(-Infinity);
    x[4] = NaN;
    const g = { N: 1, C: 1, H: 3, W: 3, kernelH: 2, kernelW: 2, strideH: 1, strideW: 1, padH: 1,
      padW: 1, dilationH: 1, dilationW: 1, OH: 3, OW: 3 };
    const y = new Float32Array(9), idx = new Int32Array(9);
    b.maxPool2dForward(g, x, y, idx);
    assert.deepStrictEqual(Array.from(idx), [0, 0, 1, 0, 4, 4, 3, 4, 4]);
    assert.deepStrictEqual(Array.from(y), [-Infinity, -Infinity, -Infinity, -Infinity, NaN, NaN, -Infinity, NaN, NaN]);
    // stride 2 over a wide row (vector paths), all -inf: every window's first real cell
    const W = 37;
    const xs = new Float32Array(2 * W).fill(-Infinity);
    const gs = { N: 1, C: 1, H: 2, W, kernelH: 2, kernelW: 3, strideH: 2, strideW: 2, padH: 0,
      padW: 1, dilationH: 1, dilationW: 1, OH: 1, OW: 19 };
    const ys = new Float32Array(19), is = new Int32Array(19);
    b.maxPool2dForward(gs, xs, ys, is);
    assert.deepStrictEqual(Array.from(is), Array.from({ length: 19 }, (_, o) => Math.max(0, 2 * o - 1)));
  });

  it('max pool 3x3 s1 p1 without indices: a NaN deep inside a large batch wins its windows, infinities do not', function () {
    // AVX-512 and AVX2 stream this window over the whole batch and check for NaN as they go; the
    // NaN sits in a chunk far from the stream's ends, the infinities elsewhere.
    const b = getBackend();
    const g = { N: 3, C: 7, H: 14, W: 14, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padH: 1,
      padW: 1, dilationH: 1, dilationW: 1, OH: 14, OW: 14 };
    const n = g.N * g.C * 196;
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 10);
    const at = 11 * 196 + 5 * 14 + 8;
    x[at] = NaN;
    x[4 * 196 + 20] = Infinity;
    x[15 * 196 + 100] = -Infinity;
    const y = new Float32Array(n), idx = new Int32Array(n), yn = new Float32Array(n).fill(7);
    b.maxPool2dForward(g, x, y, idx);
    b.maxPool2dForward(g, x, yn, null);
    assert.deepStrictEqual(yn, y);
    for (let dh = -1; dh <= 1; dh++) {
      for (let dw = -1; dw <= 1; dw++) assert.ok(Number.isNaN(yn[at + dh * 14 + dw]), `window at ${dh},${dw}`);
    }
    assert.strictEqual(yn.filter(Number.isNaN).length, 9);
    assert.strictEqual(yn[4 * 196 + 20], Infinity);
  });

  it('max pool without indices (null) gives the y of the indexed call, on every path', function () {
    const b = getBackend();
    const out = (n, k, s, p, d, ceil) => {
      const span = n + 2 * p - d * (k - 1) - 1;
      let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      if (ceil && (o - 1) * s >= n + p) o--;
      while ((o - 1) * s - p > n - 1) o--;  // every window starts inside the input or the left padding
      return o;
    };
    // [H, W, kh, kw, sh, sw, ph, pw, dh, dw, ceil]: odd sizes, padding, ceil mode, dilation,
    // strides 1 to 3, wide rows (vector chunks and tails), 2- and 3-wide windows with
    // padding 0 and 1 (the register kernels), windows of padding only (pad >= kernel).
    const shapes = [
      [112, 112, 3, 3, 2, 2, 1, 1, 1, 1, false], [56, 57, 3, 3, 2, 2, 0, 0, 1, 1, true],
      [28, 28, 3, 3, 1, 1, 1, 1, 1, 1, true], [14, 14, 3, 3, 1, 1, 1, 1, 1, 1, true],
      [7, 7, 3, 3, 1, 1, 1, 1, 1, 1, true], [13, 33, 2, 2, 2, 2, 0, 0, 1, 1, true],
      [9, 31, 2, 2, 2, 2, 1, 1, 1, 1, false], [5, 47, 2, 2, 1, 1, 0, 0, 1, 1, false],
      [6, 16, 2, 2, 1, 1, 1, 1, 1, 1, true], [11, 65, 3, 3, 1, 1, 0, 0, 1, 1, true],
      [17, 64, 3, 3, 2, 2, 1, 1, 1, 1, true], [10, 40, 3, 5, 2, 2, 1, 2, 2, 2, false],
      [9, 50, 4, 3, 3, 3, 1, 1, 1, 1, true], [8, 37, 3, 3, 1, 2, 1, 1, 2, 3, true],
      [1, 3, 1, 1, 1, 1, 1, 1, 1, 1, false], [3, 20, 2, 2, 1, 2, 2, 2, 1, 1, false],
      [4, 18, 2, 3, 2, 1, 1, 3, 3, 1, true], [1, 1, 1, 1, 1, 1, 0, 0, 1, 1, false],
      [5, 200, 3, 3, 2, 2, 1, 1, 1, 1, false], [3, 34, 3, 3, 2, 1, 1, 1, 1, 1, true],
    ];
    const same = (p, q) => p === q || (Number.isNaN(p) && Number.isNaN(q));
    let seed = 7;
    const rnd = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
    // Many planes too: the batch-wide paths split it between threads mid-plane.
    shapes.push([7, 7, 3, 3, 1, 1, 1, 1, 1, 1, true, 45], [14, 14, 3, 3, 1, 1, 1, 1, 1, 1, false, 13],
      [5, 3, 3, 3, 1, 1, 1, 1, 1, 1, false, 301], [56, 56, 3, 3, 2, 2, 1, 1, 1, 1, false, 9]);
    shapes.forEach(([H, W, kh, kw, sh, sw, ph, pw, dh, dw, ceil, C = 3], si) => {
      const OH = out(H, kh, sh, ph, dh, ceil), OW = out(W, kw, sw, pw, dw, ceil);
      const g = { N: 2, C, H, W, kernelH: kh, kernelW: kw, strideH: sh, strideW: sw, padH: ph,
        padW: pw, dilationH: dh, dilationW: dw, OH, OW };
      const n = 2 * C * H * W;
      for (const fill of ['random', 'ties', 'nan', 'inf', '-inf']) {
        const x = new Float32Array(n).map(() => (fill === 'ties' ? Math.floor(rnd() * 3) : rnd() * 2 - 1));
        if (fill === 'nan') for (let k = 0; k < 3; k++) x[Math.floor(rnd() * n)] = NaN;
        if (fill === 'inf') for (let k = 0; k < 3; k++) x[Math.floor(rnd() * n)] = rnd() < 0.5 ? Infinity : -Infinity;
        if (fill === '-inf') x.fill(-Infinity);
        const y = new Float32Array(2 * C * OH * OW), idx = new Int32Array(y.length);
        b.maxPool2dForward(g, x, y, idx);
        const yn = new Float32Array(y.length).fill(12345);
        b.maxPool2dForward(g, x, yn, null);
        for (let i = 0; i < y.length; i++) {
          if (!same(yn[i], y[i])) assert.fail(`shape #${si} ${fill}: y[${i}] = ${yn[i]} without indices, ${y[i]} with`);
          if (idx[i] < 0) assert.strictEqual(yn[i], -Infinity, `shape #${si}: a window of padding only is -inf`);
        }
      }
    });
  });

  it('avg pool: countIncludePad counts padding but not the ceil-mode overhang', function () {
    const b = getBackend();
    // H = W = 4, k = 3, s = 2, pad 1, ceil mode: OH = 3; the last window starts at row 3 and
    // covers rows 3..5, of which row 4 is padding and row 5 lies beyond it.
    const x = new Float32Array(16).fill(1);
    const g = { N: 1, C: 1, H: 4, W: 4, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1,
      padW: 1, dilationH: 1, dilationW: 1, OH: 3, OW: 3 };
    const yi = new Float32Array(9), ye = new Float32Array(9);
    b.avgPool2dForward({ ...g, countIncludePad: true }, x, yi);
    b.avgPool2dForward({ ...g, countIncludePad: false }, x, ye);
    // include: per axis the windows count 3, 3 and 2 cells (rows 3 and 4; row 5 is past
    // the padding); they hold 2, 3 and 1 real cells.
    assertClose(yi, Float32Array.from([4 / 9, 6 / 9, 2 / 6, 6 / 9, 1, 3 / 6, 2 / 6, 3 / 6, 1 / 4]), 'include');
    assertClose(ye, new Float32Array(9).fill(1), 'exclude');
  });
}

function poolTests(getBackend) {
  for (const c of opCases(['max_pool1d', 'max_pool2d', 'avg_pool1d', 'avg_pool2d', 'adaptive_avg_pool2d'])) {
    it(`${c.name} (fixture): forward and backward`, function () {
      runPoolCase(getBackend(), c);
    });
  }
}

describeEachBackend('backend kernels', function (name, b) {
  const get = () => b;
  describe('gemm', function () { gemmTests(get); });
  describe('conv', function () { convTests(get); });
  describe('pooling', function () { poolTests(get); });
  describe('worked examples', function () { examplesTests(get); });

  if (name === 'native') {
    describe('info', function () {
      it('reports name, isa, cpu features and OpenMP', function () {
        const i = b.info();
        assert.strictEqual(i.name, 'native');
        assert.ok(['scalar', 'avx2', 'avx512'].includes(i.isa), i.isa);
        assert.ok(Array.isArray(i.cpuFeatures));
        assert.strictEqual(typeof i.openmp, 'boolean');
      });
      it('setNumThreads / getNumThreads round-trip', function () {
        const before = b.getNumThreads();
        b.setNumThreads(1);
        assert.strictEqual(b.getNumThreads(), 1);
        b.setNumThreads(before);
        assert.strictEqual(b.getNumThreads(), before);
      });
      it('convAlgorithm names the path the kernels take', function () {
        const g = { N: 1, C: 8, H: 5, W: 5, K: 8, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 1,
          padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1 };
        // the auto choices, whatever RECEPTIVE_CONV_ALGO this run forces
        const policy = b.getConvAlgorithm();
        b.setConvAlgorithm('auto');
        try {
          assert.strictEqual(b.convAlgorithm({ ...g, C: 32 }), 'im2col-gemm');
          // few input channels: the direct kernel, where a vector ISA runs it
          assert.strictEqual(b.convAlgorithm(g), b.info().isa === 'scalar' ? 'im2col-gemm' : 'direct-small');
          assert.strictEqual(b.convAlgorithm({ ...g, groups: 8 }), 'depthwise-direct');
          assert.strictEqual(b.convAlgorithm({ ...g, R: 1, S: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }), 'gemm-1x1');
          // a filter covering the whole input (LeNet's C5): one GEMM over the batch
          assert.strictEqual(b.convAlgorithm({ ...g, C: 16, R: 5, S: 5, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }), 'im2col-gemm');
        } finally {
          b.setConvAlgorithm(policy);
        }
      });
    });

    describe('async forms', function () {
      it('conv2dForwardAsync matches the fixture', async function () {
        const c = opCases(['conv2d']).find((k) => k.name === 'conv2d_groups2');
        const g = convGeometry(c);
        const y = new Float32Array(numel(c.expected.y));
        const p = b.conv2dForwardAsync(g, decode(c.inputs.x), decode(c.inputs.weight), decode(c.inputs.bias), y);
        assert.ok(p instanceof Promise);
        await p;
        assertClose(y, decode(c.expected.y), 'y');
      });
      it('the event loop keeps turning while an async convolution runs', async function () {
        // Large enough (about 3 GFLOP) that the worker cannot finish before the loop's
        // first check phase, which is all the ordering below depends on.
        const g = { N: 8, C: 64, H: 56, W: 56, K: 64, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 1,
          padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1 };
        const rng = makeRng(5);
        const x = randArray(8 * 64 * 56 * 56, rng), w = randArray(64 * 64 * 9, rng), bias = randArray(64, rng);
        const want = new Float32Array(8 * 64 * 56 * 56);
        b.conv2dForward(g, x, w, bias, want);
        const y = new Float32Array(want.length);
        let turned = false;
        // On one kernel thread, so that the other core is free for this one: with every core
        // busy in the convolution, a loaded machine could leave this thread unscheduled
        // until the worker finished (a CI run saw that once).
        const threads0 = b.getNumThreads();
        b.setNumThreads(1);
        try {
          setImmediate(() => { turned = true; });
          await b.conv2dForwardAsync(g, x, w, bias, y);
        } finally {
          b.setNumThreads(threads0);
        }
        assert.ok(turned, 'a setImmediate callback ran before the convolution finished');
        assert.deepStrictEqual(y, want);
      });
      it('gemmAsync matches the naive product', async function () {
        const rng = makeRng(99);
        const A = randArray(37 * 21, rng), B = randArray(21 * 15, rng), C = new Float32Array(37 * 15);
        await b.gemmAsync(false, true, 37, 15, 21, 1, A, B, 0, C);
        assertClose(C, naiveGemm(false, true, 37, 15, 21, 1, A, B, 0, C), 'C');
      });
      it('bad arguments reject with the sync form\'s error class', async function () {
        const g = { N: 1, C: 1, H: 3, W: 3, K: 1, R: 1, S: 1, strideH: 1, strideW: 1, padTop: 0,
          padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1 };
        await assert.rejects(b.conv2dForwardAsync(g, new Float64Array(9), new Float32Array(1), null, new Float32Array(9)),
          (e) => e instanceof TypeError && /\bx\b/.test(e.message));
        await assert.rejects(b.gemmAsync(false, false, 2, 2, 2, 1, new Float32Array(3), new Float32Array(4), 0, new Float32Array(4)),
          (e) => e instanceof RangeError && /\bA\b/.test(e.message));
      });
      it('several async convolutions in flight at once', async function () {
        const c = opCases(['conv2d']).find((k) => k.name === 'conv2d_stride2_pad1');
        const g = convGeometry(c);
        const x = decode(c.inputs.x), w = decode(c.inputs.weight), bias = decode(c.inputs.bias);
        const ys = Array.from({ length: 8 }, () => new Float32Array(numel(c.expected.y)));
        await Promise.all(ys.map((y) => b.conv2dForwardAsync(g, x, w, bias, y)));
        for (const y of ys) assertClose(y, decode(c.expected.y), 'y');
      });
    });

    for (const isa of ['scalar', 'avx2', 'avx512']) {
      describe(`forced ISA ${isa}`, function () {
        let prev;
        before(function () {
          prev = b.info().isa;
          try {
            b.setIsa(isa);
          } catch (e) {
            if (e instanceof RangeError) this.skip();
            throw e;
          }
        });
        after(function () { if (prev) b.setIsa(prev); });
        it('info() reports it', function () { assert.strictEqual(b.info().isa, isa); });
        describe('gemm', function () { gemmTests(get); });
        describe('conv', function () { convTests(get); });
        describe('pooling', function () { poolTests(get); });
        describe('worked examples', function () { examplesTests(get); });
      });
    }

    it('RECEPTIVE_ADDON_PATH pointing nowhere makes loadNativeBackend throw with the reason', function () {
      const { loadNativeBackend } = require('../dist/backend/native');
      const saved = process.env.RECEPTIVE_ADDON_PATH;
      process.env.RECEPTIVE_ADDON_PATH = '/nonexistent/receptive.node';
      try {
        assert.throws(() => loadNativeBackend(), (e) => e instanceof Error && /RECEPTIVE_ADDON_PATH/.test(e.message));
      } finally {
        if (saved === undefined) delete process.env.RECEPTIVE_ADDON_PATH;
        else process.env.RECEPTIVE_ADDON_PATH = saved;
      }
    });

    it('setIsa rejects unknown names with a RangeError', function () {
      assert.throws(() => b.setIsa('sse9'), RangeError);
      assert.throws(() => b.setIsa(3), TypeError);
    });
  }
});
