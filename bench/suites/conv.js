'use strict';
// Convolution forward on the layers of bench/cases.js (NCHW, no bias), with the weights
// prepared once (prepareConv2d, untimed) and timed through conv2dForwardPrepared. A transposed
// case runs as conv2dBackwardInput of the convolution it transposes (that is what a
// transposed convolution is; the ops layer does the same).
// Peers: PyTorch (F.conv2d / conv_transpose2d / conv1d), oneDNN primitives, onnxruntime
// Conv/ConvTranspose nodes, tfjs conv2d / depthwiseConv2d / conv2dTranspose.
const { convCases, convGeometry } = require('../cases');
const { runCompare, randomArray, zeroArray } = require('../lib/compare');

const size = (s) => s.reduce((a, b) => a * b, 1);

function prepareConvForward(be, c) {
  const g = convGeometry(c);
  const x = randomArray(size(c.xShape), 1, be);
  const w = randomArray(size(c.wShape), 2);
  const y = zeroArray(size(c.yShape), be);
  if (c.transposed) return { fn: () => be.conv2dBackwardInput(g, x, w, y), output: y };
  // Weights prepared once, untimed, as a layer does for inference (and as the peers
  // pre-pack theirs: onnxruntime's initializers, oneDNN's reorders).
  const p = be.prepareConv2d(g, w, null, null);
  return { fn: () => be.conv2dForwardPrepared(g, x, p, null, false, y), output: y };
}

module.exports = {
  name: 'conv',
  title: 'Convolution forward',
  metric: 'gflops',
  prepareConvForward,
  run(ctx) {
    return runCompare(ctx, { kind: 'conv', metric: 'gflops', cases: convCases(), prepare: prepareConvForward });
  },
};
