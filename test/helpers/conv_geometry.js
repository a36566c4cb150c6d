// Convolution geometry records for the backend-level specs: a 3x3, stride 1, "same"
// padded default with any fields overridden, and its output size.
'use strict';

/** A ConvGeometry: 3x3, stride 1, padding 1, no dilation, one group, then `defaults`, then `o`. */
function convGeometry(defaults, o) {
  return {
    N: 2, C: 4, H: 9, W: 11, K: 5, R: 3, S: 3, strideH: 1, strideW: 1,
    padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, dilationH: 1, dilationW: 1, groups: 1, ...defaults, ...o,
  };
}

const outH = (g) => Math.floor((g.H + g.padTop + g.padBottom - g.dilationH * (g.R - 1) - 1) / g.strideH) + 1;
const outW = (g) => Math.floor((g.W + g.padLeft + g.padRight - g.dilationW * (g.S - 1) - 1) / g.strideW) + 1;

module.exports = { convGeometry, outH, outW };
