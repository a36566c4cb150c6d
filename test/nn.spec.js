// nn.Module's contract (registration, names, modes, state dicts, hooks) and the layers
// (shapes, initialisation, BatchNorm statistics, dropout), on every backend under test.
'use strict';
const assert = require('assert');
const { Tensor, tensor, randn, nn, F, noGrad } = require('../dist');
const { describeEachBackend } = require('./helpers/backends');

function values(t) {
  return Array.from(t.data);
}

function assertClose(got, want, label, tol = 1e-5) {
  const g = got instanceof Tensor ? values(got) : Array.from(got);
  const w = want instanceof Tensor ? values(want) : Array.from(want);
  assert.strictEqual(g.length, w.length, `${label}: length ${g.length} vs ${w.length}`);
  let scale = 1e-6;
  for (const v of w) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < w.length; i++) {
    assert.ok(Math.abs(g[i] - w[i]) <= tol * scale, `${label}[${i}]: got ${g[i]}, want ${w[i]}`);
  }
}

// A small ResNet-like network, written the way users write PyTorch modules.
class Block extends nn.Module {
  constructor(c) {
    super();
    this.conv1 = new nn.Conv2d(c, c, 3, { padding: 1, bias: false, seed: 1 });
    this.bn1 = new nn.BatchNorm2d(c);
    this.relu = new nn.ReLU();
    this.conv2 = new nn.Conv2d(c, c, 3, { padding: 1, bias: false, seed: 2 });
    this.bn2 = new nn.BatchNorm2d(c);
  }
  forward(x) {
    const y = this.bn2.call(this.conv2.call(this.relu.call(this.bn1.call(this.conv1.call(x)))));
    return F.relu(y.add(x));
  }
}

class Net extends nn.Module {
  constructor(seed = 0) {
    super();
    this.conv1 = new nn.Conv2d(3, 4, 3, { padding: 1, bias: false, seed });
    this.bn1 = new nn.BatchNorm2d(4);
    this.layer1 = new nn.Sequential(new Block(4), new Block(4));
    this.pool = new nn.AdaptiveAvgPool2d(1);
    this.flatten = new nn.Flatten();
    this.fc = new nn.Linear(4, 10, { seed: seed + 1 });
  }
  forward(x) {
    x = F.relu(this.bn1.forward(this.conv1.forward(x)));
    return this.fc.forward(this.flatten.forward(this.pool.forward(this.layer1.forward(x))));
  }
}

const BLOCK_STATE = (p) => [
  `${p}.conv1.weight`,
  `${p}.bn1.weight`, `${p}.bn1.bias`, `${p}.bn1.running_mean`, `${p}.bn1.running_var`, `${p}.bn1.num_batches_tracked`,
  `${p}.conv2.weight`,
  `${p}.bn2.weight`, `${p}.bn2.bias`, `${p}.bn2.running_mean`, `${p}.bn2.running_var`, `${p}.bn2.num_batches_tracked`,
];
const NET_STATE = [
  'conv1.weight',
  'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.num_batches_tracked',
  ...BLOCK_STATE('layer1.0'), ...BLOCK_STATE('layer1.1'),
  'fc.weight', 'fc.bias',
];

describe('nn.Module: registration and names', function () {
  it('finds submodules and parameters from fields, with dotted PyTorch names in order', function () {
    const net = new Net();
    const names = net.namedParameters().map(([n]) => n);
    assert.deepStrictEqual(names, NET_STATE.filter((n) => !/running|num_batches/.test(n)));
    assert.deepStrictEqual(net.namedChildren().map(([n]) => n), ['conv1', 'bn1', 'layer1', 'pool', 'flatten', 'fc']);
    assert.deepStrictEqual(net.namedModules().map(([n]) => n), [
      '', 'conv1', 'bn1', 'layer1', 'layer1.0', 'layer1.0.conv1', 'layer1.0.bn1', 'layer1.0.relu', 'layer1.0.conv2',
      'layer1.0.bn2', 'layer1.1', 'layer1.1.conv1', 'layer1.1.bn1', 'layer1.1.relu', 'layer1.1.conv2', 'layer1.1.bn2',
      'pool', 'flatten', 'fc',
    ]);
    assert.strictEqual(net.modules().length, 19);
    assert.ok(net.parameters().every((p) => p instanceof nn.Parameter && p.requiresGrad));
    assert.strictEqual(net.getSubmodule('layer1.1.conv2'), net.layer1.get(1).conv2);
    assert.throws(() => net.getSubmodule('layer1.7'), /no submodule '7'/);
  });

  it('lists buffers with PyTorch names, and camelCase accessors read them', function () {
    const net = new Net();
    assert.deepStrictEqual(net.namedBuffers().map(([n]) => n), NET_STATE.filter((n) => /running|num_batches/.test(n)));
    assert.strictEqual(net.bn1.runningMean, net.bn1.running_mean);
    assert.deepStrictEqual(net.bn1.runningVar.shape, [4]);
    assert.deepStrictEqual(net.bn1.numBatchesTracked.shape, []);
    assert.strictEqual(net.buffers().length, 15);
  });

  it('own parameters come before children, and a module may hold parameters directly', function () {
    class Scale extends nn.Module {
      constructor() {
        super();
        this.inner = new nn.Linear(2, 2, { seed: 1 });
        this.gain = new nn.Parameter(tensor([1, 1]));
        this.notAParam = tensor([5]); // a plain Tensor field is neither parameter nor buffer
        this.registerBuffer('scratch', tensor([0]), { persistent: false });
      }
      forward(x) { return this.inner.forward(x).mul(this.gain); }
    }
    const m = new Scale();
    assert.deepStrictEqual(m.namedParameters().map(([n]) => n), ['gain', 'inner.weight', 'inner.bias']);
    assert.deepStrictEqual([...m.stateDict().keys()], ['gain', 'inner.weight', 'inner.bias']);
    assert.deepStrictEqual(m.namedBuffers().map(([n]) => n), ['scratch']);
  });

  it('shared parameters are listed once; shared modules once', function () {
    const lin = new nn.Linear(3, 3);
    const seq = new nn.Sequential(lin, new nn.ReLU(), lin);
    assert.strictEqual(seq.parameters().length, 2);
    assert.strictEqual(seq.numParameters(), 12);
    assert.deepStrictEqual(seq.namedParameters().map(([n]) => n), ['0.weight', '0.bias']);
    // the state dict keeps every name (as PyTorch's does)
    assert.deepStrictEqual([...seq.stateDict().keys()], ['0.weight', '0.bias', '2.weight', '2.bias']);
  });

  it('Sequential: numbered or named children, indexing, append, slice', function () {
    const a = new nn.Linear(4, 3), r = new nn.ReLU(), b = new nn.Linear(3, 2);
    const seq = new nn.Sequential(a, r, b);
    assert.strictEqual(seq.length, 3);
    assert.strictEqual(seq[0], a);
    assert.strictEqual(seq.get(-1), b);
    assert.deepStrictEqual([...seq], [a, r, b]);
    assert.deepStrictEqual(seq.namedParameters().map(([n]) => n), ['0.weight', '0.bias', '2.weight', '2.bias']);
    const named = new nn.Sequential([['fc1', a], ['act', r], ['fc2', b]]);
    assert.deepStrictEqual(named.namedParameters().map(([n]) => n), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    assert.strictEqual(named.get('act'), r);
    const fromMap = new nn.Sequential(new Map([['x', a], ['y', r]]));
    assert.deepStrictEqual(fromMap.namedChildren().map(([n]) => n), ['x', 'y']);
    const fromObj = new nn.Sequential({ conv: a, relu: r });
    assert.deepStrictEqual(fromObj.namedChildren().map(([n]) => n), ['conv', 'relu']);
    seq.append(new nn.Sigmoid());
    assert.strictEqual(seq.length, 4);
    assert.strictEqual(seq[3].typeName, 'Sigmoid');
    const head = seq.slice(0, 2);
    assert.strictEqual(head.length, 2);
    assert.strictEqual(head[0], a);
    assert.throws(() => seq.get(9), /out of range/);
    assert.throws(() => new nn.Sequential(a, 3), /argument 1 must be a Module/);
    assert.throws(() => new nn.Sequential([['ok', a], ['bad', {}]]), /entry 'bad' must be a Module/);
    assert.throws(() => new nn.Sequential([['a.b', a]]), /without '\.'/);
  });

  it('ModuleList registers its items', function () {
    const list = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 1)]);
    list.append(new nn.ReLU());
    assert.strictEqual(list.length, 3);
    assert.deepStrictEqual(list.namedParameters().map(([n]) => n), ['0.weight', '0.bias', '1.weight', '1.bias']);
    assert.throws(() => list.forward(), /no forward/);
  });

  it('counts parameters like PyTorch', function () {
    assert.strictEqual(new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }).numParameters(), 9408);
    assert.strictEqual(new nn.Conv2d(3, 64, 11, { stride: 4, padding: 2 }).numParameters(), 23296);
    assert.strictEqual(new nn.Conv2d(64, 64, 3, { groups: 64 }).numParameters(), 64 * 9 + 64);
    assert.strictEqual(new nn.Linear(120, 84).numParameters(), 10164);
    assert.strictEqual(new nn.Linear(9216, 4096).numParameters(), 37752832);
    assert.strictEqual(new nn.BatchNorm2d(64).numParameters(), 128);
    assert.strictEqual(new nn.BatchNorm2d(64, { affine: false }).numParameters(), 0);
    assert.strictEqual(new nn.ConvTranspose2d(64, 32, 4, { stride: 2 }).numParameters(), 64 * 32 * 16 + 32);
    assert.strictEqual(new nn.Conv1d(6, 16, 5).numParameters(), 6 * 16 * 5 + 16);
    // a ResNet-18 BasicBlock: two 3x3 convs and two BatchNorms
    assert.strictEqual(new Block(64).numParameters(), 2 * 64 * 64 * 9 + 4 * 64);
    const net = new Net();
    net.fc.weight.requiresGrad = false;
    assert.strictEqual(net.numParameters({ trainableOnly: true }), net.numParameters() - 40);
  });
});

describe('nn.Module: modes, gradients, apply, printing, hooks', function () {
  it('train/eval propagate to every descendant', function () {
    const net = new Net();
    assert.ok(net.modules().every((m) => m.training));
    assert.strictEqual(net.eval(), net);
    assert.ok(net.modules().every((m) => !m.training));
    net.train();
    assert.ok(net.modules().every((m) => m.training));
    net.train(false);
    assert.strictEqual(net.layer1.get(1).bn2.training, false);
    assert.throws(() => net.train('yes'), /mode must be a boolean/);
  });

  it('zeroGrad, requiresGrad_, apply', function () {
    const net = new Net();
    for (const p of net.parameters()) p.grad = new Tensor(new Float32Array(p.size).fill(1), p.shape.slice());
    net.zeroGrad(false);
    assert.ok(net.parameters().every((p) => p.grad.data.every((v) => v === 0)));
    net.zeroGrad();
    assert.ok(net.parameters().every((p) => p.grad === null));
    net.requiresGrad_(false);
    assert.ok(net.parameters().every((p) => !p.requiresGrad));
    const seen = [];
    net.layer1.get(0).apply((m) => seen.push(m.typeName));
    assert.deepStrictEqual(seen, ['Conv2d', 'BatchNorm2d', 'ReLU', 'Conv2d', 'BatchNorm2d', 'Block']);
  });

  it('toString prints a PyTorch-style tree', function () {
    const seq = new nn.Sequential(new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }), new nn.ReLU(),
      new nn.Sequential(new nn.Linear(4, 2)));
    assert.strictEqual(seq.toString(), [
      'Sequential(',
      '  (0): Conv2d(3, 64, kernelSize=[7, 7], stride=[2, 2], padding=[3, 3], bias=false)',
      '  (1): ReLU()',
      '  (2): Sequential(',
      '    (0): Linear(inFeatures=4, outFeatures=2, bias=true)',
      '  )',
      ')',
    ].join('\n'));
  });

  it('forward hooks fire through call() and forward(), and can be removed', function () {
    const id = new nn.Identity();
    const calls = [];
    const h = id.registerForwardHook((m, args, out) => { calls.push(['hook', m.typeName, args.length]); return out; });
    const pre = id.registerForwardPreHook(() => { calls.push(['pre']); });
    const x = tensor([1, 2]);
    assert.strictEqual(id.call(x), x);
    assert.strictEqual(id.forward(x), x);
    assert.deepStrictEqual(calls, [['pre'], ['hook', 'Identity', 1], ['pre'], ['hook', 'Identity', 1]]);
    h.remove(); pre.remove();
    id.forward(x);
    assert.strictEqual(calls.length, 4);
    const doubler = new nn.Identity();
    doubler.registerForwardHook((m, a, out) => tensor(values(out).map((v) => 2 * v)));
    assert.deepStrictEqual(values(new nn.Sequential(doubler).forward(x)), [2, 4]);
  });

  it('registration errors are clear', function () {
    const m = new nn.Identity();
    assert.throws(() => m.registerBuffer('', tensor([1])), /non-empty string/);
    assert.throws(() => m.registerBuffer('training', tensor([1])), /already an attribute/);
    assert.throws(() => m.registerBuffer('b', [1, 2]), /expected a Tensor or null/);
    assert.throws(() => m.registerParameter('p', tensor([1])), /expected a Parameter/);
    assert.throws(() => m.registerModule('c', {}), /expected a Module/);
    m.registerBuffer('b', tensor([1]));
    assert.throws(() => m.registerParameter('b', new nn.Parameter(tensor([1]))), /already a buffer/);
  });
});

describe('nn.Module: stateDict and loadStateDict', function () {
  it('stateDict is a Map in PyTorch order sharing memory, without grad', function () {
    const net = new Net();
    const sd = net.stateDict();
    assert.ok(sd instanceof Map);
    assert.deepStrictEqual([...sd.keys()], NET_STATE);
    const w = sd.get('conv1.weight');
    assert.strictEqual(w.data, net.conv1.weight.data);
    assert.strictEqual(w.requiresGrad, false);
    assert.ok(!(w instanceof nn.Parameter));
  });

  it('round trip copies values in place (optimizers keep their references)', function () {
    const a = new Net(0), b = new Net(100);
    a.bn1.runningMean.data.set([1, 2, 3, 4]);
    a.bn1.numBatchesTracked.data[0] = 17;
    const wRef = b.conv1.weight, dataRef = b.conv1.weight.data;
    assert.notDeepStrictEqual(values(a.conv1.weight), values(b.conv1.weight));
    const res = b.loadStateDict(a.stateDict());
    assert.deepStrictEqual(res, { missingKeys: [], unexpectedKeys: [] });
    assert.strictEqual(b.conv1.weight, wRef);
    assert.strictEqual(b.conv1.weight.data, dataRef);
    for (const [k, t] of a.stateDict()) assert.deepStrictEqual(values(b.stateDict().get(k)), values(t), k);
    assert.deepStrictEqual(values(b.bn1.runningMean), [1, 2, 3, 4]);
    assert.strictEqual(b.bn1.numBatchesTracked.data[0], 17);
  });

  it('accepts a plain object of tensors or of {shape, data} records (safetensors style)', function () {
    const a = new Net(0), b = new Net(5), c = new Net(9);
    const obj = Object.fromEntries(a.stateDict());
    b.loadStateDict(obj);
    assert.deepStrictEqual(values(b.fc.weight), values(a.fc.weight));
    const raw = {};
    for (const [k, t] of a.stateDict()) {
      raw[k] = /num_batches/.test(k)
        ? { shape: [], data: new BigInt64Array([BigInt(3)]) } // an I64 entry
        : { shape: t.shape.slice(), data: Float64Array.from(t.data) };
    }
    c.loadStateDict(raw);
    assert.deepStrictEqual(values(c.layer1.get(1).conv2.weight), values(a.layer1.get(1).conv2.weight));
    assert.strictEqual(c.bn1.numBatchesTracked.data[0], 3);
  });

  it('one error lists missing keys, unexpected keys and shape mismatches; nothing is copied', function () {
    const a = new Net(0), b = new Net(1);
    const sd = new Map(a.stateDict());
    sd.delete('fc.bias');
    sd.delete('layer1.1.bn2.running_var');
    sd.set('fc.extra', tensor([1]));
    sd.set('fc.weight', new Tensor(new Float32Array(40 * 2), [10, 8]));
    const before = values(b.conv1.weight);
    let err;
    try { b.loadStateDict(sd); } catch (e) { err = e; }
    assert.ok(err instanceof Error, 'throws');
    assert.match(err.message, /missing keys \(2\): layer1\.1\.bn2\.running_var, fc\.bias/);
    assert.match(err.message, /unexpected keys \(1\): fc\.extra/);
    assert.match(err.message, /shape mismatches \(1\): fc\.weight: expected \[10, 4\], got \[10, 8\]/);
    assert.deepStrictEqual(values(b.conv1.weight), before);
  });

  it('strict: false allows missing/unexpected keys but never a shape mismatch', function () {
    const a = new Net(0), b = new Net(1);
    const sd = new Map(a.stateDict());
    sd.delete('fc.bias');
    sd.set('head.weight', tensor([1]));
    const res = b.loadStateDict(sd, { strict: false });
    assert.deepStrictEqual(res, { missingKeys: ['fc.bias'], unexpectedKeys: ['head.weight'] });
    assert.deepStrictEqual(values(b.fc.weight), values(a.fc.weight));
    sd.set('fc.weight', tensor([1, 2]));
    assert.throws(() => b.loadStateDict(sd, { strict: false }), /fc\.weight: expected \[10, 4\], got \[2\]/);
    assert.throws(() => b.loadStateDict(null), /expected a Map or an object/);
    assert.throws(() => b.loadStateDict({ ...Object.fromEntries(a.stateDict()), 'fc.bias': 'x' }), /fc\.bias: expected a Tensor/);
  });
});

describe('nn.init', function () {
  const { init } = nn;
  it('fills in place with the documented bounds', function () {
    const t = new Tensor(new Float32Array(64 * 27), [64, 3, 3, 3]);
    const { Generator } = require('../dist');
    assert.strictEqual(init.kaimingUniform_(t, { generator: new Generator(1) }), t);
    const bound = Math.sqrt(2) * Math.sqrt(3 / 27); // gain(leaky_relu, 0) * sqrt(3 / fanIn)
    assert.ok(values(t).every((v) => Math.abs(v) <= Math.fround(bound)));
    assert.ok(Math.max(...values(t).map(Math.abs)) > 0.9 * bound);
    init.xavierUniform_(t, { gain: 2, generator: new Generator(2) });
    const xb = 2 * Math.sqrt(6 / (27 + 64 * 9));
    assert.ok(values(t).every((v) => Math.abs(v) <= Math.fround(xb)));
    init.kaimingNormal_(t, { mode: 'fanOut', nonlinearity: 'relu', generator: new Generator(3) });
    const std = Math.sqrt(values(t).reduce((s, v) => s + v * v, 0) / t.size);
    assert.ok(Math.abs(std - Math.sqrt(2 / (64 * 9))) < 0.1 * Math.sqrt(2 / (64 * 9)), `std ${std}`);
    init.xavierNormal_(t, { generator: new Generator(4) });
    init.normal_(t, 3, 0.5, new Generator(5));
    const mean = values(t).reduce((s, v) => s + v, 0) / t.size;
    assert.ok(Math.abs(mean - 3) < 0.05);
    init.uniform_(t, -2, -1, new Generator(6));
    assert.ok(values(t).every((v) => v >= -2 && v <= -1));
    assert.ok(values(init.zeros_(t)).every((v) => v === 0));
    assert.ok(values(init.ones_(t)).every((v) => v === 1));
    assert.ok(values(init.constant_(t, 0.25)).every((v) => v === 0.25));
    assert.strictEqual(init.calculateGain('tanh'), 5 / 3);
    assert.strictEqual(init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(1 / 3));
    assert.throws(() => init.kaimingUniform_(tensor([1, 2])), /fewer than 2 dimensions/);
    assert.throws(() => init.uniform_(t, 2, 1), /must not exceed/);
    assert.throws(() => init.normal_(t, 0, -1), /std must be non-negative/);
    assert.throws(() => init.kaimingUniform_(t, { mode: 'fan_avg' }), /mode must be/);
  });
});

describe('nn layers: construction', function () {
  it('seeded initialisation is reproducible and within PyTorch bounds', function () {
    const cases = [
      [() => new nn.Conv2d(3, 8, 3, { seed: 42 }), 27],
      [() => new nn.Conv2d(8, 8, [3, 5], { groups: 4, seed: 42 }), 2 * 15],
      [() => new nn.Conv1d(4, 6, 5, { seed: 42 }), 20],
      [() => new nn.Linear(50, 20, { seed: 42 }), 50],
      // transposed weight [in, out/groups, k, k]: PyTorch's fan-in is out/groups * k * k
      [() => new nn.ConvTranspose2d(6, 4, 3, { seed: 42 }), 36],
      [() => new nn.ConvTranspose1d(6, 4, 3, { groups: 2, seed: 42 }), 6],
    ];
    for (const [make, fanIn] of cases) {
      const a = make(), b = make();
      assert.deepStrictEqual(values(a.weight), values(b.weight));
      assert.deepStrictEqual(values(a.bias), values(b.bias));
      const bound = Math.fround(1 / Math.sqrt(fanIn));
      for (const p of [a.weight, a.bias]) {
        assert.ok(values(p).every((v) => Math.abs(v) <= bound), `${a.typeName}: |w| <= ${bound}`);
      }
      assert.ok(Math.max(...values(a.weight).map(Math.abs)) > 0.7 * bound, `${a.typeName} spreads to the bound`);
      const other = new a.constructor(...(a instanceof nn.Linear ? [a.inFeatures, a.outFeatures] : [a.inChannels, a.outChannels, a.kernelSize]), { seed: 43, groups: a.groups });
      assert.notDeepStrictEqual(values(other.weight), values(a.weight));
    }
    const { Generator, manualSeed } = require('../dist');
    manualSeed(7);
    const g1 = values(new nn.Linear(3, 3).weight);
    manualSeed(7);
    assert.deepStrictEqual(values(new nn.Linear(3, 3).weight), g1);
    const gen = new Generator(11);
    const l1 = new nn.Linear(3, 3, { generator: gen }), l2 = new nn.Linear(3, 3, { generator: gen });
    assert.notDeepStrictEqual(values(l1.weight), values(l2.weight));
    const bn = new nn.BatchNorm1d(5);
    assert.deepStrictEqual(values(bn.weight), [1, 1, 1, 1, 1]);
    assert.deepStrictEqual(values(bn.bias), [0, 0, 0, 0, 0]);
    assert.deepStrictEqual(values(bn.runningVar), [1, 1, 1, 1, 1]);
  });

  it('validates constructor arguments with clear errors', function () {
    assert.throws(() => new nn.Conv2d(0, 4, 3), /Conv2d: inChannels must be a positive integer, got 0/);
    assert.throws(() => new nn.Conv2d(3, -4, 3), /outChannels must be a positive integer, got -4/);
    assert.throws(() => new nn.Conv2d(3, 4, NaN), /kernelSize must be a positive integer, got NaN/);
    assert.throws(() => new nn.Conv2d(3, 4, [3, 3, 3]), /kernelSize must be a number or 2 numbers/);
    assert.throws(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), /inChannels \(3\) must be divisible by groups \(2\)/);
    assert.throws(() => new nn.Conv2d(4, 3, 3, { groups: 2 }), /outChannels \(3\) must be divisible by groups/);
    assert.throws(() => new nn.Conv2d(3, 4, 3, { padding: -1 }), /padding must be a non-negative integer/);
    assert.throws(() => new nn.Conv2d(3, 4, 3, { padding: 'wide' }), /padding must be a number, an array, 'valid', 'same' or 'full'/);
    assert.throws(() => new nn.Conv2d(3, 4, 3, { padding: 'same', stride: 2 }), /'same' needs stride 1/);
    assert.throws(() => new nn.Conv2d(3, 4, 3, { stride: 0 }), /stride must be a positive integer, got 0/);
    assert.throws(() => new nn.Conv2d(3, 4, 3, { mode: 'corr' }), /mode must be 'cross-correlation' or 'convolution'/);
    assert.throws(() => new nn.Conv2d(3, 4, 3, { strides: 2 }), /unknown option 'strides'/);
    assert.throws(() => new nn.Conv2d(3, 4, 3, { bias: 'no' }), /bias must be a boolean/);
    assert.throws(() => new nn.Conv2d(3, 4, 3, { seed: NaN }), /seed must be a finite number/);
    assert.throws(() => new nn.ConvTranspose2d(3, 4, 3, { stride: 2, outputPadding: 2 }), /outputPadding/);
    assert.throws(() => new nn.Linear(-1, 3), /Linear: inFeatures must be a positive integer, got -1/);
    assert.throws(() => new nn.Linear(3, 2.5), /outFeatures must be a positive integer, got 2.5/);
    assert.throws(() => new nn.MaxPool2d(0), /kernelSize must be a positive integer/);
    assert.throws(() => new nn.MaxPool2d(2, { padding: 2 }), /at most half/);
    assert.throws(() => new nn.AvgPool1d(3, { stride: -1 }), /stride must be a positive integer/);
    assert.throws(() => new nn.AdaptiveAvgPool2d([1, 2, 3]), /outputSize/);
    assert.throws(() => new nn.Dropout(1.5), /Dropout: p must be <= 1, got 1.5/);
    assert.throws(() => new nn.Dropout(NaN), /p must be a finite number/);
    assert.throws(() => new nn.BatchNorm2d(0), /numFeatures must be a positive integer/);
    assert.throws(() => new nn.BatchNorm2d(4, { momentum: NaN }), /momentum must be a finite number/);
    assert.throws(() => new nn.BatchNorm2d(4, { eps: 0 }), /eps must be > 0/);
    assert.throws(() => new nn.LocalResponseNorm(0), /size must be a positive integer/);
    assert.throws(() => new nn.Flatten(1.5), /startDim must be an integer/);
    assert.throws(() => new nn.Softmax(0.5), /dim must be an integer/);
  });
});

describeEachBackend('nn layers: forward', function () {
  const x4 = () => randn([2, 3, 9, 8], { seed: 1 });

  it('each layer gives the expected output shape', function () {
    const cases = [
      [new nn.Conv2d(3, 5, 3), x4(), [2, 5, 7, 6]],
      [new nn.Conv2d(3, 5, 3, { padding: 1, stride: 2 }), x4(), [2, 5, 5, 4]],
      [new nn.Conv2d(3, 5, 3, { padding: 'valid' }), x4(), [2, 5, 7, 6]],
      [new nn.Conv2d(3, 5, 4, { padding: 'same' }), x4(), [2, 5, 9, 8]],
      [new nn.Conv2d(3, 5, 3, { padding: 'full' }), x4(), [2, 5, 11, 10]],
      [new nn.Conv2d(3, 5, 3, { padding: 'same', dilation: 2 }), x4(), [2, 5, 9, 8]],
      [new nn.Conv2d(3, 6, [3, 1], { padding: [[1, 0], [0, 2]], groups: 3 }), x4(), [2, 6, 8, 10]],
      [new nn.Conv2d(3, 5, 3, { mode: 'convolution', padding: 1 }), x4(), [2, 5, 9, 8]],
      [new nn.Conv2d(3, 5, 3, { padding: 1, paddingMode: 'reflect' }), x4(), [2, 5, 9, 8]],
      [new nn.Conv1d(3, 4, 3, { stride: 2 }), randn([2, 3, 11]), [2, 4, 5]],
      [new nn.Conv1d(3, 4, 3, { padding: 'same' }), randn([2, 3, 11]), [2, 4, 11]],
      [new nn.ConvTranspose2d(3, 4, 4, { stride: 2, padding: 1 }), x4(), [2, 4, 18, 16]],
      [new nn.ConvTranspose2d(3, 4, 3, { stride: 2, outputPadding: 1 }), x4(), [2, 4, 20, 18]],
      [new nn.ConvTranspose1d(3, 2, 3, { stride: 3 }), randn([2, 3, 5]), [2, 2, 15]],
      [new nn.Linear(8, 4), randn([5, 8]), [5, 4]],
      [new nn.MaxPool2d(2), x4(), [2, 3, 4, 4]],
      [new nn.MaxPool2d(3, { stride: 2, ceilMode: true }), x4(), [2, 3, 4, 4]],
      [new nn.MaxPool1d(2), randn([2, 3, 9]), [2, 3, 4]],
      [new nn.AvgPool2d(3, { stride: 1, padding: 1 }), x4(), [2, 3, 9, 8]],
      [new nn.AvgPool1d(3), randn([2, 3, 9]), [2, 3, 3]],
      [new nn.AdaptiveAvgPool2d(1), x4(), [2, 3, 1, 1]],
      [new nn.AdaptiveAvgPool2d([3, null]), x4(), [2, 3, 3, 8]],
      [new nn.ReLU(), x4(), [2, 3, 9, 8]],
      [new nn.Tanh(), x4(), [2, 3, 9, 8]],
      [new nn.Sigmoid(), x4(), [2, 3, 9, 8]],
      [new nn.Softmax(1), x4(), [2, 3, 9, 8]],
      [new nn.LogSoftmax(), randn([4, 10]), [4, 10]],
      [new nn.Dropout(0.3, { seed: 1 }), x4(), [2, 3, 9, 8]],
      [new nn.BatchNorm2d(3), x4(), [2, 3, 9, 8]],
      [new nn.BatchNorm1d(3), randn([4, 3]), [4, 3]],
      [new nn.BatchNorm1d(3), randn([4, 3, 5]), [4, 3, 5]],
      [new nn.LocalResponseNorm(2), x4(), [2, 3, 9, 8]],
      [new nn.Flatten(), x4(), [2, 216]],
      [new nn.Flatten(2), x4(), [2, 3, 72]],
      [new nn.Identity(), x4(), [2, 3, 9, 8]],
      [new nn.Sequential(new nn.Conv2d(3, 4, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(36, 10)), x4(), [2, 10]],
    ];
    for (const [layer, x, shape] of cases) {
      const y = layer.forward(x);
      assert.deepStrictEqual(y.shape, shape, `${layer.toString()} on [${x.shape}]`);
      assert.ok(values(y).every(Number.isFinite), `${layer.typeName}: finite`);
    }
  });

  it("Conv2d mode 'convolution' equals cross-correlation with the flipped kernel", function () {
    const conv = new nn.Conv2d(3, 4, [3, 2], { mode: 'convolution', padding: 1, stride: [1, 2], seed: 3 });
    const corr = new nn.Conv2d(3, 4, [3, 2], { padding: 1, stride: [1, 2], seed: 4 });
    const [o, i, kh, kw] = conv.weight.shape;
    const src = conv.weight.data, dst = corr.weight.data;
    for (let a = 0; a < o * i; a++) {
      for (let y = 0; y < kh; y++) for (let z = 0; z < kw; z++) {
        dst[a * kh * kw + y * kw + z] = src[a * kh * kw + (kh - 1 - y) * kw + (kw - 1 - z)];
      }
    }
    corr.bias.data.set(conv.bias.data);
    const x = x4();
    assertClose(conv.forward(x), corr.forward(x), 'convolve vs flipped correlate');
    // and it is not the same as plain cross-correlation with the unflipped kernel
    corr.weight.data.set(src);
    assert.ok(values(conv.forward(x)).some((v, k) => Math.abs(v - corr.forward(x).data[k]) > 1e-3));
  });

  it("Conv1d mode 'convolution' reverses the kernel; paddingMode pads with F.pad first", function () {
    const conv = new nn.Conv1d(2, 3, 3, { mode: 'convolution', padding: 'full', seed: 8 });
    const corr = new nn.Conv1d(2, 3, 3, { padding: 'full', seed: 9 });
    const w = conv.weight.data;
    for (let a = 0; a < 6; a++) for (let k = 0; k < 3; k++) corr.weight.data[a * 3 + k] = w[a * 3 + 2 - k];
    corr.bias.data.set(conv.bias.data);
    const x = randn([2, 2, 7], { seed: 5 });
    assertClose(conv.forward(x), corr.forward(x), 'convolve1d vs reversed correlate');
    assert.deepStrictEqual(conv.forward(x).shape, [2, 3, 9]);

    const circ = new nn.Conv2d(3, 2, 3, { padding: [[1, 2], [2, 0]], paddingMode: 'circular', seed: 6 });
    const plain = new nn.Conv2d(3, 2, 3, { seed: 6 });
    const xi = x4();
    const padded = F.pad(xi, [2, 0, 1, 2], { mode: 'circular' });
    assertClose(circ.forward(xi), plain.forward(padded), 'circular padding');
    const same = new nn.Conv2d(3, 2, 4, { padding: 'same', paddingMode: 'replicate', seed: 6 });
    assert.deepStrictEqual(same.explicitPadding(), [[1, 2], [1, 2]]);
    assert.deepStrictEqual(same.forward(xi).shape, [2, 2, 9, 8]);
  });

  it('Linear equals x W^T + b; gradients reach the parameters', function () {
    const lin = new nn.Linear(3, 2, { seed: 5 });
    const x = tensor([[1, 2, 3], [-1, 0, 0.5]]);
    const y = lin.forward(x);
    const W = values(lin.weight), b = values(lin.bias);
    const want = [];
    for (const row of [[1, 2, 3], [-1, 0, 0.5]]) {
      for (let o = 0; o < 2; o++) want.push(b[o] + row[0] * W[o * 3] + row[1] * W[o * 3 + 1] + row[2] * W[o * 3 + 2]);
    }
    assertClose(y, want, 'linear');
    y.sum().backward();
    assertClose(lin.bias.grad, [2, 2], 'dbias');
    assertClose(lin.weight.grad, [0, 2, 3.5, 0, 2, 3.5], 'dweight');
  });

  it('BatchNorm updates running stats in training only, and uses them in eval', function () {
    const bn = new nn.BatchNorm1d(2, { momentum: 0.1 });
    const x = tensor([[1, 10], [3, 20], [5, 60]]);
    const y = bn.forward(x);
    // channel 0: mean 3, biased var 8/3, unbiased var 4; channel 1: mean 30, biased 1400/3, unbiased 700
    assertClose(bn.runningMean, [0.9 * 0 + 0.1 * 3, 0.1 * 30], 'running mean');
    assertClose(bn.runningVar, [0.9 * 1 + 0.1 * 4, 0.9 + 0.1 * 700], 'running var');
    assert.strictEqual(bn.numBatchesTracked.data[0], 1);
    assertClose(y, [-2 / Math.sqrt(8 / 3 + 1e-5), -20 / Math.sqrt(1400 / 3 + 1e-5), 0, -10 / Math.sqrt(1400 / 3 + 1e-5),
      2 / Math.sqrt(8 / 3 + 1e-5), 30 / Math.sqrt(1400 / 3 + 1e-5)], 'train output', 1e-4);
    bn.eval();
    const mean = values(bn.runningMean), v = values(bn.runningVar);
    const ye = bn.forward(x);
    assert.deepStrictEqual(values(bn.runningMean), mean);
    assert.strictEqual(bn.numBatchesTracked.data[0], 1);
    const want = [];
    for (const row of [[1, 10], [3, 20], [5, 60]]) for (let c = 0; c < 2; c++) want.push((row[c] - mean[c]) / Math.sqrt(v[c] + 1e-5));
    assertClose(ye, want, 'eval output', 1e-4);

    // momentum null: cumulative average over the batches seen
    const cum = new nn.BatchNorm2d(1, { momentum: null });
    cum.forward(new Tensor(new Float32Array([1, 1, 1, 1]), [1, 1, 2, 2]));
    cum.forward(new Tensor(new Float32Array([3, 3, 3, 3]), [1, 1, 2, 2]));
    assertClose(cum.runningMean, [2], 'cumulative mean');
    assert.strictEqual(cum.numBatchesTracked.data[0], 2);

    // without running stats eval uses batch statistics
    const nt = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false });
    assert.strictEqual(nt.runningMean, null);
    assert.deepStrictEqual([...nt.stateDict().keys()], []);
    nt.eval();
    assertClose(nt.forward(x), y, 'untracked eval = batch stats', 1e-4);
    assert.throws(() => new nn.BatchNorm2d(3).forward(randn([2, 4, 3, 3])), /expected 3 channels/);
    assert.throws(() => new nn.BatchNorm2d(3).forward(randn([2, 3])), /expected 4-D input/);
  });

  it('Dropout: identity in eval, seeded masks scaled by 1/(1-p) in training', function () {
    const x = randn([4, 50], { seed: 2 });
    const d = new nn.Dropout(0.4, { seed: 9 });
    d.eval();
    assert.deepStrictEqual(values(d.forward(x)), values(x));
    d.train();
    const y = d.forward(x);
    let zeros = 0;
    values(y).forEach((v, i) => {
      if (v === 0) zeros++;
      else assert.ok(Math.abs(v - x.data[i] / 0.6) <= 1e-5 * Math.max(1, Math.abs(v)));
    });
    assert.ok(zeros > 40 && zeros < 120, `dropped ${zeros} of 200`);
    const again = new nn.Dropout(0.4, { seed: 9 }).forward(x);
    assert.deepStrictEqual(values(again), values(y));
    assert.deepStrictEqual(values(new nn.Dropout(0).forward(x)), values(x));
  });

  it('a Net trains a step: forward, loss, backward fill every gradient', function () {
    const net = new Net(3);
    const x = randn([2, 3, 6, 6], { seed: 4 });
    const loss = F.crossEntropy(net.forward(x), [1, 7]);
    loss.backward();
    for (const [name, p] of net.namedParameters()) assert.ok(p.grad && p.grad.size === p.size, `${name} has a gradient`);
    net.eval();
    const out = noGrad(() => net.forward(x));
    assert.deepStrictEqual(out.shape, [2, 10]);
  });
});
