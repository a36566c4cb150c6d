// Bad arguments to every backend kernel: each throws a TypeError (wrong type) or a
// RangeError (bad value, size or length) whose message names the argument or geometry
// field, before any output is written; the process survives. Runs in-process against
// each backend, so both must agree on the error class.
'use strict';
const assert = require('assert');
const { describeEachBackend } = require('./helpers/backends');

const SENTINEL = 12345;

function convGeom(over = {}) {
  return { N: 2, C: 4, H: 5, W: 6, K: 6, R: 3, S: 2, strideH: 1, strideW: 2, padTop: 1,
    padBottom: 0, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 2, ...over };
}
function convOut(g) {
  const oh = Math.floor((g.H + g.padTop + g.padBottom - g.dilationH * (g.R - 1) - 1) / g.strideH) + 1;
  const ow = Math.floor((g.W + g.padLeft + g.padRight - g.dilationW * (g.S - 1) - 1) / g.strideW) + 1;
  return [oh, ow];
}
/** Correctly sized arrays for a conv geometry; outputs filled with SENTINEL. */
function convArrays(g) {
  const [oh, ow] = convOut(g);
  const f = (n, v = 0.5) => new Float32Array(n).fill(v);
  return {
    x: f(g.N * g.C * g.H * g.W), w: f(g.K * (g.C / g.groups) * g.R * g.S), bias: f(g.K),
    y: f(g.N * g.K * oh * ow, SENTINEL), gy: f(g.N * g.K * oh * ow),
    gx: f(g.N * g.C * g.H * g.W, SENTINEL), gw: f(g.K * (g.C / g.groups) * g.R * g.S, SENTINEL),
    gb: f(g.K, SENTINEL),
  };
}

function poolGeom(over = {}) {
  return { N: 2, C: 3, H: 7, W: 6, kernelH: 3, kernelW: 2, strideH: 2, strideW: 2, padH: 1,
    padW: 0, dilationH: 1, dilationW: 1, OH: 4, OW: 3, countIncludePad: true, ...over };
}
function poolArrays(g) {
  const f = (n, v = 0.5) => new Float32Array(n).fill(v);
  return {
    x: f(g.N * g.C * g.H * g.W), y: f(g.N * g.C * g.OH * g.OW, SENTINEL),
    gy: f(g.N * g.C * g.OH * g.OW), gx: f(g.N * g.C * g.H * g.W, SENTINEL),
    indices: new Int32Array(g.N * g.C * g.OH * g.OW),
  };
}

/** The kernels with the outputs they write, as (backend, geometry override, array override). */
const CONV_CALLS = {
  conv2dForward: { outputs: ['y'], call: (b, g, a) => b.conv2dForward(g, a.x, a.w, a.bias, a.y) },
  conv2dBackwardInput: { outputs: ['gx'], call: (b, g, a) => b.conv2dBackwardInput(g, a.gy, a.w, a.gx) },
  conv2dBackwardWeight: { outputs: ['gw'], call: (b, g, a) => b.conv2dBackwardWeight(g, a.x, a.gy, a.gw) },
  conv2dBackwardBias: { outputs: ['gb'], call: (b, g, a) => b.conv2dBackwardBias(g, a.gy, a.gb) },
};

const POOL_CALLS = {
  maxPool2dForward: { outputs: ['y'], call: (b, g, a) => b.maxPool2dForward(g, a.x, a.y, a.indices) },
  maxPool2dBackward: { outputs: ['gx'], call: (b, g, a) => b.maxPool2dBackward(g, a.gy, a.indices, a.gx) },
  avgPool2dForward: { outputs: ['y'], call: (b, g, a) => b.avgPool2dForward(g, a.x, a.y) },
  avgPool2dBackward: { outputs: ['gx'], call: (b, g, a) => b.avgPool2dBackward(g, a.gy, a.gx) },
};

const ADAPTIVE_CALLS = {
  adaptiveAvgPool2dForward: { outputs: ['y'], call: (b, g, a) => b.adaptiveAvgPool2dForward(g, a.x, a.y) },
  adaptiveAvgPool2dBackward: { outputs: ['gx'], call: (b, g, a) => b.adaptiveAvgPool2dBackward(g, a.gy, a.gx) },
};

/** Asserts fn throws ErrorClass with a message matching `names`, and outputs stay untouched. */
function expectThrow(fn, ErrorClass, names, outputs) {
  const before = outputs.map((o) => Float32Array.from(o));
  assert.throws(fn, (e) => {
    assert.ok(e instanceof ErrorClass, `expected ${ErrorClass.name}, got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
    assert.match(e.message, names);
    return true;
  });
  outputs.forEach((o, i) => {
    if (o.length === before[i].length) {
      for (let j = 0; j < o.length; j++) {
        if (!Object.is(o[j], before[i][j])) assert.fail(`output element ${j} was written before the error`);
      }
    }
  });
}

const word = (s) => new RegExp(`\\b${s}\\b`);

describeEachBackend('backend bad input', function (name, b) {
  describe('convolution', function () {
    for (const [fn, spec] of Object.entries(CONV_CALLS)) {
      describe(fn, function () {
        const inputsOf = { conv2dForward: ['x', 'w', 'bias'], conv2dBackwardInput: ['gy', 'w'],
          conv2dBackwardWeight: ['x', 'gy'], conv2dBackwardBias: ['gy'] }[fn];
        const arrays = [...inputsOf, ...spec.outputs];

        it('accepts the well-formed call (control)', function () {
          const g = convGeom(), a = convArrays(g);
          spec.call(b, g, a);
          for (const o of spec.outputs) assert.ok(!a[o].includes(SENTINEL), `${o} written`);
        });

        for (const arr of arrays) {
          for (const [label, make] of [
            ['a Float64Array', (n) => new Float64Array(n)],
            ['an Int32Array', (n) => new Int32Array(n)],
            ['a plain Array', (n) => new Array(n).fill(0)],
            ['undefined', () => undefined],
            ['a number', () => 3],
          ]) {
            if (arr === 'bias' && label === 'undefined') continue;   // bias may be null
            it(`${arr} as ${label} -> TypeError naming ${arr}`, function () {
              const g = convGeom(), a = convArrays(g);
              a[arr] = make(a[arr].length);
              expectThrow(() => spec.call(b, g, a), TypeError, word(arr),
                spec.outputs.filter((o) => o !== arr).map((o) => a[o]));
            });
          }
          for (const delta of [-1, 1]) {
            it(`${arr} with ${delta > 0 ? 'one element too many' : 'one element too few'} -> RangeError naming ${arr}`, function () {
              const g = convGeom(), a = convArrays(g);
              a[arr] = new Float32Array(a[arr].length + delta);
              expectThrow(() => spec.call(b, g, a), RangeError, word(arr),
                spec.outputs.filter((o) => o !== arr).map((o) => a[o]));
            });
          }
          it(`${arr} as a detached array -> RangeError naming ${arr}`, function () {
            const g = convGeom(), a = convArrays(g);
            const buf = a[arr].buffer;
            structuredClone(buf, { transfer: [buf] });
            expectThrow(() => spec.call(b, g, a), RangeError, word(arr),
              spec.outputs.filter((o) => o !== arr).map((o) => a[o]));
          });
        }

        const positive = ['N', 'C', 'H', 'W', 'K', 'R', 'S', 'strideH', 'strideW', 'dilationH', 'dilationW', 'groups'];
        for (const field of positive) {
          for (const v of [0, -1, NaN, 1.5, Infinity]) {
            it(`g.${field} = ${v} -> RangeError naming ${field}`, function () {
              const a = convArrays(convGeom());
              expectThrow(() => spec.call(b, convGeom({ [field]: v }), a), RangeError, word(field),
                spec.outputs.map((o) => a[o]));
            });
          }
        }
        for (const field of ['padTop', 'padLeft']) {
          for (const v of [-1, NaN, 0.5]) {
            it(`g.${field} = ${v} -> RangeError naming ${field}`, function () {
              const a = convArrays(convGeom());
              expectThrow(() => spec.call(b, convGeom({ [field]: v }), a), RangeError, word(field),
                spec.outputs.map((o) => a[o]));
            });
          }
        }
        for (const field of ['padBottom', 'padRight']) {
          for (const v of [NaN, 0.5, -Infinity]) {
            it(`g.${field} = ${v} -> RangeError naming ${field}`, function () {
              const a = convArrays(convGeom());
              expectThrow(() => spec.call(b, convGeom({ [field]: v }), a), RangeError, word(field),
                spec.outputs.map((o) => a[o]));
            });
          }
        }

        it('a negative padBottom that leaves a valid output is accepted', function () {
          const g = convGeom({ padBottom: -1 }), a = convArrays(g);
          spec.call(b, g, a);
        });

        it('kernel larger than the padded input -> RangeError', function () {
          const g = convGeom({ H: 3, W: 3, R: 5, S: 5, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, strideW: 1 });
          // sized as if the output were 1x1 so that only the geometry is wrong
          const a = convArrays({ ...g, R: 3, S: 3 });
          a.w = new Float32Array(g.K * (g.C / g.groups) * 25);
          expectThrow(() => spec.call(b, g, a), RangeError, /kernel|padded|\bR\b|\bH\b|output/i,
            spec.outputs.map((o) => a[o]));
        });

        it('negative padBottom eating the whole output -> RangeError', function () {
          const g = convGeom({ padTop: 0, padBottom: -4 });
          const a = convArrays(convGeom());
          expectThrow(() => spec.call(b, g, a), RangeError, /padBottom|kernel|padded|output|\bH\b/i,
            spec.outputs.map((o) => a[o]));
        });

        it('C not divisible by groups -> RangeError naming groups', function () {
          const a = convArrays(convGeom());
          expectThrow(() => spec.call(b, convGeom({ C: 5 }), a), RangeError, /groups/,
            spec.outputs.map((o) => a[o]));
        });

        it('K not divisible by groups -> RangeError naming groups', function () {
          const a = convArrays(convGeom());
          expectThrow(() => spec.call(b, convGeom({ K: 7 }), a), RangeError, /groups/,
            spec.outputs.map((o) => a[o]));
        });

        it('geometry not an object -> TypeError', function () {
          const a = convArrays(convGeom());
          assert.throws(() => spec.call(b, null, a), TypeError);
        });

        it('huge sizes -> RangeError, no allocation or crash', function () {
          const a = convArrays(convGeom());
          expectThrow(() => spec.call(b, convGeom({ N: 1e9 }), a), RangeError, /./, spec.outputs.map((o) => a[o]));
          expectThrow(() => spec.call(b, convGeom({ H: 2 ** 40 }), a), RangeError, /./, spec.outputs.map((o) => a[o]));
        });
      });
    }
  });

  describe('pooling', function () {
    for (const [fn, spec] of Object.entries(POOL_CALLS)) {
      describe(fn, function () {
        const inputsOf = { maxPool2dForward: ['x'], maxPool2dBackward: ['gy', 'indices'],
          avgPool2dForward: ['x'], avgPool2dBackward: ['gy'] }[fn];
        const outputsAll = fn === 'maxPool2dForward' ? ['y', 'indices'] : spec.outputs;
        const arrays = [...inputsOf, ...outputsAll];
        const fresh = () => {
          const g = poolGeom(), a = poolArrays(g);
          if (fn === 'maxPool2dBackward') b.maxPool2dForward(g, a.x, new Float32Array(a.y.length), a.indices);
          return [g, a];
        };

        it('accepts the well-formed call (control)', function () {
          const [g, a] = fresh();
          spec.call(b, g, a);
          for (const o of spec.outputs) assert.ok(!a[o].includes(SENTINEL), `${o} written`);
        });

        for (const arr of arrays) {
          const wrong = arr === 'indices' ? (n) => new Float32Array(n) : (n) => new Int32Array(n);
          it(`${arr} of the wrong typed-array type -> TypeError naming ${arr}`, function () {
            const [g, a] = fresh();
            a[arr] = wrong(a[arr].length);
            expectThrow(() => spec.call(b, g, a), TypeError, word(arr),
              spec.outputs.filter((o) => o !== arr).map((o) => a[o]));
          });
          it(`${arr} as a plain Array -> TypeError naming ${arr}`, function () {
            const [g, a] = fresh();
            a[arr] = Array.from(a[arr]);
            expectThrow(() => spec.call(b, g, a), TypeError, word(arr),
              spec.outputs.filter((o) => o !== arr).map((o) => a[o]));
          });
          it(`${arr} of the wrong length -> RangeError naming ${arr}`, function () {
            const [g, a] = fresh();
            a[arr] = a[arr] instanceof Int32Array ? new Int32Array(a[arr].length + 2) : new Float32Array(a[arr].length - 1);
            expectThrow(() => spec.call(b, g, a), RangeError, word(arr),
              spec.outputs.filter((o) => o !== arr).map((o) => a[o]));
          });
        }

        for (const field of ['N', 'C', 'H', 'W', 'kernelH', 'kernelW', 'strideH', 'strideW', 'dilationH', 'dilationW', 'OH', 'OW']) {
          for (const v of [0, -2, NaN, 2.5]) {
            it(`g.${field} = ${v} -> RangeError naming ${field}`, function () {
              const [, a] = fresh();
              expectThrow(() => spec.call(b, poolGeom({ [field]: v }), a), RangeError, word(field),
                spec.outputs.map((o) => a[o]));
            });
          }
        }
        for (const field of ['padH', 'padW']) {
          for (const v of [-1, NaN, 0.5]) {
            it(`g.${field} = ${v} -> RangeError naming ${field}`, function () {
              const [, a] = fresh();
              expectThrow(() => spec.call(b, poolGeom({ [field]: v }), a), RangeError, word(field),
                spec.outputs.map((o) => a[o]));
            });
          }
        }

        it('a window starting past the input -> RangeError naming OH / OW', function () {
          // H = 7, pad 1, stride 2: window 4 would start at row 7, outside input and pad.
          const g = poolGeom({ OH: 5 });
          const a = poolArrays(g);
          if (fn === 'maxPool2dBackward') a.indices.fill(0);
          expectThrow(() => spec.call(b, g, a), RangeError, /\bOH\b/, spec.outputs.map((o) => a[o]));
          const g2 = poolGeom({ OW: 4 });
          const a2 = poolArrays(g2);
          expectThrow(() => spec.call(b, g2, a2), RangeError, /\bOW\b/, spec.outputs.map((o) => a2[o]));
        });
      });
    }

    describe('maxPool2d null indices', function () {
      it('maxPool2dForward accepts null (and undefined) indices and writes y', function () {
        for (const none of [null, undefined]) {
          const g = poolGeom(), a = poolArrays(g);
          b.maxPool2dForward(g, a.x, a.y, none);
          assert.ok(!a.y.includes(SENTINEL), 'y written');
        }
      });
      it('maxPool2dForward with null indices still checks x and y', function () {
        const g = poolGeom(), a = poolArrays(g);
        expectThrow(() => b.maxPool2dForward(g, a.x, new Float32Array(a.y.length + 1), null), RangeError, /\by\b/, []);
        expectThrow(() => b.maxPool2dForward(g, new Int32Array(a.x.length), a.y, null), TypeError, /\bx\b/, [a.y]);
        expectThrow(() => b.maxPool2dForward(poolGeom({ OH: 5 }), a.x, a.y, null), RangeError, /\bOH\b/, [a.y]);
      });
      it('maxPool2dBackward needs indices: null -> TypeError naming indices', function () {
        const g = poolGeom(), a = poolArrays(g);
        expectThrow(() => b.maxPool2dBackward(g, a.gy, null, a.gx), TypeError, /indices/, [a.gx]);
      });
    });

    describe('maxPool2dBackward indices', function () {
      for (const bad of [42, 7 * 6, -5, 2 ** 31 - 1]) {
        it(`an index of ${bad} (plane has 42 cells) -> RangeError naming indices`, function () {
          const g = poolGeom(), a = poolArrays(g);
          b.maxPool2dForward(g, a.x, new Float32Array(a.y.length), a.indices);
          a.indices[a.indices.length - 1] = bad;
          expectThrow(() => b.maxPool2dBackward(g, a.gy, a.indices, a.gx), RangeError, /indices/, [a.gx]);
        });
      }
    });

    describe('adaptive average pooling', function () {
      const geom = (over = {}) => ({ N: 2, C: 3, H: 7, W: 5, OH: 3, OW: 2, ...over });
      const arrays = (g) => ({
        x: new Float32Array(g.N * g.C * g.H * g.W), y: new Float32Array(g.N * g.C * g.OH * g.OW).fill(SENTINEL),
        gy: new Float32Array(g.N * g.C * g.OH * g.OW), gx: new Float32Array(g.N * g.C * g.H * g.W).fill(SENTINEL),
      });
      for (const [fn, spec] of Object.entries(ADAPTIVE_CALLS)) {
        for (const field of ['N', 'C', 'H', 'W', 'OH', 'OW']) {
          for (const v of [0, -1, NaN, 1.5]) {
            it(`${fn}: g.${field} = ${v} -> RangeError naming ${field}`, function () {
              const a = arrays(geom());
              expectThrow(() => spec.call(b, geom({ [field]: v }), a), RangeError, word(field), spec.outputs.map((o) => a[o]));
            });
          }
        }
        const ins = fn.endsWith('Forward') ? ['x', 'y'] : ['gy', 'gx'];
        for (const arr of ins) {
          it(`${fn}: ${arr} wrong type / length -> TypeError / RangeError naming ${arr}`, function () {
            const a = arrays(geom());
            a[arr] = new Float64Array(a[arr].length);
            expectThrow(() => spec.call(b, geom(), a), TypeError, word(arr), []);
            a[arr] = new Float32Array(3);
            expectThrow(() => spec.call(b, geom(), a), RangeError, word(arr), []);
          });
        }
      }
    });
  });

  describe('gemm', function () {
    const args = () => ({ ta: false, tb: false, M: 3, N: 4, K: 5, alpha: 1, A: new Float32Array(15),
      B: new Float32Array(20), beta: 0, C: new Float32Array(12).fill(SENTINEL) });
    const call = (a) => b.gemm(a.ta, a.tb, a.M, a.N, a.K, a.alpha, a.A, a.B, a.beta, a.C);
    it('accepts the well-formed call (control)', function () {
      const a = args();
      call(a);
      assert.ok(!a.C.includes(SENTINEL));
    });
    for (const arr of ['A', 'B', 'C']) {
      it(`${arr} as a Float64Array -> TypeError naming ${arr}`, function () {
        const a = args();
        a[arr] = new Float64Array(a[arr].length);
        expectThrow(() => call(a), TypeError, word(arr), arr === 'C' ? [] : [a.C]);
      });
      it(`${arr} too short -> RangeError naming ${arr}`, function () {
        const a = args();
        a[arr] = new Float32Array(a[arr].length - 1);
        expectThrow(() => call(a), RangeError, word(arr), arr === 'C' ? [] : [a.C]);
      });
    }
    it('transposed shapes are checked against the transposed layout', function () {
      const a = args();
      a.ta = true;
      a.A = new Float32Array(15);   // K x M = 5 x 3: same count, accepted
      call(a);
      a.C.fill(SENTINEL);
      a.M = 5; a.K = 3; a.A = new Float32Array(15); a.B = new Float32Array(12); a.C = new Float32Array(20);
      call(a);
    });
    for (const size of ['M', 'N', 'K']) {
      for (const v of [-1, NaN, 1.5, Infinity]) {
        it(`${size} = ${v} -> RangeError naming ${size}`, function () {
          const a = args();
          a[size] = v;
          expectThrow(() => call(a), RangeError, word(size), [a.C]);
        });
      }
    }
  });

  if (name === 'native') {
    describe('native only', function () {
      it('an output overlapping an input -> RangeError', function () {
        const g = convGeom(), a = convArrays(g);
        const shared = new Float32Array(a.x.length + a.y.length);
        const x = shared.subarray(0, a.x.length);
        const y = shared.subarray(a.x.length - 1, a.x.length - 1 + a.y.length);
        assert.throws(() => b.conv2dForward(g, x, a.w, a.bias, y), (e) => e instanceof RangeError && /\by\b/.test(e.message) && /\bx\b/.test(e.message));
        const C = new Float32Array(12);
        assert.throws(() => b.gemm(false, false, 3, 4, 3, 1, C.subarray(0, 9), new Float32Array(12), 0, C), RangeError);
      });
      it('setNumThreads rejects bad counts', function () {
        assert.throws(() => b.setNumThreads(0), RangeError);
        assert.throws(() => b.setNumThreads(1.5), RangeError);
        assert.throws(() => b.setNumThreads('4'), TypeError);
      });
      it('convAlgorithm validates its geometry', function () {
        assert.throws(() => b.convAlgorithm(convGeom({ groups: 3 })), RangeError);
      });
      it('the addon\'s packed geometry (Float64Array) is validated like the object form', function () {
        const path = require('path');
        const addon = process.env.RECEPTIVE_ADDON_PATH
          ? require(path.resolve(process.env.RECEPTIVE_ADDON_PATH))
          : require('node-gyp-build')(path.join(__dirname, '..'));
        const fields = addon.geometryFields.conv;
        assert.deepStrictEqual([...fields].sort(), Object.keys(convGeom()).sort());
        const pack = (g) => Float64Array.from(fields, (f) => g[f]);
        const g = convGeom(), a = convArrays(g);
        addon.conv2dForward(pack(g), a.x, a.w, a.bias, a.y);
        const want = convArrays(g);
        b.conv2dForward(g, want.x, want.w, want.bias, want.y);
        assert.deepStrictEqual(Array.from(a.y), Array.from(want.y), 'packed and object forms agree');
        for (const [field, v] of [['N', 0], ['groups', NaN], ['strideW', 1.5], ['padTop', -1], ['K', 1e12]]) {
          const c = convArrays(g);
          assert.throws(() => addon.conv2dForward(pack({ ...g, [field]: v }), c.x, c.w, c.bias, c.y),
            (e) => e instanceof RangeError && e.message.includes(`g.${field}`), `${field} = ${v}`);
          assert.ok(c.y.every((y) => y === SENTINEL), `${field} = ${v}: nothing written`);
        }
        assert.throws(() => addon.conv2dForward(new Float64Array(fields.length - 1), a.x, a.w, a.bias, a.y),
          (e) => e instanceof RangeError && /packed geometry/.test(e.message));
        assert.throws(() => addon.conv2dForward(new Float32Array(fields.length), a.x, a.w, a.bias, a.y), TypeError);
        const pg = poolGeom(), pa = poolArrays(pg);
        const packPool = (q) => Float64Array.from(addon.geometryFields.pool, (f) => q[f]);
        assert.throws(() => addon.avgPool2dForward(packPool(pg), pa.x, pa.y),
          (e) => e instanceof TypeError && /must be an object here/.test(e.message), 'average pooling needs countIncludePad');
        addon.maxPool2dForward(packPool(pg), pa.x, pa.y, null);
      });
      it('the process survives a storm of bad calls', function () {
        let thrown = 0;
        for (let i = 0; i < 2000; i++) {
          const g = convGeom({ N: (i % 5) - 1, H: i % 7 });
          try { b.conv2dForward(g, new Float32Array(i % 13), new Float32Array(3), null, new Float32Array(i % 11)); } catch (e) { thrown++; }
        }
        assert.strictEqual(thrown, 2000);
      });
    });
  }
});
