// The direct weight-gradient kernel (native/conv/direct_wgrad*): the automatic choice takes
// it for every shape below on AVX2 (filters 3 or more wide with at most 8 input channels per
// group, or 5x5 and larger; a partial gradient within 2 MB) and for all but the last three
// on AVX-512 (filters 3 or more wide, output channels filling most of their blocks of 32,
// output rows of 16 or more), and it must agree with the JS backend: strided and dilated
// filters, filters wider than one register tile's taps (14 on AVX-512, 6 on AVX2: split
// along s), tap rows that do not fill a tile, channel counts off the blocks (32 or 16),
// groups, asymmetric and negative padding, bands of output rows with a remainder. Each case
// runs on every ISA the CPU has (only RECEPTIVE_ISA's when that is set: the other ISAs take
// the GEMM paths) at 1 and 2 threads. CI also runs the backend specs with
// RECEPTIVE_CONV_BWD_WEIGHT=direct, which sends every geometry here.
'use strict';
const assert = require('assert');
const { randArray, nativeHarness } = require('./helpers/native_harness');
const { assertClose } = require('./helpers/fixtures');

function conv(o) {
  return Object.assign({ N: 1, strideH: 1, strideW: 1, padTop: 0, padBottom: 0, padLeft: 0,
    padRight: 0, dilationH: 1, dilationW: 1, groups: 1 }, o);
}
const outSize = (n, before, after, k, d, s) => Math.floor((n + before + after - d * (k - 1) - 1) / s) + 1;

const CASES = [
  // the ResNet stem and AlexNet conv1, scaled down
  conv({ N: 2, C: 3, H: 40, W: 44, K: 64, R: 7, S: 7, strideH: 2, strideW: 2, padTop: 3, padBottom: 3, padLeft: 3, padRight: 3 }),
  conv({ N: 1, C: 3, H: 67, W: 71, K: 64, R: 11, S: 11, strideH: 4, strideW: 4, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }),
  // a 1-D filter of 17 taps (two chunks along s: 9 + 8) and one of 16 with stride 2 across
  conv({ N: 2, C: 4, H: 1, W: 60, K: 32, R: 1, S: 17, padLeft: 8, padRight: 8 }),
  conv({ N: 1, C: 2, H: 5, W: 40, K: 48, R: 3, S: 16, strideW: 2, padTop: 1, padBottom: 1, padLeft: 7, padRight: 7 }),
  // dilated (this kernel, not Winograd's), 24 channels (three quarters of a block)
  conv({ N: 2, C: 8, H: 30, W: 30, K: 24, R: 3, S: 3, dilationH: 2, dilationW: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }),
  // groups, 5x5
  conv({ N: 2, C: 6, H: 20, W: 36, K: 64, R: 5, S: 5, groups: 2, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }),
  // asymmetric and negative padding, a 5x3 filter, stride 2 down
  conv({ N: 1, C: 5, H: 23, W: 41, K: 32, R: 5, S: 3, strideH: 2, padTop: 1, padBottom: 0, padLeft: 2, padRight: -1 }),
  // many output rows (bands of 9 with a remainder of 5), three channel blocks
  conv({ N: 3, C: 4, H: 50, W: 20, K: 96, R: 3, S: 5, padTop: 1, padBottom: 1, padLeft: 2, padRight: 2 }),
  // stride 3 and dilation 3 across, dilation 2 down; 7 tap rows (tiles of 4 and 3)
  conv({ N: 1, C: 7, H: 19, W: 70, K: 32, R: 1, S: 4, strideW: 3, dilationH: 2, dilationW: 3, padLeft: 5, padRight: 5 }),
  // AVX2 only: LeNet conv1 and conv2 (6 output channels; rows of 10), and a 5x5 layer with
  // 40 output channels (two and a half blocks of 16) on 7x7
  conv({ N: 3, C: 1, H: 32, W: 32, K: 6, R: 5, S: 5 }),
  conv({ N: 3, C: 6, H: 14, W: 14, K: 16, R: 5, S: 5 }),
  conv({ N: 2, C: 24, H: 7, W: 7, K: 40, R: 5, S: 5, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }),
];
const AVX2_ONLY = 3;

const label = (g) => `N${g.N} C${g.C} ${g.H}x${g.W} K${g.K} k${g.R}x${g.S} s${g.strideH},${g.strideW} ` +
  `p${g.padTop},${g.padBottom},${g.padLeft},${g.padRight} d${g.dilationH},${g.dilationW} g${g.groups}`;

describe('conv2d backward to the weight, direct kernel (native)', function () {
  const h = nativeHarness({ honourIsaEnv: true });

  it('the cases are shapes the automatic choice gives the direct kernel', function () {
    CASES.forEach((g, i) => {
      const Cg = g.C / g.groups, Kg = g.K / g.groups;
      const Kgp16 = Math.ceil(Kg / 16) * 16, Kgp32 = Math.ceil(Kg / 32) * 32;
      const OW = outSize(g.W, g.padLeft, g.padRight, g.S, g.dilationW, g.strideW);
      assert.ok(g.S >= 3 && (Cg <= 8 || g.R * g.S >= 25), `AVX2: ${label(g)}`);
      assert.ok(g.C * g.R * g.S * Kgp16 <= 1 << 19, `AVX2: ${label(g)}`);
      if (i >= CASES.length - AVX2_ONLY) return;
      assert.ok(4 * Kg >= 3 * Kgp32 && OW >= 16, `AVX-512: ${label(g)}`);
      assert.ok(g.C * g.R * g.S * Kgp32 <= 1 << 19, `AVX-512: ${label(g)}`);
    });
  });

  CASES.forEach((g, i) => {
    it(`#${i} ${label(g)}: native = js`, function () {
      const OH = outSize(g.H, g.padTop, g.padBottom, g.R, g.dilationH, g.strideH);
      const OW = outSize(g.W, g.padLeft, g.padRight, g.S, g.dilationW, g.strideW);
      const x = randArray(g.N * g.C * g.H * g.W, 100 + i);
      const gy = randArray(g.N * g.K * OH * OW, 200 + i);
      const size = g.K * (g.C / g.groups) * g.R * g.S;
      const want = new Float32Array(size);
      h.js.conv2dBackwardWeight(g, x, gy, want);
      h.eachSetting('auto', (s) => {
        const gw = new Float32Array(size).fill(NaN);  // every element must be written
        h.native.conv2dBackwardWeight(g, x, gy, gw);
        assertClose(gw, want, `${label(g)} ${s}`);
      });
    });
  });
});
