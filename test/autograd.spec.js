// Autograd: every op through the finite-difference gradcheck, accumulation, noGrad,
// detach, shared subgraphs, explicit gradOutput and the errors backward raises.
'use strict';
const assert = require('assert');
const R = require('../dist');
const engine = require('../dist/autograd/engine');
const { gradcheck } = require('./helpers/gradcheck');
const { describeEachBackend } = require('./helpers/backends');

let seed = 100;
function rn(shape, opts = {}) {
  return R.randn(shape, { seed: seed++, requiresGrad: opts.requiresGrad ?? true });
}
/** Values in [lo, hi) (positive inputs for log/sqrt/pow/div). */
function pos(shape, lo = 0.5, hi = 2) {
  return R.rand(shape, { seed: seed++ }).mul(hi - lo).add(lo).detach().requiresGrad_();
}
/** Distinct values (max/argmax ties and abs kinks stay more than eps away). */
function distinct(shape) {
  const n = shape.reduce((a, b) => a * b, 1);
  const perm = new R.Generator(seed++).permutation(n);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = (perm[i] - n / 2 + 0.5) * 0.1;
  return R.tensor(d, shape, { requiresGrad: true });
}

describe('autograd: gradcheck of element-wise ops', function () {
  const shapes = [
    [[3, 4], [3, 4]], [[3, 4], [4]], [[2, 1, 4], [3, 1]], [[2, 3, 4, 5], [1, 3, 1, 1]],
    [[], [2, 3]], [[2, 3], [1]], [[1, 3, 1], [2, 1, 4]],
  ];
  for (const op of ['add', 'sub', 'mul', 'div']) {
    for (const [sa, sb] of shapes) {
      it(`${op} [${sa}] with [${sb}]`, function () {
        const a = rn(sa), b = op === 'div' ? pos(sb) : rn(sb);
        gradcheck((x, y) => x[op](y), [a, b]);
        // Only one operand needing grad.
        const c = rn(sb, { requiresGrad: false });
        gradcheck((x, y) => R[op](y, x), [op === 'div' ? pos(sa) : rn(sa), op === 'div' ? c : c]);
      });
    }
    it(`${op} with a number on either side`, function () {
      gradcheck((x) => x[op](1.5), [rn([2, 3])]);
      gradcheck((x) => R[op](2.5, x), [op === 'div' ? pos([2, 3]) : rn([2, 3])]);
    });
  }
  it('neg, exp, log, sqrt, abs', function () {
    gradcheck((x) => x.neg(), [rn([3, 4])]);
    gradcheck((x) => x.exp(), [rn([3, 4])]);
    gradcheck((x) => x.log(), [pos([3, 4])]);
    gradcheck((x) => x.sqrt(), [pos([3, 4])]);
    gradcheck((x) => x.abs(), [distinct([3, 4])]);
  });
  it('pow with integer, fractional and negative exponents', function () {
    for (const p of [2, 3, 0.5, 1.5, -1, -2.5, 0, 1]) gradcheck((x) => x.pow(p), [pos([2, 5])]);
    gradcheck((x) => x.pow(2), [rn([4])]);
    gradcheck((x) => x.pow(3), [rn([4])]);
  });
  it('where', function () {
    const c = R.tensor([[1, 0, 1], [0, 0, 1]]);
    gradcheck((a, b) => R.where(c, a, b), [rn([2, 3]), rn([3])]);
    gradcheck((a) => R.where(c, a, 0), [rn([2, 1])]);
  });
});

describe('autograd: gradcheck of reductions', function () {
  it('sum over all, dims, negative dims, keepDim', function () {
    const x = rn([2, 3, 4]);
    gradcheck((t) => t.sum(), [x]);
    for (const d of [0, 1, 2, -1, [0, 2], [1, 2]]) {
      gradcheck((t) => t.sum(d), [x]);
      gradcheck((t) => t.sum(d, true), [x]);
    }
  });
  it('mean over all, dims, keepDim', function () {
    const x = rn([3, 2, 4]);
    gradcheck((t) => t.mean(), [x]);
    for (const d of [0, 1, -1, [0, 2]]) {
      gradcheck((t) => t.mean(d), [x]);
      gradcheck((t) => t.mean(d, true), [x]);
    }
  });
  it('max / min over a dim and over everything', function () {
    const x = distinct([3, 4, 5]);
    gradcheck((t) => t.max(), [x]);
    gradcheck((t) => t.min(), [x]);
    for (const d of [0, 1, 2, -2]) {
      gradcheck((t) => t.max(d), [x]);
      gradcheck((t) => t.max(d, true), [x]);
      gradcheck((t) => t.min(d), [x]);
    }
  });
  it('max sends the gradient to the first maximum on ties', function () {
    const x = R.tensor([[1, 3, 3], [2, 2, 0]], null, { requiresGrad: true });
    x.max(1).sum().backward();
    assert.deepStrictEqual(x.grad.toArray(), [[0, 1, 0], [1, 0, 0]]);
    const y = R.tensor([5, 1, 5], null, { requiresGrad: true });
    y.max().backward();
    assert.deepStrictEqual(y.grad.toArray(), [1, 0, 0]);
  });
  it('argmax records nothing', function () {
    const x = rn([3, 3]);
    const a = x.argmax(1);
    assert.strictEqual(a.requiresGrad, false);
    assert.strictEqual(a.gradFn, null);
  });
});

describe('autograd: gradcheck of shape ops', function () {
  it('reshape, view, flatten, squeeze, unsqueeze', function () {
    const x = rn([2, 1, 3, 2]);
    gradcheck((t) => t.reshape(3, -1).mul(R.arange(4)), [x]);
    gradcheck((t) => t.view([6, 2]), [x]);
    gradcheck((t) => t.flatten(1), [x]);
    gradcheck((t) => t.squeeze(), [x]);
    gradcheck((t) => t.squeeze(1), [x]);
    gradcheck((t) => t.unsqueeze(-1), [x]);
  });
  it('transpose, permute, expand', function () {
    const x = rn([2, 3, 4]);
    gradcheck((t) => t.transpose(0, 2), [x]);
    gradcheck((t) => t.transpose(-1, 1), [x]);
    gradcheck((t) => t.permute(1, 2, 0), [x]);
    gradcheck((t) => t.reshape(6, 4).transpose(0, 1), [x]);
    gradcheck((t) => t.expand(2, 2, 3, 3), [rn([2, 3, 1])]);
    gradcheck((t) => t.expand(4, -1), [rn([1, 3])]);
  });
  it('concat, stack, narrow, split, clone', function () {
    const a = rn([2, 3]), b = rn([2, 1]), c = rn([2, 3], { requiresGrad: false });
    gradcheck((x, y) => R.concat([x, y, x], 1), [a, b]);
    gradcheck((x, y) => R.concat([x, y]), [a, c]);
    gradcheck((x, y) => R.stack([x, y], 1), [a, c]);
    gradcheck((x) => R.stack([x, x.mul(2)], -1), [a]);
    gradcheck((x) => x.narrow(1, 1, 2), [a]);
    gradcheck((x) => x.split(2, 1)[1], [a]);
    gradcheck((x) => x.clone(), [a]);
  });
});

describeEachBackend('autograd: gradcheck of matmul', function () {
  it('2-D x 2-D', function () {
    gradcheck((a, b) => a.matmul(b), [rn([3, 4]), rn([4, 5])]);
    gradcheck((a, b) => a.matmul(b), [rn([1, 7]), rn([7, 1])]);
    gradcheck((a, b) => a.matmul(b), [rn([3, 4]), rn([4, 5], { requiresGrad: false })]);
  });
  it('batched 3-D x 3-D with and without batch broadcasting', function () {
    gradcheck((a, b) => R.matmul(a, b), [rn([2, 3, 4]), rn([2, 4, 2])]);
    gradcheck((a, b) => R.matmul(a, b), [rn([1, 3, 4]), rn([3, 4, 2])]);
    gradcheck((a, b) => R.matmul(a, b), [rn([3, 3, 4]), rn([1, 4, 2])]);
  });
  it('3-D x 2-D and vectors', function () {
    gradcheck((a, b) => a.matmul(b), [rn([2, 3, 4]), rn([4, 5])]);
    gradcheck((a, b) => a.matmul(b), [rn([4]), rn([4, 3])]);
    gradcheck((a, b) => a.matmul(b), [rn([2, 4]), rn([4])]);
  });
  it('a small MLP end to end', function () {
    const x = rn([5, 4], { requiresGrad: false });
    gradcheck((w1, b1, w2) => x.matmul(w1).add(b1).abs().matmul(w2).pow(2).mean(),
      [rn([4, 6]), rn([6]), rn([6, 2])], { names: ['w1', 'b1', 'w2'] });
  });
});

describe('autograd: the tape', function () {
  it('accumulates into leaf .grad across backward calls; zeroGrad clears', function () {
    const x = R.tensor([1, 2, 3], null, { requiresGrad: true });
    x.mul(2).sum().backward();
    assert.deepStrictEqual(x.grad.toArray(), [2, 2, 2]);
    x.mul(x).sum().backward();
    assert.deepStrictEqual(x.grad.toArray(), [4, 6, 8]);
    x.zeroGrad();
    assert.strictEqual(x.grad, null);
    x.sum().backward();
    assert.deepStrictEqual(x.grad.toArray(), [1, 1, 1]);
  });

  it('a leaf used twice in one op gets both contributions (x + x, x * x)', function () {
    const x = R.tensor([1, 2], null, { requiresGrad: true });
    x.add(x).sum().backward();
    assert.deepStrictEqual(x.grad.toArray(), [2, 2]);
    x.zeroGrad();
    x.mul(x).sum().backward();
    assert.deepStrictEqual(x.grad.toArray(), [2, 4]);
  });

  it('diamond graph: a shared intermediate sums its gradients', function () {
    const x = R.tensor([1, 2, 3], null, { requiresGrad: true });
    const h = x.mul(3);         // shared
    const a = h.exp().mul(0);   // branch contributing zero
    const b = h.pow(2);         // d/dx = 2h * 3 = 18x
    const c = h.mul(h.sum());   // d/dx sum(h * S) = 2 S * 3 per element... computed below
    const y = a.add(b).add(c).sum();
    y.backward();
    const S = 18; // sum(h) = 3 * 6
    // d/dh_i [h_i^2 + h_i * S] summed = 2 h_i + S + sum_j h_j = 2 h_i + 2 S
    const want = [1, 2, 3].map((v) => (2 * 3 * v + 2 * S) * 3);
    assert.deepStrictEqual(x.grad.toArray(), want);
    gradcheck((t) => { const hh = t.mul(3); return hh.pow(2).add(hh.mul(hh.sum())).add(hh.exp().mul(0)); },
      [R.tensor([0.1, 0.2, 0.3], null, { requiresGrad: true })]);
  });

  it('noGrad records nothing and returns the function value', function () {
    const x = R.randn([3], { requiresGrad: true, seed: 1 });
    const y = R.noGrad(() => x.mul(2).add(1).sum());
    assert.strictEqual(y.requiresGrad, false);
    assert.strictEqual(y.gradFn, null);
    assert.strictEqual(R.isGradEnabled(), true);
    assert.throws(() => R.noGrad(() => { throw new Error('boom'); }), /boom/);
    assert.strictEqual(R.isGradEnabled(), true);
    const prev = R.setGradEnabled(false);
    assert.strictEqual(prev, true);
    assert.strictEqual(x.exp().gradFn, null);
    R.setGradEnabled(true);
    assert.notStrictEqual(x.exp().gradFn, null);
  });

  it('ops on tensors without requiresGrad record nothing', function () {
    const a = R.randn([2, 3], { seed: 1 }), b = R.randn([3, 2], { seed: 2 });
    for (const t of [a.add(b.transpose(0, 1)), a.sum(0), a.reshape(6), a.max(1), R.concat([a, a]), a.exp()]) {
      assert.strictEqual(t.requiresGrad, false);
      assert.strictEqual(t.gradFn, null);
    }
  });

  it('detach cuts the graph', function () {
    const x = R.tensor([1, 2], null, { requiresGrad: true });
    const y = x.mul(x.detach());
    y.sum().backward();
    assert.deepStrictEqual(x.grad.toArray(), [1, 2]);
  });

  it('backward with an explicit gradOutput: same shape, same size, 0-d and numbers', function () {
    const x = R.tensor([[1, 2], [3, 4]], null, { requiresGrad: true });
    const y = x.mul(2);
    y.backward(R.tensor([[1, 0], [0.5, 2]]));
    assert.deepStrictEqual(x.grad.toArray(), [[2, 0], [1, 4]]);
    x.zeroGrad();
    x.mul(2).backward(R.tensor([1, 1, 1, 1]));
    assert.deepStrictEqual(x.grad.toArray(), [[2, 2], [2, 2]]);
    x.zeroGrad();
    x.sum().backward(R.tensor(3));
    assert.deepStrictEqual(x.grad.toArray(), [[3, 3], [3, 3]]);
    x.zeroGrad();
    x.sum().backward(0.5);
    assert.deepStrictEqual(x.grad.toArray(), [[0.5, 0.5], [0.5, 0.5]]);
    x.zeroGrad();
    x.sum(null, true).backward(R.tensor(2));
    assert.deepStrictEqual(x.grad.toArray(), [[2, 2], [2, 2]]);
  });

  it('backward errors: no grad, non-scalar without gradOutput, wrong gradOutput size', function () {
    assert.throws(() => R.tensor([1, 2]).sum().backward(), /does not require grad/);
    const x = R.tensor([1, 2], null, { requiresGrad: true });
    assert.throws(() => x.mul(2).backward(), (e) => /gradOutput/.test(e.message) && /\[2\]/.test(e.message));
    assert.throws(() => x.mul(2).backward(R.zeros([3])), (e) => /\[3\]/.test(e.message) && /\[2\]/.test(e.message));
  });

  it('retainGrad keeps an intermediate gradient; the leaf check holds', function () {
    const x = R.tensor([1, 2], null, { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    assert.strictEqual(h.isLeaf, false);
    h.pow(2).sum().backward();
    assert.deepStrictEqual(h.grad.toArray(), [6, 12]);
    assert.deepStrictEqual(x.grad.toArray(), [18, 36]);
    const z = x.mul(2);
    z.sum().backward();
    assert.strictEqual(z.grad, null);
  });

  it('requiresGrad_ turns tracking on and off on leaves', function () {
    const x = R.tensor([1, 2]);
    assert.strictEqual(x.requiresGrad_(), x);
    assert.strictEqual(x.requiresGrad, true);
    x.exp().sum().backward();
    assert.ok(x.grad);
    x.requiresGrad_(false);
    assert.strictEqual(x.exp().requiresGrad, false);
    const y = R.tensor([1], null, { requiresGrad: true }).mul(2);
    assert.throws(() => y.requiresGrad_(false), /non-leaf/);
  });

  it('backward on a leaf and gradients flowing through views', function () {
    const x = R.tensor([2], null, { requiresGrad: true });
    x.backward();
    assert.deepStrictEqual(x.grad.toArray(), [1]);
    const w = R.tensor([1, 2, 3, 4], null, { requiresGrad: true });
    const v = w.view(2, 2);
    v.sum(0).mul(R.tensor([1, 10])).sum().backward();
    assert.deepStrictEqual(w.grad.toArray(), [1, 10, 1, 10]);
  });

  it('engine.record and needsGrad drive custom ops', function () {
    const x = R.tensor([1, 2, 3], null, { requiresGrad: true });
    assert.strictEqual(engine.needsGrad(x), true);
    assert.strictEqual(engine.needsGrad(null, R.zeros([1])), false);
    assert.strictEqual(R.noGrad(() => engine.needsGrad(x)), false);
    const cube = (t) => {
      const out = new R.Tensor(t.data.map((v) => v ** 3), t.shape.slice());
      if (engine.needsGrad(t)) engine.record(out, 'cube', [t], (g) => [g.mul(t.detach().pow(2)).mul(3)]);
      return out;
    };
    gradcheck(cube, [x]);
    const bad = (t) => engine.record(new R.Tensor(t.data.slice(), t.shape.slice()), 'bad', [t], () => [R.zeros([2])]);
    assert.throws(() => bad(x).sum().backward(), (e) => /bad/.test(e.message) && /\[2\]/.test(e.message) && /\[3\]/.test(e.message));
  });

  it('deep chains do not overflow the stack', function () {
    const x = R.tensor([1], null, { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 20000; i++) y = y.add(1);
    y.backward();
    assert.deepStrictEqual(x.grad.toArray(), [1]);
  });

  it('gradcheck samples large inputs with maxElements and reports what it checked', function () {
    const r = gradcheck((t) => t.mul(t), [rn([40, 50])], { maxElements: 25 });
    assert.strictEqual(r.checked, 25);
    assert.ok(r.maxAbsError < 1e-2);
  });

  it('gradcheck reports the input and element on a wrong gradient', function () {
    const wrong = (t) => {
      const out = new R.Tensor(t.data.map((v) => v * v), t.shape.slice());
      engine.record(out, 'wrongSquare', [t], (g) => [g.mul(t.detach())]);
      return out;
    };
    assert.throws(() => gradcheck(wrong, [R.tensor([1, 2], null, { requiresGrad: true })], { names: ['x'] }),
      (e) => /x/.test(e.message) && /element 0/.test(e.message));
  });
});
