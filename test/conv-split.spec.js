// Sibling convolutions as one call: the backend's conv2dForwardPreparedSplit (the K output
// channels of one prepared convolution sent, in order, to 1 to 8 destinations, each with its
// own image stride) on every native path (GEMM row blocks, image items, bands, images side by
// side, and the computed-aside paths: whole-input filters, groups, Winograd, direct-small)
// under every ISA and thread count, against the contiguous conv2dForwardPrepared on the same
// prepared form and the JS backend; its argument checks; nn.ConvSiblings against each layer's
// Conv2d.fusedForward, its compatibility rules and its prepared-weight cache; GoogLeNet's
// recycled inference, which routes each Inception block's 1x1 reductions through it.
'use strict';
const assert = require('assert');
const path = require('path');
const R = require('../dist');
const select = require('../dist/backend/select');
const { describeEachBackend } = require('./helpers/backends');
const { convGeometry, outH, outW } = require('./helpers/conv_geometry');
const { detFill } = require('./helpers/detfill');

const { nn } = R;

const geometry = (o) => convGeometry({ N: 2, C: 8, H: 9, W: 9, K: 55 }, o);
const P0 = { R: 1, S: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 };

// Each geometry names the native path it is there for (under the 'auto' policy on AVX2 and
// AVX-512; the forced policies and the scalar ISA move some of them to other paths).
const GEOMETRIES = [
  ['1x1 on 28x28, one image (bands of rows)', { ...P0, N: 1, H: 28, W: 28 }],
  ['1x1 on 28x28, three images (image items)', { ...P0, N: 3, H: 28, W: 28 }],
  ['1x1 on 7x7, six images (several images side by side)', { ...P0, N: 6, H: 7, W: 7, C: 16 }],
  ['1x1 on a 1x1 input (the filter covers the input: computed aside)', { ...P0, N: 3, H: 1, W: 1, C: 16 }],
  ['3x3 stride 2 pad 1 (im2col GEMM)', { C: 16, H: 11, W: 10, strideH: 2, strideW: 2 }],
  ['3x3 stride 2 pad 1, one image (im2col GEMM on all threads)', { N: 1, C: 16, H: 21, W: 21, strideH: 2, strideW: 2 }],
  ['3x3 pad 1, 16 channels on 12x12 (Winograd: computed aside)', { C: 16, H: 12, W: 12 }],
  ['3x3 pad 1, groups 2 (computed aside)', { C: 8, K: 56, groups: 2 }],
  ['3x3 pad 1, depthwise x4 (depthwise-direct: computed aside)', { C: 14, K: 56, groups: 14 }],
  ['5x5, two input channels (direct-small: computed aside)', { C: 2, R: 5, S: 5, H: 12, W: 12, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }],
  // GEMM items of at most 4 output columns: packed matrix-vector products, which the split
  // call runs into an aside and copies by row (the same sums as the contiguous call).
  ['1x1 on 2x2 planes, one image (4 GEMM columns)', { ...P0, N: 1, H: 2, W: 2, C: 300 }],
  ['3x3 stride 2 pad 1 on 4x4, one image (4 GEMM columns)', { N: 1, C: 64, H: 4, W: 4, strideH: 2, strideW: 2 }],
];

// Part boundaries off the register tile heights (14 rows AVX-512, 6 AVX2, 4 scalar), so
// tiles straddle two or three parts (rows 0-13 hold the first three of the eight); one part;
// eight parts (the most).
const SPLITS = [
  ['four parts', (K) => [5, 17, 3, K - 25]],
  ['one part', (K) => [K]],
  ['eight parts', (K) => [1, 2, 13, 15, 3, 7, 9, K - 50]],
];

const SENTINEL = -12345.25;
const LEAD = 3, TAIL = 5;

/** Bit for bit (NaN payloads and the sign of zero included). */
function sameBits(got, want, label) {
  assert.strictEqual(got.length, want.length, `${label}: length`);
  const a = new Uint32Array(Float32Array.from(got).buffer), b = new Uint32Array(Float32Array.from(want).buffer);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${label}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

function assertClose(got, want, label, rel = 2e-5) {
  assert.strictEqual(got.length, want.length, `${label}: length`);
  let scale = 1e-6;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= rel * scale)) assert.fail(`${label}[${i}]: got ${got[i]}, want ${want[i]} (scale ${scale})`);
  }
}

/**
 * Destinations for the parts: each its own buffer, LEAD sentinels before image 0 and TAIL
 * after the last, the images `gap` floats wider than needed (part 0 exactly as wide).
 */
function makeOutputs(N, OHW, parts) {
  return parts.map((channels, i) => {
    const image = channels * OHW, gap = i === 0 ? 0 : 3 + 2 * i;
    const imageStride = image + gap;
    const buf = new Float32Array(LEAD + (N - 1) * imageStride + image + TAIL).fill(SENTINEL);
    return { buf, out: { data: buf.subarray(LEAD), channels, imageStride } };
  });
}

/** Each destination holds its channel range of `want` (contiguous [N, K, OH, OW]) and nothing else changed. */
function checkOutputs(dests, want, N, K, OHW, label, exact = true) {
  // exact: true (bit for bit), false (assertClose's tolerance) or a relative tolerance
  let k0 = 0;
  for (const [i, { buf, out }] of dests.entries()) {
    const image = out.channels * OHW;
    const what = `${label}: outputs[${i}] (${out.channels} channels)`;
    assert.ok(buf.subarray(0, LEAD).every((v) => v === SENTINEL), `${what}: a float before image 0 was written`);
    for (let n = 0; n < N; n++) {
      const at = LEAD + n * out.imageStride;
      const got = buf.subarray(at, at + image);
      const ref = want.subarray((n * K + k0) * OHW, (n * K + k0) * OHW + image);
      if (exact === true) sameBits(got, ref, `${what} image ${n}`);
      else assertClose(got, ref, `${what} image ${n}`, exact === false ? undefined : exact);
      const end = n + 1 < N ? LEAD + (n + 1) * out.imageStride : buf.length;
      assert.ok(buf.subarray(at + image, end).every((v) => v === SENTINEL),
        `${what}: a float after image ${n} was written`);
    }
    k0 += out.channels;
  }
  assert.strictEqual(k0, K);
}

/** x, w, scale and bias of a geometry (deterministic). */
function operands(g) {
  return {
    x: detFill(g.N * g.C * g.H * g.W, 1, 1),
    w: detFill(g.K * (g.C / g.groups) * g.R * g.S, 2, 0.5),
    scale: detFill(g.K, 3, 1).map((v) => 0.5 + Math.abs(v)),
    bias: detFill(g.K, 4, 1),
  };
}

/**
 * Every split, with and without ReLU, with and without a folded scale and bias, on backend
 * `be` with its current settings: the split output equals the contiguous output's channel
 * ranges bit for bit, and (when `refs` holds JS results) the JS backend within rounding.
 * Returns the algorithms of the prepared forms.
 */
function checkGeometry(be, g, label, refs = null, exact = true) {
  const OHW = outH(g) * outW(g);
  const { x, w, scale, bias } = operands(g);
  const algorithms = new Set();
  for (const folded of [true, false]) {
    const p = be.prepareConv2d(g, w, folded ? scale : null, folded ? bias : null);
    algorithms.add(p.algorithm);
    for (const relu of [false, true]) {
      const want = new Float32Array(g.N * g.K * OHW).fill(NaN);
      be.conv2dForwardPrepared(g, x, p, null, relu, want);
      const js = refs && refs.get(`${folded},${relu}`);
      if (js) assertClose(want, js, `${label} ${p.algorithm} folded=${folded} relu=${relu}: contiguous vs JS`);
      for (const [splitName, split] of SPLITS) {
        const parts = split(g.K);
        const dests = makeOutputs(g.N, OHW, parts);
        const xCopy = Float32Array.from(x);
        be.conv2dForwardPreparedSplit(g, x, p, relu, dests.map((d) => d.out));
        const what = `${label} ${p.algorithm} ${splitName} folded=${folded} relu=${relu}`;
        checkOutputs(dests, want, g.N, g.K, OHW, what, exact);
        if (js) checkOutputs(dests, js, g.N, g.K, OHW, `${what} vs JS`, false);
        sameBits(x, xCopy, `${what}: x`);
      }
    }
  }
  return algorithms;
}

/** The other backend, or null (none when the run is JS only, as in backends.js). */
function otherBackend(name) {
  if (name === 'native') return select.getBackendInstance('js');
  return process.env.RECEPTIVE_BACKEND === 'js' ? null : select.tryNative();
}

/** The JS backend's contiguous results for g, keyed `${folded},${relu}`. */
function jsReference(g) {
  const js = select.getBackendInstance('js');
  const OHW = outH(g) * outW(g);
  const { x, w, scale, bias } = operands(g);
  const refs = new Map();
  for (const folded of [true, false]) {
    const p = js.prepareConv2d(g, w, folded ? scale : null, folded ? bias : null);
    for (const relu of [false, true]) {
      const y = new Float32Array(g.N * g.K * OHW);
      js.conv2dForwardPrepared(g, x, p, null, relu, y);
      refs.set(`${folded},${relu}`, y);
    }
  }
  return refs;
}

describeEachBackend('conv2dForwardPreparedSplit', (name, be) => {
  const refs = new Map();
  const refOf = (label, g) => {
    if (name !== 'native') return null;
    if (!refs.has(label)) refs.set(label, jsReference(g));
    return refs.get(label);
  };

  for (const [label, o, tolerance] of GEOMETRIES) {
    const exact = name === 'native' && tolerance ? tolerance : true;
    it(`${label}: each part gets its channels ${exact === true ? 'bit for bit' : 'to rounding'}, the floats around untouched`, function () {
      const g = geometry(o);
      checkGeometry(be, g, label, refOf(label, g), exact);
    });
  }

  it('under every ISA, 1 and 2 threads and every forced algorithm (native)', function () {
    if (name !== 'native') this.skip();
    const isa0 = be.info().isa, threads0 = be.getNumThreads(), policy0 = be.getConvAlgorithm();
    const isas = [];
    try {
      for (const isa of ['scalar', 'avx2', 'avx512']) {
        try {
          be.setIsa(isa);
          isas.push(isa);
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
        }
      }
      assert.ok(isas.length >= 1);
      const algorithms = new Set();
      for (const isa of isas) {
        be.setIsa(isa);
        for (const threads of [1, 2]) {
          be.setNumThreads(threads);
          // gemm sends the 3x3, grouped and 5x5 cases through the GEMM row blocks too
          for (const policy of ['auto', 'gemm', 'winograd', 'direct']) {
            be.setConvAlgorithm(policy);
            for (const [label, o, tolerance] of GEOMETRIES) {
              const g = geometry(o);
              const used = checkGeometry(be, g, `${isa} threads=${threads} ${policy}: ${label}`, refOf(label, g), tolerance || true);
              for (const a of used) algorithms.add(a);
            }
          }
        }
      }
      for (const a of ['gemm-1x1', 'im2col-gemm', 'winograd', 'direct-small', 'depthwise-direct']) assert.ok(algorithms.has(a), `${a} was exercised`);
    } finally {
      be.setIsa(isa0);
      be.setNumThreads(threads0);
      be.setConvAlgorithm(policy0);
    }
  });

  describe('bad arguments: a named error and no output written', function () {
    const g = geometry({ ...P0, N: 2, C: 4, H: 5, W: 6, K: 10 });
    const OHW = 30;
    const x = detFill(2 * 4 * 30, 5, 1);
    let p = null;
    before(function () { p = be.prepareConv2d(g, detFill(10 * 4, 6, 1), null, detFill(10, 7, 1)); });

    /** Four valid outputs of 2, 3, 1 and 4 channels, each in its own sentinel-filled buffer. */
    const outputs = () => [2, 3, 1, 4].map((channels) => ({
      data: new Float32Array(2 * channels * OHW + 4).fill(SENTINEL), channels, imageStride: channels * OHW + 4,
    }));

    /** call(outs) throws `re` (and `type`), and leaves every Float32Array it was given and x as they were. */
    function refused(outs, re, type, call = (o) => be.conv2dForwardPreparedSplit(g, x, p, false, o)) {
      const arrays = [x];
      if (Array.isArray(outs)) for (const o of outs) if (o && o.data instanceof Float32Array) arrays.push(o.data);
      const before = arrays.map((a) => Float32Array.from(a));
      assert.throws(() => call(outs), (e) => {
        assert.ok(e instanceof type, `${e.constructor.name}: ${e.message}, want a ${type.name}`);
        assert.match(e.message, /^conv2dForwardPreparedSplit: /);
        assert.match(e.message, re);
        return true;
      });
      arrays.forEach((a, i) => sameBits(a, before[i], `argument ${i} after the refused call`));
    }

    it('the valid outputs of these tests are accepted', function () {
      const outs = outputs();
      be.conv2dForwardPreparedSplit(g, x, p, false, outs);
      for (const o of outs) {
        const image = o.channels * OHW;
        assert.ok(o.data.subarray(0, image).every((v) => v !== SENTINEL), 'image 0 written');
        assert.ok(o.data.subarray(image, image + 4).every((v) => v === SENTINEL), 'the gap untouched');
        assert.ok(o.data.subarray(o.imageStride).every((v) => v !== SENTINEL), 'image 1 written');
      }
    });

    it('outputs that are not an Array of 1 to 8 records', function () {
      refused({ 0: outputs()[0], length: 1 }, /outputs must be an Array, got an object/, TypeError);
      refused(null, /outputs must be an Array, got null/, TypeError);
      refused(outputs()[0], /outputs must be an Array/, TypeError);
      refused([], /outputs must hold 1 to 8 parts, got 0/, RangeError);
      const nine = Array.from({ length: 9 }, (_, i) => ({ data: new Float32Array(2 * 2 * OHW), channels: i === 8 ? 2 : 1, imageStride: (i === 8 ? 2 : 1) * OHW }));
      refused(nine, /outputs must hold 1 to 8 parts, got 9/, RangeError);
      for (const [bad, what] of [[5, '5'], [null, 'null'], ['y', 'a string']]) {
        const outs = outputs();
        outs[2] = bad;
        refused(outs, new RegExp(`outputs\\[2\\] must be \\{ data, channels, imageStride \\}, got ${what}`), TypeError);
      }
      // a bare array in place of the record: an object without data
      const bare = outputs();
      bare[2] = new Float32Array(600);
      refused(bare, /outputs\[2\]\.data must be a Float32Array, got undefined/, TypeError);
    });

    it('data that is not a Float32Array', function () {
      for (const [bad, what] of [[new Float64Array(600), 'a Float64Array'], [Array(600).fill(0), 'an Array'], [undefined, 'undefined']]) {
        const outs = outputs();
        outs[3].data = bad;
        refused(outs, new RegExp(`outputs\\[3\\]\\.data must be a Float32Array, got ${what}`), TypeError);
      }
    });

    it('channels that are not a positive integer, or do not add up to K', function () {
      for (const [bad, re, type] of [
        [0, /outputs\[1\]\.channels must be a positive integer, got 0/, RangeError],
        [-3, /outputs\[1\]\.channels must be a positive integer, got -3/, RangeError],
        [1.5, /outputs\[1\]\.channels must be an integer, got 1\.5/, RangeError],
        [NaN, /outputs\[1\]\.channels must be an integer, got NaN/, RangeError],
        [Infinity, /outputs\[1\]\.channels must be an integer, got Infinity/, RangeError],
        ['3', /outputs\[1\]\.channels must be a number, got a string/, TypeError],
        [undefined, /outputs\[1\]\.channels must be a number, got undefined/, TypeError],
      ]) {
        const outs = outputs();
        outs[1].channels = bad;
        refused(outs, re, type);
      }
      const fewer = outputs();
      fewer[3].channels = 3;
      refused(fewer, /the outputs' channels add up to 9, not K = 10/, RangeError);
      const more = outputs();
      more[0].channels = 3;
      more[0].data = new Float32Array(3 * OHW * 2);
      more[0].imageStride = 3 * OHW;
      refused(more, /the outputs' channels add up to 11, not K = 10/, RangeError);
      refused(outputs().slice(0, 3), /the outputs' channels add up to 6, not K = 10/, RangeError);
    });

    it('an imageStride smaller than channels*OH*OW, or not an integer', function () {
      const outs = outputs();
      outs[1].imageStride = 3 * OHW - 1;
      refused(outs, /outputs\[1\]\.imageStride must be at least channels\*OH\*OW = 90, got 89/, RangeError);
      const frac = outputs();
      frac[2].imageStride = 40.5;
      refused(frac, /outputs\[2\]\.imageStride must be an integer, got 40\.5/, RangeError);
      const neg = outputs();
      neg[2].imageStride = -30;
      refused(neg, /outputs\[2\]\.imageStride must be a non-negative integer, got -30/, RangeError);
      const str = outputs();
      str[0].imageStride = '64';
      refused(str, /outputs\[0\]\.imageStride must be a number, got a string/, TypeError);
    });

    it('data too short for N images imageStride apart', function () {
      const outs = outputs();
      // 4 channels, images 124 apart: 124 + 120 = 244 floats needed
      outs[3].data = outs[3].data.subarray(0, 243);
      refused(outs, /outputs\[3\]\.data has 243 elements, fewer than the 244 that N images 124 apart need/, RangeError);
      const wide = outputs();
      wide[0].imageStride = 1000;
      refused(wide, /outputs\[0\]\.data has 124 elements, fewer than the 1060 that N images 1000 apart need/, RangeError);
    });

    it('outputs that share memory with each other or with x', function () {
      const outs = outputs();
      const shared = new Float32Array(1000).fill(SENTINEL);
      outs[1].data = shared.subarray(0, 2 * 3 * OHW + 4);
      outs[3].data = shared.subarray(2 * 3 * OHW + 3);  // one float in common
      refused(outs, /outputs\[3\] must not share memory with outputs\[1\]/, RangeError);
      // (the floats written need not overlap: the arrays' ranges do)
      const interleaved = outputs();
      const joined = new Float32Array(2 * 10 * OHW).fill(SENTINEL);
      interleaved[0] = { data: joined, channels: 2, imageStride: 10 * OHW };
      interleaved[1] = { data: joined.subarray(2 * OHW), channels: 3, imageStride: 10 * OHW };
      refused(interleaved, /outputs\[1\] must not share memory with outputs\[0\]/, RangeError);
      const same = outputs();
      same[2] = { ...same[2], data: same[0].data };
      refused(same, /outputs\[2\] must not share memory with outputs\[0\]/, RangeError);
      // an output over x
      const both = new Float32Array(x.length + 600).fill(SENTINEL);
      both.set(x);
      const xs = both.subarray(0, x.length);
      const over = outputs();
      over[1].data = both.subarray(x.length - 1);
      refused(over, /outputs\[1\] must not share memory with x/, RangeError,
        (o) => be.conv2dForwardPreparedSplit(g, xs, p, false, o));
      sameBits(xs, x, 'x after the refused call');
    });

    it('a prepared form from the other backend, a stand-in, or one made for another filter', function () {
      const other = otherBackend(name);
      if (other) {
        const q = other.prepareConv2d(g, detFill(40, 6, 1), null, null);
        refused(outputs(), new RegExp(`prepared must come from the ${name === 'native' ? 'native' : 'JS'} backend's prepareConv2d`), TypeError,
          (o) => be.conv2dForwardPreparedSplit(g, x, q, false, o));
      }
      refused(outputs(), /prepared must come from/, TypeError,
        (o) => be.conv2dForwardPreparedSplit(g, x, { backend: name, algorithm: 'gemm-1x1', bytes: 160 }, false, o));
      refused(outputs(), /prepared must come from/, TypeError, (o) => be.conv2dForwardPreparedSplit(g, x, null, false, o));
      // the same K, another stride / input channel count
      refused(outputs(), /prepared weights were made for another filter/, RangeError,
        (o) => be.conv2dForwardPreparedSplit({ ...g, strideH: 2 }, x, p, false, o));
      const g5 = { ...g, C: 5 };
      const x5 = detFill(2 * 5 * 30, 8, 1);
      refused(outputs(), /prepared weights were made for another filter/, RangeError,
        (o) => be.conv2dForwardPreparedSplit(g5, x5, p, false, o));
    });

    it('relu that is not a boolean, x of the wrong length or type', function () {
      for (const bad of [1, 'true', null, undefined]) {
        refused(outputs(), /relu must be a boolean/, TypeError, (o) => be.conv2dForwardPreparedSplit(g, x, p, bad, o));
      }
      refused(outputs(), /x has 239 elements, expected 2\*4\*5\*6 = 240/, RangeError,
        (o) => be.conv2dForwardPreparedSplit(g, x.subarray(1), p, false, o));
      refused(outputs(), /x must be a Float32Array/, TypeError,
        (o) => be.conv2dForwardPreparedSplit(g, Array.from(x), p, false, o));
      refused(outputs(), /g\.padTop must be a non-negative integer/, RangeError,
        (o) => be.conv2dForwardPreparedSplit({ ...g, padTop: -1 }, x, p, false, o));
    });
  });
});

// ---- nn.ConvSiblings ------------------------------------------------------------------

/** An eval-mode BatchNorm2d with non-trivial running statistics and affine parameters. */
function batchNorm(k, seed) {
  const bn = new nn.BatchNorm2d(k);
  bn.runningMean.data.set(detFill(k, seed, 0.5));
  bn.runningVar.data.set(detFill(k, seed + 1, 0.5).map((v) => 0.75 + v));
  bn.weight.data.set(detFill(k, seed + 2, 1).map((v) => 1 + 0.5 * v));
  bn.bias.data.set(detFill(k, seed + 3, 0.5));
  R.markDataChanged();
  return bn.eval();
}

/** Sibling layers reading C channels: [outChannels, bias] each, kernel k, conv options o. */
function siblingLayers(C, specs, k, o = {}, seed = 10) {
  return specs.map(([out, bias], i) => {
    const conv = new nn.Conv2d(C, out, k, { bias, seed: seed + 7 * i, ...o });
    return { conv, bn: batchNorm(out, seed + 7 * i + 1) };
  });
}

const tensorOf = (shape, seed) => new R.Tensor(detFill(shape.reduce((a, b) => a * b, 1), seed, 1), shape);

/**
 * ConvSiblings.forward of `layers` on x, each into its own sentinel-filled buffer with a
 * wider image stride, against each conv.fusedForward(x, {bn, relu}): bit for bit where the
 * group and every layer run the same algorithm, other than Winograd, else within 1e-5 of
 * the output's scale. Winograd's transforms and GEMMs are blocked by output channels, so
 * a group of 27 channels and a layer of 17 round differently (seen with RECEPTIVE_CONV_ALGO=
 * winograd); and the native backend picks Winograd for 3x3 layers above some output channel
 * count (Winograd against GEMM differs by about 1e-6 of max|y| at 16 input channels, see
 * conv-winograd.spec.js). Returns 'exact' or 'close'.
 */
function siblingsAgree(sib, layers, x, relu, label) {
  const [N] = x.shape;
  const want = R.noGrad(() => layers.map(({ conv, bn }) => conv.fusedForward(x, { bn, relu })));
  const [, , OH, OW] = want[0].shape;
  const OHW = OH * OW;
  const dests = makeOutputs(N, OHW, layers.map(({ conv }) => conv.outChannels));
  R.noGrad(() => sib.forward(x, layers.map(({ conv, bn }, i) => ({
    conv, bn, into: { data: dests[i].out.data, imageStride: dests[i].out.imageStride },
  })), { relu }));
  // (the group's prepared form is private; read here only to choose the comparison)
  const groupAlgorithm = sib.prepared.describe().algorithm;
  const exact = groupAlgorithm !== 'winograd' && layers.every(({ conv }) => conv.preparedInfo().algorithm === groupAlgorithm);
  dests.forEach((d, i) => {
    const K = layers[i].conv.outChannels;
    checkOutputs([d], want[i].data, N, K, OHW, `${label}: sibling ${i}`, exact ? true : 1e-5);
  });
  return exact ? 'exact' : 'close';
}

describeEachBackend('nn.ConvSiblings', (name, be) => {
  it('three 1x1 layers with eval-mode BatchNorm equal each layer\'s fusedForward, with and without ReLU', function () {
    const layers = siblingLayers(6, [[5, true], [17, false], [10, true]], 1);
    const sib = new nn.ConvSiblings();
    const x = tensorOf([2, 6, 9, 9], 1);
    for (const relu of [true, false]) assert.strictEqual(siblingsAgree(sib, layers, x, relu, `1x1 relu=${relu}`), 'exact');
    // without a BatchNorm (the bias alone, or none), and a layer on its own
    const plain = layers.map(({ conv }) => ({ conv, bn: null }));
    assert.strictEqual(siblingsAgree(new nn.ConvSiblings(), plain, x, true, '1x1 without BatchNorm'), 'exact');
    assert.strictEqual(siblingsAgree(new nn.ConvSiblings(), [layers[1]], x, true, 'one layer'), 'exact');
    // a BatchNorm without affine parameters
    const bare = new nn.BatchNorm2d(17, { affine: false });
    bare.runningMean.data.set(detFill(17, 5, 0.5));
    bare.runningVar.data.set(detFill(17, 6, 0.5).map((v) => 0.75 + v));
    R.markDataChanged();
    const mixed = [layers[0], { conv: layers[1].conv, bn: bare.eval() }, layers[2]];
    assert.strictEqual(siblingsAgree(new nn.ConvSiblings(), mixed, x, true, 'a BatchNorm without affine parameters'), 'exact');
    // default options: no ReLU
    const out = new Float32Array(2 * 5 * 81);
    R.noGrad(() => sib.forward(x, [{ conv: layers[0].conv, bn: layers[0].bn, into: { data: out, imageStride: 5 * 81 } }]));
    sameBits(out, R.noGrad(() => layers[0].conv.fusedForward(x, { bn: layers[0].bn })).data, 'default relu');
  });

  it('a 3x3 pad 1 group, a strided 3x3 group and eight layers', function () {
    const x = tensorOf([2, 16, 12, 12], 2);
    const pad1 = () => siblingLayers(16, [[7, true], [16, true], [3, false]], 3, { padding: 1 }, 30);
    // (native: the 26-channel group and the 16-channel layer run Winograd, the others GEMM)
    const mode = siblingsAgree(new nn.ConvSiblings(), pad1(), x, true, '3x3 pad 1');
    if (name === 'js') assert.strictEqual(mode, 'exact');
    if (name === 'native') {
      // every layer and the group on the GEMM path: bit for bit
      const policy0 = be.getConvAlgorithm();
      try {
        be.setConvAlgorithm('gemm');
        assert.strictEqual(siblingsAgree(new nn.ConvSiblings(), pad1(), x, true, '3x3 pad 1, gemm'), 'exact');
      } finally {
        be.setConvAlgorithm(policy0);
      }
    }
    const strided = siblingLayers(16, [[9, false], [20, true]], 3, { padding: 1, stride: 2 }, 40);
    assert.strictEqual(siblingsAgree(new nn.ConvSiblings(), strided, x, true, '3x3 s2 pad 1'), 'exact');
    const eight = siblingLayers(16, [[1, true], [2, false], [13, true], [15, true], [3, false], [7, true], [9, true], [5, true]], 1, {}, 50);
    assert.strictEqual(siblingsAgree(new nn.ConvSiblings(), eight, x, true, 'eight 1x1 layers'), 'exact');
  });

  it('into: the channels of a wider concatenation buffer, the other channels untouched (as GoogLeNet uses it)', function () {
    const layers = siblingLayers(6, [[5, true], [17, false], [10, true]], 1, {}, 60);
    const x = tensorOf([3, 6, 9, 9], 3);
    const OHW = 81, total = 5 + 17 + 10 + 4;  // 4 channels of another branch after them
    // layer 0 into channels 2..6 of the joined [3, 36, 9, 9] tensor; layers 1 and 2 into their own
    const joined = new Float32Array(3 * total * OHW).fill(SENTINEL);
    const m1 = new Float32Array(3 * 17 * OHW).fill(SENTINEL), m2 = new Float32Array(3 * 10 * OHW).fill(SENTINEL);
    R.noGrad(() => new nn.ConvSiblings().forward(x, [
      { conv: layers[0].conv, bn: layers[0].bn, into: { data: joined.subarray(2 * OHW), imageStride: total * OHW } },
      { conv: layers[1].conv, bn: layers[1].bn, into: { data: m1, imageStride: 17 * OHW } },
      { conv: layers[2].conv, bn: layers[2].bn, into: { data: m2, imageStride: 10 * OHW } },
    ], { relu: true }));
    const want = R.noGrad(() => layers.map(({ conv, bn }) => conv.fusedForward(x, { bn, relu: true })));
    const j = new R.Tensor(joined, [3, total, 9, 9]);
    sameBits(j.narrow(1, 2, 5).contiguous().data, want[0].data, 'joined channels 2..6');
    assert.ok(j.narrow(1, 0, 2).contiguous().data.every((v) => v === SENTINEL), 'channels before');
    assert.ok(j.narrow(1, 7, total - 7).contiguous().data.every((v) => v === SENTINEL), 'channels after');
    sameBits(m1, want[1].data, 'layer 1');
    sameBits(m2, want[2].data, 'layer 2');
  });

  describe('compatible and the refused groups', function () {
    const base = () => new nn.Conv2d(6, 5, 3, { padding: 1, seed: 1 });
    const x = tensorOf([2, 6, 9, 9], 4);
    const into = () => ({ data: new Float32Array(2 * 40 * 81).fill(SENTINEL), imageStride: 40 * 81 });

    /** sib.forward(x, siblings) throws `re`; the destinations stay untouched. */
    function refusedForward(siblings, re, xx = x, options = { relu: true }, grad = false) {
      const copies = siblings.map((s) => (s && s.into && s.into.data instanceof Float32Array ? Float32Array.from(s.into.data) : null));
      const call = () => new nn.ConvSiblings().forward(xx, siblings, options);
      assert.throws(() => (grad ? call() : R.noGrad(call)), (e) => {
        assert.match(e.message, /^ConvSiblings\.forward: /);
        assert.match(e.message, re);
        return true;
      });
      siblings.forEach((s, i) => { if (copies[i]) sameBits(s.into.data, copies[i], `siblings[${i}].into after the refused call`); });
    }

    it('accepts alike layers (whatever their output channels, bias and padding spelling)', function () {
      assert.strictEqual(nn.ConvSiblings.compatible([base()]), true);
      assert.strictEqual(nn.ConvSiblings.compatible([base(), new nn.Conv2d(6, 9, 3, { padding: 'same', bias: false })]), true);
      assert.strictEqual(nn.ConvSiblings.compatible([base(), new nn.Conv2d(6, 2, [3, 3], { padding: [1, 1], stride: 1, dilation: 1 })]), true);
      assert.strictEqual(nn.ConvSiblings.compatible(Array.from({ length: 8 }, base)), true);
    });

    const MISMATCHES = [
      ['kernel size', () => new nn.Conv2d(6, 5, [3, 1], { padding: [1, 0] })],
      ['kernel size 1', () => new nn.Conv2d(6, 5, 1)],
      ['stride', () => new nn.Conv2d(6, 5, 3, { padding: 1, stride: 2 })],
      ['stride in one direction', () => new nn.Conv2d(6, 5, 3, { padding: 1, stride: [1, 2] })],
      ['padding', () => new nn.Conv2d(6, 5, 3, { padding: 0 })],
      ['padding in one direction', () => new nn.Conv2d(6, 5, 3, { padding: [1, 0] })],
      ['dilation', () => new nn.Conv2d(6, 5, 3, { padding: 1, dilation: 2 })],
      ['input channels', () => new nn.Conv2d(4, 5, 3, { padding: 1 })],
      ['groups', () => new nn.Conv2d(6, 4, 3, { padding: 1, groups: 2 })],
      ['paddingMode', () => new nn.Conv2d(6, 5, 3, { padding: 1, paddingMode: 'reflect' })],
      ["mode 'convolution'", () => new nn.Conv2d(6, 5, 3, { padding: 1, mode: 'convolution' })],
      ['a Conv1d', () => new nn.Conv1d(6, 5, 3, { padding: 1 })],
      ['a Linear', () => new nn.Linear(6, 5)],
      ['a plain object', () => ({ inChannels: 6, outChannels: 5, kernelSize: [3, 3] })],
      ['null', () => null],
    ];

    it('is false for a mismatch in any layer, and forward refuses it', function () {
      for (const [what, make] of MISMATCHES) {
        const odd = make();
        assert.strictEqual(nn.ConvSiblings.compatible([base(), odd]), false, `${what} second`);
        assert.strictEqual(nn.ConvSiblings.compatible([odd, base()]), false, `${what} first`);
        if (odd !== null) assert.strictEqual(nn.ConvSiblings.compatible([base(), base(), odd]), false, `${what} third`);
        refusedForward([{ conv: base(), bn: null, into: into() }, { conv: odd, bn: null, into: into() }],
          /expected 1 to 8 Conv2d layers/);
      }
      // groups, paddingMode and mode on every layer alike are still refused
      for (const o of [{ groups: 2 }, { paddingMode: 'circular' }, { mode: 'convolution' }]) {
        const convs = [new nn.Conv2d(6, 4, 3, { padding: 1, ...o }), new nn.Conv2d(6, 6, 3, { padding: 1, ...o })];
        assert.strictEqual(nn.ConvSiblings.compatible(convs), false, JSON.stringify(o));
        refusedForward(convs.map((conv) => ({ conv, bn: null, into: into() })), /expected 1 to 8 Conv2d layers/);
      }
    });

    it('is false for 0 or 9 layers, and forward refuses them', function () {
      assert.strictEqual(nn.ConvSiblings.compatible([]), false);
      assert.strictEqual(nn.ConvSiblings.compatible(Array.from({ length: 9 }, base)), false);
      refusedForward([], /expected 1 to 8 Conv2d layers/);
      refusedForward(Array.from({ length: 9 }, () => ({ conv: new nn.Conv2d(6, 1, 3, { padding: 1 }), bn: null, into: into() })),
        /expected 1 to 8 Conv2d layers/);
    });

    it('refuses a bad input, BatchNorm, destination or option, and a tape', function () {
      const conv = base(), bn = batchNorm(5, 70);
      const ok = () => [{ conv, bn, into: into() }, { conv: new nn.Conv2d(6, 3, 3, { padding: 1 }), bn: null, into: into() }];
      refusedForward(ok(), /expected an input \[N, 6, H, W\], got \[6, 9, 9\]/, tensorOf([6, 9, 9], 5));
      refusedForward(ok(), /expected an input \[N, 6, H, W\], got \[2, 6, 9, 9, 1\]/, tensorOf([2, 6, 9, 9, 1], 5));
      refusedForward(ok(), /expected an input \[N, 6, H, W\], got \[2, 5, 9, 9\]/, tensorOf([2, 5, 9, 9], 5));
      assert.throws(() => R.noGrad(() => new nn.ConvSiblings().forward(x.data, ok())), (e) => e instanceof TypeError && /x must be a Tensor/.test(e.message));
      // (padding 1: a 1x1 input still gives a 1x1 output; without padding it is too small)
      const unpadded = [{ conv: new nn.Conv2d(6, 5, 3), bn: null, into: into() }];
      refusedForward(unpadded, /input \[2, 6, 2, 9\] is smaller than the filter 3x3/, tensorOf([2, 6, 2, 9], 5));
      bn.train();
      refusedForward(ok(), /siblings\[0\]'s BatchNorm must be in eval mode/);
      bn.eval();
      const wrong = ok();
      wrong[1].bn = batchNorm(4, 71);
      refusedForward(wrong, /siblings\[1\]'s BatchNorm has 4 features, its convolution 3 output channels/);
      const noStats = ok();
      noStats[1].bn = new nn.BatchNorm2d(3, { trackRunningStats: false }).eval();
      refusedForward(noStats, /siblings\[1\]'s BatchNorm has no running statistics/);
      // a tape: the weights require grad and grad mode is on
      refusedForward(ok(), /records no gradient; call it without a tape/, x, { relu: true }, true);
      const xg = tensorOf([2, 6, 9, 9], 6);
      xg.requiresGrad = true;
      refusedForward(ok(), /records no gradient/, xg, { relu: true }, true);
      // destinations and options
      const badInto = ok();
      badInto[1].into = { data: Array(2 * 3 * 81).fill(0), imageStride: 3 * 81 };
      refusedForward(badInto, /siblings\[1\]\.into must be \{ data: Float32Array, imageStride: number \}/);
      const noInto = ok();
      delete noInto[0].into;
      refusedForward(noInto, /siblings\[0\]\.into must be/);
      const narrow = ok();
      narrow[1].into = { data: new Float32Array(2 * 3 * 81), imageStride: 3 * 81 - 1 };
      assert.throws(() => R.noGrad(() => new nn.ConvSiblings().forward(x, narrow, { relu: true })),
        /outputs\[1\]\.imageStride must be at least channels\*OH\*OW = 243, got 242/);
      refusedForward(ok(), /relu must be a boolean/, x, { relu: 1 });
      assert.throws(() => R.noGrad(() => new nn.ConvSiblings().forward(x, { conv })), /siblings must be an Array/);
    });
  });

  it('is remade after every way the library changes the weights or the BatchNorm', function () {
    const layers = siblingLayers(6, [[5, true], [17, false], [10, true]], 1, {}, 80);
    const sib = new nn.ConvSiblings();
    const x = tensorOf([2, 6, 9, 9], 7);
    let last = null;
    const check = (label, moved = true) => {
      assert.strictEqual(siblingsAgree(sib, layers, x, true, label), 'exact', label);
      // (and the output did change, so the check above compared something new)
      const now = R.noGrad(() => layers.map(({ conv, bn }) => Array.from(conv.fusedForward(x, { bn, relu: true }).data)));
      if (last && moved) assert.notDeepStrictEqual(now, last, `${label}: the change moved the output`);
      last = now;
    };
    const [a, b, c] = layers;
    check('first');
    // (the group's prepared form is private: read here to see that an unchanged group reuses it)
    const form = sib.prepared.prepared;
    check('a second call, nothing changed', false);
    assert.strictEqual(sib.prepared.prepared, form, 'the prepared form is reused while nothing changes');
    b.conv.weight.fill_(0.25);
    check('after fill_ of a weight');
    c.conv.bias.copy_(new R.Tensor(detFill(10, 90, 1), [10]));
    check('after copy_ of a bias');
    a.bn.runningMean.data[0] = 3; R.markDataChanged();
    check('after a direct write to a running mean and markDataChanged()');
    b.conv.weight.data[7] = -2; R.markDataChanged();
    check('after a direct write to a weight and markDataChanged()');
    a.bn.registerBuffer('running_mean', new R.Tensor(detFill(5, 91, 2), [5]));
    check('after the running mean tensor was replaced (registerBuffer)');
    c.bn.running_var = new R.Tensor(detFill(10, 92, 0.5).map((v) => 1 + v), [10]);
    check('after the running var tensor was replaced (assignment)');
    b.bn.weight = new nn.Parameter(detFill(17, 93, 1), [17]);
    check('after the BatchNorm weight was replaced');
    b.bn.eps = 0.5;
    check('after the BatchNorm eps changed');
    a.conv.loadStateDict(new nn.Conv2d(6, 5, 1, { seed: 94 }).stateDict());
    check('after loadStateDict of a conv');
    c.bn.loadStateDict(batchNorm(10, 95).stateDict());
    check('after loadStateDict of a BatchNorm');
    nn.init.kaimingUniform_(b.conv.weight);
    check('after nn.init');
    // (a small step: the loss is a plain sum, whose bias gradient is N*H*W)
    const opt = new R.optim.SGD(layers.flatMap(({ conv }) => conv.parameters()), { lr: 1e-3 });
    layers.reduce((s, { conv }) => s.add(R.F.conv2d(x, conv.weight, conv.bias).sum()), R.tensor(0)).backward();
    opt.step();
    check('after an optimizer step');
    a.bn.train(); R.noGrad(() => a.bn.forward(R.F.conv2d(x, a.conv.weight, a.conv.bias))); a.bn.eval();
    check('after BatchNorm statistics were updated in training mode');
    c.conv.weight = new nn.Parameter(detFill(10 * 6, 96, 1), [10, 6, 1, 1]);
    check('after a conv weight was replaced');
    layers[1] = { conv: new nn.Conv2d(6, 17, 1, { seed: 97 }), bn: b.bn };
    check('after a sibling was replaced by another layer of the same shape');
    layers[2] = { conv: c.conv, bn: null };
    check('after a BatchNorm was dropped');
  });

  it('one ConvSiblings serves other input sizes, layer sets and backends', function () {
    const layers = siblingLayers(6, [[5, true], [17, false], [10, true]], 3, { padding: 1 }, 100);
    const sib = new nn.ConvSiblings();
    siblingsAgree(sib, layers, tensorOf([2, 6, 9, 9], 8), true, '9x9');
    siblingsAgree(sib, layers, tensorOf([3, 6, 5, 7], 9), true, '5x7, three images');
    siblingsAgree(sib, layers.slice(1), tensorOf([3, 6, 5, 7], 9), true, 'two of the layers');
    siblingsAgree(sib, [layers[2], layers[0]], tensorOf([1, 6, 6, 6], 10), true, 'reordered');
    const other = otherBackend(name)?.name;
    if (other) {
      select.setBackend(other);
      try {
        siblingsAgree(sib, layers, tensorOf([2, 6, 9, 9], 8), true, `on ${other}`);
      } finally {
        select.setBackend(name);
      }
      siblingsAgree(sib, layers, tensorOf([2, 6, 9, 9], 8), true, `back on ${name}`);
    }
  });
});

// ---- GoogLeNet --------------------------------------------------------------------------

/** The addon module the native backend calls (the same file node-gyp-build loads, from require's cache). */
function nativeAddon() {
  const override = process.env.RECEPTIVE_ADDON_PATH;
  const file = override ? path.resolve(override) : require('node-gyp-build').path(path.join(__dirname, '..'));
  return require(file);
}

/**
 * Counts the split kernel's calls: the addon's function (native) or the backend's method
 * (JS), wrapped where the library calls it. restore() puts it back.
 */
function countSplitCalls(name, be) {
  const host = name === 'native' ? nativeAddon() : be;
  const real = host.conv2dForwardPreparedSplit;
  const counter = { calls: 0, restore: () => { host.conv2dForwardPreparedSplit = real; } };
  host.conv2dForwardPreparedSplit = function (...a) { counter.calls++; return real.apply(this, a); };
  return counter;
}

describeEachBackend('GoogLeNet inference through ConvSiblings', (name, be) => {
  it('one split call for the 1x1 reductions of each of the 9 Inception blocks, the logits those of the unfused pass', function () {
    const counter = countSplitCalls(name, be);
    try {
      // the wrapper sits where the library calls it
      const g = geometry({ ...P0, N: 1, C: 2, H: 2, W: 2, K: 3 });
      R.noGrad(() => new nn.ConvSiblings().forward(new R.Tensor(new Float32Array(8), [1, 2, 2, 2]),
        [{ conv: new nn.Conv2d(2, 3, 1), into: { data: new Float32Array(12), imageStride: 12 } }]));
      be.conv2dForwardPreparedSplit(g, new Float32Array(8), be.prepareConv2d(g, new Float32Array(6), null, null), false,
        [{ data: new Float32Array(12), channels: 3, imageStride: 12 }]);
      assert.strictEqual(counter.calls, 2, 'the wrapped function is the one the library calls');
      counter.calls = 0;

      const m = R.models.googlenet({ seed: 3, auxLogits: false, numClasses: 10 });
      // weights and statistics at a scale where the logits depend on the input (torchvision's
      // 0.01-std initialisation makes them nearly constant at this size)
      let seed = 200;
      for (const mod of m.modules()) {
        if (mod instanceof nn.Conv2d || mod instanceof nn.Linear) {
          const fanIn = mod.weight.size / mod.weight.shape[0];
          mod.weight.data.set(detFill(mod.weight.size, seed++, Math.sqrt(6 / fanIn)));
          if (mod.bias) mod.bias.data.set(detFill(mod.bias.size, seed++, 0.1));
        } else if (mod instanceof nn.BatchNorm2d) {
          const k = mod.numFeatures;
          mod.runningMean.data.set(detFill(k, seed++, 0.1));
          mod.runningVar.data.set(detFill(k, seed++, 0.25).map((v) => 1.25 + v));
          mod.weight.data.set(detFill(k, seed++, 0.2).map((v) => 1 + v));
          mod.bias.data.set(detFill(k, seed++, 0.1));
        }
      }
      R.markDataChanged();
      const x = tensorOf([2, 3, 64, 64], 11);
      const fused = m.predict(x);
      assert.strictEqual(counter.calls, 9, 'conv2dForwardPreparedSplit calls in one pass');
      const again = m.predict(x);
      assert.strictEqual(counter.calls, 18, 'and 9 in the next');
      sameBits(again.data, fused.data, 'pass after pass');
      const other = m.predict(tensorOf([2, 3, 64, 64], 12));
      let top = 0;
      for (const v of fused.data) top = Math.max(top, Math.abs(v));
      assert.ok(other.data.some((v, i) => Math.abs(v - fused.data[i]) > 1e-3 * top), 'the logits depend on the input');
      // a hook turns the recycling path (and with it the sibling fusion) off
      counter.calls = 0;
      const h = m.registerForwardHook(() => {});
      const plain = m.predict(x);
      h.remove();
      assert.strictEqual(counter.calls, 0, 'no split call with a hook');
      assert.deepStrictEqual(plain.shape, [2, 10]);
      sameBits(fused.data, plain.data, 'fused against the unfused pass');
      counter.calls = 0;
      m.predict(x);
      assert.strictEqual(counter.calls, 9, 'fused again once the hook is gone');
    } finally {
      counter.restore();
    }
  });
});
