// The model zoo: every model runs forward at a small input on each backend (eval without a
// tape and training mode), one SGD step on a tiny batch lowers its loss, predict() works
// at any batch size and restores the modes, state dicts round-trip, torchvision's names
// and parameter counts hold, the classic LeNet-5 has the paper's C3 table and layer
// sizes, and GoogLeNet's auxiliary heads appear in training only.
'use strict';
const assert = require('assert');
const R = require('../dist');
const { models, F, optim, noGrad, Tensor } = R;
const { describeEachBackend, backendsUnderTest } = require('./helpers/backends');

// The deepest ResNets train and run the batch checks on one backend only (native when
// present): their forward pass still runs on every backend.
const HEAVY_ON = backendsUnderTest().some((b) => b.name === 'native') ? 'native' : 'js';

function input(shape, seed) {
  return R.randn(shape, { seed });
}

function assertFinite(t, label) {
  for (let i = 0; i < t.size; i++) assert.ok(Number.isFinite(t.data[i]), `${label}: element ${i} is ${t.data[i]}`);
}

function assertClose(got, want, label, rel = 1e-5) {
  assert.deepStrictEqual(got.shape, want.shape, `${label}: shape`);
  let scale = 1e-6;
  for (const v of want.data) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.size; i++) {
    assert.ok(Math.abs(got.data[i] - want.data[i]) <= rel * scale, `${label}[${i}]: got ${got.data[i]}, want ${want.data[i]}`);
  }
}

function lossOf(out, target) {
  return out instanceof Tensor ? F.crossEntropy(out, target) : models.googlenetLoss(out, target);
}

// name, factory, input shape, SGD learning rate, classes. Dropout is off where the model
// has the option, so the two losses of the SGD check see the same network. Each rate is
// one where the first-order prediction of the loss change holds for that initialisation
// (GoogLeNet's 0.01-std truncated normal and the 0.01-std AlexNet of the paper are
// steep); BatchNorm sees at least 8 values per channel everywhere (fewer makes training
// mode ill-conditioned), and the deep ResNets start with zeroed residual branches
// (zeroInitResidual), without which their loss at initialisation is steep as well.
// One instance per model serves every test below (construction is the slow part); the
// SGD test, which changes the weights, comes last for each backend.
const ZOO = [
  ['lenet5 modern', () => models.lenet5({ seed: 1 }), [3, 1, 32, 32], 0.05, 10],
  ['lenet5 classic', () => models.lenet5({ variant: 'classic', seed: 1 }), [3, 1, 32, 32], 0.05, 10],
  ['alexnet', () => models.alexnet({ seed: 1, dropout: 0 }), [2, 3, 64, 64], 0.01, 1000],
  ['alexnet original', () => models.alexnet({ variant: 'original', seed: 1, dropout: 0, numClasses: 7 }), [2, 3, 64, 64], 1e-4, 7],
  ['googlenet', () => models.googlenet({ seed: 1, dropout: 0, dropoutAux: 0 }), [2, 3, 96, 96], 1e-6, 1000],
  ['googlenet 5x5, no aux', () => models.googlenet({ seed: 1, auxLogits: false, largeBranchKernel: 5, dropout: 0, numClasses: 5 }), [2, 3, 96, 96], 1e-6, 5],
  ['resnet18', () => models.resnet18({ seed: 1 }), [2, 3, 64, 64], 1e-3, 1000],
  ['resnet34', () => models.resnet34({ seed: 1 }), [2, 3, 64, 64], 1e-3, 1000],
  ['resnet50', () => models.resnet50({ seed: 1, zeroInitResidual: true }), [4, 3, 32, 32], 1e-3, 1000],
  ['resnet101', () => models.resnet101({ seed: 1, zeroInitResidual: true }), [2, 3, 64, 64], 1e-3, 1000, 'heavy'],
  ['resnet152', () => models.resnet152({ seed: 1, numClasses: 6, zeroInitResidual: true }), [2, 3, 64, 64], 1e-3, 6, 'heavy'],
];
const HEAVY = new Set(ZOO.filter((z) => z[5] === 'heavy').map((z) => z[0]));

// Values right after construction (the tests below train the shared instances).
const initialBiases = new Map();

const built = new Map();
function model(name) {
  if (!built.has(name)) {
    const m = ZOO.find((z) => z[0] === name)[1]();
    initialBiases.set(name, m.parameters().filter((p, i, all) => p.ndim === 1 && all[i - 1] && all[i - 1].ndim > 1).map((p) => p.data[0]));
    built.set(name, m);
  }
  return built.get(name);
}

describeEachBackend('models', (backendName) => {
  for (const [name, , shape, lr, classes] of ZOO) {
    describe(name, function () {
      it(`runs forward on ${JSON.stringify(shape)} in eval mode without a tape and in training mode`, function () {
        const m = model(name);
        const x = input(shape, 3);
        m.eval();
        const y = noGrad(() => m.forward(x));
        assert.ok(y instanceof Tensor);
        assert.deepStrictEqual(y.shape, [shape[0], classes]);
        assert.strictEqual(y.gradFn, null);
        assertFinite(y, name);
        m.train();
        const t = m.forward(x);
        const logits = t instanceof Tensor ? t : t.logits;
        assert.deepStrictEqual(logits.shape, [shape[0], classes]);
        assert.ok(logits.gradFn, 'training output is on the tape');
        assertFinite(logits, `${name} (train)`);
      });

      it('predict() gives the eval output at any batch size and restores the modes', function () {
        if (HEAVY.has(name) && backendName !== HEAVY_ON) this.skip();
        const m = model(name);
        const x = input([shape[0], ...shape.slice(1)], 4);
        m.train();
        const whole = m.predict(x);
        assert.strictEqual(m.training, true, 'training mode restored');
        assert.ok(m.modules().every((c) => c.training), 'every submodule back in training mode');
        assert.strictEqual(whole.gradFn, null, 'no tape');
        m.eval();
        const ref = noGrad(() => m.forward(x));
        assertClose(whole, ref, `${name} predict`, 1e-6);
        assert.strictEqual(m.training, false, 'eval mode kept');
        // One image at a time gives the rows of the batch.
        const per = shape.slice(1).reduce((a, b) => a * b, 1);
        for (let i = 0; i < Math.min(2, shape[0]); i++) {
          const xi = new Tensor(x.data.slice(i * per, (i + 1) * per), [1, ...shape.slice(1)]);
          const yi = m.predict(xi);
          const want = new Tensor(ref.data.slice(i * classes, (i + 1) * classes), [1, classes]);
          assertClose(yi, want, `${name} image ${i}`, 1e-4);
        }
      });

      it('one SGD step on a tiny batch lowers the training loss', function () {
        if (HEAVY.has(name) && backendName !== HEAVY_ON) this.skip();
        const m = model(name);
        m.train();
        const x = input(shape, 5);
        const target = Int32Array.from({ length: shape[0] }, (_, i) => (i * 3) % classes);
        const opt = new optim.SGD(m.parameters(), { lr });
        opt.zeroGrad();
        const loss0 = lossOf(m.forward(x), target);
        loss0.backward();
        opt.step();
        const loss1 = noGrad(() => lossOf(m.forward(x), target));
        assert.ok(loss1.item() < loss0.item(), `${name} [${backendName}]: loss ${loss0.item()} -> ${loss1.item()}`);
      });
    });
  }
});

describe('models: names and parameter counts (torchvision)', function () {
  // Models the backend tests built are reused (their dropout settings do not change counts).
  const COUNTS = [
    ['resnet18', () => model('resnet18'), 11689512],
    ['resnet34', () => model('resnet34'), 21797672],
    ['resnet50', () => model('resnet50'), 25557032],
    ['resnet101', () => model('resnet101'), 44549160],
    ['resnext50_32x4d', () => models.resnext50_32x4d(), 25028904],
    ['alexnet', () => model('alexnet'), 61100840],
    ['googlenet with aux heads', () => model('googlenet'), 13004888],
    ['googlenet without aux heads', () => models.googlenet({ auxLogits: false }), 6624904],
    ['lenet5 modern', () => models.lenet5(), 61706],
  ];
  for (const [name, make, n] of COUNTS) {
    it(`${name}: ${n.toLocaleString('en-US')} parameters`, function () {
      assert.strictEqual(make().numParameters(), n);
    });
  }

  it('resnet152: 60,192,808 parameters; alexnet original (2012, two towers): 60,965,224', function () {
    // Built with fewer classes above: a 1000-class fc has (1000 - n) x (inFeatures + 1) more.
    assert.strictEqual(model('resnet152').numParameters() + 994 * 2049, 60192808);
    assert.strictEqual(model('alexnet original').numParameters() + 993 * 4097, 60965224);
  });

  it('resnet state_dict names follow torchvision (stem, blocks, downsample.0/1, fc)', function () {
    const keys = [...model('resnet18').stateDict().keys()];
    assert.deepStrictEqual(keys.slice(0, 6), ['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked']);
    for (const k of ['layer1.0.conv1.weight', 'layer1.1.bn2.running_var', 'layer2.0.downsample.0.weight',
      'layer2.0.downsample.1.num_batches_tracked', 'layer4.1.conv2.weight', 'fc.weight', 'fc.bias']) assert.ok(keys.includes(k), k);
    assert.ok(!keys.includes('layer1.0.downsample.0.weight'), 'no projection where the shape is kept');
    assert.strictEqual(keys.length, 122);
    const z = models.resnet18({ seed: 2, zeroInitResidual: true });
    assert.ok(z.layer1.get(0).bn2.weight.data.every((v) => v === 0) && z.layer1.get(0).bn1.weight.data.every((v) => v === 1), 'zeroInitResidual');
    const k50 = [...model('resnet50').stateDict().keys()];
    for (const k of ['layer1.0.downsample.0.weight', 'layer1.0.conv3.weight', 'layer3.5.bn3.bias']) assert.ok(k50.includes(k), k);
    // v1.5: the stride sits on the 3x3 conv of a Bottleneck.
    const b = model('resnet50').layer2.get(0);
    assert.deepStrictEqual([b.conv1.stride, b.conv2.stride, b.downsample.get(0).stride], [[1, 1], [2, 2], [2, 2]]);
  });

  it('alexnet and googlenet state_dict names follow torchvision', function () {
    const a = [...model('alexnet').stateDict().keys()];
    assert.deepStrictEqual(a, ['features.0.weight', 'features.0.bias', 'features.3.weight', 'features.3.bias', 'features.6.weight',
      'features.6.bias', 'features.8.weight', 'features.8.bias', 'features.10.weight', 'features.10.bias',
      'classifier.1.weight', 'classifier.1.bias', 'classifier.4.weight', 'classifier.4.bias', 'classifier.6.weight', 'classifier.6.bias']);
    const g = models.googlenet({ seed: 1 });
    const gk = [...g.stateDict().keys()];
    for (const k of ['conv1.conv.weight', 'conv1.bn.running_mean', 'inception3a.branch1.conv.weight', 'inception3a.branch2.1.bn.weight',
      'inception3a.branch3.1.conv.weight', 'inception3a.branch4.1.conv.weight', 'aux1.conv.conv.weight', 'aux1.fc1.weight',
      'aux2.fc2.bias', 'fc.weight']) assert.ok(gk.includes(k), k);
    assert.strictEqual(g.conv1.bn.eps, 0.001);
    assert.strictEqual(g.conv1.conv.bias, null);
    assert.deepStrictEqual(g.inception3a.branch3.get(1).conv.weight.shape, [32, 16, 3, 3]);
    assert.deepStrictEqual(model('googlenet 5x5, no aux').inception3a.branch3.get(1).conv.weight.shape, [32, 16, 5, 5]);
    for (const p of [g.maxpool1, g.maxpool2, g.maxpool3, g.maxpool4, g.inception3a.branch4.get(0)]) assert.strictEqual(p.ceilMode, true);
    assert.strictEqual(g.aux1.dropout.p, 0.7);
    assert.strictEqual(g.dropout.p, 0.2);
  });

  it('alexnet original: groups=2 on conv2, conv4, conv5; LRN after conv1 and conv2; overlapping pools', function () {
    const m = model('alexnet original');
    const f = m.features;
    const convs = [0, 4, 8, 10, 12].map((i) => f.get(i));
    assert.deepStrictEqual(convs.map((c) => c.groups), [1, 2, 1, 2, 2]);
    assert.deepStrictEqual(convs.map((c) => c.outChannels), [96, 256, 384, 384, 256]);
    for (const i of [2, 6]) {
      const lrn = f.get(i);
      assert.strictEqual(lrn.typeName, 'LocalResponseNorm');
      // The paper's alpha = 1e-4 on the plain sum; LocalResponseNorm divides alpha by the size.
      assert.deepStrictEqual([lrn.size, lrn.alpha / lrn.size, lrn.beta, lrn.k], [5, 1e-4, 0.75, 2]);
    }
    for (const i of [3, 7, 14]) assert.deepStrictEqual([f.get(i).kernelSize, f.get(i).stride], [[3, 3], [2, 2]]);
    assert.deepStrictEqual(m.classifier.children().map((c) => c.typeName),
      ['Dropout', 'Linear', 'ReLU', 'Dropout', 'Linear', 'ReLU', 'Linear']);
    // The paper's initialisation: biases 1 in conv2, conv4, conv5 and the hidden fc layers.
    assert.deepStrictEqual(initialBiases.get('alexnet original'), [0, 1, 0, 1, 1, 1, 1, 0]);
  });
});

describe('models: the classic LeNet-5 (LeCun et al. 1998)', function () {
  // Table I of the paper: rows are S2 maps 0-5, columns C3 maps 0-15; X = connected.
  const PAPER_TABLE_I = [
    'X   XXX  XXXX XX',
    'XX   XXX  XXXX X',
    'XXX   XXX  X XXX',
    ' XXX  XXXX  X XX',
    '  XXX  XXXX XX X',
    '   XXX  XXXX XXX',
  ];

  it('C3 connection table is Table I of the paper', function () {
    const table = models.LENET5_C3_TABLE;
    assert.strictEqual(table.length, 16);
    for (let j = 0; j < 16; j++) {
      const fromPaper = [];
      for (let i = 0; i < 6; i++) if (PAPER_TABLE_I[i][j] === 'X') fromPaper.push(i);
      assert.deepStrictEqual([...table[j]].sort(), fromPaper, `C3 map ${j}`);
    }
    // 6 maps read 3 contiguous maps, 9 read 4 (6 contiguous, 3 not), one reads all 6.
    const sizes = table.map((r) => r.length);
    assert.deepStrictEqual(sizes, [3, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 6]);
    const contiguous = (r) => { const s = new Set(r); return [...Array(6).keys()].some((st) => r.every((_, k) => s.has((st + k) % 6))); };
    assert.deepStrictEqual(table.map(contiguous), [...Array(12).fill(true), false, false, false, true]);
    const m = models.lenet5({ variant: 'classic' });
    assert.deepStrictEqual(m.c3.connectionMatrix(), PAPER_TABLE_I[0].split('').map((_, j) => PAPER_TABLE_I.map((row) => (row[j] === 'X' ? 1 : 0))));
  });

  it('has the paper\'s layers and trainable parameter counts (RBF output replaced by Linear)', function () {
    const m = models.lenet5({ variant: 'classic' });
    const counts = Object.fromEntries(m.namedChildren().map(([k, c]) => [k, c.numParameters()]));
    assert.deepStrictEqual(counts, { c1: 156, s2: 12, c3: 1516, s4: 32, c5: 48120, f6: 10164, output: 850 });
    const x = input([2, 1, 32, 32], 1);
    const shapes = [];
    for (const k of ['c1', 's2', 'c3', 's4', 'c5', 'f6']) m[k].registerForwardHook((_m, _a, out) => { shapes.push(out.shape); });
    m.predict(x);
    assert.deepStrictEqual(shapes, [[2, 6, 28, 28], [2, 6, 14, 14], [2, 16, 10, 10], [2, 16, 5, 5], [2, 120, 1, 1], [2, 84]]);
    assert.deepStrictEqual(models.lenet5({ variant: 'classic', numClasses: 26 }).output.weight.shape, [26, 84]);
  });

  it('squashes with 1.7159 tanh(2x/3) and subsamples as coefficient x (2x2 sum) + bias', function () {
    const x = R.tensor([-3, -1, 0, 0.5, 1, 4], [6], { requiresGrad: true });
    const y = models.scaledTanh(x);
    y.data.forEach((v, i) => assert.ok(Math.abs(v - 1.7159 * Math.tanh((2 / 3) * x.data[i])) < 1e-6));
    assert.ok(Math.abs(models.scaledTanh(R.tensor([1], [1])).item() - 1) < 1e-3, 'f(1) is about 1 (the paper\'s choice of A and S)');
    y.sum().backward();
    x.data.forEach((v, i) => {
      const t = Math.tanh((2 / 3) * v);
      assert.ok(Math.abs(x.grad.data[i] - 1.7159 * (2 / 3) * (1 - t * t)) < 1e-5);
    });
    const s = new models.Subsampling2d(2, 2, { generator: new R.Generator(1) });
    s.weight.data.set([0.5, -2]);
    s.bias.data.set([0.25, 1]);
    const inp = R.tensor(Float32Array.from({ length: 32 }, (_, i) => i), [1, 2, 4, 4]);
    const out = s.forward(inp);
    const want = [];
    for (let c = 0; c < 2; c++) for (let oy = 0; oy < 2; oy++) for (let ox = 0; ox < 2; ox++) {
      let sum = 0;
      for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) sum += inp.data[c * 16 + (2 * oy + dy) * 4 + 2 * ox + dx];
      want.push(sum * s.weight.data[c] + s.bias.data[c]);
    }
    assert.deepStrictEqual(Array.from(out.data), want);
  });

  it('training keeps the missing C3 connections missing', function () {
    const m = models.lenet5({ variant: 'classic', seed: 2 });
    const opt = new optim.SGD(m.parameters(), { lr: 0.1 });
    const x = input([4, 1, 32, 32], 7);
    const target = Int32Array.from([1, 2, 3, 4]);
    for (let step = 0; step < 2; step++) {
      opt.zeroGrad();
      F.crossEntropy(m.forward(x), target).backward();
      opt.step();
    }
    const dense = m.c3.denseWeight();
    const table = models.LENET5_C3_TABLE;
    for (let j = 0; j < 16; j++) {
      for (let i = 0; i < 6; i++) {
        const kernel = dense.data.subarray((j * 6 + i) * 25, (j * 6 + i + 1) * 25);
        if (table[j].includes(i)) assert.ok(kernel.some((v) => v !== 0), `connection ${i}->${j} present`);
        else assert.ok(kernel.every((v) => v === 0), `no connection ${i}->${j}`);
      }
    }
  });
});

describe('models: GoogLeNet heads', function () {
  const g = models.googlenet({ seed: 3, numClasses: 4 });
  const x = input([2, 3, 64, 64], 9);

  it('returns {logits, aux1, aux2} in training mode and the logits in eval mode', function () {
    g.train();
    const out = g.forward(x);
    assert.deepStrictEqual(Object.keys(out).sort(), ['aux1', 'aux2', 'logits']);
    for (const k of ['logits', 'aux1', 'aux2']) assert.deepStrictEqual(out[k].shape, [2, 4], k);
    g.eval();
    assert.ok(g.forward(x) instanceof Tensor);
    assert.ok(g.predict(x) instanceof Tensor);
    const noAux = models.googlenet({ seed: 3, numClasses: 4, auxLogits: false });
    assert.strictEqual(noAux.aux1, null);
    assert.ok(noAux.train().forward(x) instanceof Tensor, 'no aux heads: a Tensor in training too');
  });

  it('googlenetLoss = CE(logits) + 0.3 (CE(aux1) + CE(aux2)), and CE for a plain Tensor', function () {
    g.train();
    const out = noGrad(() => g.forward(x));
    const target = Int32Array.from([1, 3]);
    const want = F.crossEntropy(out.logits, target).item() +
      0.3 * (F.crossEntropy(out.aux1, target).item() + F.crossEntropy(out.aux2, target).item());
    assert.ok(Math.abs(models.googlenetLoss(out, target).item() - want) < 1e-5);
    assert.ok(Math.abs(models.googlenetLoss(out, [1, 3]).item() - want) < 1e-5);
    assert.ok(Math.abs(models.googlenetLoss(out.logits, target).item() - F.crossEntropy(out.logits, target).item()) < 1e-6);
  });

  it('transformInput rescales ImageNet-normalised input per channel, as torchvision', function () {
    const a = models.googlenet({ seed: 4, auxLogits: false, transformInput: true, numClasses: 3 });
    const b = models.googlenet({ seed: 4, auxLogits: false, numClasses: 3 });
    const xs = input([1, 3, 32, 32], 2);
    const t = xs.data.slice();
    const scale = [0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5], shift = [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5];
    for (let c = 0; c < 3; c++) for (let i = 0; i < 1024; i++) t[c * 1024 + i] = Math.fround(t[c * 1024 + i] * Math.fround(scale[c])) + Math.fround(shift[c]);
    assertClose(a.predict(xs), b.predict(R.tensor(t, [1, 3, 32, 32])), 'transformInput', 1e-5);
  });
});

describe('models: the inference path', function () {
  it('fused conv-BatchNorm-ReLU inference matches the module-by-module path, and hooks still fire', function () {
    for (const [name, shape] of [['resnet18', [2, 3, 64, 64]], ['googlenet', [2, 3, 64, 64]], ['resnet50', [1, 3, 64, 64]]]) {
      const m = model(name);
      const x = input(shape, 12);
      const fused = m.predict(x);
      let calls = 0;
      const handles = m.modules().filter((c) => c instanceof R.nn.BatchNorm2d).map((bn) => bn.registerForwardHook(() => { calls++; }));
      const plain = m.predict(x);
      handles.forEach((h) => h.remove());
      const active = m.modules().filter((c) => c instanceof R.nn.BatchNorm2d && !(name === 'googlenet' && /aux/.test(String(c)))).length;
      assert.ok(calls > 0 && calls <= active, `${name}: ${calls} BatchNorm hook calls`);
      // BatchNorm folded into the weights rounds differently from a separate BatchNorm pass
      assertClose(fused, plain, `${name} fused`, 1e-5);
      // (GoogLeNet's auxiliary heads run only in training mode)
      const convs = m.namedModules().filter(([n, c]) => c instanceof R.nn.Conv2d && !/^aux/.test(n)).map(([, c]) => c);
      assert.ok(convs.every((c) => c.preparedInfo() !== null), `${name}: every conv ran the prepared path`);
      // eval mode with a tape (frozen statistics, trainable weights) goes through the modules too
      m.eval();
      const taped = m.forward(x);
      assert.ok(taped.gradFn);
      assertClose(taped, fused, `${name} with tape`, 1e-5);
    }
  });

  it('LeNet-5, AlexNet, ResNet and GoogLeNet inference recycle their activations without changing a value, pass after pass', function () {
    for (const [name, shape] of [['lenet5 modern', [3, 1, 32, 32]], ['alexnet', [2, 3, 64, 64]], ['alexnet original', [1, 3, 70, 66]],
      ['resnet18', [2, 3, 48, 40]], ['resnet50', [1, 3, 64, 64]], ['googlenet', [2, 3, 64, 56]],
      // one image: the Inception branches write straight into the concatenated output
      ['googlenet', [1, 3, 64, 56]]]) {
      const m = model(name);
      const x = input(shape, 13), x2 = input(shape, 14);
      const first = m.predict(x);
      assert.ok(m.activations.freeBytes > 0, `${name}: the pool holds the activations after a pass`);
      const other = m.predict(x2);
      const again = m.predict(x);
      assert.deepStrictEqual(Array.from(again.data), Array.from(first.data), `${name}: same input, same logits`);
      // (GoogLeNet's random init at this size gives input-independent logits)
      if (name !== 'googlenet') assert.notDeepStrictEqual(Array.from(other.data), Array.from(first.data));
      // a hook anywhere turns recycling off (it could keep an intermediate): same values
      const h = (m.layer2 || m.inception3b || m.conv2 || m.features.get(4)).registerForwardHook(() => {});
      const held = m.activations.freeBytes;
      const hooked = m.predict(x);
      h.remove();
      assert.strictEqual(m.activations.freeBytes, held, `${name}: no pool traffic with a hook`);
      // (ResNet-50's recycled pass adds its shortcuts in place: another rounding order)
      if (name === 'resnet50') assertClose(hooked, first, `${name}: hooked pass`, 1e-5);
      else assert.deepStrictEqual(Array.from(hooked.data), Array.from(first.data), `${name}: hooked pass`);
      // the caller's input is never recycled
      const copy = Float32Array.from(x.data);
      m.predict(x);
      assert.deepStrictEqual(Array.from(x.data), Array.from(copy));
      // steady state: the pool neither grows nor shrinks from pass to pass
      const bytes = m.activations.freeBytes;
      for (let i = 0; i < 3; i++) m.predict(x);
      assert.strictEqual(m.activations.freeBytes, bytes, `${name}: the pool holds as much after three more passes`);
    }
  });

  it('an ActivationPool takes back only the buffers it handed out', function () {
    const { ActivationPool } = require('../dist/models/activation_pool');
    const pool = new ActivationPool();
    pool.give(new Float32Array(100));  // a layer's own array: not kept
    assert.strictEqual(pool.freeBytes, 0);
    const a = pool.take(100), b = pool.take(60);
    assert.strictEqual(a.length, 100);
    pool.give(a);
    pool.give(a);  // twice: held once
    assert.strictEqual(pool.freeBytes, 400);
    assert.strictEqual(pool.take(80).buffer, a.buffer, 'served from the free buffer within 2x');
    pool.give(b.subarray(10));  // a view of a pooled buffer returns the whole buffer
    assert.strictEqual(pool.freeBytes, 240);
  });

  it('ResNet inference runs its leading stages in slices of images when their activations pass inferenceSliceBytes, with the same logits', function () {
    // [model, input, budget, slices]: ResNet-18 on 48x40 holds 122,880 bytes an image after
    // conv1 and 30,720 in layer1: 2 images a slice, conv1 only. ResNet-50 on 64x64: 262,144
    // bytes an image up to layer1, 131,072 in layer2, 65,536 in layer3: conv1 to layer2 an
    // image at a time, layer3 on the gathered batch.
    for (const [name, shape, budget, slices] of [['resnet18', [5, 3, 48, 40], 245760, 3], ['resnet50', [3, 3, 64, 64], 300000, 3]]) {
      const m = model(name);
      const defaultBudget = m.inferenceSliceBytes;
      const x = input(shape, 21);
      const copy = Float32Array.from(x.data);
      m.inferenceSliceBytes = Infinity;
      const whole = m.predict(x);
      let stemCalls = 0, layer3Calls = 0;
      const stem = m.conv1.fusedForward, block = m.layer3.get(0).forwardPooled;
      m.conv1.fusedForward = function (...a) { stemCalls++; return stem.apply(this, a); };
      m.layer3.get(0).forwardPooled = function (...a) { layer3Calls++; return block.apply(this, a); };
      m.inferenceSliceBytes = budget;
      const sliced = m.predict(x);
      const again = m.predict(x);
      assert.strictEqual(stemCalls, 2 * slices, `${name}: conv1 once a slice`);
      assert.strictEqual(layer3Calls, 2, `${name}: layer3 on the whole batch`);
      assertClose(sliced, whole, `${name}: sliced = whole batch`, 1e-5);
      assert.deepStrictEqual(Array.from(again.data), Array.from(sliced.data), `${name}: pass after pass`);
      assert.deepStrictEqual(Array.from(x.data), Array.from(copy), `${name}: the input is untouched`);
      for (const bad of [0, -1, NaN, '32']) {
        m.inferenceSliceBytes = bad;
        assert.throws(() => m.predict(x), (e) => e instanceof RangeError && /inferenceSliceBytes/.test(e.message), String(bad));
      }
      // (the model is shared with the other specs)
      m.inferenceSliceBytes = defaultBudget;
      delete m.conv1.fusedForward;
      delete m.layer3.get(0).forwardPooled;
    }
  });
});

describe('models: state dicts', function () {
  it('loadStateDict(stateDict()) round-trips every model', function () {
    for (const [name, make, shape] of [
      ['lenet5 classic', (s) => models.lenet5({ variant: 'classic', seed: s }), [1, 1, 32, 32]],
      ['alexnet', (s) => models.alexnet({ seed: s }), [1, 3, 64, 64]],
      ['googlenet', (s) => models.googlenet({ seed: s, dropout: 0, dropoutAux: 0 }), [1, 3, 32, 32]],
      ['resnet50', (s) => models.resnet50({ seed: s }), [1, 3, 32, 32]],
    ]) {
      const a = make(11), b = model(name);
      const x = input(shape, 1);
      assert.notDeepStrictEqual(Array.from(a.predict(x).data), Array.from(b.predict(x).data), `${name}: seeds differ`);
      const res = b.loadStateDict(a.stateDict());
      assert.deepStrictEqual(res, { missingKeys: [], unexpectedKeys: [] });
      assert.deepStrictEqual(Array.from(b.predict(x).data), Array.from(a.predict(x).data), name);
    }
  });

  it('a wrong name or shape gives loadStateDict\'s error listing', function () {
    const sd = model('resnet18').stateDict();
    sd.set('fc.weight', R.zeros([10, 512]));
    sd.delete('layer1.0.conv1.weight');
    sd.set('layer9.weight', R.zeros([1]));
    assert.throws(() => model('resnet18').loadStateDict(sd),
      (e) => /missing keys \(1\): layer1\.0\.conv1\.weight/.test(e.message) && /unexpected keys \(1\): layer9\.weight/.test(e.message) &&
        /fc\.weight: expected \[1000, 512\], got \[10, 512\]/.test(e.message));
  });

  it('the weights option loads a state dict strictly instead of initialising', function () {
    const src = model('resnet18');
    const m = models.resnet18({ weights: src.stateDict() });
    const x = input([1, 3, 32, 32], 2);
    assert.deepStrictEqual(Array.from(m.predict(x).data), Array.from(src.predict(x).data));
    const c = models.lenet5({ variant: 'classic', weights: model('lenet5 classic').stateDict() });
    assert.deepStrictEqual(Array.from(c.c3.weight.data), Array.from(model('lenet5 classic').c3.weight.data));
    assert.throws(() => models.googlenet({ weights: models.googlenet({ auxLogits: false }).stateDict() }), /missing keys \(\d+\): aux1\.conv\.conv\.weight/);
  });

  it('the same seed builds the same weights', function () {
    const a = models.googlenet({ seed: 5, auxLogits: false }).stateDict(), b = models.googlenet({ seed: 5, auxLogits: false }).stateDict();
    for (const [k, t] of a) assert.deepStrictEqual(t.data, b.get(k).data, k);
  });
});

describe('models: options and input checks', function () {
  it('rejects unknown variants, options and bad numClasses', function () {
    assert.throws(() => models.lenet5({ variant: 'lenet1' }), /unknown variant 'lenet1'/);
    assert.throws(() => models.alexnet({ variant: 'vgg' }), /unknown variant 'vgg'/);
    assert.throws(() => models.googlenet({ auxLogit: true }), /unknown option 'auxLogit'/);
    assert.throws(() => models.googlenet({ largeBranchKernel: 7 }), /largeBranchKernel must be 3 or 5/);
    assert.throws(() => models.resnet18({ numClasses: 0 }), /numClasses must be a positive integer/);
    assert.throws(() => models.alexnet({ dropout: 2 }), /dropout must be a number in \[0, 1\]/);
  });

  it('names the expected input layout', function () {
    assert.throws(() => models.lenet5().forward(R.zeros([1, 1, 28, 28])), /lenet5 expects input \[N, 1, 32, 32\], got \[1, 1, 28, 28\]/);
    assert.throws(() => model('resnet18').forward(R.zeros([1, 1, 32, 32])), /resnet expects input \[N, 3, H, W\]/);
    assert.throws(() => model('alexnet').forward(R.zeros([1, 3, 32, 32])), /alexnet needs images of at least 63x63/);
  });

  it('keeps the modern LeNet-5 the fixture describes and `receptive train lenet5` builds', function () {
    const m = models.lenet5({ seed: 0 });
    assert.ok(m instanceof models.LeNet5);
    assert.deepStrictEqual([...m.stateDict().keys()], ['conv1.weight', 'conv1.bias', 'conv2.weight', 'conv2.bias', 'conv3.weight',
      'conv3.bias', 'fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    assert.deepStrictEqual(Array.from(models.lenet5({ seed: 0 }).conv1.weight.data), Array.from(m.conv1.weight.data));
  });
});
