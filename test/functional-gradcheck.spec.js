// Finite-difference gradient checks of every differentiable functional op, on small
// random inputs, on each backend. Inputs of max-type ops (relu, max pooling) are distinct
// values far (0.1) from each other and from 0, so no kink lies within eps.
'use strict';
const R = require('../dist');
const { F } = R;
const { gradcheck } = require('./helpers/gradcheck');
const { describeEachBackend } = require('./helpers/backends');

let seed = 1000;
function rn(shape, requiresGrad = true) {
  return R.randn(shape, { seed: seed++, requiresGrad });
}
/** Values in [lo, hi). */
function uni(shape, lo, hi, requiresGrad = true) {
  const t = R.rand(shape, { seed: seed++ });
  for (let i = 0; i < t.data.length; i++) t.data[i] = lo + (hi - lo) * t.data[i];
  t.requiresGrad = requiresGrad;
  return t;
}
/** Distinct values ..., -0.15, -0.05, 0.05, 0.15, ... in random order. */
function distinct(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const perm = new R.Generator(seed++).permutation(n);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (perm[i] - n / 2 + 0.5) * 0.1;
  return R.tensor(d, shape, { requiresGrad: true });
}
function check(fn, inputs, opts) {
  return gradcheck(fn, inputs, opts);
}

describeEachBackend('F gradcheck: convolutions', function () {
  const conv2dCases = [
    ['basic, padding 1', [2, 3, 5, 5], [4, 3, 3, 3], { padding: 1 }],
    ["'same' with an even kernel", [1, 2, 6, 6], [3, 2, 4, 4], { padding: 'same' }],
    ["'same' with an even kernel and dilation 2", [1, 2, 7, 6], [2, 2, 2, 4], { padding: 'same', dilation: 2 }],
    ["'valid'", [1, 2, 6, 5], [2, 2, 3, 2], { padding: 'valid' }],
    ["'full'", [1, 2, 4, 4], [2, 2, 3, 3], { padding: 'full' }],
    ['per-side padding [[1, 0], [2, 1]]', [1, 2, 5, 5], [3, 2, 3, 3], { padding: [[1, 0], [2, 1]] }],
    ['groups 2', [2, 4, 5, 5], [6, 2, 3, 3], { groups: 2, padding: 1 }],
    ['depthwise', [1, 3, 5, 5], [3, 1, 3, 3], { groups: 3, padding: 1 }],
    ['dilation 2', [1, 2, 7, 7], [2, 2, 3, 3], { dilation: 2, padding: 2 }],
    ['stride 2', [2, 2, 7, 7], [3, 2, 3, 3], { stride: 2, padding: 1 }],
    ['stride [2, 1], padding [0, 2], dilation [1, 2]', [1, 2, 7, 6], [2, 2, 3, 2], { stride: [2, 1], padding: [0, 2], dilation: [1, 2] }],
    ['1x1 kernel', [2, 3, 4, 4], [5, 3, 1, 1], {}],
  ];
  for (const [name, xs, ws, opts] of conv2dCases) {
    it(`conv2d ${name}`, function () {
      check((x, w, b) => F.conv2d(x, w, b, opts), [rn(xs), rn(ws), rn([ws[0]])]);
    });
  }
  it('conv2d without bias, and with only the weight needing grad', function () {
    check((x, w) => F.conv2d(x, w, null, { padding: 1 }), [rn([1, 2, 4, 4]), rn([3, 2, 3, 3])]);
    check((x, w) => F.conv2d(x, w, undefined, { stride: 2 }), [rn([1, 2, 5, 5], false), rn([3, 2, 3, 3])]);
  });
  it('conv2d on unbatched [C, H, W] input', function () {
    check((x, w, b) => F.conv2d(x, w, b, { padding: 1 }), [rn([2, 4, 4]), rn([3, 2, 3, 3]), rn([3])]);
  });
  it('conv1d: basic, stride/dilation, per-side padding, groups, same', function () {
    check((x, w, b) => F.conv1d(x, w, b), [rn([2, 3, 9]), rn([4, 3, 3]), rn([4])]);
    check((x, w, b) => F.conv1d(x, w, b, { stride: 2, padding: 1, dilation: 2 }), [rn([2, 2, 12]), rn([3, 2, 3]), rn([3])]);
    check((x, w, b) => F.conv1d(x, w, b, { padding: [[2, 1]] }), [rn([1, 2, 6]), rn([2, 2, 3]), rn([2])]);
    check((x, w, b) => F.conv1d(x, w, b, { padding: [0, 3] }), [rn([1, 2, 6]), rn([2, 2, 3]), rn([2])]);
    check((x, w, b) => F.conv1d(x, w, b, { padding: 'same', groups: 2 }), [rn([1, 4, 7]), rn([4, 2, 4]), rn([4])]);
  });
  it('convolve2d (true convolution) with stride and padding, and convolve1d', function () {
    check((x, w, b) => F.convolve2d(x, w, b, { stride: 2, padding: 1 }), [rn([2, 2, 6, 6]), rn([3, 2, 3, 2]), rn([3])]);
    check((x, w, b) => F.convolve2d(x, w, b, { padding: 'same' }), [rn([1, 2, 5, 5]), rn([2, 2, 2, 3]), rn([2])]);
    check((x, w, b) => F.convolve1d(x, w, b, { padding: 'full' }), [rn([1, 2, 5]), rn([2, 2, 3]), rn([2])]);
  });
  const convT2dCases = [
    ['basic', [2, 3, 3, 3], [3, 2, 3, 3], {}],
    ['stride 2, padding 1, outputPadding 1', [1, 4, 3, 3], [4, 3, 3, 3], { stride: 2, padding: 1, outputPadding: 1 }],
    ['stride 2, outputPadding 1 > padding 0', [1, 2, 3, 3], [2, 2, 3, 3], { stride: 2, outputPadding: 1 }],
    ['groups 2, dilation 2', [1, 4, 3, 3], [4, 1, 3, 3], { groups: 2, dilation: 2 }],
    ['rectangular stride [2, 3], padding [1, 0], outputPadding [0, 2]', [1, 2, 3, 3], [2, 3, 3, 2], { stride: [2, 3], padding: [1, 0], outputPadding: [0, 2] }],
  ];
  for (const [name, xs, ws, opts] of convT2dCases) {
    it(`convTranspose2d ${name}`, function () {
      check((x, w, b) => F.convTranspose2d(x, w, b, opts), [rn(xs), rn(ws), rn([ws[1] * (opts.groups || 1)])]);
    });
  }
  it('convTranspose1d: stride 3, padding 1, outputPadding 2; groups 2', function () {
    check((x, w, b) => F.convTranspose1d(x, w, b, { stride: 3, padding: 1, outputPadding: 2 }), [rn([2, 2, 4]), rn([2, 3, 4]), rn([3])]);
    check((x, w, b) => F.convTranspose1d(x, w, b, { groups: 2, dilation: 2 }), [rn([1, 4, 5]), rn([4, 2, 3]), rn([4])]);
  });
});

describeEachBackend('F gradcheck: pooling', function () {
  const max2d = [
    ['k2 s2', [2, 2, 4, 4], { kernelSize: 2 }],
    ['k3 s2 pad 1', [1, 2, 7, 7], { kernelSize: 3, stride: 2, padding: 1 }],
    ['k3 s2 ceilMode', [1, 2, 8, 8], { kernelSize: 3, stride: 2, ceilMode: true }],
    ['k2 s1 dilation 2', [1, 2, 6, 6], { kernelSize: 2, stride: 1, dilation: 2 }],
    ['rectangular k [2, 3] s [1, 2] pad [1, 1] ceilMode', [1, 1, 5, 8], { kernelSize: [2, 3], stride: [1, 2], padding: [1, 1], ceilMode: true }],
  ];
  for (const [name, xs, opts] of max2d) {
    it(`maxPool2d ${name}`, function () { check((x) => F.maxPool2d(x, opts), [distinct(xs)]); });
  }
  it('maxPool1d (k3 s2; k2 s2 pad 1 ceilMode)', function () {
    check((x) => F.maxPool1d(x, { kernelSize: 3, stride: 2 }), [distinct([2, 2, 9])]);
    check((x) => F.maxPool1d(x, { kernelSize: 2, padding: 1, ceilMode: true }), [distinct([1, 2, 8])]);
  });
  const avg2d = [
    ['k2 s2', [2, 2, 4, 4], { kernelSize: 2 }],
    ['k3 s2 pad 1 countIncludePad', [1, 2, 7, 7], { kernelSize: 3, stride: 2, padding: 1 }],
    ['k3 s2 pad 1 without countIncludePad', [1, 2, 7, 7], { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }],
    ['k3 s2 ceilMode', [1, 2, 8, 8], { kernelSize: 3, stride: 2, ceilMode: true }],
    ['k3 s2 pad 1 ceilMode, both countIncludePad', [1, 1, 6, 6], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }],
    ['k3 s2 pad 1 ceilMode, exclude pad', [1, 1, 6, 6], { kernelSize: 3, stride: 2, padding: 1, ceilMode: true, countIncludePad: false }],
  ];
  for (const [name, xs, opts] of avg2d) {
    it(`avgPool2d ${name}`, function () { check((x) => F.avgPool2d(x, opts), [rn(xs)]); });
  }
  it('avgPool1d (k3 s2 pad 1; ceilMode)', function () {
    check((x) => F.avgPool1d(x, { kernelSize: 3, stride: 2, padding: 1 }), [rn([2, 2, 9])]);
    check((x) => F.avgPool1d(x, { kernelSize: 3, stride: 2, ceilMode: true, countIncludePad: false }), [rn([1, 2, 8])]);
  });
  it('adaptiveAvgPool2d (7 -> 3, 5x6 -> [2, 4], global) and adaptiveAvgPool1d', function () {
    check((x) => F.adaptiveAvgPool2d(x, 3), [rn([1, 2, 7, 7])]);
    check((x) => F.adaptiveAvgPool2d(x, [2, 4]), [rn([2, 2, 5, 6])]);
    check((x) => F.adaptiveAvgPool2d(x, 1), [rn([2, 3, 4, 4])]);
    check((x) => F.adaptiveAvgPool1d(x, 4), [rn([1, 2, 7])]);
  });
});

describeEachBackend('F gradcheck: pad, linear, activations', function () {
  it('pad constant (value, negative pads), reflect, replicate, circular', function () {
    check((x) => F.pad(x, [1, 2, 0, 1], { value: 0.5 }), [rn([2, 2, 3, 3])]);
    check((x) => F.pad(x, [-1, 2, 1, -1]), [rn([1, 2, 4, 4])]);
    check((x) => F.pad(x, [2, 1, 1, 2], { mode: 'reflect' }), [rn([1, 2, 4, 4])]);
    check((x) => F.pad(x, [2, 3], { mode: 'reflect' }), [rn([2, 2, 4])]);
    check((x) => F.pad(x, [2, 1, 3, 0], { mode: 'replicate' }), [rn([1, 2, 3, 3])]);
    check((x) => F.pad(x, [3, 1, 1, 2], { mode: 'circular' }), [rn([1, 1, 3, 4])]);
    check((x) => F.pad(x, [1, 1, 1, 0, 0, 2]), [rn([1, 2, 2, 3])]);
  });
  it('linear on 2-D, 3-D and 1-D input, with and without bias', function () {
    check((x, w, b) => F.linear(x, w, b), [rn([4, 5]), rn([3, 5]), rn([3])]);
    check((x, w, b) => F.linear(x, w, b), [rn([2, 3, 5]), rn([4, 5]), rn([4])]);
    check((x, w) => F.linear(x, w), [rn([5]), rn([2, 5])]);
  });
  it('relu, tanh, sigmoid, flatten', function () {
    check((x) => F.relu(x), [distinct([2, 3, 4])]);
    check((x) => F.tanh(x), [rn([3, 4])]);
    check((x) => F.sigmoid(x), [rn([3, 4])]);
    check((x) => F.flatten(x).mul(R.arange(24).reshape(2, 12)), [rn([2, 3, 2, 2])]);
  });
  it('dropout with a fixed seed', function () {
    check((x) => F.dropout(x, { p: 0.3, seed: 7 }), [rn([4, 5])]);
  });
});

describeEachBackend('F gradcheck: normalisation and softmax', function () {
  it('batchNorm training on [N, C], [N, C, L], [N, C, H, W]', function () {
    check((x, w, b) => F.batchNorm(x, null, null, w, b, { training: true }), [rn([6, 3]), rn([3]), rn([3])]);
    check((x, w, b) => F.batchNorm(x, R.zeros([2]), R.ones([2]), w, b, { training: true }), [rn([3, 2, 4]), rn([2]), rn([2])]);
    check((x, w, b) => F.batchNorm(x, R.zeros([3]), R.ones([3]), w, b, { training: true, eps: 1e-3 }), [rn([2, 3, 3, 3]), rn([3]), rn([3])]);
  });
  it('batchNorm training without weight/bias, and eval', function () {
    check((x) => F.batchNorm(x, null, null, null, null, { training: true }), [rn([4, 3, 2])]);
    const rm = rn([3], false), rv = uni([3], 0.5, 2, false);
    check((x, w, b) => F.batchNorm(x, rm, rv, w, b), [rn([2, 3, 3, 3]), rn([3]), rn([3])]);
  });
  it('localResponseNorm (size 5 and even size 2, k 2, alpha 0.1)', function () {
    check((x) => F.localResponseNorm(x, { size: 5, alpha: 0.1, beta: 0.75, k: 2 }), [rn([2, 7, 2, 2])]);
    check((x) => F.localResponseNorm(x, { size: 2, alpha: 0.5, beta: 0.6, k: 1 }), [rn([1, 4, 3])]);
    check((x) => F.localResponseNorm(x, { size: 3 }), [rn([1, 3, 2, 2])]);
  });
  it('softmax and logSoftmax along dims 1 and -1', function () {
    check((x) => F.softmax(x, 1), [rn([3, 5])]);
    check((x) => F.softmax(x, 1), [rn([2, 4, 3])]);
    check((x) => F.logSoftmax(x, -1), [rn([2, 3, 4])]);
    check((x) => F.logSoftmax(x, 0), [rn([4, 3])]);
  });
});

describeEachBackend('F gradcheck: losses', function () {
  const t = Int32Array.from([1, 0, 4, 2, 3, 1]);
  for (const reduction of ['mean', 'sum', 'none']) {
    it(`crossEntropy reduction '${reduction}' (plain, labelSmoothing, weight, ignoreIndex)`, function () {
      check((x) => F.crossEntropy(x, t, { reduction }), [rn([6, 5])]);
      check((x) => F.crossEntropy(x, t, { reduction, labelSmoothing: 0.2 }), [rn([6, 5])]);
      const w = uni([5], 0.5, 2, false);
      check((x) => F.crossEntropy(x, t, { reduction, weight: w, labelSmoothing: 0.1 }), [rn([6, 5])]);
      check((x) => F.crossEntropy(x, [1, -100, 4, 2, -100, 1], { reduction, labelSmoothing: 0.3 }), [rn([6, 5])]);
      check((x) => F.crossEntropy(x, t, { reduction, ignoreIndex: 1, weight: w }), [rn([6, 5])]);
    });
  }
  it('crossEntropy on [N, C, H, W] with a Tensor target, and on probabilities', function () {
    const tt = R.tensor([0, 2, 1, 1, 2, 0, 0, 1], [2, 2, 2]);
    check((x) => F.crossEntropy(x, tt, { labelSmoothing: 0.1 }), [rn([2, 3, 2, 2])]);
    check((x) => F.crossEntropy(x, tt, { reduction: 'none' }), [rn([2, 3, 2, 2])]);
    const p = F.softmax(rn([4, 3], false), 1).detach();
    p.requiresGrad = true;
    check((x, q) => F.crossEntropy(x, q, { labelSmoothing: 0.2 }), [rn([4, 3]), p]);
  });
  it('nllLoss (mean, sum, none, weight, ignoreIndex)', function () {
    const tn = [2, 0, 1, 2];
    const w = uni([3], 0.5, 2, false);
    check((x) => F.nllLoss(F.logSoftmax(x, 1), tn), [rn([4, 3])]);
    check((x) => F.nllLoss(x, tn, { reduction: 'sum' }), [rn([4, 3])]);
    check((x) => F.nllLoss(x, tn, { reduction: 'none', weight: w }), [rn([4, 3])]);
    check((x) => F.nllLoss(x, tn, { weight: w, ignoreIndex: 0 }), [rn([4, 3])]);
  });
  it('mseLoss w.r.t. both input and target', function () {
    for (const reduction of ['mean', 'sum', 'none']) {
      check((x, y) => F.mseLoss(x, y, { reduction }), [rn([3, 4]), rn([3, 4])]);
    }
  });
});
