'use strict';
// Convolution backward, to the input and to the weight, on the conv layers, against
// PyTorch's aten::convolution_backward (one output mask at a time). FLOPs are those of
// the forward pass (each backward does the same multiply-adds).
// For the transposed layer the gradients are those of the transposed convolution:
// to its input = conv2dForward of the transposed geometry, to its weight =
// conv2dBackwardWeight with the roles of input and output exchanged.
const { convCases, convGeometry } = require('../cases');
const { runCompare, randomArray, zeroArray } = require('../lib/compare');

const size = (s) => s.reduce((a, b) => a * b, 1);

function prepareInput(be, c) {
  const g = convGeometry(c);
  const w = randomArray(size(c.wShape), 2);
  const gy = randomArray(size(c.yShape), 3, be);
  const gx = zeroArray(size(c.xShape), be);
  if (c.transposed) return { fn: () => be.conv2dForward(g, gy, w, null, gx), output: gx };
  return { fn: () => be.conv2dBackwardInput(g, gy, w, gx), output: gx };
}

function prepareWeight(be, c) {
  const g = convGeometry(c);
  const x = randomArray(size(c.xShape), 1, be);
  const gy = randomArray(size(c.yShape), 3, be);
  const gw = new Float32Array(size(c.wShape));
  if (c.transposed) return { fn: () => be.conv2dBackwardWeight(g, gy, x, gw), output: gw };
  return { fn: () => be.conv2dBackwardWeight(g, x, gy, gw), output: gw };
}

module.exports = {
  name: 'conv-backward',
  prepareInput,
  prepareWeight,
  title: 'Convolution backward (to input, to weight)',
  metric: 'gflops',
  run(ctx) {
    const cases = convCases();
    const input = runCompare(ctx, { kind: 'conv-bwd-input', metric: 'gflops', cases, prepare: prepareInput, scaling: false });
    const weight = runCompare(ctx, { kind: 'conv-bwd-weight', metric: 'gflops', cases, prepare: prepareWeight, scaling: false });
    return { parts: { 'backward to input': input, 'backward to weight': weight } };
  },
};
