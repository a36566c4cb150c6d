// The direct small-channel convolution (native/conv/direct_small*): forced with the policy
// 'direct', it must agree with the im2col + GEMM path (policy 'gemm') and with the JS
// backend over many shapes: 1..8 input channels per group (and a few with many), output
// channels on and off the 16-channel blocks, strides 1..4 (the kernels have fixed-stride
// variants for 1, 2 and 4), asymmetric and negative bottom/right padding, dilation, groups, odd sizes, with and
// without bias; and through prepared weights with scale, bias, residual and ReLU. Every
// case runs on each ISA the CPU has (only RECEPTIVE_ISA's when that is set) at 1 and 2
// threads. Skipped when the native addon is unavailable or RECEPTIVE_BACKEND=js.
'use strict';
const assert = require('assert');
const { mulberry32, nativeHarness } = require('./helpers/native_harness');


const rng = mulberry32(20261128);
const int = (lo, hi) => lo + Math.floor(rng() * (hi - lo + 1));
const pick = (arr) => arr[Math.floor(rng() * arr.length)];

const outSize = (n, before, after, k, d, s) => Math.floor((n + before + after - d * (k - 1) - 1) / s) + 1;
const outHW = (g) => [outSize(g.H, g.padTop, g.padBottom, g.R, g.dilationH, g.strideH),
  outSize(g.W, g.padLeft, g.padRight, g.S, g.dilationW, g.strideW)];

function conv(o) {
  return Object.assign({ N: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0,
    padRight: 0, dilationH: 1, dilationW: 1, groups: 1 }, o);
}

// Layer-like shapes and edge cases chosen by hand.
const FIXED = [
  conv({ N: 3, C: 1, H: 32, W: 32, K: 6, R: 5, S: 5 }),                                  // LeNet conv1
  conv({ N: 2, C: 6, H: 14, W: 14, K: 16, R: 5, S: 5 }),                                 // LeNet conv2
  conv({ N: 1, C: 3, H: 67, W: 71, K: 64, R: 11, S: 11, strideH: 4, strideW: 4,
    padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }),                                 // AlexNet conv1
  conv({ N: 2, C: 3, H: 45, W: 53, K: 64, R: 7, S: 7, strideH: 2, strideW: 2,
    padTop: 3, padBottom: 3, padLeft: 3, padRight: 3 }),                                 // ResNet stem
  conv({ N: 2, C: 8, H: 20, W: 70, K: 33, R: 3, S: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }),
  conv({ N: 1, C: 4, H: 17, W: 40, K: 48, R: 3, S: 5, strideW: 3, padLeft: 2, padRight: -1 }),
  conv({ N: 2, C: 6, H: 19, W: 23, K: 18, R: 3, S: 3, groups: 2, dilationH: 2, dilationW: 3,
    padTop: 2, padBottom: -1, padLeft: 3, padRight: 0 }),
  conv({ N: 1, C: 2, H: 1, W: 300, K: 7, R: 1, S: 9, strideW: 2, padLeft: 4, padRight: 4 }),  // 1-D
  // depthwise 3x3 s1 p1, streamed by rows in strips of up to 64 columns on AVX-512: three
  // strips with a channel multiplier of 2, exactly one full strip, one row, one column
  conv({ N: 2, C: 3, H: 9, W: 150, K: 6, R: 3, S: 3, groups: 3, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }),
  conv({ N: 1, C: 6, H: 5, W: 64, K: 6, R: 3, S: 3, groups: 6, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }),
  conv({ N: 3, C: 5, H: 1, W: 17, K: 5, R: 3, S: 3, groups: 5, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }),
  conv({ N: 1, C: 4, H: 7, W: 1, K: 4, R: 3, S: 3, groups: 4, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }),
  conv({ N: 1, C: 5, H: 9, W: 9, K: 9, R: 9, S: 9 }),                                    // 1x1 output
  conv({ N: 2, C: 3, H: 12, W: 12, K: 17, R: 1, S: 1 }),                                 // 1x1 filter
  conv({ N: 1, C: 8, H: 30, W: 30, K: 24, R: 3, S: 3, groups: 4, strideH: 2, strideW: 2,
    padTop: 1, padBottom: 0, padLeft: 1, padRight: 0 }),
  // more input channels (auto picks the kernel for these too, outside the 3x3 stride-1 domain)
  conv({ N: 2, C: 40, H: 13, W: 15, K: 37, R: 5, S: 5, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }),
  conv({ N: 2, C: 24, H: 15, W: 17, K: 20, R: 3, S: 3, strideH: 2, strideW: 2,
    padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }),
  // rows of at most half a tile, which go two at a time: an odd row count (one row left
  // alone), and reductions long enough to run in chunks of taps (wide and narrow tiles)
  conv({ N: 2, C: 24, H: 9, W: 9, K: 40, R: 5, S: 5, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1 }),
  conv({ N: 1, C: 20, H: 13, W: 12, K: 12, R: 5, S: 5 }),
  // few output channels (vectors along the row), where only the filter rows that land on
  // input rows run: a full convolution (LeNet conv2's input gradient as a forward), rows
  // wholly on padding (bias only), and padding rows under row stride, dilation and groups
  conv({ N: 2, C: 16, H: 10, W: 10, K: 6, R: 5, S: 5, padTop: 4, padBottom: 4, padLeft: 4, padRight: 4 }),
  conv({ N: 1, C: 3, H: 6, W: 9, K: 5, R: 3, S: 3, padTop: 5, padBottom: 4, padLeft: 1, padRight: 1 }),
  conv({ N: 2, C: 4, H: 11, W: 13, K: 8, R: 4, S: 3, strideH: 2, dilationH: 2, groups: 2,
    padTop: 5, padBottom: 3, padLeft: 2, padRight: 2 }),
  // strided layers by columns from a panel split into column phases (AVX2; few input
  // channels, one output row's window within L1): the stem's full width (14 vectors),
  // output channels in groups of 4 with a group of 2 left, stride 3 with dilation, and
  // AlexNet conv1's full width, whose window is too wide for it (row tiles)
  conv({ N: 1, C: 3, H: 13, W: 224, K: 64, R: 7, S: 7, strideH: 2, strideW: 2,
    padTop: 3, padBottom: 3, padLeft: 3, padRight: 3 }),
  conv({ N: 2, C: 2, H: 9, W: 37, K: 18, R: 3, S: 4, strideH: 2, strideW: 2,
    padTop: 1, padBottom: 0, padLeft: 2, padRight: -1 }),
  conv({ N: 1, C: 3, H: 8, W: 50, K: 12, R: 2, S: 3, strideW: 3, dilationW: 2, groups: 3,
    padLeft: 4, padRight: 1 }),
  conv({ N: 1, C: 3, H: 15, W: 227, K: 64, R: 11, S: 11, strideH: 4, strideW: 4,
    padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }),
];

function randomConv() {
  for (;;) {
    const groups = pick([1, 1, 1, 2, 3]);
    const Cg = int(1, 8), Kg = pick([int(1, 8), int(1, 20), int(9, 40)]);
    const R = int(1, 6), S = int(1, 6);
    const strideH = int(1, 4), strideW = pick([1, 2, 3, 4]);
    const dilationH = pick([1, 1, 2]), dilationW = pick([1, 1, 2, 3]);
    const pad = () => int(0, 3);
    const padAfter = (s) => (rng() < 0.25 ? -int(1, Math.max(1, s)) : pad());
    const g = conv({ N: int(1, 3), C: Cg * groups, K: Kg * groups, groups, R, S,
      H: int(1, 24), W: int(1, 45), strideH, strideW, dilationH, dilationW,
      padTop: pad(), padLeft: pad(), padBottom: padAfter(strideH), padRight: padAfter(strideW) });
    const [OH, OW] = outHW(g);
    if (OH >= 1 && OW >= 1) return g;
  }
}

const CASES = FIXED.concat(Array.from({ length: 60 }, randomConv));

const label = (g) => `N${g.N} C${g.C} ${g.H}x${g.W} K${g.K} k${g.R}x${g.S} s${g.strideH},${g.strideW} ` +
  `p${g.padTop},${g.padBottom},${g.padLeft},${g.padRight} d${g.dilationH},${g.dilationW} g${g.groups}`;

describe('conv2d direct small-channel kernel (native)', function () {
  const h = nativeHarness({ honourIsaEnv: true });
  let native = null, js = null;
  before(function () { ({ native, js } = h); });
  const isas = h.isas;

  it('is chosen when forced wherever it applies, never under gemm', function () {
    for (const g of CASES) {
      native.setConvAlgorithm('direct');
      const depthwise = g.C / g.groups === 1 && g.K / g.groups <= 4;
      assert.strictEqual(native.convAlgorithm(g), depthwise ? 'depthwise-direct' : 'direct-small', label(g));
      native.setConvAlgorithm('gemm');
      assert.notStrictEqual(native.convAlgorithm(g), 'direct-small', label(g));
    }
    native.setConvAlgorithm('auto');
    for (const isa of isas) {
      native.setIsa(isa);
      const a = native.convAlgorithm(FIXED[1]);
      if (isa !== 'scalar') assert.strictEqual(a, 'direct-small', `LeNet conv2 under auto on ${isa}`);
    }
    native.setIsa(h.isa0);
  });

  CASES.forEach((g, i) => {
    it(`#${i} ${label(g)}: direct = gemm = js`, function () {
      h.forcedAgrees('direct', g, 5 * i, i % 3 !== 2, label(g));
    });
  });

  CASES.filter((g, i) => i < FIXED.length || i % 3 === 0).forEach((g, i) => {
    it(`prepared #${i} ${label(g)}: scale, bias, residual, relu`, function () {
      h.preparedAgrees('direct', g, 7 * i, ['direct-small', 'depthwise-direct'], label(g));
    });
  });

  it('prepared weights keep working after the ISA changes', function () {
    h.preparedSurvivesIsaChange('direct', FIXED[4]);
  });
});
