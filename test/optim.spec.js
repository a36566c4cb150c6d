// Optimizers and schedulers against updates computed by hand from the published formulas
// (PyTorch's documented algorithms), written out step by step in double precision.
'use strict';
const assert = require('assert');
const { Tensor, tensor, nn, optim, F } = require('../dist');

/** A leaf parameter with the given values. */
function param(values) {
  return new nn.Parameter(new Float32Array(values), [values.length]);
}

function setGrad(p, values) {
  p.grad = new Tensor(new Float32Array(values), p.shape.slice());
}

function assertValues(got, want, label, tol = 1e-6) {
  const g = Array.from(got instanceof Tensor ? got.data : got);
  assert.strictEqual(g.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(g[i] - want[i]);
    assert.ok(err <= tol * Math.max(1, Math.abs(want[i])), `${label}[${i}]: got ${g[i]}, want ${want[i]}`);
  }
}

const f32 = Math.fround;

describe('optim.SGD', function () {
  it('plain step: w - lr * g', function () {
    const p = param([1.0, -2.0, 0.5]);
    const opt = new optim.SGD([p], { lr: 0.1 });
    setGrad(p, [0.5, -1.0, 2.0]);
    opt.step();
    // 1 - 0.1*0.5 = 0.95; -2 - 0.1*(-1) = -1.9; 0.5 - 0.1*2 = 0.3
    assertValues(p, [0.95, -1.9, 0.3], 'step 1');
    setGrad(p, [1.0, 1.0, -1.0]);
    opt.step();
    // 0.95 - 0.1 = 0.85; -1.9 - 0.1 = -2.0; 0.3 + 0.1 = 0.4
    assertValues(p, [0.85, -2.0, 0.4], 'step 2');
  });

  it('momentum: first buffer = g, then b = m*b + g', function () {
    const p = param([1.0, 2.0]);
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
    setGrad(p, [1.0, -2.0]);
    opt.step();
    // b1 = g1 = [1, -2]; w1 = [1 - 0.1*1, 2 - 0.1*(-2)] = [0.9, 2.2]
    assertValues(p, [0.9, 2.2], 'step 1');
    assertValues(opt.state.get(p).momentumBuffer, [1, -2], 'buffer 1');
    setGrad(p, [0.5, 0.5]);
    opt.step();
    // b2 = 0.9*[1, -2] + [0.5, 0.5] = [1.4, -1.3]; w2 = [0.9 - 0.14, 2.2 + 0.13] = [0.76, 2.33]
    assertValues(opt.state.get(p).momentumBuffer, [1.4, -1.3], 'buffer 2');
    assertValues(p, [0.76, 2.33], 'step 2');
  });

  it('dampening: the first buffer is the undamped gradient', function () {
    const p = param([1.0]);
    const opt = new optim.SGD([p], { lr: 0.5, momentum: 0.9, dampening: 0.5 });
    setGrad(p, [2.0]);
    opt.step();
    // b1 = 2 (no dampening on the first step); w1 = 1 - 0.5*2 = 0
    assertValues(p, [0.0], 'step 1');
    setGrad(p, [4.0]);
    opt.step();
    // b2 = 0.9*2 + (1 - 0.5)*4 = 1.8 + 2 = 3.8; w2 = 0 - 0.5*3.8 = -1.9
    assertValues(p, [-1.9], 'step 2');
  });

  it('nesterov: step along g + m*b', function () {
    const p = param([1.0, -1.0]);
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9, nesterov: true });
    setGrad(p, [1.0, 2.0]);
    opt.step();
    // b1 = [1, 2]; d = g + 0.9*b1 = [1.9, 3.8]; w1 = [1 - 0.19, -1 - 0.38] = [0.81, -1.38]
    assertValues(p, [0.81, -1.38], 'step 1');
    setGrad(p, [-1.0, 0.0]);
    opt.step();
    // b2 = 0.9*[1, 2] + [-1, 0] = [-0.1, 1.8]; d = [-1 + 0.9*(-0.1), 0 + 0.9*1.8] = [-1.09, 1.62]
    // w2 = [0.81 + 0.109, -1.38 - 0.162] = [0.919, -1.542]
    assertValues(p, [0.919, -1.542], 'step 2');
  });

  it('weight decay adds wd * w to the gradient (before momentum)', function () {
    const p = param([2.0, -4.0]);
    const opt = new optim.SGD([p], { lr: 0.1, weightDecay: 0.5 });
    setGrad(p, [1.0, 1.0]);
    opt.step();
    // g' = [1 + 0.5*2, 1 + 0.5*(-4)] = [2, -1]; w1 = [2 - 0.2, -4 + 0.1] = [1.8, -3.9]
    assertValues(p, [1.8, -3.9], 'step 1');
    setGrad(p, [0.0, 0.0]);
    opt.step();
    // g' = 0.5*w1 = [0.9, -1.95]; w2 = [1.8 - 0.09, -3.9 + 0.195] = [1.71, -3.705]
    assertValues(p, [1.71, -3.705], 'step 2');

    const q = param([1.0]);
    const opt2 = new optim.SGD([q], { lr: 0.1, momentum: 0.5, weightDecay: 0.1 });
    setGrad(q, [1.0]);
    opt2.step();
    // g' = 1 + 0.1*1 = 1.1 = b1; w1 = 1 - 0.11 = 0.89
    assertValues(q, [0.89], 'momentum+wd step 1');
    setGrad(q, [1.0]);
    opt2.step();
    // g' = 1 + 0.089 = 1.089; b2 = 0.5*1.1 + 1.089 = 1.639; w2 = 0.89 - 0.1639 = 0.7261
    assertValues(q, [0.7261], 'momentum+wd step 2');
  });

  it('maximize ascends', function () {
    const p = param([1.0]);
    const opt = new optim.SGD([p], { lr: 0.1, maximize: true });
    setGrad(p, [2.0]);
    opt.step();
    assertValues(p, [1.2], 'ascent');
  });

  it('skips parameters whose grad is null and honours param groups', function () {
    const a = param([1.0]);
    const b = param([1.0]);
    const c = param([1.0]);
    const opt = new optim.SGD([{ params: [a, c] }, { params: [b], lr: 1.0 }], { lr: 0.1 });
    setGrad(a, [1.0]);
    setGrad(b, [1.0]);
    opt.step();
    assertValues(a, [0.9], 'group 0 lr 0.1');
    assertValues(b, [0.0], 'group 1 lr 1.0');
    assertValues(c, [1.0], 'no grad: untouched');
    assert.strictEqual(opt.state.has(c), false);
    assert.strictEqual(opt.paramGroups[1].lr, 1.0);
    assert.strictEqual(opt.paramGroups[1].momentum, 0);
  });

  it('zeroGrad clears gradients', function () {
    const p = param([1.0, 2.0]);
    const opt = new optim.SGD([p], { lr: 0.1 });
    setGrad(p, [1, 1]);
    opt.zeroGrad();
    assert.strictEqual(p.grad, null);
    setGrad(p, [1, 1]);
    opt.zeroGrad(false);
    assertValues(p.grad, [0, 0], 'zeroed');
  });

  it('validates hyper-parameters and params', function () {
    const p = param([1]);
    assert.throws(() => new optim.SGD([p], { lr: -0.1 }), /learning rate: -0.1/);
    assert.throws(() => new optim.SGD([p], { lr: NaN }), /learning rate: NaN/);
    assert.throws(() => new optim.SGD([p], { lr: 0.1, momentum: -1 }), /momentum/);
    assert.throws(() => new optim.SGD([p], { lr: 0.1, weightDecay: -1 }), /weightDecay/);
    assert.throws(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), /Nesterov/);
    assert.throws(() => new optim.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /Nesterov/);
    assert.throws(() => new optim.SGD([], { lr: 0.1 }), /empty parameter list/);
    assert.throws(() => new optim.SGD([p, 3], { lr: 0.1 }), /can only optimize Tensors/);
    assert.throws(() => new optim.SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), /more than one parameter group/);
    assert.throws(() => new optim.SGD([p], { lr: 0.1, momentun: 0.9 }), /unknown option 'momentun'/);
    assert.throws(() => new optim.SGD([{ params: [p], lr: -1 }], { lr: 0.1 }), /learning rate: -1/);
  });

  it('stateDict / loadStateDict resume gives the same trajectory', function () {
    const run = (resume) => {
      const p = param([1.0, -1.0]);
      let opt = new optim.SGD([p], { lr: 0.1, momentum: 0.9 });
      const grads = [[1, 2], [0.5, -1], [2, 0.25], [-1, 1]];
      for (let s = 0; s < grads.length; s++) {
        if (resume && s === 2) {
          const sd = opt.stateDict();
          opt = new optim.SGD([p], { lr: 0.5 });
          opt.loadStateDict(sd);
        }
        setGrad(p, grads[s]);
        opt.step();
      }
      return Array.from(p.data);
    };
    assert.deepStrictEqual(run(true), run(false));
  });
});

describe('optim.Adam', function () {
  it('two steps match the formulas', function () {
    const lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const p = param([1.0, -0.5]);
    const opt = new optim.Adam([p], { lr });
    const g1 = [0.2, -0.4];
    setGrad(p, g1);
    opt.step();
    // t = 1: m = 0.1*g, v = 0.001*g^2; mhat = m/0.1 = g, vhat = v/0.001 = g^2
    // w = w - lr * m / (1 - b1) / (sqrt(v) / sqrt(1 - b2) + eps) = w - lr * g / (|g| + eps)
    const w1 = [1.0 - lr * 0.2 / (0.2 + eps), -0.5 - lr * -0.4 / (0.4 + eps)]; // [0.9, -0.4]
    assertValues(p, w1, 'step 1');
    const g2 = [0.1, 0.3];
    setGrad(p, g2);
    opt.step();
    const w2 = [];
    for (let i = 0; i < 2; i++) {
      const m1 = (1 - b1) * g1[i], v1 = (1 - b2) * g1[i] * g1[i];
      const m2 = b1 * m1 + (1 - b1) * g2[i];
      const v2 = b2 * v1 + (1 - b2) * g2[i] * g2[i];
      const stepSize = lr / (1 - b1 * b1);
      const denom = Math.sqrt(v2) / Math.sqrt(1 - b2 * b2) + eps;
      w2.push(w1[i] - stepSize * m2 / denom);
    }
    // element 0: m2 = 0.9*0.02 + 0.01 = 0.028, v2 = 0.999*4e-5 + 1e-5 = 4.996e-5
    assert.ok(Math.abs(w2[0] - (w1[0] - (0.1 / 0.19) * 0.028 / (Math.sqrt(4.996e-5) / Math.sqrt(1 - 0.998001) + eps))) < 1e-12);
    assertValues(p, w2, 'step 2');
    assert.strictEqual(opt.state.get(p).step, 2);
  });

  it('weight decay is L2 added to the gradient', function () {
    const lr = 0.01, wd = 0.5;
    const p = param([2.0]);
    const opt = new optim.Adam([p], { lr, weightDecay: wd });
    setGrad(p, [0.3]);
    opt.step();
    // g' = 0.3 + 0.5*2 = 1.3 > 0, first step moves by lr * g'/|g'| = lr
    assertValues(p, [2.0 - lr * 1.3 / (1.3 + 1e-8)], 'step 1');
    setGrad(p, [-1.0]);
    opt.step();
    const w1 = 2.0 - lr * 1.3 / (1.3 + 1e-8);
    const g2 = -1.0 + wd * w1;
    const m2 = 0.9 * 0.1 * 1.3 + 0.1 * g2;
    const v2 = 0.999 * 0.001 * 1.69 + 0.001 * g2 * g2;
    const w2 = w1 - lr / (1 - 0.81) * m2 / (Math.sqrt(v2) / Math.sqrt(1 - 0.999 * 0.999) + 1e-8);
    assertValues(p, [w2], 'step 2');
  });

  it('amsgrad divides by the running maximum of v', function () {
    const lr = 0.1, b1 = 0.5, b2 = 0.5, eps = 1e-8;
    const p = param([0.0]);
    const opt = new optim.Adam([p], { lr, betas: [b1, b2], amsgrad: true });
    setGrad(p, [2.0]);
    opt.step();
    // m1 = 1, v1 = 2, vmax = 2; w1 = 0 - (0.1/0.5) * 1 / (sqrt(2)/sqrt(0.5) + eps) = -0.2 * 1/2 = -0.1
    assertValues(p, [-0.1], 'step 1');
    setGrad(p, [0.0]);
    opt.step();
    // m2 = 0.5, v2 = 1 < vmax = 2; w2 = -0.1 - (0.1/0.75) * 0.5 / (sqrt(2)/sqrt(0.75) + eps)
    const w2 = -0.1 - (0.1 / 0.75) * 0.5 / (Math.sqrt(2) / Math.sqrt(0.75) + eps);
    assertValues(p, [w2], 'step 2 (amsgrad)');
    const q = param([0.0]);
    const plain = new optim.Adam([q], { lr, betas: [b1, b2] });
    setGrad(q, [2.0]); plain.step();
    setGrad(q, [0.0]); plain.step();
    const w2plain = -0.1 - (0.1 / 0.75) * 0.5 / (Math.sqrt(1) / Math.sqrt(0.75) + eps);
    assertValues(q, [w2plain], 'step 2 (plain)');
  });

  it('validates betas, eps, lr', function () {
    const p = param([1]);
    assert.throws(() => new optim.Adam([p], { betas: [1.0, 0.999] }), /beta parameter at index 0: 1/);
    assert.throws(() => new optim.Adam([p], { betas: [0.9, -0.1] }), /beta parameter at index 1/);
    assert.throws(() => new optim.Adam([p], { betas: [0.9] }), /betas must be a pair/);
    assert.throws(() => new optim.Adam([p], { eps: -1 }), /epsilon/);
    assert.throws(() => new optim.Adam([p], { lr: Infinity }), /learning rate/);
    assert.throws(() => new optim.AdamW([p], { weightDecay: NaN }), /weightDecay/);
  });
});

describe('optim.AdamW', function () {
  it('decays the weights before the Adam step (decoupled)', function () {
    const lr = 0.1, wd = 0.1, eps = 1e-8;
    const p = param([1.0, -2.0]);
    const opt = new optim.AdamW([p], { lr, weightDecay: wd });
    setGrad(p, [0.5, 0.5]);
    opt.step();
    // w' = w * (1 - 0.01) = [0.99, -1.98]; then the first Adam step moves by lr * g/|g| = 0.1
    const w1 = [0.99 - lr * 0.5 / (0.5 + eps), -1.98 - lr * 0.5 / (0.5 + eps)]; // [0.89, -2.08]
    assertValues(p, w1, 'step 1');
    setGrad(p, [-0.5, 1.0]);
    opt.step();
    const g1 = [0.5, 0.5], g2 = [-0.5, 1.0];
    const w2 = w1.map((w, i) => {
      const m2 = 0.9 * 0.1 * g1[i] + 0.1 * g2[i];
      const v2 = 0.999 * 0.001 * g1[i] * g1[i] + 0.001 * g2[i] * g2[i];
      return w * (1 - lr * wd) - lr / (1 - 0.81) * m2 / (Math.sqrt(v2) / Math.sqrt(1 - 0.999 * 0.999) + eps);
    });
    assertValues(p, w2, 'step 2');
  });

  it('defaults to weightDecay 0.01, unlike Adam', function () {
    const p = param([1]);
    assert.strictEqual(new optim.AdamW([p]).defaults.weightDecay, 0.01);
    assert.strictEqual(new optim.Adam([p]).defaults.weightDecay, 0);
  });
});

describe('optim schedulers', function () {
  it('StepLR: lr0 * gamma^floor(t / stepSize)', function () {
    const opt = new optim.SGD([param([1])], { lr: 0.1 });
    const sched = new optim.StepLR(opt, { stepSize: 3, gamma: 0.5 });
    assert.deepStrictEqual(sched.getLastLr(), [0.1]);
    const seen = [opt.paramGroups[0].lr];
    for (let t = 1; t <= 9; t++) { opt.step(); sched.step(); seen.push(sched.getLastLr()[0]); }
    const want = [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125];
    assertValues(seen, want, 'StepLR', 1e-12);
    assert.strictEqual(opt.paramGroups[0].lr, sched.getLastLr()[0]);
  });

  it('CosineAnnealingLR: etaMin + (lr0 - etaMin)(1 + cos(pi t / tMax)) / 2', function () {
    const lr0 = 0.2, etaMin = 0.01, tMax = 10;
    const opt = new optim.SGD([{ params: [param([1])] }, { params: [param([2])], lr: 0.02 }], { lr: lr0, momentum: 0.9 });
    const sched = new optim.CosineAnnealingLR(opt, { tMax, etaMin });
    for (let t = 0; t <= 2 * tMax; t++) {
      if (t > 0) sched.step();
      const want0 = etaMin + (lr0 - etaMin) * (1 + Math.cos(Math.PI * t / tMax)) / 2;
      const want1 = etaMin + (0.02 - etaMin) * (1 + Math.cos(Math.PI * t / tMax)) / 2;
      assertValues(sched.getLastLr(), [want0, want1], `t=${t}`, 1e-12);
      assertValues(opt.paramGroups.map((g) => g.lr), [want0, want1], `groups t=${t}`, 1e-12);
    }
    // the ends: lr0 at t = 0, etaMin at t = tMax
    assert.ok(Math.abs(sched.lrAt(0)[0] - lr0) < 1e-15);
    assert.ok(Math.abs(sched.lrAt(tMax)[0] - etaMin) < 1e-15);
    assert.ok(Math.abs(sched.lrAt(tMax / 2)[0] - (lr0 + etaMin) / 2) < 1e-15);
  });

  it('ExponentialLR and MultiStepLR', function () {
    const opt = new optim.SGD([param([1])], { lr: 1 });
    const e = new optim.ExponentialLR(opt, { gamma: 0.9 });
    for (let t = 1; t <= 4; t++) { e.step(); assertValues(e.getLastLr(), [Math.pow(0.9, t)], `exp t=${t}`, 1e-12); }
    const opt2 = new optim.SGD([param([1])], { lr: 1 });
    const m = new optim.MultiStepLR(opt2, { milestones: [2, 5], gamma: 0.1 });
    const seen = [m.getLastLr()[0]];
    for (let t = 1; t <= 6; t++) { m.step(); seen.push(m.getLastLr()[0]); }
    assertValues(seen, [1, 1, 0.1, 0.1, 0.1, 0.01, 0.01], 'multistep', 1e-12);
  });

  it('validates their options', function () {
    const opt = new optim.SGD([param([1])], { lr: 1 });
    assert.throws(() => new optim.StepLR(opt, { stepSize: 0 }), /stepSize must be a positive integer/);
    assert.throws(() => new optim.StepLR(opt, { stepSize: 2, gamma: NaN }), /gamma/);
    assert.throws(() => new optim.CosineAnnealingLR(opt, { tMax: 1.5 }), /tMax/);
    assert.throws(() => new optim.CosineAnnealingLR({}, { tMax: 5 }), /expected an Optimizer/);
  });
});

describe('optim: a tiny regression converges', function () {
  // y = 3x - 2 (+ a second output 0.5x + 1), fitted by nn.Linear through autograd.
  const xs = [-1, -0.5, 0, 0.5, 1, 1.5, 2, -1.5];
  const x = tensor(xs.map((v) => [v]));
  const y = tensor(xs.map((v) => [3 * v - 2, 0.5 * v + 1]));
  const cases = [
    ['SGD momentum', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9 }), 200],
    ['SGD nesterov + StepLR', (ps) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, nesterov: true }), 200],
    ['Adam', (ps) => new optim.Adam(ps, { lr: 0.1 }), 300],
    ['AdamW', (ps) => new optim.AdamW(ps, { lr: 0.1, weightDecay: 1e-4 }), 300],
  ];
  for (const [name, make, steps] of cases) {
    it(name, function () {
      const model = new nn.Linear(1, 2, { seed: 7 });
      const opt = make(model.parameters());
      const sched = name.includes('StepLR') ? new optim.StepLR(opt, { stepSize: 100, gamma: 0.5 }) : null;
      let first = null, loss = null;
      for (let s = 0; s < steps; s++) {
        opt.zeroGrad();
        const out = model.forward(x);
        const l = F.mseLoss(out, y);
        l.backward();
        opt.step();
        if (sched) sched.step();
        loss = l.item();
        if (first === null) first = loss;
      }
      assert.ok(loss < 1e-3 * first && loss < 1e-3, `${name}: loss ${first} -> ${loss}`);
      assertValues(model.weight, [3, 0.5], `${name} weight`, 2e-2);
      assertValues(model.bias, [-2, 1], `${name} bias`, 2e-2);
    });
  }
});
