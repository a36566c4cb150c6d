'use strict';
// Pooling forward from NCHW: max pooling (receptive also writes the argmax indices the
// backward needs; PyTorch's eval-mode max_pool2d does not) and global average pooling
// (adaptive average pooling to 1x1). Figures are milliseconds; ratios are time ratios.
// Peers: PyTorch, oneDNN (nChw16c blocked input, and plain nchw as 'onednn-nchw'),
// onnxruntime MaxPool / GlobalAveragePool, tfjs maxPool / mean (NHWC).
const { poolCases } = require('../cases');
const { runCompare, randomArray } = require('../lib/compare');

const size = (s) => s.reduce((a, b) => a * b, 1);

function preparePool(be, c) {
  const x = randomArray(size(c.xShape), 1);
  const y = new Float32Array(size(c.yShape));
  if (c.kind === 'gavg') {
    const g = { N: c.N, C: c.C, H: c.H, W: c.W, OH: 1, OW: 1 };
    return { fn: () => be.adaptiveAvgPool2dForward(g, x, y), output: y };
  }
  const g = {
    N: c.N, C: c.C, H: c.H, W: c.W, kernelH: c.kH, kernelW: c.kW, strideH: c.sH, strideW: c.sW,
    padH: c.pH, padW: c.pW, dilationH: 1, dilationW: 1, OH: c.OH, OW: c.OW,
  };
  if (c.kind === 'max') {
    const idx = new Int32Array(size(c.yShape));
    return { fn: () => be.maxPool2dForward(g, x, y, idx), output: y };
  }
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
