// Module.summary: per-layer rows (name, type, output shape, parameters, multiply-adds,
// receptive field and jump) against hand-computed values, totals against torchvision's
// parameter counts, branch joins (residual add, Inception concat) taking the widest
// branch, the printed table, and a pass that leaves the model as it found it.
'use strict';
const assert = require('assert');
const R = require('../dist');
const { models, nn, F } = R;

const quiet = { print: false };
const row = (s, name) => {
  const r = s.rows.find((x) => x.name === name);
  assert.ok(r, `no row '${name}' in ${s.rows.map((x) => x.name).join(', ')}`);
  return r;
};
const rfj = (r) => [r.receptiveField, r.jump];

describe('summary: LeNet-5', function () {
  // Hand computation, r' = r + (k - 1) j, j' = j s, from r = j = 1 at the input:
  // conv1 5x5/1: r 5, j 1; pool 2x2/2: r 6, j 2; conv2 5x5: r 6 + 4*2 = 14, j 2;
  // pool: r 16, j 4; conv3 (C5) 5x5: r 16 + 4*4 = 32, j 4: one C5 unit sees the whole 32x32 input.
  it('modern: C5 (conv3) sees 32 input pixels with jump 4', function () {
    const s = models.lenet5().summary([1, 1, 32, 32], quiet);
    assert.deepStrictEqual(s.rows.map((r) => [r.name, ...rfj(r)]), [
      ['conv1', 5, 1], ['pool1', 6, 2], ['conv2', 14, 2], ['pool2', 16, 4], ['conv3', 32, 4], ['fc1', 32, 4], ['fc2', 32, 4],
    ]);
    assert.deepStrictEqual(row(s, 'conv3').outputShape, [1, 120, 1, 1]);
    assert.deepStrictEqual(row(s, 'conv3').receptiveFieldHW, [32, 32]);
  });

  it('modern: output shapes, parameters and multiply-adds per layer', function () {
    const s = models.lenet5().summary([2, 1, 32, 32], quiet);
    const want = {
      conv1: [[2, 6, 28, 28], 156, 2 * 6 * 28 * 28 * 25],
      pool1: [[2, 6, 14, 14], 0, 0],
      conv2: [[2, 16, 10, 10], 2416, 2 * 16 * 10 * 10 * 150],
      pool2: [[2, 16, 5, 5], 0, 0],
      conv3: [[2, 120, 1, 1], 48120, 2 * 120 * 400],
      fc1: [[2, 84], 10164, 2 * 84 * 120],
      fc2: [[2, 10], 850, 2 * 10 * 84],
    };
    for (const [name, [shape, params, macs]] of Object.entries(want)) {
      const r = row(s, name);
      assert.deepStrictEqual([r.outputShape, r.params, r.multAdds], [shape, params, macs], name);
    }
    assert.strictEqual(s.totalParams, 61706);
    assert.strictEqual(s.totalMultAdds, Object.values(want).reduce((a, w) => a + w[2], 0));
    assert.deepStrictEqual(s.outputShape, [2, 10]);
  });

  it('classic: C5 sees 32 with jump 4 through the subsampling layers; C3 counts only its 60 connections', function () {
    const s = models.lenet5({ variant: 'classic' }).summary([1, 32, 32], quiet);
    assert.deepStrictEqual(s.inputShape, [1, 1, 32, 32], '[C, H, W] is one image');
    assert.deepStrictEqual(s.rows.map((r) => [r.name, r.type, ...rfj(r)]), [
      ['c1', 'Conv2d', 5, 1], ['s2', 'Subsampling2d', 6, 2], ['c3', 'PartialConv2d', 14, 2], ['s4', 'Subsampling2d', 16, 4],
      ['c5', 'Conv2d', 32, 4], ['f6', 'Linear', 32, 4], ['output', 'Linear', 32, 4],
    ]);
    assert.deepStrictEqual(s.rows.map((r) => r.params), [156, 12, 1516, 32, 48120, 10164, 850]);
    assert.strictEqual(row(s, 'c3').multAdds, 10 * 10 * 60 * 25);
  });
});

describe('summary: ResNet', function () {
  let s18;
  before(function () { s18 = models.resnet18({ seed: 0 }).summary([1, 3, 224, 224], quiet); });

  it('stem: 7x7/2 conv gives 7 with jump 2, then the 3x3/2 max pool 7 + 2*2 = 11 with jump 4', function () {
    assert.deepStrictEqual(rfj(row(s18, 'conv1')), [7, 2]);
    assert.deepStrictEqual(rfj(row(s18, 'bn1')), [7, 2]);
    assert.deepStrictEqual(rfj(row(s18, 'maxpool')), [11, 4]);
    assert.deepStrictEqual(row(s18, 'maxpool').outputShape, [1, 64, 56, 56]);
  });

  it('residual blocks take the wider of the two branches', function () {
    // layer1.0: two 3x3 convs at jump 4 on top of 11: 11 + 8 + 8 = 27 (the identity branch stays at 11).
    assert.deepStrictEqual(rfj(row(s18, 'layer1.0.conv1')), [19, 4]);
    assert.deepStrictEqual(rfj(row(s18, 'layer1.0')), [27, 4]);
    // layer2.0: 3x3/2 then 3x3 at jump 8: 43 + 8 + 16 = 67; the 1x1/2 projection gives 43 with jump 8.
    assert.deepStrictEqual(rfj(row(s18, 'layer2.0.downsample.0')), [43, 8]);
    assert.deepStrictEqual(rfj(row(s18, 'layer2.0')), [67, 8]);
    assert.deepStrictEqual(rfj(row(s18, 'layer4')), [435, 32]);
    // Global average pooling over the 7x7 map: 435 + 6 * 32.
    assert.deepStrictEqual(rfj(row(s18, 'avgpool')), [627, 224]);
  });

  it('totals: torchvision\'s parameter counts and multiply-adds', function () {
    assert.strictEqual(s18.totalParams, 11689512);
    assert.strictEqual(s18.trainableParams, 11689512);
    assert.ok(Math.abs(s18.totalMultAdds / 1.814e9 - 1) < 0.01, `ResNet-18 multiply-adds ${s18.totalMultAdds}`);
    const s50 = models.resnet50({ seed: 0 }).summary([1, 3, 64, 64], quiet);
    assert.strictEqual(s50.totalParams, 25557032);
    assert.deepStrictEqual(rfj(row(s50, 'maxpool')), [11, 4]);
    // containers: parameters of the subtree, multiply-adds of their leaves
    const l1 = row(s50, 'layer1');
    assert.strictEqual(l1.params, s50.rows.filter((r) => r.name.startsWith('layer1.') && r.leaf).reduce((a, r) => a + r.params, 0));
    assert.strictEqual(l1.multAdds, s50.rows.filter((r) => r.name.startsWith('layer1.') && r.leaf).reduce((a, r) => a + r.multAdds, 0));
  });
});

describe('summary: AlexNet and GoogLeNet', function () {
  it('AlexNet: 61,100,840 parameters; features end at receptive field 195, jump 32', function () {
    const s = models.alexnet({ seed: 0 }).summary([1, 3, 224, 224], quiet);
    assert.strictEqual(s.totalParams, 61100840);
    assert.deepStrictEqual(rfj(row(s, 'features.0')), [11, 4]);
    assert.deepStrictEqual(rfj(row(s, 'features.2')), [19, 8]);
    assert.deepStrictEqual(rfj(row(s, 'features')), [195, 32]);
    assert.deepStrictEqual(row(s, 'features').outputShape, [1, 256, 6, 6]);
    assert.deepStrictEqual(row(s, 'classifier.6').outputShape, [1, 1000]);
  });

  it('GoogLeNet: an Inception block concatenates to its widest branch', function () {
    const g = models.googlenet({ seed: 0 });
    const s = g.summary([1, 3, 224, 224], quiet);
    // conv1 7x7/2: 7, j 2; maxpool1 3x3/2: 11, j 4; conv3 3x3: 19; maxpool2: 27, j 8.
    assert.deepStrictEqual(rfj(row(s, 'maxpool2')), [27, 8]);
    // Branches of inception3a at jump 8: 1x1 -> 27; 1x1+3x3 -> 43; 1x1+3x3 -> 43; pool 3x3 + 1x1 -> 43.
    assert.deepStrictEqual(rfj(row(s, 'inception3a.branch1')), [27, 8]);
    assert.deepStrictEqual(rfj(row(s, 'inception3a.branch2')), [43, 8]);
    assert.deepStrictEqual(rfj(row(s, 'inception3a')), [43, 8]);
    assert.deepStrictEqual(row(s, 'inception3a').outputShape, [1, 256, 28, 28]);
    assert.ok(!s.rows.some((r) => r.name.startsWith('aux')), 'no auxiliary heads in eval mode');
    const paper = models.googlenet({ seed: 0, largeBranchKernel: 5 }).summary([1, 3, 224, 224], quiet);
    assert.deepStrictEqual(rfj(row(paper, 'inception3a.branch3')), [59, 8], '5x5: 27 + 4 * 8');
    assert.deepStrictEqual(rfj(row(paper, 'inception3a')), [59, 8]);
    assert.strictEqual(s.totalParams, 13004888);
    assert.ok(Math.abs(s.totalMultAdds / 1.5e9 - 1) < 0.02, `GoogLeNet multiply-adds ${s.totalMultAdds}`);
  });

  it('a training pass shows the auxiliary heads and leaves modes and running statistics unchanged', function () {
    const g = models.googlenet({ seed: 0, numClasses: 10 });
    g.train();
    g.inception3a.eval();
    const before = g.conv1.bn.runningMean.data.slice();
    const s = g.summary([2, 3, 96, 96], { print: false, training: true });
    assert.deepStrictEqual(row(s, 'aux1.fc2').outputShape, [2, 10]);
    assert.deepStrictEqual(Array.from(g.conv1.bn.runningMean.data), Array.from(before));
    assert.strictEqual(g.training, true);
    assert.strictEqual(g.inception3a.training, false);
    assert.strictEqual(g.inception3b.training, true);
  });
});

describe('summary: any module', function () {
  it('dilation widens the kernel; a flatten into Linear sees the whole map; functional ops pass through', function () {
    class Net extends nn.Module {
      constructor() {
        super();
        this.a = new nn.Conv2d(1, 2, 3, { dilation: 2, seed: 1 });             // k_eff 5: r 5
        this.b = new nn.Conv2d(2, 2, [3, 1], { stride: [2, 1], seed: 2 });      // r [7, 5], j [2, 1]
        this.fc = new nn.Linear(2 * 5 * 12, 3, { seed: 3 });
      }
      forward(x) {
        const y = F.relu(this.b.forward(this.a.forward(x)));                    // [1, 2, 5, 12]
        return this.fc.forward(F.flatten(y, 1));
      }
    }
    const s = new Net().summary([1, 1, 16, 16], quiet);
    assert.deepStrictEqual([row(s, 'a').receptiveFieldHW, row(s, 'a').jumpHW], [[5, 5], [1, 1]]);
    assert.deepStrictEqual([row(s, 'b').receptiveFieldHW, row(s, 'b').jumpHW], [[7, 5], [2, 1]]);
    // The flattened 5x12 map: 7 + (5 - 1) * 2 = 15 rows, 5 + (12 - 1) * 1 = 16 columns.
    assert.deepStrictEqual(row(s, 'fc').receptiveFieldHW, [15, 16]);
    assert.strictEqual(row(s, 'fc').receptiveField, 16);
    assert.deepStrictEqual(s.notes, []);
  });

  it('names a functional convolution it cannot see', function () {
    class Net extends nn.Module {
      constructor() { super(); this.w = new nn.Parameter(R.randn([1, 1, 3, 3], { seed: 1 })); this.c = new nn.Conv2d(1, 1, 3); }
      forward(x) { return this.c.forward(F.conv2d(x, this.w)); }
    }
    const s = new Net().summary([1, 1, 8, 8], quiet);
    assert.strictEqual(s.notes.length, 1);
    assert.ok(/functional conv2d/.test(s.notes[0]));
  });

  it('prints a table with totals (or hands it to `log`), and returns the same text', function () {
    let printed = null;
    const s = models.lenet5().summary([1, 1, 32, 32], { log: (t) => { printed = t; } });
    assert.strictEqual(printed, s.text);
    assert.strictEqual(String(s), s.text);
    for (const h of ['Layer (type)', 'Output shape', 'Params', 'Mult-adds', 'RF', 'Jump', 'Total params: 61,706', 'Total mult-adds']) {
      assert.ok(s.text.includes(h), h);
    }
    assert.ok(/conv3 \(Conv2d\)\s+\[1, 120, 1, 1\]\s+48,120\s+48\.00 k\s+32\s+4/.test(s.text), s.text);
    const shallow = models.resnet18({ seed: 0 }).summary([1, 3, 32, 32], { print: false, depth: 1 });
    assert.ok(!/\(BasicBlock\)/.test(shallow.text) && /layer1 \(Sequential\)/.test(shallow.text));
    assert.ok(shallow.rows.some((r) => r.type === 'BasicBlock'), 'the data keeps every row');
  });

  it('leaves no hooks and no tape behind, and checks its arguments', function () {
    const m = models.lenet5({ seed: 0 });
    const x = R.randn([1, 1, 32, 32], { seed: 1 });
    const y0 = m.predict(x);
    m.summary([1, 1, 32, 32], quiet);
    let calls = 0;
    m.conv1.registerForwardHook(() => { calls++; });
    const y1 = m.predict(x);
    assert.strictEqual(calls, 1);
    assert.deepStrictEqual(Array.from(y1.data), Array.from(y0.data));
    assert.ok(m.parameters().every((p) => p.grad === null));
    assert.throws(() => m.summary([1, 1, 32.5, 32]), /inputShape must be an array of positive integers/);
    assert.throws(() => m.summary('1x32x32'), /inputShape must be an array of positive integers/);
  });
});
