// The backends' ReLU kernels (reluForward / reluBackward) against the definition written
// out element by element here: max(x, 0) with NaN kept and -0 to +0, the gradient passed
// where the output is positive. Special values, in place, sizes on both sides of the
// native kernel's threading threshold, and bad arguments.
'use strict';
const assert = require('assert');
const R = require('../dist');
const { describeEachBackend } = require('./helpers/backends');
const { detFill } = require('./helpers/detfill');

const SPECIAL = [1, -1, 0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 3.4e38, -3.4e38, 0.5, -0.5];

/** Float32 bit patterns, so that -0 / +0 and NaN compare exactly. */
const bitsOf = (a) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

function reluRef(x) {
  return Float32Array.from(x, (v) => (v > 0 ? v : (Number.isNaN(v) ? v : 0)));
}

function reluGradRef(y, gy) {
  return Float32Array.from(y, (v, i) => (v > 0 ? gy[i] : 0));
}

/** Special values (a negative NaN too: the x86 default NaN) then detFill values. */
function input(n, seed) {
  const x = detFill(n, seed, 2);
  x.set(SPECIAL.slice(0, Math.min(n, SPECIAL.length)));
  if (n > SPECIAL.length) new Uint32Array(x.buffer)[SPECIAL.length] = 0xffc00000;  // -NaN
  return x;
}

describeEachBackend('reluForward / reluBackward', (name, be) => {
  // (2^16 and more run on two threads in the native kernel)
  for (const n of [1, 13, 1000, 70001, 300000]) {
    it(`n = ${n}: the definition, bit for bit, into a new array and in place`, function () {
      const x = input(n, n);
      const want = reluRef(x);
      const y = new Float32Array(n).fill(7);
      be.reluForward(x, y);
      assert.deepStrictEqual(bitsOf(y), bitsOf(want));
      const z = Float32Array.from(x);
      be.reluForward(z, z);
      assert.deepStrictEqual(bitsOf(z), bitsOf(want));

      const gy = detFill(n, n + 1, 3);
      if (n > 5) { gy[2] = NaN; gy[3] = Infinity; gy[5] = -Infinity; }  // under y = 0: gradient 0
      const gwant = reluGradRef(want, gy);
      const gx = new Float32Array(n).fill(7);
      be.reluBackward(want, gy, gx);
      assert.deepStrictEqual(bitsOf(gx), bitsOf(gwant));
      be.reluBackward(want, gy, gy);
      assert.deepStrictEqual(bitsOf(gy), bitsOf(gwant));
    });
  }

  it('works on views into larger buffers and leaves the rest alone', function () {
    const buf = new Float32Array(40).fill(-3);
    const x = buf.subarray(5, 17);
    x.set(input(12, 4));
    const want = reluRef(x);
    const out = new Float32Array(40).fill(9);
    be.reluForward(x, out.subarray(20, 32));
    assert.deepStrictEqual(bitsOf(out.subarray(20, 32)), bitsOf(want));
    assert.ok(out.subarray(0, 20).every((v) => v === 9) && out.subarray(32).every((v) => v === 9));
  });

  it('F.relu and its gradient go through the active backend with the same values', function () {
    const x = new R.Tensor(input(50, 9), [5, 10]);
    x.requiresGrad = true;
    const y = R.F.relu(x);
    assert.deepStrictEqual(bitsOf(y.data), bitsOf(reluRef(x.data)));
    const gy = detFill(50, 10, 1);
    y.backward(new R.Tensor(gy, [5, 10]));
    assert.deepStrictEqual(bitsOf(x.grad.data), bitsOf(reluGradRef(y.data, gy)));
  });

  it('bad arguments are named errors, nothing written', function () {
    const x = new Float32Array(8), y = new Float32Array(8).fill(5), g = new Float32Array(8).fill(5);
    assert.throws(() => be.reluForward([1, 2], y), { name: 'TypeError', message: /reluForward: x must be a Float32Array/ });
    assert.throws(() => be.reluForward(x, new Float64Array(8)), { name: 'TypeError', message: /reluForward: y must be a Float32Array/ });
    assert.throws(() => be.reluForward(x, new Float32Array(7)), { name: 'RangeError', message: /reluForward: y has 7 elements, expected 8/ });
    const buf = new Float32Array(16);
    assert.throws(() => be.reluForward(buf.subarray(0, 8), buf.subarray(4, 12)), { name: 'RangeError', message: /reluForward: y must not share memory with x/ });
    assert.throws(() => be.reluBackward(x, new Float32Array(9), g), { name: 'RangeError', message: /reluBackward: gy has 9 elements, expected 8/ });
    assert.throws(() => be.reluBackward(x, g, new Float32Array(3)), { name: 'RangeError', message: /reluBackward: gx has 3 elements, expected 8/ });
    assert.throws(() => be.reluBackward(x, g, x), { name: 'RangeError', message: /reluBackward: gx must not share memory with y/ });
    assert.throws(() => be.reluBackward(buf.subarray(8), buf.subarray(0, 8), buf.subarray(2, 10)), { name: 'RangeError', message: /reluBackward: gx must not share memory with gy/ });
    assert.throws(() => be.reluBackward(x, null, g), { name: 'TypeError', message: /reluBackward: gy must be a Float32Array/ });
    assert.ok(y.every((v) => v === 5) && g.every((v) => v === 5));
  });
});
