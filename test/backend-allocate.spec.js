// The backends' activation allocator: allocate(n) gives a zero-filled Float32Array of n
// floats (the native backend's starts on a 64-byte line inside a slightly larger
// ArrayBuffer), and rejects bad sizes with errors that name the argument.
'use strict';
const assert = require('assert');
const { describeEachBackend } = require('./helpers/backends');
const R = require('..');

describeEachBackend('allocate', (name, b) => {
  const be = () => b;

  it('returns zero-filled, writable, separate arrays of n floats', function () {
    const seen = new Set();
    for (const n of [0, 1, 3, 16, 17, 1000, 300001]) {
      const a = be().allocate(n);
      assert.ok(a instanceof Float32Array, `n = ${n}: a Float32Array`);
      assert.strictEqual(a.length, n);
      assert.ok(a.every((v) => v === 0), `n = ${n}: zero-filled`);
      assert.ok(!seen.has(a.buffer), `n = ${n}: a buffer of its own`);
      seen.add(a.buffer);
      // The view lies inside its buffer, on a float boundary, with room for every element.
      assert.strictEqual(a.byteOffset % 4, 0);
      assert.ok(a.byteOffset + 4 * n <= a.buffer.byteLength);
      if (name === 'native') assert.ok(a.byteOffset < 64, `n = ${n}: offset ${a.byteOffset} skips less than a line`);
      if (n > 0) {
        a.fill(2.5);
        a[n - 1] = -1;
        assert.strictEqual(a[0], n > 1 ? 2.5 : -1);
        assert.strictEqual(a[n - 1], -1);
      }
    }
  });

  it('rejects sizes that are not non-negative integers, naming n', function () {
    for (const [v, type, msg] of [
      [-1, RangeError, /allocate: n must be a non-negative integer, got -1/],
      [1.5, RangeError, /allocate: n must be an integer, got 1.5/],
      [NaN, RangeError, /allocate: n must be an integer, got NaN/],
      [Infinity, RangeError, /allocate: n must be an integer, got Infinity/],
      [2 ** 31, RangeError, /allocate: n is too large/],
      ['3', TypeError, /allocate: n must be a number, got a string/],
      [undefined, TypeError, /allocate: n must be a number, got undefined/],
    ]) {
      assert.throws(() => be().allocate(v), (e) => e instanceof type && msg.test(e.message), `n = ${String(v)}`);
    }
  });

  it('is where the zoo\'s activation pool and F.conv2d get their outputs', function () {
    const real = b.allocate;
    let calls = 0;
    b.allocate = function (n) { calls++; return real.call(this, n); };
    try {
      const m = R.models.resnet18({ seed: 3 });
      m.eval();
      m.predict(R.randn([1, 3, 32, 32], { seed: 5 }));
      assert.ok(calls > 0, 'the pool allocated through the backend');
      calls = 0;
      R.F.conv2d(R.randn([1, 2, 5, 5], { seed: 6 }), R.randn([3, 2, 3, 3], { seed: 7 }));
      assert.strictEqual(calls, 1, 'F.conv2d output');
    } finally {
      b.allocate = real;
    }
  });
});
