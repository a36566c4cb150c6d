// The input gradient of a strided convolution by output phases (native/conv/
// backward_input_phases.cc), which is also the forward of a transposed convolution. On the
// shapes below (transposed-style filters a multiple of the stride, and 3x3 stride 2 with
// its 1x1 to 2x2 phases; 8 to 32 channels per group, planes of 28 phase rows or more) the
// automatic choice runs every phase in one pass of the direct kernel, each writing its own
// interleaved rows and columns of gx; it
// must agree with the JS backend, and leave no element of gx unwritten. An odd size (phases
// of unequal sizes) takes the per-phase path. Each case runs on every ISA the CPU has (only
// RECEPTIVE_ISA's when that is set) at 1 and 2 threads. CI also runs the backend specs with
// RECEPTIVE_CONV_BWD_INPUT=forward, which sends every strided geometry through the phases.
'use strict';
const { randArray, nativeHarness } = require('./helpers/native_harness');
const { assertClose } = require('./helpers/fixtures');

function conv(o) {
  return Object.assign({ N: 1, strideH: 2, strideW: 2, padTop: 1, padBottom: 1, padLeft: 1,
    padRight: 1, dilationH: 1, dilationW: 1, groups: 1 }, o);
}
const outSize = (n, before, after, k, d, s) => Math.floor((n + before + after - d * (k - 1) - 1) / s) + 1;

// g is the convolution whose input gradient is taken (a transposed convolution's mirror).
const CASES = [
  conv({ N: 2, C: 16, H: 56, W: 56, K: 24, R: 4, S: 4 }),                       // 2x2 taps a phase
  conv({ N: 1, C: 8, H: 60, W: 58, K: 40, R: 6, S: 6, padTop: 2, padBottom: 2, padLeft: 2, padRight: 2 }),  // 3x3 taps
  conv({ N: 1, C: 32, H: 56, W: 60, K: 16, R: 4, S: 4, groups: 2 }),            // groups
  conv({ N: 2, C: 24, H: 64, W: 56, K: 12, R: 4, S: 4, padTop: 2, padBottom: 0, padLeft: 0, padRight: 2 }),  // asymmetric
  conv({ N: 1, C: 8, H: 57, W: 56, K: 8, R: 4, S: 4 }),                         // odd: per-phase path
  // 3x3 s2: phases of 1x1, 1x2, 2x1 and 2x2 taps in one pass (ResNet's downsampling)
  conv({ N: 2, C: 16, H: 56, W: 58, K: 24, R: 3, S: 3 }),
  conv({ N: 1, C: 32, H: 60, W: 56, K: 40, R: 3, S: 3, groups: 2 }),
];

const label = (g) => `N${g.N} C${g.C} ${g.H}x${g.W} K${g.K} k${g.R}x${g.S} s${g.strideH},${g.strideW} ` +
  `p${g.padTop},${g.padBottom},${g.padLeft},${g.padRight} g${g.groups}`;

describe('conv2d backward to the input by output phases (native)', function () {
  const h = nativeHarness({ honourIsaEnv: true });

  CASES.forEach((g, i) => {
    it(`#${i} ${label(g)}: native = js`, function () {
      const OH = outSize(g.H, g.padTop, g.padBottom, g.R, g.dilationH, g.strideH);
      const OW = outSize(g.W, g.padLeft, g.padRight, g.S, g.dilationW, g.strideW);
      const gy = randArray(g.N * g.K * OH * OW, 300 + i);
      const w = randArray(g.K * (g.C / g.groups) * g.R * g.S, 400 + i);
      const want = new Float32Array(g.N * g.C * g.H * g.W);
      h.js.conv2dBackwardInput(g, gy, w, want);
      h.eachSetting('auto', (s) => {
        const gx = new Float32Array(want.length).fill(NaN);  // every element must be written
        h.native.conv2dBackwardInput(g, gy, w, gx);
        assertClose(gx, want, `${label(g)} ${s}`);
      });
    });
  });
});
