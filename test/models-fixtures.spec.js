// The whole-model PyTorch references of ../shared/fixtures/models (torchvision 0.14 on
// torch 1.13, float64): each zoo model, loaded with the fixture's deterministic detFill
// weights under torchvision's state_dict names (strict), reproduces the logits within
// 1e-3 of their largest magnitude, on every backend under test. The intermediate module
// outputs the fixture records are checked too, so a divergence names its layer.
'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const R = require('../dist');
const { describeEachBackend } = require('./helpers/backends');
const { FIXTURES, decode } = require('./helpers/fixtures');
const { detFill, detStateDict } = require('./helpers/detfill');

const BUILD = {
  lenet5: () => R.models.lenet5({ variant: 'modern', seed: 0 }),
  alexnet: () => R.models.alexnet({ seed: 0 }),
  resnet18: () => R.models.resnet18({ seed: 0 }),
  resnet34: () => R.models.resnet34({ seed: 0 }),
  resnet50: () => R.models.resnet50({ seed: 0 }),
  resnet101: () => R.models.resnet101({ seed: 0 }),
  resnet152: () => R.models.resnet152({ seed: 0 }),
  googlenet: () => R.models.googlenet({ auxLogits: false, seed: 0 }),
};

const dir = path.join(FIXTURES, 'models');
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort() : [];
const cases = files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));

/** The fixture's state dict as tensors, num_batches_tracked included (as 0), so loading can be strict. */
function fixtureStateDict(c) {
  const sd = detStateDict(c.stateDict, (data, shape) => R.tensor(data, shape));
  for (const e of c.stateDict) if (e.rule === 'untouched') sd.set(e.name, R.zeros(e.shape));
  return sd;
}

function maxAbs(a) {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

describe('model fixtures: the case list', function () {
  it('has the lenet5, resnet18 and alexnet references', function () {
    if (process.env.RECEPTIVE_FIXTURES) this.skip();
    for (const m of ['lenet5', 'resnet18', 'alexnet']) assert.ok(cases.some((c) => c.model === m), `no ${m}.json in ${dir}`);
  });

  it('detFill reproduces the README worked example bit for bit', function () {
    const want = [-0.47746196389198303, -0.6186779737472534, 0.4178955554962158, -0.7486705183982849];
    assert.deepStrictEqual(Array.from(detFill(4, 0, 1)), want);
  });
});

const models = new Map();
const stateDicts = new Map();

describeEachBackend('model fixtures', (backendName) => {
  for (const c of cases) {
    if (!BUILD[c.model]) continue;
    describe(`${c.model} ${JSON.stringify(c.inputShape)}`, function () {
      let model;
      before(function () {
        // One model per architecture, shared by the cases and backends; each case loads its weights.
        if (!models.has(c.model)) models.set(c.model, BUILD[c.model]());
        if (!stateDicts.has(c)) stateDicts.set(c, fixtureStateDict(c));
        model = models.get(c.model);
        model.loadStateDict(stateDicts.get(c), { strict: true });
      });

      it('has exactly torchvision\'s state_dict names and shapes', function () {
        const have = model.stateDict();
        assert.deepStrictEqual([...have.keys()], c.stateDict.map((e) => e.name), 'names (in PyTorch order)');
        for (const e of c.stateDict) assert.deepStrictEqual(have.get(e.name).shape, e.shape, e.name);
      });

      it('reproduces the logits within 1e-3 of their scale', function () {
        const n = c.inputShape.reduce((a, b) => a * b, 1);
        const x = R.tensor(detFill(n, 1000003, 1), c.inputShape);
        // Record the fixture's intermediates (sum over the module output) on the way.
        const seen = new Map();
        const handles = (c.intermediates || []).map((im) => model.getSubmodule(im.module).registerForwardHook((m, args, out) => {
          let s = 0;
          for (const v of out.data) s += v;
          seen.set(im.module, s);
        }));
        let y;
        try {
          model.eval();
          y = R.noGrad(() => model.forward(x));
        } finally {
          for (const h of handles) h.remove();
        }
        const want = decode(c.expected.logits);
        assert.deepStrictEqual(y.shape, c.expected.logits.shape);
        const scale = maxAbs(want);
        let worst = 0, at = 0;
        for (let i = 0; i < want.length; i++) {
          const e = Math.abs(y.data[i] - want[i]) / scale;
          if (!(e <= worst)) { worst = Number.isNaN(e) ? Infinity : e; at = i; }
        }
        // Locate a divergence: each intermediate's sum against sum|x| (meanAbs * numel).
        const off = [];
        for (const im of c.intermediates || []) {
          const numel = im.shape.reduce((a, b) => a * b, 1);
          const err = Math.abs(seen.get(im.module) - im.sum) / (im.meanAbs * numel);
          if (!(err <= 1e-4)) off.push(`${im.module} (${err.toExponential(1)})`);
        }
        assert.ok(worst <= 1e-3,
          `${c.model} [${backendName}]: logit ${at} is ${y.data[at]}, want ${want[at]}: ${worst.toExponential(2)} of max |logit| ${scale.toFixed(3)}` +
          (off.length ? `; first intermediates off: ${off.join(', ')}` : ''));
        assert.deepStrictEqual(off, [], 'intermediate sums');
        this.test.title += ` (max error ${worst.toExponential(1)} of ${scale.toFixed(2)})`;
      });
    });
  }
});
