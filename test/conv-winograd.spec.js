// Winograd convolution (native/conv/winograd*): forced with the policy 'winograd', it must
// agree with the im2col + GEMM path (policy 'gemm') and with the JS backend over many 3x3
// stride-1 shapes: odd sizes that are no multiple of the tile, 1x1 up to larger planes,
// channel counts off the 16-lane vectors, groups, padding 0/1/2 and asymmetric or negative
// bottom/right padding, with and without bias; both tiles (F(4x4,3x3), and F(2x2,3x3),
// which the kernel takes when F(4x4) would leave 16 tiles or fewer or its filters would
// pass 64 MiB); and through
// prepared weights with scale, bias, residual and ReLU. Every case runs on each ISA the CPU
// has (only RECEPTIVE_ISA's when that is set) at 1 and 2 threads. Skipped when the native
// addon is unavailable or RECEPTIVE_BACKEND=js.
//
// Tolerance: the transforms multiply inputs by up to 5 (B^T, twice) and outputs by up to
// 8 (A^T, twice) and the filter transform divides by 6 and 24, so F(4x4) loses a few bits
// next to the direct sum (error growing with sqrt(C)): measured on ResNet's layers (He-
// scaled weights) 3e-6 (C64), 1.1e-5 (C128), 1.7e-5 (C256) of max|y| against a float64
// reference, F(2x2) 1e-6 (C512; im2col + GEMM: 4e-7), so the fixtures' 1e-4 * max|y| +
// 1e-3 * |y| holds with a margin of 6x and more.
'use strict';
const assert = require('assert');
const { mulberry32, randArray, nativeHarness } = require('./helpers/native_harness');
const { assertClose } = require('./helpers/fixtures');


const rng = mulberry32(20261129);
const int = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = (arr) => arr[Math.floor(rng() * arr.length)];

const outSize = (n, before, after, d = 1) => n + before + after - 2 * d;
const outHW = (g) => [outSize(g.H, g.padTop, g.padBottom, g.dilationH), outSize(g.W, g.padLeft, g.padRight, g.dilationW)];
// Tiles of 4x4 outputs; a dilated layer runs as dilationH x dilationW undilated phases
// (winograd_phase_tiles in native/conv/winograd_dilated.cc).
const tiles4 = (g) => {
  const [OH, OW] = outHW(g);
  let t = 0;
  for (let a = 0; a < Math.min(g.dilationH, OH); a++) {
    for (let b = 0; b < Math.min(g.dilationW, OW); b++) {
      t += g.N * Math.ceil(Math.ceil((OH - a) / g.dilationH) / 4) * Math.ceil(Math.ceil((OW - b) / g.dilationW) / 4);
    }
  }
  return t;
};
// The tile the kernel picks (winograd_tile in native/conv/winograd.cc).
const tileOf = (g) => {
  const bytes4 = 36 * g.K * (g.C / g.groups) * 4;
  return tiles4(g) <= 16 || bytes4 > 64 * 2 ** 20 ? 2 : 4;
};

function conv(o) {
  return Object.assign({ N: 1, R: 3, S: 3, strideH: 1, strideW: 1, padTop: 1, padBottom: 1,
    padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1 }, o);
}
const pad = (t, b, l, r) => ({ padTop: t, padBottom: b, padLeft: l, padRight: r });

// Layer-like shapes and edge cases chosen by hand.
const FIXED = [
  conv({ N: 2, C: 64, H: 14, W: 14, K: 64 }),                       // ResNet stage 1, small plane
  conv({ N: 1, C: 32, H: 28, W: 28, K: 48 }),
  conv({ N: 2, C: 256, H: 7, W: 7, K: 64 }),                        // F(4x4), C512-like reduction
  conv({ N: 1, C: 128, H: 7, W: 7, K: 96 }),                        // batch 1, 7x7: F(2x2)
  conv({ N: 5, C: 512, H: 7, W: 7, K: 24 }),                        // F(4x4) over 512 channels
  conv({ N: 3, C: 37, H: 13, W: 11, K: 19, ...pad(1, -1, 1, 2) }),  // odd, asymmetric, negative
  conv({ N: 2, C: 17, H: 23, W: 70, K: 33, ...pad(0, 0, 0, 0) }),   // valid, wide
  conv({ N: 1, C: 20, H: 61, W: 45, K: 24, ...pad(2, 2, 2, 2) }),   // pad 2 (several tiles)
  conv({ N: 2, C: 12, H: 9, W: 17, K: 18, groups: 3, ...pad(0, 1, 2, 1) }),
  conv({ N: 2, C: 32, H: 10, W: 10, K: 64, groups: 2 }),
  conv({ N: 1, C: 8, H: 1, W: 1, K: 5 }),                           // 1x1 input, padding only
  conv({ N: 1, C: 9, H: 3, W: 3, K: 7, ...pad(0, 0, 0, 0) }),       // 1x1 output
  conv({ N: 1, C: 16, H: 3, W: 40, K: 16, ...pad(1, -1, 0, -2) }),  // one output row
  conv({ N: 1, C: 6, H: 100, W: 90, K: 10 }),                       // larger plane
  // Dilated: output phases of a subsampled input, each with its own padding.
  conv({ N: 2, C: 24, H: 20, W: 20, K: 24, dilationH: 2, dilationW: 2, ...pad(2, 2, 2, 2) }),
  conv({ N: 1, C: 16, H: 23, W: 17, K: 20, dilationH: 2, dilationW: 2, ...pad(1, 2, 0, 3) }), // odd, asymmetric
  conv({ N: 2, C: 10, H: 19, W: 26, K: 12, dilationH: 3, dilationW: 3, ...pad(3, 3, 3, 3) }),
  conv({ N: 1, C: 8, H: 12, W: 30, K: 9, dilationH: 1, dilationW: 4, ...pad(1, 1, 4, 2) }),  // one axis
  conv({ N: 1, C: 12, H: 17, W: 11, K: 6, dilationH: 2, dilationW: 2, groups: 2, ...pad(2, -1, 0, 0) }),
  conv({ N: 1, C: 5, H: 1, W: 5, K: 4, dilationH: 2, dilationW: 1, ...pad(0, 5, 1, 1) }),    // a phase on padding only
  conv({ N: 1, C: 7, H: 4, W: 4, K: 3, dilationH: 5, dilationW: 5, ...pad(5, 5, 5, 5) }),    // dilation past the input
];

function randomConv() {
  for (;;) {
    const groups = pick([1, 1, 1, 2, 3]);
    const Cg = pick([int(2, 8), int(2, 40), int(9, 70)]), Kg = pick([int(2, 8), int(2, 40), int(9, 70)]);
    const p = () => int(0, 2);
    const after = () => (rng() < 0.25 ? -int(1, 2) : p());
    const dil = () => (rng() < 0.2 ? int(2, 3) : 1);
    const g = conv({ N: int(1, 3), C: Cg * groups, K: Kg * groups, groups, dilationH: dil(), dilationW: dil(),
      H: int(1, 30), W: int(1, 40), padTop: p(), padLeft: p(), padBottom: after(), padRight: after() });
    const [OH, OW] = outHW(g);
    if (OH >= 1 && OW >= 1) return g;
  }
}

const CASES = FIXED.concat(Array.from({ length: 80 }, randomConv));

const label = (g) => `N${g.N} C${g.C} ${g.H}x${g.W} K${g.K} ` +
  `p${g.padTop},${g.padBottom},${g.padLeft},${g.padRight} g${g.groups}` +
  `${g.dilationH > 1 || g.dilationW > 1 ? ` d${g.dilationH},${g.dilationW}` : ''} F${tileOf(g)}`;

describe('conv2d Winograd kernel (native)', function () {
  const h = nativeHarness({ honourIsaEnv: true });
  let native = null, js = null;
  before(function () { ({ native, js } = h); });
  const isas = h.isas;
  const eachSetting = h.eachSetting;

  it('both tiles are covered', function () {
    const tiles = new Set(CASES.map(tileOf));
    assert.ok(tiles.has(2) && tiles.has(4));
  });

  it('is chosen when forced on 3x3 stride-1 layers only (dilated too), never under gemm', function () {
    for (const g of CASES) {
      native.setConvAlgorithm('winograd');
      assert.strictEqual(native.convAlgorithm(g), 'winograd', label(g));
      native.setConvAlgorithm('gemm');
      assert.notStrictEqual(native.convAlgorithm(g), 'winograd', label(g));
    }
    native.setConvAlgorithm('winograd');
    for (const o of [{ strideH: 2, strideW: 2 }, { R: 5, S: 5, ...pad(2, 2, 2, 2) }, { R: 1, S: 1, ...pad(0, 0, 0, 0) }, { R: 3, S: 1 }]) {
      const g = conv({ N: 1, C: 64, H: 14, W: 14, K: 64, ...o });
      assert.notStrictEqual(native.convAlgorithm(g), 'winograd', JSON.stringify(o));
    }
    // Depthwise layers keep their kernel.
    assert.strictEqual(native.convAlgorithm(conv({ C: 32, H: 14, W: 14, K: 32, groups: 32 })),
      'depthwise-direct');
  });

  it('auto picks it for ResNet 3x3 layers (not on scalar), not for few channels or outputs', function () {
    native.setConvAlgorithm('auto');
    for (const isa of isas) {
      native.setIsa(isa);
      for (const [C, H] of [[64, 56], [128, 28], [256, 14], [512, 7]]) {
        for (const N of [1, 2, 8, 32]) {
          const g = conv({ N, C, H, W: H, K: C });
          // Per call the filter transform is paid each time: from 256 outputs; prepared,
          // from 96 (winograd_preferred / winograd_preferred_prepared).
          const perCall = isa !== 'scalar' && N * H * H >= 256;
          const prepared = isa !== 'scalar' && N * H * H >= 96;
          assert.strictEqual(native.convAlgorithm(g), perCall ? 'winograd' : 'im2col-gemm', `${isa} C${C} ${H} N${N}`);
          if (C <= 128) {
            const p = native.prepareConv2d(g, new Float32Array(C * C * 9), null, null);
            assert.strictEqual(p.algorithm, prepared ? 'winograd' : 'im2col-gemm', `prepared ${isa} C${C} ${H} N${N}`);
          }
        }
      }
      assert.notStrictEqual(native.convAlgorithm(conv({ N: 8, C: 12, H: 56, W: 56, K: 12 })), 'winograd');
    }
    native.setIsa(h.isa0);
  });

  CASES.forEach((g, i) => {
    it(`#${i} ${label(g)}: winograd = gemm = js`, function () {
      h.forcedAgrees('winograd', g, 5 * i, i % 3 !== 2, label(g));
    });
  });

  CASES.filter((g, i) => i < FIXED.length || i % 3 === 0).forEach((g, i) => {
    it(`prepared #${i} ${label(g)}: scale, bias, residual, relu`, function () {
      h.preparedAgrees('winograd', g, 7 * i, ['winograd'], label(g));
    });
  });

  it('prepared weights hold no GEMM panels and fit other batch sizes and paddings', function () {
    const g = FIXED[0];
    const w = randArray(g.K * g.C * 9, 81);
    native.setConvAlgorithm('winograd');
    const p = native.prepareConv2d(g, w, null, null);
    const info = native.preparedConv2dInfo ? native.preparedConv2dInfo(p) : p;
    // 36 transformed 64x64 tiles (rows padded to the GEMM kernel's tile), nothing else.
    if (info.bytes !== undefined) assert.ok(info.bytes <= 36 * 80 * 64 * 4 * 1.05, `${info.bytes} bytes`);
    for (const g2 of [{ ...g, N: 1 }, { ...g, N: 3, H: 9, W: 15 }, { ...g, ...pad(0, -1, 2, 0) }]) {
      const [OH, OW] = outHW(g2);
      const x = randArray(g2.N * g2.C * g2.H * g2.W, 82);
      const want = new Float32Array(g2.N * g2.K * OH * OW);
      js.conv2dForward(g2, x, w, null, want);
      const y = new Float32Array(want.length).fill(NaN);
      native.conv2dForwardPrepared(g2, x, p, null, false, y);
      assertClose(y, want, `prepared for ${label(g)}, run on ${label(g2)}`, 1e-4);
    }
  });

  // The weight gradient of 3x3 stride-1 layers by Winograd F(3x3, 2x2)
  // (native/conv/winograd_wgrad.h), which the native backend prefers from 32 channels each
  // way with blocks of 32 2x2 tiles and more for each thread (most cases here, at 1 and 2
  // threads; all when RECEPTIVE_CONV_BWD_WEIGHT=winograd forces it): odd output sizes (a last tile half outside), zero, asymmetric and
  // negative padding, one output row or column, many channels, dilation.
  const WGRAD = [
    conv({ N: 4, C: 64, H: 14, W: 14, K: 64 }),
    conv({ N: 3, C: 32, H: 15, W: 13, K: 48, ...pad(0, 2, 1, 0) }),
    conv({ N: 8, C: 32, H: 9, W: 11, K: 40, ...pad(1, -1, 2, 1) }),
    conv({ N: 12, C: 40, H: 3, W: 30, K: 33, ...pad(0, 0, 1, 1) }),  // one output row
    conv({ N: 5, C: 32, H: 33, W: 3, K: 32, ...pad(1, 1, 0, 0) }),   // one output column
    conv({ N: 4, C: 512, H: 7, W: 7, K: 32 }),
    conv({ N: 8, C: 40, H: 12, W: 12, K: 96, ...pad(2, 2, 2, 2) }),
    // dilated: each output phase a dense problem on a subsampled input
    conv({ N: 4, C: 32, H: 20, W: 20, K: 32, dilationH: 2, dilationW: 2, ...pad(2, 2, 2, 2) }),
    conv({ N: 6, C: 40, H: 23, W: 17, K: 32, dilationH: 2, dilationW: 3, ...pad(1, 2, 0, 3) }),
    conv({ N: 4, C: 32, H: 12, W: 30, K: 36, dilationH: 1, dilationW: 4, ...pad(1, 1, 4, 2) }),
    conv({ N: 8, C: 32, H: 4, W: 4, K: 32, dilationH: 5, dilationW: 5, ...pad(5, 5, 5, 5) }), // past the input
    conv({ N: 4, C: 16, H: 9, W: 11, K: 24, ...pad(1, -1, 2, 1) }),  // few channels: not preferred
    conv({ N: 1, C: 32, H: 6, W: 6, K: 32 }),                        // few tiles: not preferred
  ];
  WGRAD.forEach((g, i) => {
    it(`weight gradient #${i} ${label(g)} = js`, function () {
      const [OH, OW] = outHW(g);
      const x = randArray(g.N * g.C * g.H * g.W, 300 + i), gy = randArray(g.N * g.K * OH * OW, 400 + i);
      const want = new Float32Array(g.K * g.C * 9);
      js.conv2dBackwardWeight(g, x, gy, want);
      eachSetting('auto', (s) => {
        const gw = new Float32Array(want.length).fill(NaN);
        native.conv2dBackwardWeight(g, x, gy, gw);
        assertClose(gw, want, `${label(g)} ${s}`, 1e-4);
      });
    });
  });

  it('weight gradient: input the convolution never reads (past a last half tile) adds nothing, even inf or NaN', function () {
    // 11x11 input, padding 1 before and -1 after: 9x9 outputs read input rows and columns
    // 0-9; the last 2x2 tiles are half past the output, and their patches would reach row
    // and column 10, filled with inf and NaN here.
    const g = conv({ N: 8, C: 32, H: 11, W: 11, K: 32, ...pad(1, -1, 1, -1) });
    const [OH, OW] = outHW(g);
    const x = randArray(g.N * g.C * g.H * g.W, 500), gy = randArray(g.N * g.K * OH * OW, 501);
    for (let p = 0; p < g.N * g.C; p++) {
      for (let i = 0; i < 11; i++) {
        x[p * 121 + 10 * 11 + i] = Infinity;
        x[p * 121 + i * 11 + 10] = NaN;
      }
    }
    const want = new Float32Array(g.K * g.C * 9);
    js.conv2dBackwardWeight(g, x, gy, want);
    assert.ok(want.every(Number.isFinite));
    eachSetting('auto', (s) => {
      const gw = new Float32Array(want.length).fill(NaN);
      native.conv2dBackwardWeight(g, x, gy, gw);
      assertClose(gw, want, `${label(g)} ${s}`, 1e-4);
    });
  });

  it('prepared weights take F(4x4) up to 64 MiB of transformed filters, F(2x2) past it or on 16 tiles or fewer', function () {
    native.setConvAlgorithm('winograd');
    try {
      // [channels in and out, batch, tile] on 7x7 planes (4 tiles of 4x4 an image)
      for (const [C, N, tile] of [[512, 8, 4], [512, 4, 2], [704, 8, 2]]) {
        const g = conv({ N, C, H: 7, W: 7, K: C });
        assert.strictEqual(tileOf(g), tile, `the spec's rule for C${C} N${N}`);
        const info = native.prepareConv2d(g, new Float32Array(C * C * 9), null, null);
        // (tile + 2)^2 transformed C x C matrices, rows padded to the GEMM kernel's tile
        const plain = (tile + 2) ** 2 * C * C * 4;
        assert.ok(info.bytes >= plain && info.bytes <= plain * 1.05, `C${C} N${N}: ${info.bytes} bytes, F(${tile}x${tile}) holds ${plain}`);
      }
    } finally {
      native.setConvAlgorithm('auto');
    }
  });

  it('prepared weights of many input channels (packed in blocks of output channels) agree', function () {
    // 1200 channels a group: the filters are transformed and packed a few output channels
    // at a time (14-42 rows a block by ISA), the last block partial.
    for (const g of [conv({ N: 1, C: 1200, H: 8, W: 8, K: 45 }), conv({ N: 1, C: 2400, H: 6, W: 6, K: 58, groups: 2 })]) {
      h.preparedAgrees('winograd', g, 131, ['winograd'], label(g));
    }
  });

  it('prepared: the residual may be y itself (added in place)', function () {
    for (const g of [FIXED[0], FIXED[4], FIXED[7]]) {
      const [OH, OW] = outHW(g);
      const x = randArray(g.N * g.C * g.H * g.W, 111);
      const w = randArray(g.K * (g.C / g.groups) * 9, 112);
      const bias = randArray(g.K, 113);
      const residual = randArray(g.N * g.K * OH * OW, 114);
      const want = new Float32Array(residual.length);
      js.conv2dForwardPrepared(g, x, js.prepareConv2d(g, w, null, bias), residual, true, want);
      eachSetting('winograd', (s) => {
        const p = native.prepareConv2d(g, w, null, bias);
        const y = Float32Array.from(residual);
        native.conv2dForwardPrepared(g, x, p, y, true, y);
        assertClose(y, want, `${label(g)} in place ${s}`, 1e-4);
      });
    }
  });

  it('prepared weights keep working after the ISA changes', function () {
    h.preparedSurvivesIsaChange('winograd', FIXED[1]);
  });

  it('keeps NaN and large magnitudes apart: a NaN input poisons only its own outputs', function () {
    const g = conv({ N: 1, C: 16, H: 12, W: 12, K: 16 });
    const x = randArray(g.C * g.H * g.W, 101);
    x[5 * 12 + 5] = NaN;  // channel 0, row 5, column 5
    const w = randArray(g.K * g.C * 9, 102);
    native.setConvAlgorithm('winograd');
    const y = new Float32Array(g.K * 144);
    native.conv2dForward(g, x, w, null, y);
    // Outputs whose 3x3 window misses (5, 5) stay finite... except that a Winograd tile mixes
    // its whole (m+2)^2 patch: the NaN reaches every output of the tiles whose patch holds it.
    const m = tileOf(g);
    for (let oh = 0; oh < 12; oh++) {
      for (let ow = 0; ow < 12; ow++) {
        const th = Math.floor(oh / m), tw = Math.floor(ow / m);
        const inPatch = 5 + 1 >= th * m && 5 + 1 < th * m + m + 2 && 5 + 1 >= tw * m && 5 + 1 < tw * m + m + 2;
        const v = y[oh * 12 + ow];
        if (!inPatch) assert.ok(Number.isFinite(v), `(${oh}, ${ow}) = ${v}`);
        if (Math.abs(oh - 5) <= 1 && Math.abs(ow - 5) <= 1) assert.ok(Number.isNaN(v), `(${oh}, ${ow}) = ${v}`);
      }
    }
  });
});
