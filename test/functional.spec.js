// F by hand: the study notes' worked examples (1-D decaying filter, mean filter, narrow /
// wide / equal-width output sizes, max and mean pooling), pad modes on small cases,
// semantics that the fixtures do not pin down, and the option-parsing errors.
'use strict';
const assert = require('assert');
const R = require('../dist');
const { F } = R;
const { describeEachBackend } = require('./helpers/backends');

function t(data, shape, requiresGrad = false) {
  return R.tensor(Float32Array.from(data.flat(Infinity)), shape, { requiresGrad });
}
function near(got, want, tol = 1e-5, label = 'value') {
  const g = got.data ? Array.from(got.data) : Array.from(got);
  const w = want && want.data ? Array.from(want.data) : Array.isArray(want) ? want.flat(Infinity) : Array.from(want);
  assert.strictEqual(g.length, w.length, `${label}: length ${g.length} != ${w.length}`);
  for (let i = 0; i < w.length; i++) {
    assert.ok(Math.abs(g[i] - w[i]) <= tol * Math.max(1, Math.abs(w[i])), `${label}[${i}] = ${g[i]}, expected ${w[i]}\n got ${g}\nwant ${w}`);
  }
}
function throwsWith(fn, re) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, 'an Error');
    assert.match(e.message, re);
    return true;
  });
}
let seed = 5000;
const rn = (shape, requiresGrad = false) => R.randn(shape, { seed: seed++, requiresGrad });
function dot(a, b) { let s = 0; for (let i = 0; i < a.data.length; i++) s += a.data[i] * b.data[i]; return s; }

describeEachBackend('F worked examples from the study notes', function () {
  it('1-D signal with the decaying filter [1, 0.5, 0.25] (true convolution = conv1d with the flipped filter)', function () {
    const x = t([1, 2, 3, 4, 5], [1, 1, 5]);
    const w = t([1, 0.5, 0.25], [1, 1, 3]);
    // y_t = x_t + 0.5 x_{t-1} + 0.25 x_{t-2}
    near(F.convolve1d(x, w), [4.25, 6, 7.75]);
    near(F.conv1d(x, t([0.25, 0.5, 1], [1, 1, 3])), [4.25, 6, 7.75]);
    // 'full' is the whole convolution sum (numpy.convolve): length n + k - 1.
    const full = F.convolve1d(x, w, null, { padding: 'full' });
    assert.deepStrictEqual(full.shape, [1, 1, 7]);
    near(full, [1, 2.5, 4.25, 6, 7.75, 3.5, 1.25]);
    // Cross-correlation with the unflipped filter measures similarity instead.
    near(F.conv1d(x, w), [1 + 1 + 0.75, 2 + 1.5 + 1, 3 + 2 + 1.25]);
  });

  it('3x3 mean filter on a 4x4 image (valid and same)', function () {
    const img = t(Array.from({ length: 16 }, (_, i) => i + 1), [1, 1, 4, 4]);
    const mean = t(new Array(9).fill(1 / 9), [1, 1, 3, 3]);
    near(F.conv2d(img, mean), [[6, 7], [10, 11]]);
    near(F.convolve2d(img, mean), [[6, 7], [10, 11]]);
    const same = F.conv2d(img, mean, null, { padding: 'same' });
    assert.deepStrictEqual(same.shape, [1, 1, 4, 4]);
    near(same.data.slice(0, 2), [(1 + 2 + 5 + 6) / 9, (1 + 2 + 3 + 5 + 6 + 7) / 9]);
  });

  it('narrow / wide / equal-width output sizes follow floor((n + 2p - k) / s) + 1', function () {
    for (const n of [5, 7, 8]) {
      for (const k of [1, 2, 3, 4]) {
        if (k > n) continue;
        const x = rn([1, 1, n]), w = rn([1, 1, k]);
        assert.strictEqual(F.conv1d(x, w, null, { padding: 'valid' }).shape[2], n - k + 1, `narrow n=${n} k=${k}`);
        assert.strictEqual(F.conv1d(x, w, null, { padding: 'full' }).shape[2], n + k - 1, `wide n=${n} k=${k}`);
        assert.strictEqual(F.conv1d(x, w, null, { padding: 'same' }).shape[2], n, `equal width n=${n} k=${k}`);
        for (const s of [1, 2, 3]) {
          for (const p of [0, 1, 2]) {
            const got = F.conv1d(x, w, null, { stride: s, padding: p }).shape[2];
            assert.strictEqual(got, Math.floor((n + 2 * p - k) / s) + 1, `n=${n} k=${k} s=${s} p=${p}`);
          }
        }
      }
    }
    const x2 = rn([1, 2, 9, 7]), w2 = rn([3, 2, 3, 2]);
    assert.deepStrictEqual(F.conv2d(x2, w2, null, { stride: [2, 3], padding: [1, 2] }).shape,
      [1, 3, Math.floor((9 + 2 - 3) / 2) + 1, Math.floor((7 + 4 - 2) / 3) + 1]);
    assert.deepStrictEqual(F.conv2d(x2, w2, null, { padding: 'full' }).shape, [1, 3, 11, 8]);
    assert.deepStrictEqual(F.conv2d(x2, w2, null, { padding: 'same', dilation: 2 }).shape, [1, 3, 9, 7]);
  });

  it("'same' with an even kernel puts the extra padding at the bottom/right", function () {
    const x = rn([1, 1, 5, 6]), w = rn([1, 1, 2, 4]);
    const same = F.conv2d(x, w, null, { padding: 'same' });
    near(same, F.conv2d(x, w, null, { padding: [[0, 1], [1, 2]] }));
    near(same, F.conv2d(F.pad(x, [1, 2, 0, 1]), w));
  });

  it('max and mean pooling of a 4x4 block with 2x2 windows', function () {
    const x = t([[1, 3, 2, 1], [4, 6, 5, 0], [7, 2, 9, 8], [1, 0, 3, 4]], [1, 1, 4, 4]);
    near(F.maxPool2d(x, { kernelSize: 2 }), [[6, 5], [7, 9]]);
    near(F.avgPool2d(x, { kernelSize: 2 }), [[3.5, 2], [2.5, 6]]);
    near(F.adaptiveAvgPool2d(x, 1), [(1 + 3 + 2 + 1 + 4 + 6 + 5 + 0 + 7 + 2 + 9 + 8 + 1 + 0 + 3 + 4) / 16]);
    // The gradient of max pooling goes to the maximum of each window only.
    const xg = t([[1, 3, 2, 1], [4, 6, 5, 0], [7, 2, 9, 8], [1, 0, 3, 4]], [1, 1, 4, 4], true);
    F.maxPool2d(xg, { kernelSize: 2 }).sum().backward();
    near(xg.grad, [[0, 0, 0, 0], [0, 1, 1, 0], [1, 0, 1, 0], [0, 0, 0, 0]]);
  });
});

describeEachBackend('F.maxPool2d: argmax indices only when a backward may run', function (name, be) {
  function spy(fn) {
    const calls = [];
    const orig = be.maxPool2dForward;
    be.maxPool2dForward = function (g, x, y, indices) {
      calls.push(indices);
      return orig.call(this, g, x, y, indices);
    };
    try { fn(); } finally { be.maxPool2dForward = orig; }
    return calls;
  }
  const data = Array.from({ length: 2 * 3 * 9 * 11 }, (_, i) => Math.sin(i * 1.7) * 3);
  const opts = { kernelSize: 3, stride: 2, padding: 1, ceilMode: true };

  it('no requiresGrad, or under noGrad: null indices, the same output', function () {
    let plain, under, graded;
    const callsPlain = spy(() => { plain = F.maxPool2d(t(data, [2, 3, 9, 11]), opts); });
    const callsNoGrad = spy(() => { under = R.noGrad(() => F.maxPool2d(t(data, [2, 3, 9, 11], true), opts)); });
    const callsGrad = spy(() => { graded = F.maxPool2d(t(data, [2, 3, 9, 11], true), opts); });
    assert.deepStrictEqual(callsPlain, [null]);
    assert.deepStrictEqual(callsNoGrad, [null]);
    assert.strictEqual(callsGrad.length, 1);
    assert.ok(callsGrad[0] instanceof Int32Array, 'indices computed when a gradient is recorded');
    assert.deepStrictEqual(Array.from(plain.data), Array.from(graded.data));
    assert.deepStrictEqual(Array.from(under.data), Array.from(graded.data));
    assert.ok(!plain.requiresGrad && !under.requiresGrad && graded.requiresGrad);
  });

  it('under a tape the gradient goes to each window\'s first maximum', function () {
    const x = t(data, [2, 3, 9, 11], true);
    const y = F.maxPool2d(x, opts);
    const w = Float32Array.from({ length: y.size }, (_, i) => 1 + (i % 5));
    y.mul(R.tensor(w, y.shape)).sum().backward();
    // Reference: scan each window in row-major order by hand.
    const want = new Float32Array(data.length);
    const [H, W, OH, OW] = [9, 11, y.shape[2], y.shape[3]];
    for (let p = 0; p < 6; p++) {
      for (let oh = 0; oh < OH; oh++) {
        for (let ow = 0; ow < OW; ow++) {
          let best = -Infinity, at = -1;
          for (let r = 0; r < 3; r++) {
            for (let s = 0; s < 3; s++) {
              const h = oh * 2 - 1 + r, c = ow * 2 - 1 + s;
              if (h < 0 || h >= H || c < 0 || c >= W) continue;
              const v = data[p * H * W + h * W + c];
              if (at < 0 || v > best) { best = v; at = h * W + c; }
            }
          }
          want[p * H * W + at] += w[(p * OH + oh) * OW + ow];
        }
      }
    }
    near(x.grad, want);
  });
});

describeEachBackend('F semantics', function () {
  it('convolve2d equals conv2d with the kernel flipped in both axes; gradients w.r.t. the unflipped kernel', function () {
    const x = rn([2, 2, 5, 5]), w = rn([3, 2, 3, 2]), b = rn([3]);
    const wf = R.tensor(new Float32Array(w.size), w.shape);
    for (let kc = 0; kc < 6; kc++) for (let i = 0; i < 6; i++) wf.data[kc * 6 + i] = w.data[kc * 6 + 5 - i];
    near(F.convolve2d(x, w, b, { stride: 2, padding: 1 }), F.conv2d(x, wf, b, { stride: 2, padding: 1 }), 1e-5);
  });

  it('convTranspose2d is the adjoint of conv2d: <conv(x), y> = <x, convT(y)>', function () {
    for (const o of [{ stride: 2, padding: 1 }, { stride: 1, dilation: 2, groups: 2 }, { stride: 3, padding: 2 }]) {
      const x = rn([2, 4, 9, 8]), w = rn([6, 4 / (o.groups || 1), 3, 3]);
      const y = F.conv2d(x, w, null, o);
      const g = rn(y.shape);
      const back = F.convTranspose2d(g, w, null, { ...o, outputPadding: [9, 8].map((n) => (n + 2 * (o.padding || 0) - 3) % o.stride) });
      assert.deepStrictEqual(back.shape, x.shape);
      const a = dot(y, g), c = dot(x, back);
      assert.ok(Math.abs(a - c) <= 1e-3 * Math.max(1, Math.abs(a)), `${a} vs ${c} for ${JSON.stringify(o)}`);
    }
  });

  it('convTranspose output size (H-1)s - 2p + d(k-1) + outputPadding + 1, bias added everywhere', function () {
    const x = rn([1, 2, 4, 5]), w = rn([2, 3, 3, 2]);
    const y = F.convTranspose2d(x, w, R.ones([3]), { stride: [2, 3], padding: [1, 0], outputPadding: [1, 2], dilation: [1, 2] });
    assert.deepStrictEqual(y.shape, [1, 3, 3 * 2 - 2 + 2 + 1 + 1, 4 * 3 + 2 + 2 + 1]);
    const z = F.convTranspose2d(R.zeros([1, 2, 2, 2]), w, t([1, 2, 3], [3]), { stride: 2, outputPadding: 1 });
    assert.deepStrictEqual(z.shape, [1, 3, 6, 5]);
    assert.ok(z.data.slice(0, 30).every((v) => v === 1) && z.data.slice(60).every((v) => v === 3));
    assert.deepStrictEqual(F.convTranspose1d(rn([2, 3]), rn([2, 4, 3]), null, { stride: 2 }).shape, [4, (3 - 1) * 2 + 2 + 1]);
  });

  it('unbatched input: conv2d [C, H, W], conv1d [C, L], pools', function () {
    const x = rn([2, 5, 5]), w = rn([3, 2, 3, 3]);
    const y = F.conv2d(x, w, null, { padding: 1 });
    assert.deepStrictEqual(y.shape, [3, 5, 5]);
    near(y, F.conv2d(x.reshape(1, 2, 5, 5), w, null, { padding: 1 }));
    assert.deepStrictEqual(F.conv1d(rn([2, 7]), rn([4, 2, 3])).shape, [4, 5]);
    assert.deepStrictEqual(F.maxPool2d(x, { kernelSize: 2 }).shape, [2, 2, 2]);
    assert.deepStrictEqual(F.avgPool1d(rn([3, 8]), { kernelSize: 2 }).shape, [3, 4]);
  });

  it('pooling: stride defaults to kernelSize, ceilMode, countIncludePad, adaptive bins', function () {
    const x = t(Array.from({ length: 25 }, (_, i) => i), [1, 1, 5, 5]);
    assert.deepStrictEqual(F.maxPool2d(x, { kernelSize: 2 }).shape, [1, 1, 2, 2]);
    assert.deepStrictEqual(F.maxPool2d(x, { kernelSize: 2, ceilMode: true }).shape, [1, 1, 3, 3]);
    near(F.maxPool2d(x, { kernelSize: 2, ceilMode: true }), [[6, 8, 9], [16, 18, 19], [21, 23, 24]]);
    // 1-D [0, 1, 2, 3], k 3, s 2, pad 1: windows {pad, 0, 1}, {1, 2, 3}.
    const v = t([0, 1, 2, 3], [1, 1, 4]);
    near(F.avgPool1d(v, { kernelSize: 3, stride: 2, padding: 1 }), [1 / 3, 2]);
    near(F.avgPool1d(v, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false }), [0.5, 2]);
    near(F.maxPool1d(t([-1, -2, -3, -4], [1, 1, 4]), { kernelSize: 3, stride: 2, padding: 1 }), [-1, -2]);
    // Adaptive: 5 -> 3 bins [0, 2), [1, 4), [3, 5).
    near(F.adaptiveAvgPool1d(t([1, 2, 3, 4, 5], [1, 1, 5]), 3), [1.5, 3, 4.5]);
    assert.deepStrictEqual(F.adaptiveAvgPool2d(rn([1, 2, 5, 6]), [null, 2]).shape, [1, 2, 5, 2]);
  });

  it('linear on any rank equals x @ W^T + b', function () {
    const x = rn([2, 3, 4]), w = rn([5, 4]), b = rn([5]);
    const y = F.linear(x, w, b);
    assert.deepStrictEqual(y.shape, [2, 3, 5]);
    near(y, x.reshape(6, 4).matmul(w.transpose(0, 1)).add(b), 1e-5);
    assert.deepStrictEqual(F.linear(rn([4]), w).shape, [5]);
  });

  it('relu (gradient 0 at exactly 0), tanh, sigmoid, flatten', function () {
    const x = t([-1, 0, 2, -0.5], [4], true);
    const y = F.relu(x);
    near(y, [0, 0, 2, 0]);
    y.backward(R.ones([4]));
    near(x.grad, [0, 0, 1, 0]);
    near(F.sigmoid(t([0, 100, -100], [3])), [0.5, 1, 0]);
    near(F.tanh(t([0, 1], [2])), [0, Math.tanh(1)]);
    assert.deepStrictEqual(F.flatten(rn([2, 3, 4, 5])).shape, [2, 60]);
    assert.deepStrictEqual(F.flatten(rn([2, 3, 4, 5]), 0, 1).shape, [6, 4, 5]);
  });

  it('batchNorm: training updates the running stats in place (unbiased var), eval uses them', function () {
    const x = t([[1, 10], [3, 20], [5, 30], [7, 40]], [4, 2]);
    const rm = R.zeros([2]), rv = R.ones([2]);
    const y = F.batchNorm(x, rm, rv, null, null, { training: true, momentum: 0.5, eps: 0 });
    // Channel 0: mean 4, biased var 5, unbiased var 20/3.
    near(y.data.filter((_, i) => i % 2 === 0), [-3, -1, 1, 3].map((v) => v / Math.sqrt(5)));
    near(rm, [2, 12.5]);
    near(rv, [0.5 + 0.5 * 20 / 3, 0.5 + 0.5 * (500 / 3)], 1e-5);
    const e = F.batchNorm(x, t([1, 2], [2]), t([4, 9], [2]), t([2, 1], [2]), t([0, 1], [2]), { eps: 0 });
    near(e, [[0, 1 + 8 / 3], [2, 1 + 18 / 3], [4, 1 + 28 / 3], [6, 1 + 38 / 3]], 1e-5);
  });

  it('localResponseNorm follows the window [c - floor(size/2), c + floor((size-1)/2)] with alpha/size', function () {
    const x = t([1, 2, 3, 4], [1, 4, 1, 1]);
    const y = F.localResponseNorm(x, { size: 2, alpha: 1, beta: 1, k: 1 });
    // size 2: window [c-1, c]; denominators 1 + (sum sq)/2.
    near(y, [1 / (1 + 1 / 2), 2 / (1 + 5 / 2), 3 / (1 + 13 / 2), 4 / (1 + 25 / 2)]);
    const y3 = F.localResponseNorm(x, { size: 3, alpha: 3, beta: 0.5, k: 2 });
    near(y3, [1 / Math.sqrt(2 + 5), 2 / Math.sqrt(2 + 14), 3 / Math.sqrt(2 + 29), 4 / Math.sqrt(2 + 25)]);
  });

  it('dropout: inverted scaling, seedable, identity when not training', function () {
    const x = R.ones([1000]);
    const a = F.dropout(x, { p: 0.25, seed: 3 }), b = F.dropout(x, { p: 0.25, seed: 3 });
    assert.deepStrictEqual(Array.from(a.data), Array.from(b.data));
    const kept = a.data.filter((v) => v !== 0);
    assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
    assert.ok(kept.length > 680 && kept.length < 820, `kept ${kept.length}`);
    assert.strictEqual(F.dropout(x, { training: false }), x);
    assert.ok(F.dropout(x, { p: 1 }).data.every((v) => v === 0));
    const g = new R.Generator(9), g2 = new R.Generator(9);
    assert.deepStrictEqual(Array.from(F.dropout(x, { generator: g }).data), Array.from(F.dropout(x, { generator: g2 }).data));
  });

  it('softmax / logSoftmax are stable for large logits', function () {
    const x = t([[1000, 1001, 1002], [-1000, -1000, -1000]], [2, 3]);
    const p = F.softmax(x, 1);
    const e = [Math.exp(-2), Math.exp(-1), 1], s = e[0] + e[1] + e[2];
    near(p, [e.map((v) => v / s), [1 / 3, 1 / 3, 1 / 3]], 1e-6);
    near(F.logSoftmax(x, -1), [e.map((v) => Math.log(v / s)), [0, 0, 0].map(() => -Math.log(3))], 1e-5);
    near(F.softmax(t([[1, 2], [3, 4]], [2, 2]), 0), [[1 / (1 + Math.E ** 2), 1 / (1 + Math.E ** 2)], [1 / (1 + Math.E ** -2), 1 / (1 + Math.E ** -2)]], 1e-6);
  });

  it('crossEntropy: mean/sum/none, labelSmoothing, weight, ignoreIndex, targets as array/Int32Array/Tensor', function () {
    const z = [[1, 2, 3], [1, 1, 1]];
    const x = t(z, [2, 3]);
    const lse = (r) => Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
    const lp = z.map((r) => r.map((v) => v - lse(r)));
    const l0 = -lp[0][2], l1 = -lp[1][0];
    near(F.crossEntropy(x, [2, 0], { reduction: 'none' }), [l0, l1]);
    near(F.crossEntropy(x, Int32Array.from([2, 0])), [(l0 + l1) / 2]);
    near(F.crossEntropy(x, t([2, 0], [2]), { reduction: 'sum' }), [l0 + l1]);
    assert.deepStrictEqual(F.crossEntropy(x, [2, 0]).shape, []);
    const eps = 0.1;
    const sm = (r) => -r.reduce((a, v) => a + v, 0);
    near(F.crossEntropy(x, [2, 0], { labelSmoothing: eps }),
      [((1 - eps) * (l0 + l1) + (eps / 3) * (sm(lp[0]) + sm(lp[1]))) / 2]);
    const w = [0.5, 2, 1];
    near(F.crossEntropy(x, [2, 0], { weight: t(w, [3]) }), [(w[2] * l0 + w[0] * l1) / (w[2] + w[0])]);
    near(F.crossEntropy(x, [2, -100]), [l0]);
    near(F.crossEntropy(x, [2, 1], { ignoreIndex: 1, labelSmoothing: eps }), [(1 - eps) * l0 + (eps / 3) * sm(lp[0])]);
    // Class probabilities (a target shaped like the input).
    near(F.crossEntropy(x, t([[0, 0, 1], [1, 0, 0]], [2, 3])), [(l0 + l1) / 2], 1e-6);
    // Spatial [N, C, d] and unbatched [C].
    assert.deepStrictEqual(F.crossEntropy(rn([2, 3, 4]), [0, 1, 2, 0, 1, 2, 0, 1], { reduction: 'none' }).shape, [2, 4]);
    near(F.crossEntropy(t([1, 2, 3], [3]), [2]), [l0]);
  });

  it('nllLoss and mseLoss', function () {
    const lp = t([[-1, -2, -3], [-0.5, -1.5, -2.5]], [2, 3]);
    near(F.nllLoss(lp, [1, 2]), [(2 + 2.5) / 2]);
    near(F.nllLoss(lp, [1, 2], { reduction: 'none' }), [2, 2.5]);
    near(F.nllLoss(lp, [1, 2], { weight: t([1, 3, 1], [3]) }), [(6 + 2.5) / 4]);
    const a = t([1, 2, 3, 4], [2, 2]), b = t([0, 2, 5, 4], [2, 2]);
    near(F.mseLoss(a, b), [5 / 4]);
    near(F.mseLoss(a, b, { reduction: 'sum' }), [5]);
    near(F.mseLoss(a, b, { reduction: 'none' }), [1, 0, 4, 0]);
  });
});

describeEachBackend('F.pad by hand', function () {
  const x = t([1, 2, 3], [1, 1, 3]);
  it('constant, reflect, replicate, circular on [1, 2, 3] with (2, 2)', function () {
    near(F.pad(x, [2, 2]), [0, 0, 1, 2, 3, 0, 0]);
    near(F.pad(x, [2, 2], { value: -1 }), [-1, -1, 1, 2, 3, -1, -1]);
    near(F.pad(x, [2, 2], { mode: 'reflect' }), [3, 2, 1, 2, 3, 2, 1]);
    near(F.pad(x, [2, 2], { mode: 'replicate' }), [1, 1, 1, 2, 3, 3, 3]);
    near(F.pad(x, [2, 2], { mode: 'circular' }), [2, 3, 1, 2, 3, 1, 2]);
    near(F.pad(x, [0, 3], { mode: 'circular' }), [1, 2, 3, 1, 2, 3]);
  });
  it('2-D order [left, right, top, bottom], and negative pads crop', function () {
    const m = t([[1, 2], [3, 4]], [1, 1, 2, 2]);
    const y = F.pad(m, [1, 0, 0, 1], { value: 9 });
    assert.deepStrictEqual(y.shape, [1, 1, 3, 3]);
    near(y, [[9, 1, 2], [9, 3, 4], [9, 9, 9]]);
    near(F.pad(m, [1, 1, 1, 1], { mode: 'reflect' }), [[4, 3, 4, 3], [2, 1, 2, 1], [4, 3, 4, 3], [2, 1, 2, 1]]);
    near(F.pad(m, [1, 0, 1, 0], { mode: 'replicate' }), [[1, 1, 2], [1, 1, 2], [3, 3, 4]]);
    near(F.pad(t([1, 2, 3, 4], [4]), [-1, 1]), [2, 3, 4, 0]);
    near(F.pad(m, [0, 0, -1, 0]), [3, 4]);
    // Three dims at once on a 3-D tensor.
    assert.deepStrictEqual(F.pad(R.ones([2, 2, 2]), [1, 0, 0, 2, 1, 1]).shape, [4, 4, 3]);
  });
  it('gradients sum over every output a source value reaches', function () {
    const v = t([1, 2, 3], [1, 3], true);
    F.pad(v, [2, 2], { mode: 'reflect' }).backward(R.ones([1, 7]));
    near(v.grad, [2, 3, 2]);
    const c = t([1, 2, 3], [1, 3], true);
    F.pad(c, [2, 2], { mode: 'replicate' }).backward(R.ones([1, 7]));
    near(c.grad, [3, 1, 3]);
  });
});

describe('F option parsing and input errors', function () {
  const x = rn([1, 3, 6, 6]), w = rn([4, 3, 3, 3]);
  it('conv: channel mismatch, ranks, bias, groups', function () {
    throwsWith(() => F.conv2d(x, rn([4, 4, 3, 3])), /conv2d: input has 3 channels but weight expects 4 \(groups 1\)/);
    throwsWith(() => F.conv2d(rn([1, 4, 6, 6]), rn([4, 1, 3, 3]), null, { groups: 2 }), /input has 4 channels but weight expects 2 \(groups 2\)/);
    throwsWith(() => F.conv2d(rn([3, 6]), w), /conv2d: expected a 4-D input/);
    throwsWith(() => F.conv1d(x, rn([4, 3, 3])), /conv1d: expected a 3-D input/);
    throwsWith(() => F.conv2d(x, rn([4, 3, 3])), /conv2d: expected a 4-D weight/);
    throwsWith(() => F.conv2d(x, w, rn([3])), /bias must have shape \[4\]/);
    throwsWith(() => F.conv2d(rn([1, 4, 6, 6]), rn([3, 2, 3, 3]), null, { groups: 2 }), /3 output channels.*groups \(2\)/);
    throwsWith(() => F.conv2d(x, w, null, { groups: 0 }), /groups must be a positive integer, got 0/);
  });
  it('conv: numeric options reject NaN, negatives, fractions, wrong lengths', function () {
    throwsWith(() => F.conv2d(x, w, null, { stride: NaN }), /conv2d: stride must be a positive integer, got NaN/);
    throwsWith(() => F.conv2d(x, w, null, { stride: 0 }), /stride must be a positive integer, got 0/);
    throwsWith(() => F.conv2d(x, w, null, { padding: -1 }), /padding must be a non-negative integer, got -1/);
    throwsWith(() => F.conv2d(x, w, null, { dilation: 1.5 }), /dilation must be a positive integer, got 1.5/);
    throwsWith(() => F.conv2d(x, w, null, { stride: [1, 2, 3] }), /stride must be a number or 2 numbers/);
    throwsWith(() => F.conv2d(x, w, null, { padding: [[1, 1]] }), /per-side padding needs 2 \[before, after\] pairs/);
    throwsWith(() => F.conv2d(x, w, null, { padding: [[1, 1], [1]] }), /padding\[1\] must be a \[before, after\] pair/);
    throwsWith(() => F.conv2d(x, w, null, { padding: [[1, -1], [0, 0]] }), /padding\[0\]\[1\] must be a non-negative integer/);
    throwsWith(() => F.conv2d(x, w, null, { padding: 'wide' }), /padding must be a number, an array, 'valid', 'same' or 'full', got 'wide'/);
    throwsWith(() => F.conv2d(x, w, null, { padding: 'same', stride: 2 }), /padding='same' is not supported for strided convolutions/);
    throwsWith(() => F.conv2d(x, w, null, { strides: 2 }), /conv2d: unknown option 'strides'/);
    throwsWith(() => F.conv2d(x, w, null, { outputPadding: 1 }), /unknown option 'outputPadding'/);
  });
  it('conv: kernel larger than the padded input', function () {
    throwsWith(() => F.conv2d(rn([1, 3, 2, 2]), w), /conv2d: kernel size 3x3 \(dilation included\) is larger than the padded input 2x2/);
    throwsWith(() => F.conv2d(x, w, null, { dilation: 3 }), /kernel size 7x7 .* padded input 6x6/);
    assert.deepStrictEqual(F.conv2d(rn([1, 3, 2, 2]), w, null, { padding: 1 }).shape, [1, 4, 2, 2]);
  });
  it('convTranspose: outputPadding, padding forms, channels', function () {
    const wt = rn([3, 2, 3, 3]);
    throwsWith(() => F.convTranspose2d(x, wt, null, { stride: 2, outputPadding: 2 }), /outputPadding 2 must be smaller than either stride \[2, 2\] or dilation \[1, 1\]/);
    throwsWith(() => F.convTranspose2d(x, wt, null, { padding: 'same' }), /padding must be a number or one number per dimension for transposed/);
    throwsWith(() => F.convTranspose2d(rn([1, 4, 3, 3]), wt), /convTranspose2d: input has 4 channels but weight expects 3/);
    throwsWith(() => F.convTranspose2d(rn([1, 3, 1, 1]), wt, null, { padding: 2 }), /output size .* too small/);
    throwsWith(() => F.convTranspose2d(x, wt, rn([3])), /bias must have shape \[2\]/);
  });
  it('pooling options', function () {
    throwsWith(() => F.maxPool2d(x, {}), /maxPool2d: kernelSize is required/);
    throwsWith(() => F.maxPool2d(x, { kernelSize: 2, padding: 2 }), /padding 2 must be at most half of kernelSize 2/);
    throwsWith(() => F.avgPool2d(x, { kernelSize: 0 }), /avgPool2d: kernelSize must be a positive integer, got 0/);
    throwsWith(() => F.maxPool2d(x, { kernelSize: 7 }), /maxPool2d: the window 7x7 .* does not fit/);
    throwsWith(() => F.avgPool2d(x, { kernelSize: 2, dilation: 2 }), /avgPool2d: unknown option 'dilation'/);
    throwsWith(() => F.maxPool2d(x, { kernelSize: 2, ceilMode: 1 }), /ceilMode must be a boolean/);
    throwsWith(() => F.maxPool1d(x, { kernelSize: 2 }), /maxPool1d: expected a 3-D input/);
    throwsWith(() => F.adaptiveAvgPool2d(x, [2, 2, 2]), /outputSize must be a number or 2 entries/);
    throwsWith(() => F.adaptiveAvgPool2d(x, 0), /outputSize must be a positive integer, got 0/);
  });
  it('pad errors', function () {
    throwsWith(() => F.pad(x, [6, 0], { mode: 'reflect' }), /reflect padding \(6, 0\) of dim 3 must be smaller than the input size 6/);
    throwsWith(() => F.pad(x, [7, 0], { mode: 'circular' }), /circular padding/);
    throwsWith(() => F.pad(x, [1]), /pads must be a non-empty array/);
    throwsWith(() => F.pad(x, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), /pad 5 dims but the input \[1, 3, 6, 6\] has 4/);
    throwsWith(() => F.pad(x, [1.5, 1]), /pads\[0\] must be an integer/);
    throwsWith(() => F.pad(x, [1, 1], { mode: 'mirror' }), /mode must be 'constant', 'reflect', 'replicate' or 'circular'/);
    throwsWith(() => F.pad(x, [-4, -3]), /makes the size 6 negative/);
  });
  it('linear, batchNorm, LRN, dropout, softmax errors', function () {
    throwsWith(() => F.linear(rn([2, 5]), rn([3, 4])), /linear: input \[2, 5\] has 5 features .* expects 4/);
    throwsWith(() => F.linear(rn([2, 4]), rn([3, 4]), rn([4])), /linear: bias must have shape \[3\]/);
    throwsWith(() => F.batchNorm(x, null, null), /runningMean and runningVar are required when training is false/);
    throwsWith(() => F.batchNorm(x, R.zeros([4]), R.ones([4])), /runningMean must have shape \[3\]/);
    throwsWith(() => F.batchNorm(rn([1, 3]), null, null, null, null, { training: true }), /more than 1 value per channel/);
    throwsWith(() => F.localResponseNorm(x, {}), /size option is required/);
    throwsWith(() => F.localResponseNorm(rn([2, 3]), { size: 2 }), /rank >= 3/);
    throwsWith(() => F.dropout(x, { p: 1.5 }), /dropout: p must be <= 1, got 1.5/);
    throwsWith(() => F.dropout(x, { p: -0.1 }), /dropout: p must be >= 0/);
    throwsWith(() => F.softmax(x), /softmax: dim is required/);
    throwsWith(() => F.logSoftmax(x, 4), /logSoftmax: dim 4 is out of range for a tensor of rank 4/);
  });
  it('loss targets: out-of-range index, non-integer, wrong count, shapes', function () {
    const logits = rn([3, 4]);
    throwsWith(() => F.crossEntropy(logits, [0, 4, 1]), /crossEntropy: target 4 at index 1 is out of range for 4 classes/);
    throwsWith(() => F.crossEntropy(logits, [0, -1, 1]), /target -1 at index 1 is out of range/);
    throwsWith(() => F.crossEntropy(logits, [0, 1.5, 1]), /target 1.5 at index 1 is not an integer/);
    throwsWith(() => F.crossEntropy(logits, [0, 1]), /target has 2 entries but the input has 3 samples/);
    throwsWith(() => F.crossEntropy(logits, R.tensor([0, 1, 2, 3], [4])), /target of shape \[4\] does not match/);
    throwsWith(() => F.crossEntropy(logits, [0, 1, 2], { reduction: 'avg' }), /reduction must be 'mean', 'sum' or 'none', got 'avg'/);
    throwsWith(() => F.crossEntropy(logits, [0, 1, 2], { labelSmoothing: 2 }), /labelSmoothing must be <= 1/);
    throwsWith(() => F.crossEntropy(logits, [0, 1, 2], { weight: R.ones([3]) }), /weight must have shape \[4\]/);
    throwsWith(() => F.nllLoss(logits, [0, 9, 1]), /nllLoss: target 9 at index 1 is out of range for 4 classes/);
    throwsWith(() => F.mseLoss(rn([2, 3]), rn([3, 2])), /mseLoss: input \[2, 3\] and target \[3, 2\] must have the same shape/);
    throwsWith(() => F.conv2d('x', w), /conv2d: input must be a Tensor, got 'x'/);
  });
});

describe('F: the js and native backends agree on random shapes (forward and gradients)', function () {
  const select = require('../dist/backend/select');
  const { backendsUnderTest } = require('./helpers/backends');
  const names = backendsUnderTest().map((b) => b.name);
  if (names.length < 2) return;
  let prev;
  before(function () { prev = select.getBackend(); });
  after(function () { select.setBackend(prev); });

  function runOn(name, fn, inputs) {
    select.setBackend(name);
    const ins = inputs.map((x) => { const c = R.tensor(x.data.slice(), x.shape.slice(), { requiresGrad: x.requiresGrad }); return c; });
    const y = fn(...ins);
    const g = R.randn(y.shape, { seed: 77 });
    y.backward(g);
    return [y, ...ins.map((x) => x.grad)];
  }
  function agree(label, fn, inputs) {
    const a = runOn('js', fn, inputs), b = runOn('native', fn, inputs);
    a.forEach((ta, i) => {
      if (!ta) { assert.strictEqual(b[i], null); return; }
      let scale = 1e-6;
      for (const v of ta.data) scale = Math.max(scale, Math.abs(v));
      for (let j = 0; j < ta.data.length; j++) {
        assert.ok(Math.abs(ta.data[j] - b[i].data[j]) <= 1e-4 * scale, `${label}: output ${i} element ${j}: js ${ta.data[j]} vs native ${b[i].data[j]}`);
      }
    });
  }
  const gen = new R.Generator(4242);
  const pick = (lo, hi) => lo + gen.randint(hi - lo + 1);

  it('conv2d / convolve2d / convTranspose2d on 40 random geometries', function () {
    for (let i = 0; i < 40; i++) {
      const groups = [1, 1, 2, 3][pick(0, 3)];
      const C = groups * pick(1, 3), K = groups * pick(1, 3);
      const R_ = pick(1, 4), S = pick(1, 4), d = pick(1, 2), s = pick(1, 3);
      const H = pick(d * (R_ - 1) + 1, 10), W = pick(d * (S - 1) + 1, 10);
      const p = pick(0, 2);
      const x = rn([pick(1, 3), C, H, W], true), w = rn([K, C / groups, R_, S], true), b = rn([K], true);
      const o = { stride: s, padding: p, dilation: d, groups };
      const label = JSON.stringify({ shape: x.shape, w: w.shape, ...o });
      agree(`conv2d ${label}`, (x, w, b) => F.conv2d(x, w, b, o), [x, w, b]);
      if (i % 2 === 0) agree(`convolve2d ${label}`, (x, w, b) => F.convolve2d(x, w, b, o), [x, w, b]);
      const wt = rn([C, K / groups, R_, S], true), bt = rn([K], true);
      const op = pick(0, Math.max(s, d) - 1);
      const fits = [[H, R_], [W, S]].every(([n, k]) => (n - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1);
      const ot = { ...o, padding: fits ? p : 0, outputPadding: op };
      agree(`convTranspose2d ${label} ${JSON.stringify(ot)}`, (x, w, b) => F.convTranspose2d(x, w, b, ot), [x, wt, bt]);
    }
  });

  it('pools and linear on random shapes', function () {
    for (let i = 0; i < 20; i++) {
      const k = pick(1, 3), s = pick(1, 3), p = pick(0, Math.floor(k / 2)), ceilMode = pick(0, 1) === 1;
      const x = rn([pick(1, 2), pick(1, 3), pick(k + 1, 9), pick(k + 1, 9)], true);
      agree(`maxPool2d ${x.shape} k${k} s${s} p${p} ${ceilMode}`, (x) => F.maxPool2d(x, { kernelSize: k, stride: s, padding: p, ceilMode }), [x]);
      agree(`avgPool2d ${x.shape} k${k} s${s} p${p} ${ceilMode}`, (x) => F.avgPool2d(x, { kernelSize: k, stride: s, padding: p, ceilMode, countIncludePad: i % 2 === 0 }), [x]);
      const os = [pick(1, 4), pick(1, 4)];
      agree(`adaptiveAvgPool2d ${x.shape} -> ${os}`, (x) => F.adaptiveAvgPool2d(x, os), [x]);
      const inF = pick(1, 40), outF = pick(1, 20);
      agree(`linear ${inF}->${outF}`, (x, w, b) => F.linear(x, w, b), [rn([pick(1, 17), inF], true), rn([outF, inF], true), rn([outF], true)]);
    }
  });
});
