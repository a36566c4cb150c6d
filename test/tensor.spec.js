// Tensor creation, views, broadcasting, reductions, shape ops, matmul and error messages.
'use strict';
const assert = require('assert');
const R = require('../dist');
const { Tensor } = R;
const { describeEachBackend } = require('./helpers/backends');

function close(got, want, tol = 1e-5, label = 'value') {
  const g = got instanceof Tensor ? Array.from(got.data) : Array.isArray(got) ? got.flat(Infinity) : Array.from(got);
  const w = Array.isArray(want) ? want.flat(Infinity) : Array.from(want);
  assert.strictEqual(g.length, w.length, `${label}: length ${g.length} != ${w.length}`);
  for (let i = 0; i < w.length; i++) {
    if (!(Math.abs(g[i] - w[i]) <= tol * (1 + Math.abs(w[i])))) {
      assert.fail(`${label}[${i}]: got ${g[i]}, want ${w[i]}`);
    }
  }
}

describe('tensor creation', function () {
  it('uses a Float32Array as is and shapes it', function () {
    const d = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = R.tensor(d, [2, 3]);
    assert.strictEqual(t.data, d);
    assert.deepStrictEqual(t.shape, [2, 3]);
    assert.strictEqual(t.size, 6);
    assert.strictEqual(t.ndim, 2);
    assert.deepStrictEqual(R.tensor(d).shape, [6]);
  });

  it('accepts flat arrays, typed arrays and nested arrays', function () {
    assert.deepStrictEqual(R.tensor([1, 2, 3]).toArray(), [1, 2, 3]);
    assert.deepStrictEqual(R.tensor(new Int32Array([1, 2, 3, 4]), [2, 2]).toArray(), [[1, 2], [3, 4]]);
    assert.deepStrictEqual(R.tensor(new Float64Array([0.5])).toArray(), [0.5]);
    const n = R.tensor([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
    assert.deepStrictEqual(n.shape, [2, 2, 2]);
    assert.deepStrictEqual(Array.from(n.data), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepStrictEqual(R.tensor([[1, 2, 3]], [3]).shape, [3]);
    assert.deepStrictEqual(R.tensor([]).shape, [0]);
    const rows = R.tensor([new Float32Array([1, 2]), new Float32Array([3, 4])]);
    assert.deepStrictEqual(rows.toArray(), [[1, 2], [3, 4]]);
    assert.throws(() => R.tensor([new Float32Array([1, 2]), new Float32Array([3])]), /ragged/);
  });

  it('makes 0-d tensors from numbers and from tensor(x, [])', function () {
    const s = R.tensor(3.5);
    assert.deepStrictEqual(s.shape, []);
    assert.strictEqual(s.ndim, 0);
    assert.strictEqual(s.item(), 3.5);
    assert.strictEqual(s.toArray(), 3.5);
    assert.deepStrictEqual(R.tensor([7], []).shape, []);
  });

  it('rejects ragged arrays and shape mismatches, naming the length and shape', function () {
    assert.throws(() => R.tensor([[1, 2], [3]]), /ragged/);
    assert.throws(() => R.tensor([[1, 2], 3]), /ragged/);
    assert.throws(() => R.tensor([1, 2, 3], [2, 2]), (e) => /3/.test(e.message) && /\[2, 2\]/.test(e.message));
    assert.throws(() => R.tensor([1, 2], [-2, -1]), /shape/);
    assert.throws(() => R.tensor('abc'), TypeError);
  });

  it('honours requiresGrad', function () {
    const t = R.tensor([1, 2], null, { requiresGrad: true });
    assert.strictEqual(t.requiresGrad, true);
    assert.strictEqual(t.isLeaf, true);
    assert.strictEqual(t.grad, null);
    assert.strictEqual(R.zeros([2], { requiresGrad: true }).requiresGrad, true);
    assert.strictEqual(R.randn([2], { requiresGrad: true, seed: 1 }).requiresGrad, true);
  });

  it('zeros, ones, full, zerosLike, onesLike, eye', function () {
    assert.deepStrictEqual(R.zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
    assert.deepStrictEqual(R.ones([3]).toArray(), [1, 1, 1]);
    assert.deepStrictEqual(R.full([2], 7).toArray(), [7, 7]);
    const t = R.tensor([[1, 2, 3]]);
    assert.deepStrictEqual(R.zerosLike(t).shape, [1, 3]);
    assert.deepStrictEqual(R.onesLike(t).toArray(), [[1, 1, 1]]);
    assert.deepStrictEqual(R.eye(3).toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    assert.deepStrictEqual(R.zeros([]).shape, []);
  });

  it('arange(end) and arange(start, end, step)', function () {
    assert.deepStrictEqual(R.arange(4).toArray(), [0, 1, 2, 3]);
    assert.deepStrictEqual(R.arange(2, 5).toArray(), [2, 3, 4]);
    assert.deepStrictEqual(R.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
    assert.deepStrictEqual(R.arange(5, 0, -2).toArray(), [5, 3, 1]);
    assert.deepStrictEqual(R.arange(0).shape, [0]);
    assert.throws(() => R.arange(0, 5, 0), /step/);
  });

  it('randn / rand / randint are reproducible with a seed or generator', function () {
    assert.deepStrictEqual(Array.from(R.randn([10], { seed: 42 }).data), Array.from(R.randn([10], { seed: 42 }).data));
    assert.notDeepStrictEqual(Array.from(R.randn([10], { seed: 42 }).data), Array.from(R.randn([10], { seed: 43 }).data));
    const g1 = new R.Generator(5), g2 = new R.Generator(5);
    assert.deepStrictEqual(Array.from(R.rand([8], { generator: g1 }).data), Array.from(R.rand([8], { generator: g2 }).data));
    const u = R.rand([1000], { seed: 1 });
    assert.ok(u.data.every((v) => v >= 0 && v < 1));
    const m = u.mean().item();
    assert.ok(m > 0.45 && m < 0.55, `mean ${m}`);
    const n = R.randn([4000], { seed: 2 });
    const mu = n.mean().item(), sd = Math.sqrt(n.sub(mu).pow(2).mean().item());
    assert.ok(Math.abs(mu) < 0.06 && Math.abs(sd - 1) < 0.06, `mean ${mu} sd ${sd}`);
    const r = R.randint(-2, 3, [500], { seed: 3 });
    assert.ok(r.data.every((v) => Number.isInteger(v) && v >= -2 && v < 3));
    assert.deepStrictEqual(new Set(r.data).size, 5);
    R.manualSeed(9);
    const a = R.randn([3]);
    R.manualSeed(9);
    assert.deepStrictEqual(Array.from(R.randn([3]).data), Array.from(a.data));
  });
});

describe('tensor values and views', function () {
  it('reshape / view share memory and infer one -1', function () {
    const t = R.arange(6);
    const v = t.reshape(2, -1);
    assert.deepStrictEqual(v.shape, [2, 3]);
    assert.strictEqual(v.data, t.data);
    const w = t.view([3, 2]);
    w.data[0] = 42;
    assert.strictEqual(t.data[0], 42);
    assert.deepStrictEqual(t.reshape([-1]).shape, [6]);
    assert.deepStrictEqual(R.tensor(5).reshape([1, 1]).shape, [1, 1]);
    assert.deepStrictEqual(R.tensor([5]).reshape([]).shape, []);
  });

  it('reshape errors name both shapes', function () {
    const t = R.zeros([2, 3]);
    assert.throws(() => t.reshape(4, 2), (e) => /\[4, 2\]/.test(e.message) && /\[2, 3\]/.test(e.message));
    assert.throws(() => t.reshape(4, -1), (e) => /\[4, -1\]/.test(e.message) && /\[2, 3\]/.test(e.message));
    assert.throws(() => t.reshape(-1, -1), /-1/);
  });

  it('flatten, squeeze, unsqueeze are views', function () {
    const t = R.zeros([2, 1, 3, 1]);
    assert.deepStrictEqual(t.flatten().shape, [6]);
    assert.deepStrictEqual(t.flatten(1).shape, [2, 3]);
    assert.deepStrictEqual(t.flatten(1, 2).shape, [2, 3, 1]);
    assert.deepStrictEqual(t.squeeze().shape, [2, 3]);
    assert.deepStrictEqual(t.squeeze(1).shape, [2, 3, 1]);
    assert.deepStrictEqual(t.squeeze(-1).shape, [2, 1, 3]);
    assert.deepStrictEqual(t.squeeze(0).shape, [2, 1, 3, 1]);
    assert.deepStrictEqual(t.unsqueeze(0).shape, [1, 2, 1, 3, 1]);
    assert.deepStrictEqual(t.unsqueeze(-1).shape, [2, 1, 3, 1, 1]);
    assert.deepStrictEqual(t.unsqueeze(4).shape, [2, 1, 3, 1, 1]);
    assert.strictEqual(t.squeeze().data, t.data);
    assert.throws(() => t.unsqueeze(6), (e) => /dim 6/.test(e.message) && /rank 5/.test(e.message));
    assert.throws(() => t.squeeze(4), (e) => /dim 4/.test(e.message) && /rank 4/.test(e.message));
  });

  it('clone copies, detach shares data without grad', function () {
    const t = R.tensor([1, 2, 3], null, { requiresGrad: true });
    const c = t.clone();
    assert.notStrictEqual(c.data, t.data);
    assert.deepStrictEqual(c.toArray(), [1, 2, 3]);
    const d = t.detach();
    assert.strictEqual(d.data, t.data);
    assert.strictEqual(d.requiresGrad, false);
    assert.strictEqual(d.gradFn, null);
  });

  it('toArray and item', function () {
    assert.deepStrictEqual(R.arange(6).reshape(3, 2).toArray(), [[0, 1], [2, 3], [4, 5]]);
    assert.deepStrictEqual(R.zeros([2, 0]).toArray(), [[], []]);
    assert.strictEqual(R.tensor([[4]]).item(), 4);
    assert.throws(() => R.zeros([2]).item(), /\[2\]/);
  });

  it('fill_ and copy_ mutate in place', function () {
    const t = R.zeros([2, 2]);
    assert.strictEqual(t.fill_(3), t);
    assert.deepStrictEqual(t.toArray(), [[3, 3], [3, 3]]);
    t.copy_(R.tensor([[1, 2], [3, 4]]));
    assert.deepStrictEqual(t.toArray(), [[1, 2], [3, 4]]);
    t.copy_(R.tensor([5, 6]));
    assert.deepStrictEqual(t.toArray(), [[5, 6], [5, 6]]);
    t.copy_([1, 1, 1, 1]);
    assert.deepStrictEqual(t.toArray(), [[1, 1], [1, 1]]);
    assert.throws(() => t.copy_(R.zeros([3])), /\[3\]/);
  });
});

describe('broadcasting arithmetic', function () {
  // [shapeA, shapeB, outShape]
  const table = [
    [[2, 3], [2, 3], [2, 3]],
    [[2, 3], [3], [2, 3]],
    [[2, 3], [1], [2, 3]],
    [[2, 3], [], [2, 3]],
    [[], [4], [4]],
    [[2, 1], [1, 3], [2, 3]],
    [[3, 1], [3], [3, 3]],
    [[4, 1, 5], [3, 1], [4, 3, 5]],
    [[2, 3, 4, 5], [1, 3, 1, 1], [2, 3, 4, 5]],
    [[2, 3, 4, 5], [3, 1, 1], [2, 3, 4, 5]],
    [[1, 3, 1, 5], [2, 1, 4, 1], [2, 3, 4, 5]],
    [[5, 1, 1], [1, 1, 6], [5, 1, 6]],
    [[0, 3], [3], [0, 3]],
  ];
  function naive(op, a, b, outShape) {
    const n = outShape.reduce((x, y) => x * y, 1);
    const out = new Array(n);
    const idx = (shape, full) => {
      const off = full.length - shape.length;
      let k = 0;
      for (let i = 0; i < shape.length; i++) k = k * shape[i] + (shape[i] === 1 ? 0 : full[i + off]);
      return k;
    };
    for (let f = 0; f < n; f++) {
      const full = [];
      let r = f;
      for (let i = outShape.length - 1; i >= 0; i--) { full.unshift(r % outShape[i]); r = Math.floor(r / outShape[i]); }
      out[f] = op(a.data[idx(a.shape, full)], b.data[idx(b.shape, full)]);
    }
    return out;
  }
  const ops = { add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, div: (x, y) => x / y };
  for (const [sa, sb, so] of table) {
    it(`[${sa}] and [${sb}] -> [${so}]`, function () {
      const a = R.randn(sa, { seed: 1 }), b = R.rand(sb, { seed: 2 }).add(0.5);
      for (const [name, f] of Object.entries(ops)) {
        const r1 = a[name](b), r2 = R[name](b, a);
        assert.deepStrictEqual(r1.shape, so, name);
        assert.deepStrictEqual(r2.shape, so, name);
        close(r1, naive(f, a, b, so), 1e-6, `${name}(a, b)`);
        close(r2, naive(f, b, a, so), 1e-5, `${name}(b, a)`);
      }
    });
  }
  it('scalar operands on either side', function () {
    const a = R.tensor([1, 2, 4]);
    assert.deepStrictEqual(a.add(1).toArray(), [2, 3, 5]);
    assert.deepStrictEqual(R.sub(10, a).toArray(), [9, 8, 6]);
    assert.deepStrictEqual(a.sub(1).toArray(), [0, 1, 3]);
    assert.deepStrictEqual(a.mul(2).toArray(), [2, 4, 8]);
    assert.deepStrictEqual(R.div(8, a).toArray(), [8, 4, 2]);
    assert.deepStrictEqual(a.div(2).toArray(), [0.5, 1, 2]);
  });
  it('shape mismatches name both shapes', function () {
    assert.throws(() => R.add(R.zeros([2, 3]), R.zeros([4])), { message: 'add: shapes [2, 3] and [4] cannot be broadcast' });
    assert.throws(() => R.zeros([2, 3]).mul(R.zeros([3, 2])), /mul: shapes \[2, 3\] and \[3, 2\]/);
    assert.throws(() => R.zeros([4, 3, 2]).sub(R.zeros([3, 3, 2])), /sub: shapes \[4, 3, 2\] and \[3, 3, 2\]/);
  });
  it('unary maths', function () {
    const x = R.tensor([0.5, 1, 4]);
    close(x.neg(), [-0.5, -1, -4]);
    close(x.pow(2), [0.25, 1, 16]);
    close(x.pow(-1), [2, 1, 0.25]);
    close(x.pow(1.5), [0.5 ** 1.5, 1, 8]);
    close(x.exp(), [Math.exp(0.5), Math.E, Math.exp(4)]);
    close(x.log(), [Math.log(0.5), 0, Math.log(4)]);
    close(x.sqrt(), [Math.sqrt(0.5), 1, 2]);
    close(R.tensor([-2, 0, 3]).abs(), [2, 0, 3]);
  });
  it('where picks element-wise with broadcasting', function () {
    const c = R.tensor([[1], [0]]);
    assert.deepStrictEqual(R.where(c, R.tensor([1, 2]), -1).toArray(), [[1, 2], [-1, -1]]);
  });
});

describe('reductions', function () {
  const x = R.tensor([[[1, 5, 3], [4, 2, 6]], [[9, 7, 8], [0, -1, 2]]]); // [2, 2, 3]
  it('sum over all, a dim, negative dims, several dims, keepDim', function () {
    assert.strictEqual(x.sum().item(), 46);
    assert.deepStrictEqual(x.sum().shape, []);
    assert.deepStrictEqual(x.sum(0).toArray(), [[10, 12, 11], [4, 1, 8]]);
    assert.deepStrictEqual(x.sum(1).toArray(), [[5, 7, 9], [9, 6, 10]]);
    assert.deepStrictEqual(x.sum(-1).toArray(), [[9, 12], [24, 1]]);
    assert.deepStrictEqual(x.sum(2, true).shape, [2, 2, 1]);
    assert.deepStrictEqual(x.sum([0, 2]).toArray(), [33, 13]);
    assert.deepStrictEqual(x.sum([0, 2], true).shape, [1, 2, 1]);
    assert.deepStrictEqual(x.sum(null, true).shape, [1, 1, 1]);
    assert.strictEqual(R.zeros([0, 3]).sum().item(), 0);
  });
  it('mean', function () {
    close(x.mean(), [46 / 12]);
    close(x.mean(2), [[3, 4], [8, 1 / 3]]);
    assert.deepStrictEqual(x.mean(0, true).shape, [1, 2, 3]);
    close(x.mean([1, 2]), [21 / 6, 25 / 6]);
  });
  it('max and argmax', function () {
    assert.strictEqual(x.max().item(), 9);
    assert.strictEqual(x.argmax().item(), 6);
    assert.deepStrictEqual(x.max(2).toArray(), [[5, 6], [9, 2]]);
    assert.deepStrictEqual(x.argmax(2).toArray(), [[1, 2], [0, 2]]);
    assert.deepStrictEqual(x.argmax(-2).toArray(), [[1, 0, 1], [0, 0, 0]]);
    assert.deepStrictEqual(x.max(0, true).shape, [1, 2, 3]);
    assert.deepStrictEqual(x.argmax(1, true).shape, [2, 1, 3]);
    assert.deepStrictEqual(R.tensor([3, 7, 7, 1]).argmax().item(), 1);
    assert.strictEqual(x.min().item(), -1);
    assert.deepStrictEqual(x.argmin(2).toArray(), [[0, 1], [1, 1]]);
  });
  it('bad dims name the dim and the rank', function () {
    assert.throws(() => x.sum(3), (e) => /dim 3/.test(e.message) && /rank 3/.test(e.message));
    assert.throws(() => x.max(-4), (e) => /dim -4/.test(e.message) && /rank 3/.test(e.message));
    assert.throws(() => x.transpose(0, 5), /dim 5/);
  });
});

describe('shape ops', function () {
  it('transpose and permute copy with dims reordered', function () {
    const t = R.arange(24).reshape(2, 3, 4);
    const tt = t.transpose(0, 2);
    assert.deepStrictEqual(tt.shape, [4, 3, 2]);
    assert.notStrictEqual(tt.data, t.data);
    const ta = t.toArray(), tta = tt.toArray();
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) {
      assert.strictEqual(tta[k][j][i], ta[i][j][k]);
    }
    const p = t.permute(1, 2, 0);
    assert.deepStrictEqual(p.shape, [3, 4, 2]);
    assert.strictEqual(p.toArray()[2][3][1], ta[1][2][3]);
    assert.deepStrictEqual(t.permute([2, 0, 1]).shape, [4, 2, 3]);
    const m = R.arange(70 * 33).reshape(70, 33);
    assert.strictEqual(m.transpose(0, 1).toArray()[20][65], 65 * 33 + 20);
    assert.deepStrictEqual(m.transpose(-1, -2).transpose(1, 0).toArray(), m.toArray());
    assert.throws(() => t.permute(0, 1), /rank 3/);
    assert.throws(() => t.permute(0, 1, 1), /repeat/);
  });
  it('expand copies with broadcasting', function () {
    const t = R.tensor([[1], [2]]);
    assert.deepStrictEqual(t.expand(2, 3).toArray(), [[1, 1, 1], [2, 2, 2]]);
    assert.deepStrictEqual(t.expand([2, -1, 2]).toArray(), [[[1, 1], [2, 2]], [[1, 1], [2, 2]]]);
    assert.throws(() => t.expand(3, 3), (e) => /\[2, 1\]/.test(e.message) && /\[3, 3\]/.test(e.message));
  });
  it('concat along any dim and stack along a new one', function () {
    const a = R.tensor([[1, 2], [3, 4]]), b = R.tensor([[5, 6]]), c = R.tensor([[7], [8]]);
    assert.deepStrictEqual(R.concat([a, b]).toArray(), [[1, 2], [3, 4], [5, 6]]);
    assert.deepStrictEqual(R.concat([a, c], 1).toArray(), [[1, 2, 7], [3, 4, 8]]);
    assert.deepStrictEqual(R.concat([a, c, a], -1).shape, [2, 5]);
    assert.deepStrictEqual(R.stack([a, a]).shape, [2, 2, 2]);
    assert.deepStrictEqual(R.stack([a, a.mul(10)], 2).toArray(), [[[1, 10], [2, 20]], [[3, 30], [4, 40]]]);
    assert.deepStrictEqual(R.stack([R.tensor(1), R.tensor(2)]).toArray(), [1, 2]);
    assert.throws(() => R.concat([a, c]), (e) => /\[2, 2\]/.test(e.message) && /\[2, 1\]/.test(e.message));
    assert.throws(() => R.stack([a, b]), (e) => /\[2, 2\]/.test(e.message) && /\[1, 2\]/.test(e.message));
    assert.throws(() => R.concat([a, a], 2), /rank 2/);
  });
  it('narrow and split', function () {
    const t = R.arange(12).reshape(3, 4);
    assert.deepStrictEqual(t.narrow(1, 1, 2).toArray(), [[1, 2], [5, 6], [9, 10]]);
    const parts = t.split(3, 1);
    assert.deepStrictEqual(parts.map((p) => p.shape), [[3, 3], [3, 1]]);
    assert.deepStrictEqual(R.concat(parts, 1).toArray(), t.toArray());
    assert.throws(() => t.narrow(0, 2, 2), /size 3/);
  });
});

function naiveMatmul(a, b, M, K, N) {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
    c[i * N + j] = s;
  }
  return c;
}

describeEachBackend('matmul', function () {
  it('2-D x 2-D matches a naive product', function () {
    for (const [M, K, N] of [[1, 1, 1], [3, 4, 5], [17, 9, 33], [64, 70, 31]]) {
      const a = R.randn([M, K], { seed: M }), b = R.randn([K, N], { seed: N });
      const c = a.matmul(b);
      assert.deepStrictEqual(c.shape, [M, N]);
      close(c, naiveMatmul(a.data, b.data, M, K, N), 1e-4, `[${M}, ${K}] x [${K}, ${N}]`);
    }
  });
  it('batched 3-D x 3-D, 3-D x 2-D and batch broadcasting', function () {
    const a = R.randn([3, 4, 5], { seed: 1 }), b = R.randn([3, 5, 2], { seed: 2 }), w = R.randn([5, 6], { seed: 3 });
    const c = R.matmul(a, b);
    assert.deepStrictEqual(c.shape, [3, 4, 2]);
    for (let i = 0; i < 3; i++) {
      close(c.data.subarray(i * 8, (i + 1) * 8), naiveMatmul(a.data.subarray(i * 20), b.data.subarray(i * 10), 4, 5, 2), 1e-4);
    }
    const d = a.matmul(w);
    assert.deepStrictEqual(d.shape, [3, 4, 6]);
    for (let i = 0; i < 3; i++) {
      close(d.data.subarray(i * 24, (i + 1) * 24), naiveMatmul(a.data.subarray(i * 20), w.data, 4, 5, 6), 1e-4);
    }
    const e = R.randn([1, 4, 5], { seed: 4 }).matmul(b);
    assert.deepStrictEqual(e.shape, [3, 4, 2]);
  });
  it('vectors', function () {
    const m = R.tensor([[1, 2], [3, 4]]), v = R.tensor([1, 1]);
    assert.deepStrictEqual(m.matmul(v).toArray(), [3, 7]);
    assert.deepStrictEqual(v.matmul(m).toArray(), [4, 6]);
    assert.strictEqual(v.matmul(v).item(), 2);
  });
  it('shape errors name both shapes', function () {
    assert.throws(() => R.zeros([2, 3]).matmul(R.zeros([4, 5])), (e) => /\[2, 3\]/.test(e.message) && /\[4, 5\]/.test(e.message));
    assert.throws(() => R.zeros([2, 2, 3]).matmul(R.zeros([3, 3, 5])), /\[2, 2, 3\] and \[3, 3, 5\]/);
  });
});
