// Every PyTorch reference case in ../shared/fixtures/ops through F, on each backend:
// the forward value and shape, every gradient listed in `differentiable` via autograd,
// and for batch_norm in training mode the updated running statistics.
'use strict';
const assert = require('assert');
const R = require('../dist');
const { F } = R;
const { describeEachBackend } = require('./helpers/backends');
const { opCases, decode, assertClose } = require('./helpers/fixtures');

const CONV_NAMES = {
  conv1d: 'conv1d', conv2d: 'conv2d', convolve2d: 'convolve2d',
  conv_transpose1d: 'convTranspose1d', conv_transpose2d: 'convTranspose2d',
};

/** The F call for a case (the same mapping as fixtures/tools/run-ops.js). */
function call(c, v) {
  const p = { ...c.params };
  switch (c.op) {
    case 'conv1d': case 'conv2d': case 'convolve2d': case 'conv_transpose1d': case 'conv_transpose2d': {
      let x = v.x;
      if (p.pad) { x = F.pad(x, p.pad); delete p.pad; }
      return F[CONV_NAMES[c.op]](x, v.weight, v.bias, p);
    }
    case 'max_pool1d': return F.maxPool1d(v.x, p);
    case 'max_pool2d': return F.maxPool2d(v.x, p);
    case 'avg_pool1d': return F.avgPool1d(v.x, p);
    case 'avg_pool2d': return F.avgPool2d(v.x, p);
    case 'adaptive_avg_pool2d': return F.adaptiveAvgPool2d(v.x, p.outputSize);
    case 'linear': return F.linear(v.x, v.weight, v.bias);
    case 'relu': return F.relu(v.x);
    case 'batch_norm': return F.batchNorm(v.x, v.runningMean, v.runningVar, v.weight, v.bias, p);
    case 'local_response_norm': return F.localResponseNorm(v.x, p);
    case 'softmax': return F.softmax(v.x, p.dim);
    case 'log_softmax': return F.logSoftmax(v.x, p.dim);
    case 'cross_entropy': return F.crossEntropy(v.x, v.target, p);
    case 'mse_loss': return F.mseLoss(v.x, v.target, p);
    default: throw new Error(`no mapping for op ${c.op}`);
  }
}

function inputsOf(c) {
  const diff = new Set(c.differentiable || []);
  const v = {};
  for (const [k, t] of Object.entries(c.inputs)) {
    const a = decode(t);
    v[k] = a instanceof Int32Array ? a : R.tensor(a, t.shape, { requiresGrad: diff.has(k) });
  }
  return v;
}

const cases = opCases();

describe('functional fixtures: the case list', function () {
  it('has a case for every functional op the fixtures README names', function () {
    // Another fixture folder (RECEPTIVE_FIXTURES) may hold any subset.
    if (process.env.RECEPTIVE_FIXTURES) this.skip();
    const ops = new Set(cases.map((c) => c.op));
    for (const op of ['conv1d', 'conv2d', 'conv_transpose1d', 'conv_transpose2d', 'max_pool1d', 'max_pool2d',
      'avg_pool1d', 'avg_pool2d', 'adaptive_avg_pool2d', 'linear', 'relu', 'batch_norm', 'local_response_norm',
      'softmax', 'log_softmax', 'cross_entropy', 'mse_loss', 'convolve2d']) {
      assert.ok(ops.has(op), `no fixture for ${op}`);
    }
    assert.ok(cases.length >= 40, `only ${cases.length} cases found`);
  });
});

describeEachBackend('functional fixtures', function () {
  for (const c of cases) {
    it(`${c.name} (${c.op}): forward`, function () {
      const v = inputsOf(c);
      const y = R.noGrad(() => call(c, v));
      assert.deepStrictEqual(y.shape, c.expected.y.shape, 'output shape');
      assertClose(y, decode(c.expected.y), `${c.name} y`);
      if (c.op === 'batch_norm' && c.params.training) {
        for (const k of ['runningMean', 'runningVar']) assertClose(v[k], decode(c.expected[k]), `${c.name} ${k}`);
      } else if (c.op === 'batch_norm') {
        assert.deepStrictEqual(Array.from(v.runningMean.data), Array.from(decode(c.inputs.runningMean)), 'eval leaves runningMean');
        assert.deepStrictEqual(Array.from(v.runningVar.data), Array.from(decode(c.inputs.runningVar)), 'eval leaves runningVar');
      }
    });

    if ((c.differentiable || []).length) {
      it(`${c.name} (${c.op}): gradients of ${c.differentiable.join(', ')}`, function () {
        const v = inputsOf(c);
        const y = call(c, v);
        assert.ok(y.requiresGrad, 'output is recorded on the tape');
        assertClose(y, decode(c.expected.y), `${c.name} y (with grad)`);
        const go = R.tensor(decode(c.gradOutput), c.gradOutput.shape);
        y.backward(go);
        for (const k of c.differentiable) {
          const key = 'grad' + k[0].toUpperCase() + k.slice(1);
          const e = c.expected[key];
          assert.ok(e, `fixture lists ${k} as differentiable but has no ${key}`);
          assert.ok(v[k].grad, `${k}.grad was not set`);
          assert.deepStrictEqual(v[k].grad.shape, e.shape, `${key} shape`);
          assertClose(v[k].grad, decode(e), `${c.name} ${key}`);
        }
      });
    }
  }
});
