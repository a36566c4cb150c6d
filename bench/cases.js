'use strict';
// The benchmark cases, written once and shared by every suite and every peer.
//
// GEMM:  'MxNxK' (C[M,N] = A[M,K] * B[K,N], row-major), optional suffix 'nt' when
//        B is stored N x K (the fully-connected layer: y = W x^T with x[batch, in]).
// Conv:  benchdnn-style descriptor strings, e.g. 'mb8ic64ih56oc64kh3ph1':
//          g groups, mb batch, ic/oc channels in/out, ih/iw input size (iw = ih if
//          absent), kh/kw kernel (kw = kh), sh/sw stride (default 1), ph/pw padding
//          per side (default 0), dh/dw dilation AS IN PYTORCH (1 = dense; benchdnn
//          writes dilation-1, we do not). oh/ow are derived.
//        transposed: true means a transposed convolution with ic = its input
//          channels, oc = its output channels, ih its input size (PyTorch's
//          ConvTranspose2d; weight [ic, oc/g, kh, kw]).
// Pool:  'max' / 'avg' windows and 'gavg' (global average pooling).
//
// `issue2: true` marks the layers issue 2 requires, for which the JS backend
// always runs; the others run JS only when that is quick (see run.js --js-max-gflop).

const GEMM = [
  { id: '64x64x64', desc: '64x64x64', note: 'tiny' },
  { id: '256', desc: '256x256x256', issue2: true },
  { id: '512', desc: '512x512x512', issue2: true },
  { id: '1024', desc: '1024x1024x1024', issue2: true },
  { id: '2048', desc: '2048x2048x2048', issue2: true },
  { id: '64x3136x576', desc: '64x3136x576', note: 'ResNet 3x3 C64 56² as im2col' },
  { id: '256x196x2304', desc: '256x196x2304', note: 'ResNet 3x3 C256 14² as im2col' },
  { id: '64x3136x64', desc: '64x3136x64', note: 'ResNet 1x1 as GEMM' },
  { id: '1000x32x2048nt', desc: '1000x32x2048nt', note: 'FC 2048->1000, batch 32' },
  { id: '16x100x150', desc: '16x100x150', note: 'small, skinny' },
];

const CONV = [
  { id: 'lenet-conv1', name: 'LeNet conv1 N64 C1 32² K6 5x5', desc: 'mb64ic1ih32oc6kh5' },
  { id: 'lenet-conv2', name: 'LeNet conv2 N64 C6 14² K16 5x5', desc: 'mb64ic6ih14oc16kh5', issue2: true },
  { id: 'alexnet-conv1', name: 'AlexNet conv1 N8 C3 224² K64 11x11 s4 p2', desc: 'mb8ic3ih224oc64kh11sh4ph2', issue2: true },
  { id: 'alexnet-conv2', name: 'AlexNet conv2 N8 C64 27² K192 5x5 p2', desc: 'mb8ic64ih27oc192kh5ph2' },
  { id: 'resnet-stem', name: 'ResNet stem N8 C3 224² K64 7x7 s2 p3', desc: 'mb8ic3ih224oc64kh7sh2ph3' },
  { id: 'resnet-3x3-c64', name: 'ResNet 3x3 N8 C64 56² K64 p1', desc: 'mb8ic64ih56oc64kh3ph1', issue2: true },
  { id: 'resnet-3x3-c256', name: 'ResNet 3x3 N8 C256 14² K256 p1', desc: 'mb8ic256ih14oc256kh3ph1', issue2: true },
  { id: 'resnet-1x1', name: 'ResNet 1x1 N8 C256 56² K64', desc: 'mb8ic256ih56oc64kh1', issue2: true },
  { id: 'resnet-3x3-s2', name: 'ResNet 3x3 s2 N8 C128 56² K128 p1', desc: 'mb8ic128ih56oc128kh3sh2ph1' },
  { id: 'dilated-3x3', name: 'dilated 3x3 d2 N8 C64 56² K64 p2', desc: 'mb8ic64ih56oc64kh3ph2dh2' },
  { id: 'depthwise-3x3', name: 'depthwise 3x3 N8 C128 56² p1', desc: 'g128mb8ic128ih56oc128kh3ph1' },
  { id: 'transposed-4x4', name: 'transposed 4x4 s2 p1 N8 C64 28² K32', desc: 'mb8ic64ih28oc32kh4sh2ph1', transposed: true, issue2: true },
  { id: 'conv1d-k9', name: '1-D N32 C64 L1024 K64 k9 p4', desc: 'mb32ic64ih1iw1024oc64kh1kw9ph0pw4' },
];

const POOL = [
  { id: 'maxpool-3x3s2', name: 'max pool 3x3 s2 p1 N8 C64 112²', kind: 'max', desc: 'mb8ic64ih112kh3sh2ph1' },
  { id: 'global-avgpool', name: 'global avg pool N8 C2048 7²', kind: 'gavg', desc: 'mb8ic2048ih7' },
  // GoogLeNet's inception branch pool (3x3, stride 1, pad 1; ceil mode changes nothing here).
  { id: 'maxpool-3x3s1-googlenet', name: 'max pool 3x3 s1 p1 N8 C480 14² (GoogLeNet)', kind: 'max', desc: 'mb8ic480ih14kh3sh1ph1' },
];

function parseDesc(desc) {
  const out = {};
  const re = /([a-z]+)(\d+)/g;
  let m;
  let consumed = 0;
  while ((m = re.exec(desc)) !== null) {
    if (m.index !== consumed) break;
    out[m[1]] = Number(m[2]);
    consumed = re.lastIndex;
  }
  if (consumed !== desc.length) throw new Error(`cannot parse descriptor '${desc}' at '${desc.slice(consumed)}'`);
  return out;
}

function convOut(n, k, s, p, d) {
  return Math.floor((n + 2 * p - d * (k - 1) - 1) / s) + 1;
}

/** Parses a conv case into plain numbers plus its FLOP count. */
function parseConv(c) {
  const d = parseDesc(c.desc);
  const known = new Set(['g', 'mb', 'ic', 'ih', 'iw', 'oc', 'oh', 'ow', 'kh', 'kw', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw']);
  for (const k of Object.keys(d)) if (!known.has(k)) throw new Error(`unknown key '${k}' in '${c.desc}'`);
  const p = {
    id: c.id, name: c.name || c.id, desc: c.desc, issue2: !!c.issue2,
    transposed: !!c.transposed,
    groups: d.g ?? 1, N: d.mb ?? 1, C: d.ic, H: d.ih, W: d.iw ?? d.ih, K: d.oc,
    R: d.kh, S: d.kw ?? d.kh,
    strideH: d.sh ?? 1, strideW: d.sw ?? d.sh ?? 1,
    padH: d.ph ?? 0, padW: d.pw ?? d.ph ?? 0,
    dilationH: d.dh ?? 1, dilationW: d.dw ?? d.dh ?? 1,
  };
  if (p.transposed) {
    // Output size of ConvTranspose2d (outputPadding 0).
    p.OH = (p.H - 1) * p.strideH - 2 * p.padH + p.dilationH * (p.R - 1) + 1;
    p.OW = (p.W - 1) * p.strideW - 2 * p.padW + p.dilationW * (p.S - 1) + 1;
    // 2·N·Cin·Cout·R·S·IH·IW / groups
    p.flops = 2 * p.N * p.C * (p.K / p.groups) * p.R * p.S * p.H * p.W;
  } else {
    p.OH = convOut(p.H, p.R, p.strideH, p.padH, p.dilationH);
    p.OW = convOut(p.W, p.S, p.strideW, p.padW, p.dilationW);
    // 2·N·K·(C/g)·R·S·OH·OW
    p.flops = 2 * p.N * p.K * (p.C / p.groups) * p.R * p.S * p.OH * p.OW;
  }
  if (d.oh !== undefined && d.oh !== p.OH) throw new Error(`'${c.desc}': oh${d.oh} but the geometry gives ${p.OH}`);
  // Shapes of the tensors in PyTorch's layouts.
  p.xShape = [p.N, p.C, p.H, p.W];
  p.yShape = [p.N, p.K, p.OH, p.OW];
  p.wShape = p.transposed ? [p.C, p.K / p.groups, p.R, p.S] : [p.K, p.C / p.groups, p.R, p.S];
  p.oneD = p.H === 1 && p.R === 1 && p.padH === 0;
  return p;
}

/**
 * The backend-contract geometry of a conv case. For a transposed case it is the
 * geometry of the forward convolution whose backward-to-input *is* the transposed
 * convolution: input [N, Cout, OH, OW], output [N, Cin, IH, IW], weight [Cin, Cout/g, R, S].
 */
function convGeometry(p) {
  if (p.transposed) {
    return {
      N: p.N, C: p.K, H: p.OH, W: p.OW, K: p.C, R: p.R, S: p.S,
      strideH: p.strideH, strideW: p.strideW,
      padTop: p.padH, padBottom: p.padH, padLeft: p.padW, padRight: p.padW,
      dilationH: p.dilationH, dilationW: p.dilationW, groups: p.groups,
    };
  }
  return {
    N: p.N, C: p.C, H: p.H, W: p.W, K: p.K, R: p.R, S: p.S,
    strideH: p.strideH, strideW: p.strideW,
    padTop: p.padH, padBottom: p.padH, padLeft: p.padW, padRight: p.padW,
    dilationH: p.dilationH, dilationW: p.dilationW, groups: p.groups,
  };
}

function parseGemm(c) {
  const m = /^(\d+)x(\d+)x(\d+)(nt|tn|tt|nn)?$/.exec(c.desc);
  if (!m) throw new Error(`cannot parse GEMM '${c.desc}'`);
  const t = m[4] || 'nn';
  const M = +m[1], N = +m[2], K = +m[3];
  return {
    id: c.id, name: c.name || (c.desc + (c.note ? ` (${c.note})` : '')), desc: c.desc,
    issue2: !!c.issue2, M, N, K, transA: t[0] === 't', transB: t[1] === 't',
    flops: 2 * M * N * K,
  };
}

function parsePool(c) {
  const d = parseDesc(c.desc);
  const p = {
    id: c.id, name: c.name || c.id, desc: c.desc, kind: c.kind,
    N: d.mb ?? 1, C: d.ic, H: d.ih, W: d.iw ?? d.ih,
  };
  if (c.kind === 'gavg') {
    Object.assign(p, { kH: p.H, kW: p.W, sH: 1, sW: 1, pH: 0, pW: 0, OH: 1, OW: 1 });
  } else {
    p.kH = d.kh; p.kW = d.kw ?? d.kh; p.sH = d.sh ?? p.kH; p.sW = d.sw ?? d.sh ?? p.kW;
    p.pH = d.ph ?? 0; p.pW = d.pw ?? d.ph ?? 0;
    p.OH = Math.floor((p.H + 2 * p.pH - p.kH) / p.sH) + 1;
    p.OW = Math.floor((p.W + 2 * p.pW - p.kW) / p.sW) + 1;
  }
  p.xShape = [p.N, p.C, p.H, p.W];
  p.yShape = [p.N, p.C, p.OH, p.OW];
  p.bytes = 4 * (p.N * p.C * p.H * p.W + p.N * p.C * p.OH * p.OW);
  return p;
}

module.exports = {
  GEMM, CONV, POOL,
  gemmCases: () => GEMM.map(parseGemm),
  convCases: () => CONV.map(parseConv),
  poolCases: () => POOL.map(parsePool),
  parseConv, parseGemm, parsePool, convGeometry, parseDesc,
};
