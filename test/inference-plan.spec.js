// nn.InferencePlan: model.predict(x) recorded as its native kernel calls and replayed. The
// replay must give predict()'s logits bit for bit, hand out fresh output arrays, record
// again whenever the weights, a tensor, the module tree, the input shape or the backend
// settings change, and fall back to predict() for hooks, the JS backend and passes with a
// JS computation that does not register itself.
'use strict';
const assert = require('assert');
const R = require('../dist');
const select = require('../dist/backend/select');

const bits = (t) => Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));

/** A ResNet-18 in eval mode and a plan for it. */
function resnet18Plan(seed) {
  const m = R.models.resnet18({ seed });
  m.eval();
  return { m, plan: new R.nn.InferencePlan(m) };
}

function sameAsPredict(m, plan, x, label) {
  const want = m.predict(x);
  const got = plan.run(x);
  assert.deepStrictEqual(got.shape, want.shape, `${label}: shape`);
  assert.deepStrictEqual(bits(got), bits(want), `${label}: bit for bit`);
  return got;
}

describe('nn.InferencePlan', function () {
  let prev;
  before(function () {
    if (!select.tryNative() || process.env.RECEPTIVE_BACKEND === 'js') this.skip();
    prev = select.getBackend();
    select.setBackend('native');
  });
  after(function () { if (prev) select.setBackend(prev); });

  const zoo = [
    ['resnet18', () => R.models.resnet18({ seed: 2 }), [2, 3, 64, 64]],
    ['resnet50', () => R.models.resnet50({ seed: 2 }), [1, 3, 64, 64]],
    ['googlenet', () => R.models.googlenet({ seed: 2, auxLogits: false }), [1, 3, 96, 96]],
  ];
  for (const [name, make, shape] of zoo) {
    it(`${name}: replays predict() bit for bit on new inputs, with fresh output arrays`, function () {
      const m = make();
      m.eval();
      const plan = new R.nn.InferencePlan(m);
      const first = sameAsPredict(m, plan, R.randn(shape, { seed: 1 }), 'recording pass');
      assert.strictEqual(plan.fallbackReason, null);
      const kept = bits(first);
      for (let s = 2; s <= 4; s++) sameAsPredict(m, plan, R.randn(shape, { seed: s }), `input ${s}`);
      assert.strictEqual(plan.replayCount, 3);
      const replayed = plan.run(R.randn(shape, { seed: 5 }));
      const replayedBits = bits(replayed);
      plan.run(R.randn(shape, { seed: 6 }));
      assert.deepStrictEqual(bits(first), kept, 'the recorded pass\'s result is not overwritten');
      assert.deepStrictEqual(bits(replayed), replayedBits, 'a replayed result is not overwritten');
    });
  }

  it('records again after weight changes, replaced tensors and modules, and a new input shape', function () {
    const { m, plan } = resnet18Plan(3);
    const x = R.randn([1, 3, 64, 64], { seed: 5 });
    sameAsPredict(m, plan, x, 'first');
    sameAsPredict(m, plan, x, 'replayed');
    // in place, announced through markDataChanged
    m.conv1.weight.data[0] += 0.5;
    R.markDataChanged();
    sameAsPredict(m, plan, x, 'after an in-place weight change');
    // a new parameter tensor (no epoch change)
    const w = m.layer1.get(0).conv1.weight;
    m.layer1.get(0).conv1.weight = new R.nn.Parameter(w.data.map((v) => v * -1.5), w.shape.slice());
    sameAsPredict(m, plan, x, 'after replacing a parameter');
    // a new BatchNorm buffer
    const bn = m.layer2.get(0).bn1;
    bn.registerBuffer('running_mean', new R.Tensor(bn.getBuffer('running_mean').data.map((v, i) => i * 0.01), [bn.numFeatures]));
    sameAsPredict(m, plan, x, 'after replacing a buffer');
    // a new submodule
    m.layer4.get(1).conv2 = new R.nn.Conv2d(512, 512, 3, { padding: 1, bias: false, seed: 9 });
    m.layer4.get(1).conv2.eval();
    sameAsPredict(m, plan, x, 'after replacing a layer');
    // another batch, then back
    sameAsPredict(m, plan, R.randn([3, 3, 64, 64], { seed: 6 }), 'batch 3');
    sameAsPredict(m, plan, x, 'batch 1 again');
    // another convolution policy
    const policy = R.getConvAlgorithm();
    try {
      R.setConvAlgorithm('gemm');
      sameAsPredict(m, plan, x, 'gemm policy');
    } finally {
      R.setConvAlgorithm(policy);
    }
    sameAsPredict(m, plan, x, 'auto policy again');
  });

  it('runs predict() while a module has a hook, and the hook fires', function () {
    const { m, plan } = resnet18Plan(4);
    const x = R.randn([1, 3, 64, 64], { seed: 7 });
    sameAsPredict(m, plan, x, 'plain');
    let calls = 0;
    const h = m.layer3.registerForwardHook(() => { calls++; });
    sameAsPredict(m, plan, x, 'hooked');
    assert.strictEqual(calls, 2, 'predict and the plan each ran the hook');
    assert.match(plan.fallbackReason, /hooks/);
    h.remove();
    sameAsPredict(m, plan, x, 'unhooked again');
    sameAsPredict(m, plan, x, 'replayed again');
    assert.strictEqual(plan.fallbackReason, null);
  });

  it('falls back to predict() on the JS backend', function () {
    const m = R.models.lenet5({ seed: 1 });
    m.eval();
    const plan = new R.nn.InferencePlan(m);
    select.setBackend('js');
    try {
      sameAsPredict(m, plan, R.randn([2, 1, 32, 32], { seed: 1 }), 'js');
      assert.match(plan.fallbackReason, /not native/);
    } finally {
      select.setBackend('native');
    }
  });

  it('refuses a pass whose JS computation outside the kernels would be skipped', function () {
    class Doubling extends R.nn.Module {
      constructor() {
        super();
        this.conv = new R.nn.Conv2d(1, 2, 3, { seed: 1 });
      }
      forward(x) {
        const y = this.conv.forward(x);
        return new R.Tensor(y.data.map((v) => v * 2 + 1), y.shape);  // not a registered step
      }
    }
    const m = new Doubling();
    m.eval();
    const plan = new R.nn.InferencePlan(m);
    for (let s = 1; s <= 3; s++) sameAsPredict(m, plan, R.randn([1, 1, 8, 8], { seed: s }), `input ${s}`);
    assert.match(plan.fallbackReason, /did not reproduce predict/);
    assert.strictEqual(plan.replayCount, 0);
  });

  it('replays ResNet\'s image slices, whose gathering is a registered step', function () {
    const { m, plan } = resnet18Plan(8);
    m.inferenceSliceBytes = 64 * 1024;  // slices of one image at 64x64
    for (let s = 1; s <= 3; s++) sameAsPredict(m, plan, R.randn([3, 3, 64, 64], { seed: s }), `input ${s}`);
    assert.strictEqual(plan.fallbackReason, null);
    assert.strictEqual(plan.replayCount, 2);
  });

  it('refuses a pass that copies in JS into a buffer it keeps, which a replay would leave stale', function () {
    // The check must not be fooled by the buffer a normal pass just refilled.
    class Staged extends R.nn.Module {
      constructor() {
        super();
        this.a = new R.nn.Conv2d(1, 2, 3, { padding: 1, seed: 1 });
        this.b = new R.nn.Conv2d(2, 2, 3, { padding: 1, seed: 2 });
        this.stage = null;
      }
      forward(x) {
        const y = this.a.forward(x);
        if (!this.stage || this.stage.length !== y.size) this.stage = new Float32Array(y.size);
        this.stage.set(y.data);  // not a registered step
        return this.b.forward(new R.Tensor(this.stage, y.shape));
      }
    }
    const m = new Staged();
    m.eval();
    const plan = new R.nn.InferencePlan(m);
    for (let s = 1; s <= 3; s++) sameAsPredict(m, plan, R.randn([1, 1, 8, 8], { seed: s }), `input ${s}`);
    assert.match(plan.fallbackReason, /did not reproduce predict/);
  });

  it('rejects a model that is not a Module', function () {
    assert.throws(() => new R.nn.InferencePlan({ forward() {} }), { name: 'TypeError', message: /InferencePlan: model must be a Module/ });
    assert.throws(() => new R.nn.InferencePlan(null), { name: 'TypeError', message: /InferencePlan: model must be a Module, got null/ });
  });
});
