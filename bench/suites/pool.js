'use strict';
// Pooling forward from NCHW: max pooling (inference: no argmax indices, like PyTorch's
// eval-mode max_pool2d and oneDNN's forward_inference) and global average pooling
// (adaptive average pooling to 1x1). Figures are milliseconds; ratios are time ratios.
// Peers: PyTorch, oneDNN (nChw16c blocked input, and plain nchw as 'onednn-nchw'),
// onnxruntime MaxPool / GlobalAveragePool, tfjs maxPool / mean (NHWC).
const { poolCases } = require('../cases');
const { runCompare, randomArray, zeroArray } = require('../lib/compare');

const size = (s) => s.reduce((a, b) => a * b, 1);

function preparePool(be, c) {
  const x = randomArray(size(c.xShape), 1, be);
  const y = zeroArray(size(c.yShape), be);
  if (c.kind === 'gavg') {
    const g = { N: c.N, C: c.C, H: c.H, W: c.W, OH: 1, OW: 1 };
    return { fn: () => be.adaptiveAvgPool2dForward(g, x, y), output: y };
  }
  const g = {
    N: c.N, C: c.C, H: c.H, W: c.W, kernelH: c.kH, kernelW: c.kW, strideH: c.sH, strideW: c.sW,
    padH: c.pH, padW: c.pW, dilationH: 1, dilationW: 1, OH: c.OH, OW: c.OW,
  };
  if (c.kind === 'max') return { fn: () => be.maxPool2dForward(g, x, y, null), output: y };
  const ga = { ...g, countIncludePad: true };
  return { fn: () => be.avgPool2dForward(ga, x, y), output: y };
}

module.exports = {
  name: 'pool',
  title: 'Pooling forward',
  metric: 'ms',
  run(ctx) {
    return runCompare(ctx, { kind: 'pool', metric: 'ms', cases: poolCases(), prepare: preparePool });
  },
};
