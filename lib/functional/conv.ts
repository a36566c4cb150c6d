// Convolutions: ONE entry, `convolution`, like ATen's, with the spatial rank, transposed
// and flipped (true convolution) as parameters. conv1d, conv2d, convolve1d/2d and
// convTranspose1d/2d are thin wrappers. Everything maps onto the backend's 2-D
// ConvGeometry (1-D: H = 1, R = 1).
//
// Transposed convolution is the adjoint of a convolution, so it runs on the same three
// kernels: its forward is conv2dBackwardInput of the "mirrored" convolution (the conv
// whose input has the transposed op's output size, weight [K = Cin, C/g = Cout/g, R, S]
// = the transposed weight as is, padding p before and p - outputPadding after), its
// input gradient is that conv's forward, and its weight gradient that conv's weight
// gradient with input and output-gradient swapped.
import { Tensor, formatShape } from '../tensor';
import { record, needsGrad } from '../autograd/engine';
import { backend } from '../backend/select';
import type { Backend, ConvGeometry, PreparedConv2d } from '../backend/backend';
import { convOutputSize } from '../backend/backend';
import {
  ConvPadding, checkInt, checkTensorArg, describeValue, intTuple, optionalTensor, optionsOf, resolveConvPadding,
} from './options';

export type { ConvPadding } from './options';

export interface ConvOptions {
  /** Step of the window: a number or one per spatial dim (default 1). */
  stride?: number | number[];
  /** See ConvPadding: number, per-dim numbers, per-side pairs, 'valid' | 'same' | 'full' (default 0). */
  padding?: ConvPadding;
  /** Spacing of the kernel taps (atrous convolution), default 1. */
  dilation?: number | number[];
  /** Channel groups (default 1); groups = C is a depthwise convolution. */
  groups?: number;
}

export interface ConvTransposeOptions {
  stride?: number | number[];
  /** Implicit zero padding removed from each side of the output: a number or one per dim. */
  padding?: number | number[];
  /** Extra size added to one side (bottom/right) of the output; < stride or < dilation. */
  outputPadding?: number | number[];
  dilation?: number | number[];
  groups?: number;
}

export interface ConvolutionParams {
  /** Spatial rank: 1 (input [N, C, L]) or 2 (input [N, C, H, W]). */
  dims: 1 | 2;
  /** Transposed (fractionally strided) convolution; weight [Cin, Cout/groups, k...]. */
  transposed?: boolean;
  /** True convolution: the kernel flipped in every spatial axis (not with transposed). */
  flip?: boolean;
  stride?: number | number[];
  padding?: ConvPadding;
  outputPadding?: number | number[];
  dilation?: number | number[];
  groups?: number;
  /** Inference only (no tape, cross-correlation): prepared weights and a fused output stage. */
  inference?: ConvInference;
}

/**
 * An output written into part of a larger buffer: image n at data[n * imageStride ..],
 * K * OH * OW floats each (the channels of a concatenation); the floats between the images
 * are left as they are.
 */
export interface ConvDestination {
  data: Float32Array;
  imageStride: number;
}

/**
 * The inference path of a (cross-correlation) convolution: weights prepared once by the
 * layer (packed, BatchNorm folded; the bias is inside them) and an output stage
 * y = relu?(conv + bias + residual) run by the kernel. Records no gradient.
 */
export interface ConvInference {
  /** The layer's prepared weights for geometry g on backend be (cached by the caller). */
  prepared(be: Backend, g: ConvGeometry): PreparedConv2d;
  /** Added to the output before the ReLU; the output's shape. */
  residual?: Tensor | null;
  relu?: boolean;
  /** Where the output goes: a buffer of n floats that the kernel overwrites (default: fresh). */
  alloc?: (n: number) => Float32Array;
  /** Or into the channels of a wider tensor: see ConvDestination (no residual then). */
  into?: ConvDestination | null;
  /** Told the validated geometry and output shape, so that a layer can run later calls on
   * the same input shape straight through inferenceForward. */
  planned?: (g: ConvGeometry, outShape: number[]) => void;
}

const CONV_KEYS = ['stride', 'padding', 'dilation', 'groups'] as const;
const CONVT_KEYS = ['stride', 'padding', 'outputPadding', 'dilation', 'groups'] as const;

/** Copy of w [A, B, k...] with each kernel reversed in every spatial axis. */
function flipKernels(w: Float32Array, kernelSize: number): Float32Array<ArrayBufferLike> {
  const out = new Float32Array(w.length);
  for (let base = 0; base < w.length; base += kernelSize) {
    for (let i = 0; i < kernelSize; i++) out[base + i] = w[base + kernelSize - 1 - i];
  }
  return out;
}

/**
 * The single convolution entry: cross-correlation, true convolution (flip) or transposed
 * convolution, 1-D or 2-D, batched or unbatched, with bias. Differentiable w.r.t. input,
 * weight and bias.
 */
export function convolution(op: string, input: Tensor, weight: Tensor, bias: Tensor | null | undefined,
                            params: ConvolutionParams): Tensor {
  const nd = params.dims;
  const transposed = params.transposed ?? false;
  const flip = params.flip ?? false;
  if (params.inference && (transposed || flip)) throw new Error(`${op}: the inference path is for cross-correlation only`);
  const x = checkTensorArg(op, 'input', input);
  const w = checkTensorArg(op, 'weight', weight);
  const b = optionalTensor(op, 'bias', bias);
  const layout = nd === 1 ? '[N, C, L]' : '[N, C, H, W]';
  const unbatchedLayout = nd === 1 ? '[C, L]' : '[C, H, W]';
  if (x.ndim !== nd + 2 && x.ndim !== nd + 1) {
    throw new RangeError(`${op}: expected a ${nd + 2}-D input ${layout} (or ${nd + 1}-D unbatched ${unbatchedLayout}), got shape ${formatShape(x.shape)}`);
  }
  const wLayout = transposed ? (nd === 1 ? '[Cin, Cout/groups, k]' : '[Cin, Cout/groups, kH, kW]')
    : (nd === 1 ? '[Cout, Cin/groups, k]' : '[Cout, Cin/groups, kH, kW]');
  if (w.ndim !== nd + 2) {
    throw new RangeError(`${op}: expected a ${nd + 2}-D weight ${wLayout}, got shape ${formatShape(w.shape)}`);
  }
  const batched = x.ndim === nd + 2;
  const xs = batched ? x.shape : [1, ...x.shape];
  const N = xs[0], C = xs[1];
  const inSize = xs.slice(2);          // per user dim
  const kernel = w.shape.slice(2);

  const stride = intTuple(op, 'stride', params.stride ?? 1, nd, 1);
  const dilation = intTuple(op, 'dilation', params.dilation ?? 1, nd, 1);
  const groups = checkInt(op, 'groups', params.groups ?? 1, 1);
  for (let i = 0; i < nd; i++) {
    if (kernel[i] < 1) throw new RangeError(`${op}: weight ${formatShape(w.shape)} has an empty kernel`);
    if (inSize[i] < 1) throw new RangeError(`${op}: input ${formatShape(x.shape)} has an empty spatial dimension`);
  }
  if (N < 1 || C < 1) throw new RangeError(`${op}: input ${formatShape(x.shape)} has no batch items or no channels`);

  let outChannels: number;
  if (!transposed) {
    const K = w.shape[0], cpg = w.shape[1];
    if (C !== cpg * groups) {
      throw new RangeError(`${op}: input has ${C} channels but weight expects ${cpg * groups} (groups ${groups}); input ${formatShape(x.shape)}, weight ${formatShape(w.shape)}`);
    }
    if (K % groups !== 0) {
      throw new RangeError(`${op}: weight has ${K} output channels, which groups (${groups}) does not divide`);
    }
    outChannels = K;
  } else {
    const cin = w.shape[0];
    if (C !== cin) {
      throw new RangeError(`${op}: input has ${C} channels but weight expects ${cin} (groups ${groups}); input ${formatShape(x.shape)}, weight ${formatShape(w.shape)}`);
    }
    if (cin % groups !== 0) {
      throw new RangeError(`${op}: input channels (${cin}) are not divisible by groups (${groups})`);
    }
    outChannels = w.shape[1] * groups;
  }
  if (b) {
    if (b.ndim !== 1 || b.shape[0] !== outChannels) {
      throw new RangeError(`${op}: bias must have shape [${outChannels}] (one per output channel), got ${formatShape(b.shape)}`);
    }
  }

  // Per user dim: before/after padding of the convolution that the kernels run.
  let pads: Array<[number, number]>;
  let outSize: number[];
  if (!transposed) {
    if (params.outputPadding !== undefined) throw new TypeError(`${op}: outputPadding applies only to transposed convolutions`);
    pads = resolveConvPadding(op, params.padding ?? 0, kernel, dilation, stride);
    outSize = inSize.map((n, i) => convOutputSize(n, kernel[i], stride[i], pads[i][0], pads[i][1], dilation[i]));
    for (let i = 0; i < nd; i++) {
      if (outSize[i] < 1) {
        const eff = kernel.map((k, j) => dilation[j] * (k - 1) + 1);
        const padded = inSize.map((n, j) => n + pads[j][0] + pads[j][1]);
        throw new RangeError(`${op}: kernel size ${eff.join('x')} (dilation included) is larger than the padded input ${padded.join('x')} (input ${formatShape(x.shape)})`);
      }
    }
  } else {
    if (typeof params.padding === 'string' || (Array.isArray(params.padding) && params.padding.some(Array.isArray))) {
      throw new RangeError(`${op}: padding must be a number or one number per dimension for transposed convolutions, got ${describeValue(params.padding)}`);
    }
    const p = intTuple(op, 'padding', params.padding ?? 0, nd, 0);
    const op_ = intTuple(op, 'outputPadding', params.outputPadding ?? 0, nd, 0);
    for (let i = 0; i < nd; i++) {
      if (op_[i] >= stride[i] && op_[i] >= dilation[i]) {
        throw new RangeError(`${op}: outputPadding ${describeValue(params.outputPadding)} must be smaller than either stride ${describeValue(stride)} or dilation ${describeValue(dilation)}`);
      }
    }
    outSize = inSize.map((n, i) => (n - 1) * stride[i] - 2 * p[i] + dilation[i] * (kernel[i] - 1) + op_[i] + 1);
    for (let i = 0; i < nd; i++) {
      if (outSize[i] < 1) {
        throw new RangeError(`${op}: the output size ${outSize.join('x')} is too small: padding ${describeValue(p)} removes more than the input ${formatShape(x.shape)} and kernel ${kernel.join('x')} produce`);
      }
    }
    pads = p.map((v, i) => [v, v - op_[i]]);
  }

  // 2-D geometry (1-D: H = 1, R = 1).
  const sp = (arr: number[], one: number) => (nd === 1 ? [one, arr[0]] : arr);
  const [kh, kw] = sp(kernel, 1);
  const [sh, sw] = sp(stride, 1);
  const [dh, dw] = sp(dilation, 1);
  const [ph, pw] = nd === 1 ? [[0, 0] as [number, number], pads[0]] : pads;
  const [ih, iw] = sp(inSize, 1);
  const [oh, ow] = sp(outSize, 1);
  const outShape = batched ? [N, outChannels, ...outSize] : [outChannels, ...outSize];
  const be = backend();
  const kernelArea = kh * kw;
  const wData = flip ? flipKernels(w.data, kernelArea) : w.data;
  const xData = x.data;

  if (!transposed) {
    const g: ConvGeometry = {
      N, C, H: ih, W: iw, K: outChannels, R: kh, S: kw,
      strideH: sh, strideW: sw, padTop: ph[0], padBottom: ph[1], padLeft: pw[0], padRight: pw[1],
      dilationH: dh, dilationW: dw, groups,
    };
    if (params.inference) {
      params.inference.planned?.(g, outShape);
      return inferenceForward(op, g, x, w, b, params.inference, outShape);
    }
    const y = be.allocate(N * outChannels * oh * ow);
    be.conv2dForward(g, xData, wData, b ? b.data : null, y);
    const out = new Tensor(y, outShape);
    if (!needsGrad(x, w, b)) return out;
    return record(out, op, [x, w, b], (gyT) => {
      const kb = backend();
      const gy = gyT.data;
      let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
      if (x.requiresGrad) {
        const d = kb.allocate(x.size);
        kb.conv2dBackwardInput(g, gy, wData, d);
        gx = new Tensor(d, x.shape.slice());
      }
      if (w.requiresGrad) {
        let d: Float32Array<ArrayBufferLike> = new Float32Array(w.size);
        kb.conv2dBackwardWeight(g, xData, gy, d);
        if (flip) d = flipKernels(d, kernelArea);
        gw = new Tensor(d, w.shape.slice());
      }
      if (b && b.requiresGrad) {
        const d = new Float32Array(outChannels);
        kb.conv2dBackwardBias(g, gy, d);
        gb = new Tensor(d, b.shape.slice());
      }
      return [gx, gw, gb];
    });
  }

  // Transposed: the mirrored convolution maps outShape -> input shape.
  const Cin = C, Cout = outChannels;
  const gm: ConvGeometry = {
    N, C: Cout, H: oh, W: ow, K: Cin, R: kh, S: kw,
    strideH: sh, strideW: sw, padTop: ph[0], padBottom: ph[1], padLeft: pw[0], padRight: pw[1],
    dilationH: dh, dilationW: dw, groups,
  };
  const plane = oh * ow;
  const y = be.allocate(N * Cout * plane);
  be.conv2dBackwardInput(gm, xData, wData, y);
  if (b) {
    const bd = b.data;
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < Cout; c++) {
        const v = bd[c];
        if (v === 0) continue;
        const base = (n * Cout + c) * plane;
        for (let i = 0; i < plane; i++) y[base + i] += v;
      }
    }
  }
  const out = new Tensor(y, outShape);
  if (!needsGrad(x, w, b)) return out;
  return record(out, op, [x, w, b], (gyT) => {
    const kb = backend();
    const gy = gyT.data;
    let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
    if (x.requiresGrad) {
      const d = kb.allocate(x.size);
      kb.conv2dForward(gm, gy, wData, null, d);
      gx = new Tensor(d, x.shape.slice());
    }
    if (w.requiresGrad) {
      let d: Float32Array<ArrayBufferLike> = new Float32Array(w.size);
      kb.conv2dBackwardWeight(gm, gy, xData, d);
      if (flip) d = flipKernels(d, kernelArea);
      gw = new Tensor(d, w.shape.slice());
    }
    if (b && b.requiresGrad) {
      // The bias gradient sums gy over N and the output plane: the backends' bias kernel
      // does exactly that for any geometry whose output is gy's shape (a 1x1 conv here).
      const sumGeometry: ConvGeometry = {
        N, C: Cout, H: oh, W: ow, K: Cout, R: 1, S: 1, strideH: 1, strideW: 1,
        padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1, groups: 1,
      };
      const d = new Float32Array(Cout);
      kb.conv2dBackwardBias(sumGeometry, gy, d);
      gb = new Tensor(d, b.shape.slice());
    }
    return [gx, gw, gb];
  });
}

/**
 * The inference path for a geometry `convolution` validated for x's shape (see
 * ConvInference.planned): output stage checks, the output buffer, one kernel call.
 */
export function inferenceForward(op: string, g: ConvGeometry, x: Tensor, w: Tensor, b: Tensor | null,
                                 inf: ConvInference, outShape: number[]): Tensor {
  const r = inf.residual ?? null;
  if (needsGrad(x, w, b, r)) throw new Error(`${op}: the inference path records no gradient; call it without a tape`);
  if (r && (r.shape.length !== outShape.length || r.shape.some((d, i) => d !== outShape[i]))) {
    throw new RangeError(`${op}: residual ${formatShape(r.shape)} must have the output's shape ${formatShape(outShape)}`);
  }
  const n = g.N * g.K * convOutputSize(g.H, g.R, g.strideH, g.padTop, g.padBottom, g.dilationH) *
    convOutputSize(g.W, g.S, g.strideW, g.padLeft, g.padRight, g.dilationW);
  const be = backend();
  const into = inf.into ?? null;
  if (into !== null) {
    if (typeof into !== 'object' || !(into.data instanceof Float32Array)) {
      throw new TypeError(`${op}: into must be { data: Float32Array, imageStride: number }, got ${describeValue(into)}`);
    }
    if (r) throw new RangeError(`${op}: a residual needs a contiguous output (no 'into')`);
    be.conv2dForwardPrepared(g, x.data, inf.prepared(be, g), null, inf.relu ?? false, into.data, into.imageStride);
    return new Tensor(into.data, [into.data.length]);
  }
  const y = inf.alloc ? inf.alloc(n) : be.allocate(n);
  if (!(y instanceof Float32Array) || y.length !== n) throw new RangeError(`${op}: alloc(${n}) must return a Float32Array of ${n} elements`);
  be.conv2dForwardPrepared(g, x.data, inf.prepared(be, g), r ? r.data : null, inf.relu ?? false, y);
  return new Tensor(y, outShape);
}

/** 1-D cross-correlation: input [N, C, L] (or [C, L]), weight [Cout, C/groups, k]. */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: ConvOptions): Tensor {
  const o = optionsOf('conv1d', options, CONV_KEYS);
  return convolution('conv1d', input, weight, bias, { ...o, dims: 1 });
}

/** 2-D cross-correlation (what every framework calls conv): input [N, C, H, W], weight [Cout, C/groups, kH, kW]. */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: ConvOptions): Tensor {
  const o = optionsOf('conv2d', options, CONV_KEYS);
  return convolution('conv2d', input, weight, bias, { ...o, dims: 2 });
}

/** 1-D true convolution: conv1d with the kernel reversed; options as conv1d. */
export function convolve1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: ConvOptions): Tensor {
  const o = optionsOf('convolve1d', options, CONV_KEYS);
  return convolution('convolve1d', input, weight, bias, { ...o, dims: 1, flip: true });
}

/** 2-D true convolution: conv2d with each kernel flipped in both spatial axes; options as conv2d. */
export function convolve2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: ConvOptions): Tensor {
  const o = optionsOf('convolve2d', options, CONV_KEYS);
  return convolution('convolve2d', input, weight, bias, { ...o, dims: 2, flip: true });
}

/** Transposed 1-D convolution: input [N, Cin, L], weight [Cin, Cout/groups, k]. */
export function convTranspose1d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: ConvTransposeOptions): Tensor {
  const o = optionsOf('convTranspose1d', options, CONVT_KEYS);
  return convolution('convTranspose1d', input, weight, bias, { ...o, dims: 1, transposed: true });
}

/** Transposed 2-D convolution: input [N, Cin, H, W], weight [Cin, Cout/groups, kH, kW]. */
export function convTranspose2d(input: Tensor, weight: Tensor, bias?: Tensor | null, options?: ConvTransposeOptions): Tensor {
  const o = optionsOf('convTranspose2d', options, CONVT_KEYS);
  return convolution('convTranspose2d', input, weight, bias, { ...o, dims: 2, transposed: true });
}
