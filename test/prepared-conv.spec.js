// The inference path: prepared weights (prepareConv2d / conv2dForwardPrepared) with the
// output stage (folded BatchNorm scale, bias, residual, ReLU) on both backends, against the
// plain convolution followed by the same steps in float64; Conv2d.fusedForward and its
// per-layer cache, which must be remade whenever the weights change.
'use strict';
const assert = require('assert');
const R = require('../dist');
const { describeEachBackend } = require('./helpers/backends');
const { convGeometry, outH, outW } = require('./helpers/conv_geometry');
const { detFill: detFillScaled } = require('./helpers/detfill');

const detFill = (n, seed) => detFillScaled(n, seed, 1);

const geometry = (o) => convGeometry({}, o);

const GEOMETRIES = [
  ['3x3 s1 p1', {}],
  ['3x3 s1 p1, 16 channels, 12x12', { C: 16, K: 20, H: 12, W: 12 }],
  ['3x3 s1 p0, asymmetric negative bottom/right', { padTop: 1, padBottom: -1, padLeft: 0, padRight: 2 }],
  ['3x3 s2', { strideH: 2, strideW: 2 }],
  ['1x1', { R: 1, S: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }],
  ['1x1 s2', { R: 1, S: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, strideH: 2, strideW: 2 }],
  ['1x1 on 7x7, 40 output channels (pixel rows on AVX-512)', { N: 3, C: 20, K: 40, H: 7, W: 7, R: 1, S: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }],
  ['5x5 one input channel (LeNet conv1)', { C: 1, K: 6, R: 5, S: 5, H: 14, W: 14, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }],
  ['7x7 s2 p3, three channels (stem)', { C: 3, K: 8, R: 7, S: 7, H: 20, W: 18, strideH: 2, strideW: 2, padTop: 3, padBottom: 3, padLeft: 3, padRight: 3 }],
  ['dilated 3x3 d2', { dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }],
  ['groups 2', { C: 4, K: 6, groups: 2 }],
  ['depthwise', { C: 4, K: 4, groups: 4 }],
  ['batch of 5 small images', { N: 5, H: 4, W: 4, C: 8, K: 8 }],
  ['1-D k5 (H = 1)', { H: 1, R: 1, S: 5, W: 30, padTop: 0, padBottom: 0, padLeft: 2, padRight: 2 }],
  // A filter covering the whole input (LeNet's C5): one output per image, a matrix-vector
  // product over the prepared weights up to a few images, register tiles beyond.
  ...[1, 3, 7].map((N) => [`filter covering the whole 5x5 input (LeNet C5), batch ${N}`,
    { N, C: 16, K: 30, H: 5, W: 5, R: 5, S: 5, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 }]),
];

/** relu?(conv * scale + shift + residual) from the plain kernel, the rest in float64. */
function reference(be, g, x, w, scale, shift, residual, relu) {
  const OHW = outH(g) * outW(g);
  const y = new Float32Array(g.N * g.K * OHW);
  be.conv2dForward(g, x, w, null, y);
  const out = new Float32Array(y.length);
  for (let n = 0; n < g.N; n++) {
    for (let k = 0; k < g.K; k++) {
      for (let i = 0; i < OHW; i++) {
        const j = (n * g.K + k) * OHW + i;
        let v = y[j] * (scale ? scale[k] : 1) + (shift ? shift[k] : 0) + (residual ? residual[j] : 0);
        if (relu && v < 0) v = 0;
        out[j] = v;
      }
    }
  }
  return out;
}

function assertClose(got, want, label, rel = 2e-5) {
  assert.strictEqual(got.length, want.length, `${label}: length`);
  let scale = 1e-6;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= rel * scale)) {
      assert.fail(`${label}[${i}]: got ${got[i]}, want ${want[i]} (scale ${scale})`);
    }
  }
}

describeEachBackend('prepared convolution weights and the fused output stage', (name, be) => {
  for (const [label, o] of GEOMETRIES) {
    it(`${label}: scale, bias, residual and ReLU in every combination`, function () {
      const g = geometry(o);
      const OHW = outH(g) * outW(g);
      const x = detFill(g.N * g.C * g.H * g.W, 1);
      const w = detFill(g.K * (g.C / g.groups) * g.R * g.S, 2);
      const scale = detFill(g.K, 3).map((v) => 0.5 + Math.abs(v));
      const shift = detFill(g.K, 4);
      const residual = detFill(g.N * g.K * OHW, 5);
      for (const useScale of [false, true]) {
        for (const useShift of [false, true]) {
          for (const useRes of [false, true]) {
            for (const relu of [false, true]) {
              const s = useScale ? scale : null, b = useShift ? shift : null, r = useRes ? residual : null;
              const p = be.prepareConv2d(g, w, s, b);
              assert.strictEqual(p.backend, name);
              assert.ok(p.bytes >= 4 * w.length * 0.5, `${label}: bytes ${p.bytes}`);
              const y = new Float32Array(g.N * g.K * OHW).fill(NaN);
              be.conv2dForwardPrepared(g, x, p, r, relu, y);
              const want = reference(be, g, x, w, s, b, r, relu);
              const what = `${label} scale=${useScale} bias=${useShift} residual=${useRes} relu=${relu}`;
              assertClose(y, want, what);
              if (useRes) {
                // the residual given as y itself: added in place
                const acc = Float32Array.from(residual);
                be.conv2dForwardPrepared(g, x, p, acc, relu, acc);
                assertClose(acc, want, `${what} in place`);
              }
            }
          }
        }
      }
    });
  }

  it('yImageStride: each image into the channels of a wider tensor, the floats between untouched', function () {
    // Every algorithm's output path (native: each forced policy; the prepared form keeps the
    // algorithm it was made with), bit for bit the contiguous output.
    const policies = name === 'native' ? ['auto', 'gemm', 'winograd', 'direct'] : [null];
    const before = name === 'native' ? be.getConvAlgorithm() : null;
    const algorithms = new Set();
    try {
      for (const policy of policies) {
        if (policy) be.setConvAlgorithm(policy);
        for (const [label, o] of GEOMETRIES) {
          const g = geometry(o);
          const image = g.K * outH(g) * outW(g);
          const x = detFill(g.N * g.C * g.H * g.W, 1);
          const p = be.prepareConv2d(g, detFill(g.K * (g.C / g.groups) * g.R * g.S, 2), null, detFill(g.K, 4));
          algorithms.add(p.algorithm);
          for (const relu of [false, true]) {
            const want = new Float32Array(g.N * image);
            be.conv2dForwardPrepared(g, x, p, null, relu, want);
            for (const gap of [0, 7]) {
              const lead = 3, stride = image + gap, fill = -7.5;
              const wide = new Float32Array(lead + g.N * stride).fill(fill);
              be.conv2dForwardPrepared(g, x, p, null, relu, wide.subarray(lead), stride);
              const what = `${policy || name} ${p.algorithm} ${label} relu=${relu} gap=${gap}`;
              assert.ok(wide.subarray(0, lead).every((v) => v === fill), `${what}: before image 0`);
              for (let n = 0; n < g.N; n++) {
                const at = lead + n * stride;
                assert.deepStrictEqual(Array.from(wide.subarray(at, at + image)), Array.from(want.subarray(n * image, (n + 1) * image)), `${what}: image ${n}`);
                assert.ok(wide.subarray(at + image, at + stride).every((v) => v === fill), `${what}: after image ${n}`);
              }
            }
          }
        }
      }
    } finally {
      if (before) be.setConvAlgorithm(before);
    }
    if (name === 'native') {
      for (const a of ['im2col-gemm', 'gemm-1x1', 'winograd', 'direct-small', 'depthwise-direct']) assert.ok(algorithms.has(a), a);
    }
    const g = geometry();
    const image = 5 * 9 * 11;
    const p = be.prepareConv2d(g, detFill(180, 1), null, null);
    const x = detFill(2 * 4 * 99, 2), y = new Float32Array(2 * image + 10);
    assert.throws(() => be.conv2dForwardPrepared(g, x, p, null, false, y, image - 1), /yImageStride must be at least K\*OH\*OW = 495, got 494/);
    assert.throws(() => be.conv2dForwardPrepared(g, x, p, null, false, y, image + 0.5), /yImageStride must be an integer/);
    assert.throws(() => be.conv2dForwardPrepared(g, x, p, null, false, y, '500'), /yImageStride must be a number/);
    assert.throws(() => be.conv2dForwardPrepared(g, x, p, null, false, y, image + 11), /y has 1000 elements, fewer than the 1001/);
    assert.throws(() => be.conv2dForwardPrepared(g, x, p, new Float32Array(2 * image), false, y, image + 5), /a residual needs a contiguous y/);
  });

  it('a prepared form runs other batch sizes, image sizes and paddings of the same filter', function () {
    const g0 = geometry({ C: 6, K: 7 });
    const w = detFill(7 * 6 * 9, 7), bias = detFill(7, 8);
    const p = be.prepareConv2d(g0, w, null, bias);
    for (const o of [{ N: 1 }, { N: 3, H: 5, W: 17 }, { padTop: 0, padBottom: 0, padLeft: 2, padRight: 0 }]) {
      const g = geometry({ C: 6, K: 7, ...o });
      const x = detFill(g.N * g.C * g.H * g.W, 9);
      const y = new Float32Array(g.N * g.K * outH(g) * outW(g));
      be.conv2dForwardPrepared(g, x, p, null, false, y);
      assertClose(y, reference(be, g, x, w, null, bias, null, false), JSON.stringify(o));
    }
  });

  it('the prepared form keeps its own copy: later writes to w do not change it', function () {
    const g = geometry();
    const w = detFill(5 * 4 * 9, 10), x = detFill(2 * 4 * 9 * 11, 11);
    const p = be.prepareConv2d(g, w, null, null);
    const want = reference(be, g, x, w, null, null, null, false);
    w.fill(0);
    const y = new Float32Array(want.length);
    be.conv2dForwardPrepared(g, x, p, null, false, y);
    assertClose(y, want, 'after w.fill(0)');
  });

  it('ReLU keeps NaN as PyTorch does', function () {
    const g = geometry({ R: 1, S: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, C: 1, K: 1, N: 1, H: 1, W: 3 });
    const p = be.prepareConv2d(g, new Float32Array([1]), null, null);
    const y = new Float32Array(3);
    be.conv2dForwardPrepared(g, new Float32Array([-2, NaN, 3]), p, null, true, y);
    assert.deepStrictEqual(Array.from(y), [0, NaN, 3]);
    // every algorithm's output stage: a NaN input makes each output whose window covers it
    // NaN (negative weights send the rest to 0)
    for (const o of [{ C: 1, K: 6, R: 5, S: 5, H: 12, W: 12, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 },
      { C: 16, K: 16, H: 12, W: 12 }, { C: 4, K: 8, strideH: 2, strideW: 2 }]) {
      const gg = geometry({ N: 1, ...o });
      const x = new Float32Array(gg.C * gg.H * gg.W).fill(1);
      const at = [5, 6];
      x[at[0] * gg.W + at[1]] = NaN;
      const pp = be.prepareConv2d(gg, new Float32Array(gg.K * gg.C * gg.R * gg.S).fill(-0.5), null, null);
      const OH = outH(gg), OW = outW(gg);
      const yy = new Float32Array(gg.K * OH * OW);
      be.conv2dForwardPrepared(gg, x, pp, null, true, yy);
      for (let k = 0; k < gg.K; k++) {
        for (let oh = 0; oh < OH; oh++) {
          for (let ow = 0; ow < OW; ow++) {
            const ih = at[0] - (oh * gg.strideH - gg.padTop), iw = at[1] - (ow * gg.strideW - gg.padLeft);
            const covers = ih >= 0 && ih < gg.R && iw >= 0 && iw < gg.S;
            const v = yy[(k * OH + oh) * OW + ow];
            if (covers) assert.ok(Number.isNaN(v), `${pp.algorithm}: y[${k},${oh},${ow}] = ${v}, want NaN`);
            else assert.ok(v === 0 || Number.isNaN(v), `${pp.algorithm}: y[${k},${oh},${ow}] = ${v}`);
          }
        }
      }
    }
  });

  it('bad arguments are named errors', function () {
    const g = geometry();
    const w = detFill(5 * 4 * 9, 1), x = detFill(2 * 4 * 9 * 11, 2);
    const y = new Float32Array(2 * 5 * 9 * 11);
    const p = be.prepareConv2d(g, w, null, null);
    assert.throws(() => be.prepareConv2d(g, w.subarray(1), null, null), /prepareConv2d: w has 179 elements, expected 5\*4\*3\*3 = 180/);
    assert.throws(() => be.prepareConv2d(g, w, new Float32Array(4), null), /prepareConv2d: scale has 4 elements, expected 5/);
    assert.throws(() => be.prepareConv2d(g, w, null, [1, 2, 3, 4, 5]), TypeError);
    assert.throws(() => be.conv2dForwardPrepared(g, x, { backend: name, algorithm: 'x', bytes: 0 }, null, false, y),
      (e) => e instanceof TypeError && /conv2dForwardPrepared: prepared must come from/.test(e.message));
    assert.throws(() => be.conv2dForwardPrepared({ ...g, K: 6 }, x, p, null, false, new Float32Array(2 * 6 * 99)),
      /prepared weights were made for another filter/);
    assert.throws(() => be.conv2dForwardPrepared({ ...g, strideH: 2 }, x, p, null, false, y),
      /prepared weights were made for another filter/);
    assert.throws(() => be.conv2dForwardPrepared(g, x, p, new Float32Array(3), false, y), /residual has 3 elements/);
    const shared = new Float32Array(y.length + 1);
    assert.throws(() => be.conv2dForwardPrepared(g, x, p, shared.subarray(1), false, shared.subarray(0, y.length)),
      /y must not share memory with residual/);
    assert.throws(() => be.conv2dForwardPrepared(g, x, p, null, 1, y), /relu must be a boolean/);
    assert.throws(() => be.conv2dForwardPrepared(g, x.subarray(2), p, null, false, y), /x has \d+ elements/);
  });

  it('a prepared form from the other backend is refused', function () {
    const other = R.getBackend && name === 'native' ? require('../dist/backend/select').getBackendInstance('js') : null;
    if (!other) this.skip();
    const g = geometry();
    const p = other.prepareConv2d(g, detFill(180, 1), null, null);
    assert.throws(() => be.conv2dForwardPrepared(g, detFill(2 * 4 * 99, 2), p, null, false, new Float32Array(2 * 5 * 99)),
      /prepared must come from the native backend/);
  });
});

// The pixel-rows kernel (native, AVX-512): the GEMM-path layers (1x1, stride 2, 5x5, ...)
// into planes of 7 to 64 pixels, register tiles of 14 pixels x 32 output channels
// transposed into the output; 1x1 stride 1 reads the input in place, the others an im2col
// matrix per image. The shapes put tile and block edges everywhere: pixel tails of 1 to 13
// rows, channel blocks of 1, 16, 17, 32 and 40 channels (the second vector empty, partial or
// full), one input channel, and image groups (inputs of about 1 MiB) that do not divide the
// batch.
describe('prepared 1x1 convolution on small planes: the pixel-rows kernel [native]', function () {
  const be = require('../dist/backend/select').tryNative();
  const P0 = { R: 1, S: 1, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0 };
  let isa0, threads0;
  before(function () {
    if (!be) this.skip();
    isa0 = be.info().isa;
    threads0 = be.getNumThreads();
  });
  afterEach(function () {
    if (!be) return;
    be.setIsa(isa0);
    be.setNumThreads(threads0);
  });
  const avx512 = () => be.info().isa === 'avx512';

  function check(g, what, { relu = true, nanAt = -1 } = {}) {
    const OHW = outH(g) * outW(g);
    const x = detFill(g.N * g.C * g.H * g.W, 11);
    if (nanAt >= 0) x[nanAt] = NaN;
    const w = detFill(g.K * g.C * g.R * g.S, 12), bias = detFill(g.K, 13), residual = detFill(g.N * g.K * OHW, 14);
    const p = be.prepareConv2d(g, w, null, bias);
    const y = new Float32Array(g.N * g.K * OHW).fill(NaN);
    be.conv2dForwardPrepared(g, x, p, residual, relu, y);
    const want = reference(be, g, x, w, null, bias, residual, relu);
    if (nanAt >= 0) {
      for (let i = 0; i < want.length; i++) {
        assert.strictEqual(Number.isNaN(y[i]), Number.isNaN(want[i]), `${what}: NaN at ${i}`);
        if (Number.isNaN(want[i])) { y[i] = 0; want[i] = 0; }
      }
    }
    assertClose(y, want, what);
    const acc = Float32Array.from(residual);  // the residual given as y: added in place
    be.conv2dForwardPrepared(g, x, p, acc, relu, acc);
    if (nanAt < 0) assertClose(acc, want, `${what} in place`);
    return p;
  }

  it('runs 1x1 stride-1 planes of 7 to 64 pixels, equal to the plain convolution at every tile edge', function () {
    const shapes = [];
    for (const [H, W] of [[1, 7], [2, 4], [7, 7], [5, 10], [8, 8]]) {
      for (const [C, K] of [[1, 16], [3, 17], [64, 40], [9, 1], [24, 32], [33, 70]]) shapes.push({ N: 2, C, K, H, W });
    }
    shapes.push({ N: 5, C: 1100, K: 20, H: 7, W: 7 });  // image groups of 4, then 1
    // through im2col: 3x3 stride 2 into 7x7, 5x5 pad 2 on 7x7, 1x1 stride 2, a padded 1x1
    const S2 = { R: 3, S: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };
    shapes.push({ N: 3, C: 24, K: 40, H: 13, W: 14, ...S2 }, { N: 2, C: 33, K: 17, H: 8, W: 5, ...S2 },
      { N: 2, C: 20, K: 24, H: 7, W: 7, R: 5, S: 5, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 },
      { N: 2, C: 40, K: 33, H: 14, W: 14, strideH: 2, strideW: 2 },
      { N: 2, C: 16, K: 32, H: 5, W: 5, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
    for (const threads of [1, 2]) {
      be.setNumThreads(threads);
      for (const o of shapes) {
        const g = geometry({ ...P0, ...o });
        const p = check(g, `threads=${threads} ${JSON.stringify(o)}`);
        if (['gemm-1x1', 'im2col-gemm'].includes(p.algorithm)) {
          assert.strictEqual(p.kernel, avx512() ? 'pixel-rows' : p.algorithm, JSON.stringify(o));
        } else {
          // (a forced policy, RECEPTIVE_CONV_ALGO=direct in CI, sends them elsewhere)
          assert.notStrictEqual(be.getConvAlgorithm(), 'auto', `${JSON.stringify(o)}: ${p.algorithm}`);
          assert.strictEqual(p.kernel, p.algorithm);
        }
      }
    }
    // a NaN input: its pixel's sums are NaN on every channel, and ReLU keeps them
    check(geometry({ ...P0, N: 2, C: 5, K: 40, H: 7, W: 7 }), 'NaN input', { nanAt: 2 * 49 + 30 });
  });

  it('is not chosen off its shapes: other plane sizes, groups, one output pixel, other algorithms', function () {
    for (const o of [{ H: 2, W: 2 }, { H: 9, W: 8 }, { H: 14, W: 14 }, { groups: 2 }, { C: 8, K: 8, groups: 8 },
      { R: 7, S: 7 }, { R: 3, S: 3, C: 64, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }]) {
      const g = geometry({ ...P0, N: 2, C: 8, K: 16, H: 7, W: 7, ...o });
      const p = be.prepareConv2d(g, detFill(g.K * (g.C / g.groups) * g.R * g.S, 1), null, null);
      if (g.R === 3) {
        // a 3x3 stride-1 layer: Winograd's (under 'auto'), pixel rows only when forced to GEMM
        if (p.algorithm !== 'im2col-gemm') assert.strictEqual(p.kernel, p.algorithm);
        if (be.getConvAlgorithm() === 'auto') assert.strictEqual(p.kernel, avx512() ? 'winograd' : p.algorithm);
      } else {
        assert.notStrictEqual(p.kernel, 'pixel-rows', JSON.stringify(o));
      }
    }
  });

  it('runs a large plane with weights prepared on a small one, in bands of output rows', function () {
    // 3x3 stride 2: prepared for 14x14 -> 7x7, then 64x64 -> 32x32 (576 x 32 floats a row:
    // bands of 14, 14 and 4 rows under the 1 MiB column budget)
    const S2 = { R: 3, S: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 };
    const small = geometry({ ...S2, N: 1, C: 64, K: 40, H: 14, W: 14 });
    const w = detFill(40 * 64 * 9, 31), bias = detFill(40, 32);
    const p = be.prepareConv2d(small, w, null, bias);
    const g = geometry({ ...S2, N: 2, C: 64, K: 40, H: 64, W: 64 });
    const x = detFill(g.N * g.C * g.H * g.W, 33), residual = detFill(g.N * g.K * 32 * 32, 34);
    const y = new Float32Array(residual.length).fill(NaN);
    be.conv2dForwardPrepared(g, x, p, residual, true, y);
    assertClose(y, reference(be, g, x, w, null, bias, residual, true), `${p.kernel}: 64x64`);
    const acc = Float32Array.from(residual);
    be.conv2dForwardPrepared(g, x, p, acc, false, acc);
    assertClose(acc, reference(be, g, x, w, null, bias, residual, false), `${p.kernel}: 64x64 in place`);
  });

  it('keeps working after the ISA is forced lower, and for a padded call of its 1x1 filter', function () {
    if (!avx512()) this.skip();
    const g = geometry({ ...P0, N: 3, C: 19, K: 37, H: 7, W: 7 });
    const x = detFill(g.N * g.C * 49, 21), w = detFill(g.K * g.C, 22), bias = detFill(g.K, 23);
    const p = be.prepareConv2d(g, w, null, bias);
    if (p.kernel !== 'pixel-rows') {
      assert.notStrictEqual(be.getConvAlgorithm(), 'auto', p.kernel);  // a forced policy only
      this.skip();
    }
    const want = reference(be, g, x, w, null, bias, null, true);
    for (const isa of ['avx2', 'scalar']) {
      be.setIsa(isa);
      const y = new Float32Array(want.length);
      be.conv2dForwardPrepared(g, x, p, null, true, y);
      assertClose(y, want, `forced ${isa}`);
      const acc = detFill(want.length, 24), res = Float32Array.from(acc);
      be.conv2dForwardPrepared(g, x, p, acc, true, acc);
      assertClose(acc, reference(be, g, x, w, null, bias, res, true), `forced ${isa}, in place`);
    }
    be.setIsa('avx512');
    // padding spelled later (7x7 -> 9x9 output): through im2col
    const gp = geometry({ ...g, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 });
    const y = new Float32Array(g.N * g.K * 81);
    be.conv2dForwardPrepared(gp, x, p, null, false, y);
    assertClose(y, reference(be, gp, x, w, null, bias, null, false), 'padded call');
  });
});

describeEachBackend('Conv2d.fusedForward and the per-layer prepared weights', (name) => {
  const { nn } = R;

  function layers(seed) {
    const conv = new nn.Conv2d(3, 6, 3, { padding: 1, seed });
    const bn = new nn.BatchNorm2d(6);
    bn.runningMean.copy_(R.tensor(Array.from(detFill(6, seed + 1))));
    bn.runningVar.copy_(R.tensor(Array.from(detFill(6, seed + 2)).map((v) => 0.5 + Math.abs(v))));
    bn.weight.copy_(R.tensor(Array.from(detFill(6, seed + 3))));
    bn.bias.copy_(R.tensor(Array.from(detFill(6, seed + 4))));
    bn.eval();
    return { conv, bn };
  }

  /** The module-by-module result: conv, BatchNorm (float64 inside), + residual, ReLU. */
  function modulePath(conv, bn, x, residual, relu) {
    let y = R.noGrad(() => bn.forward(R.F.conv2d(x, conv.weight, conv.bias, { padding: 1 })));
    if (residual) y = y.add(residual);
    return relu ? R.F.relu(y) : y;
  }

  it('equals conv -> BatchNorm -> (+ residual) -> ReLU, and reports its prepared form', function () {
    const { conv, bn } = layers(1);
    const x = R.tensor(Array.from(detFill(2 * 3 * 7 * 7, 9))).reshape([2, 3, 7, 7]);
    const res = R.tensor(Array.from(detFill(2 * 6 * 7 * 7, 10))).reshape([2, 6, 7, 7]);
    for (const [residual, relu] of [[null, false], [null, true], [res, true], [res, false]]) {
      const got = R.noGrad(() => conv.fusedForward(x, { bn, residual, relu }));
      assertClose(got.data, modulePath(conv, bn, x, residual, relu).data, `residual=${!!residual} relu=${relu}`);
    }
    const info = conv.preparedInfo();
    assert.ok(info && typeof info.algorithm === 'string' && typeof info.kernel === 'string' && info.bytes > 0);
    if (name === 'js') assert.strictEqual(info.kernel, 'js');
  });

  it('into: writes each image into the channels of a wider tensor, as a concatenation would hold them', function () {
    const { conv, bn } = layers(31);
    const x = R.tensor(Array.from(detFill(2 * 3 * 5 * 4, 32)), [2, 3, 5, 4]);
    const fused = (o) => R.noGrad(() => conv.fusedForward(x, { bn, ...o }));
    const want = fused({ relu: true });
    // channels 2..7 of a [2, 10, 5, 4] tensor
    const wide = new Float32Array(2 * 10 * 20).fill(-3);
    const out = fused({ relu: true, into: { data: wide.subarray(2 * 20), imageStride: 10 * 20 } });
    assert.strictEqual(out.data.buffer, wide.buffer);
    const joined = R.tensor(Array.from(wide), [2, 10, 5, 4]);
    assert.deepStrictEqual(Array.from(joined.narrow(1, 2, 6).contiguous().data), Array.from(want.data));
    assert.ok(Array.from(joined.narrow(1, 0, 2).contiguous().data).every((v) => v === -3));
    assert.ok(Array.from(joined.narrow(1, 8, 2).contiguous().data).every((v) => v === -3));
    assert.throws(() => fused({ residual: want, into: { data: wide, imageStride: 200 } }), /residual needs a contiguous output/);
    assert.throws(() => fused({ into: { data: wide, imageStride: 100 } }), /yImageStride must be at least K\*OH\*OW = 120/);
    assert.throws(() => fused({ into: { data: [1, 2], imageStride: 200 } }), (e) => e instanceof TypeError && /into must be \{ data: Float32Array/.test(e.message));
    assert.throws(() => fused({ into: 5 }), /into must be/);
  });

  it('is remade after every way the library changes the weights', function () {
    const { conv, bn } = layers(2);
    const x = R.tensor(Array.from(detFill(1 * 3 * 5 * 5, 11))).reshape([1, 3, 5, 5]);
    const check = (label) => {
      const got = R.noGrad(() => conv.fusedForward(x, { bn, relu: true }));
      assertClose(got.data, modulePath(conv, bn, x, null, true).data, label);
    };
    check('first');
    conv.weight.fill_(0.25);
    check('after fill_');
    conv.bias.copy_(R.tensor([1, 2, 3, 4, 5, 6]));
    check('after copy_');
    bn.runningMean.data[0] = 3; R.markDataChanged();
    check('after a direct write and markDataChanged()');
    conv.loadStateDict(layers(3).conv.stateDict());
    check('after loadStateDict');
    R.nn.init.kaimingUniform_(conv.weight);
    check('after nn.init');
    const opt = new R.optim.SGD(conv.parameters(), { lr: 0.5 });
    const loss = R.F.conv2d(x, conv.weight, conv.bias, { padding: 1 }).sum();
    loss.backward();
    opt.step();
    check('after an optimizer step');
    bn.train(); R.noGrad(() => bn.forward(R.F.conv2d(x, conv.weight, conv.bias, { padding: 1 }))); bn.eval();
    check('after BatchNorm statistics were updated in training mode');
    conv.weight = new R.nn.Parameter(new Float32Array(conv.weight.size).fill(-0.5), conv.weight.shape.slice());
    check('after the parameter was replaced');
  });

  it('a new input shape, bad input or a replaced weight after a call is validated again', function () {
    const { conv, bn } = layers(6);
    const shapes = [[1, 3, 5, 5], [2, 3, 7, 6], [1, 3, 5, 5], [3, 3, 4, 4]];
    shapes.forEach((shape, i) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = R.tensor(Array.from(detFill(n, 20 + i))).reshape(shape);
      const got = R.noGrad(() => conv.fusedForward(x, { bn, relu: true }));
      assert.deepStrictEqual(got.shape, [shape[0], 6, shape[2], shape[3]]);
      assertClose(got.data, modulePath(conv, bn, x, null, true).data, `call ${i}: [${shape}]`);
    });
    assert.throws(() => R.noGrad(() => conv.fusedForward(R.zeros([3, 2, 4, 4]), { bn })), /input has 2 channels but weight expects 3/);
    assert.throws(() => R.noGrad(() => conv.fusedForward([1, 2, 3], { bn })), TypeError);
    const x = R.tensor(Array.from(detFill(3 * 3 * 16, 30))).reshape([3, 3, 4, 4]);
    conv.weight = new R.nn.Parameter(new Float32Array(6 * 3 * 1 * 1).fill(0.5), [6, 3, 1, 1]);
    const got = R.noGrad(() => conv.fusedForward(x, { bn }));
    assertClose(got.data, R.noGrad(() => bn.forward(R.F.conv2d(x, conv.weight, conv.bias, { padding: 1 }))).data, 'a 1x1 weight in place of the 3x3');
  });

  it('a plain forward without a tape takes the prepared path, with a tape the recorded one', function () {
    const conv = new nn.Conv2d(2, 3, 3, { seed: 4 });
    const x = R.tensor(Array.from(detFill(2 * 6 * 6, 12))).reshape([1, 2, 6, 6]);
    const plain = R.noGrad(() => conv.forward(x));
    assert.ok(conv.preparedInfo() !== null);
    const taped = conv.forward(x);
    assert.ok(taped.gradFn, 'recorded');
    assertClose(plain.data, taped.data, 'prepared vs recorded');
  });

  it('refuses what it cannot fold or fuse', function () {
    const { conv, bn } = layers(5);
    const x = R.zeros([1, 3, 4, 4]);
    bn.train();
    assert.throws(() => conv.fusedForward(x, { bn }), /BatchNorm must be in eval mode/);
    bn.eval();
    assert.throws(() => conv.fusedForward(x, { bn: new nn.BatchNorm2d(4).eval() }), /BatchNorm has 4 features, the convolution 6/);
    assert.throws(() => R.noGrad(() => conv.fusedForward(x, { residual: R.zeros([1, 6, 3, 3]) })), /residual \[1, 6, 3, 3\] must have the output's shape \[1, 6, 4, 4\]/);
    assert.throws(() => conv.fusedForward(x, {}), /records no gradient/);
    const flipped = new nn.Conv2d(3, 6, 3, { mode: 'convolution' });
    assert.throws(() => flipped.fusedForward(x), /only for mode 'cross-correlation'/);
  });
});

describe('setConvAlgorithm / getConvAlgorithm', function () {
  it('validates the name and round-trips it (native), or reports js', function () {
    assert.throws(() => R.setConvAlgorithm('fastest'), (e) => e instanceof RangeError && /must be one of auto, gemm, winograd, direct, got 'fastest'/.test(e.message));
    assert.throws(() => R.setConvAlgorithm(3), (e) => e instanceof TypeError && /name must be a string/.test(e.message));
    const before = R.getConvAlgorithm();
    if (before === 'js') return;
    try {
      for (const name of ['gemm', 'winograd', 'direct', 'auto']) {
        R.setConvAlgorithm(name);
        assert.strictEqual(R.getConvAlgorithm(), name);
      }
    } finally {
      R.setConvAlgorithm(before);
    }
  });
});
