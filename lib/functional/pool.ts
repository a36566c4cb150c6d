// Pooling: max, average and adaptive average, 1-D and 2-D, on the backend's 2-D pool
// kernels (1-D: H = 1). Output sizes follow PyTorch (poolOutputSize), including ceilMode.
import { Tensor, formatShape } from '../tensor';
import { record, needsGrad } from '../autograd/engine';
import { backend } from '../backend/select';
import type { AdaptivePoolGeometry, AvgPoolGeometry, PoolGeometry } from '../backend/backend';
import { poolOutputSize } from '../backend/backend';
import { checkBoolean, checkInt, checkTensorArg, describeValue, intTuple, optionsOf } from './options';

export interface MaxPoolOptions {
  /** Window size: a number or one per spatial dim (required). */
  kernelSize: number | number[];
  /** Default (undefined or null): kernelSize. */
  stride?: number | number[] | null;
  /** Implicit -inf padding on both sides, at most half the kernel size. */
  padding?: number | number[];
  dilation?: number | number[];
  /** Use ceil instead of floor for the output size (a last window starting in the right padding is dropped). */
  ceilMode?: boolean;
}

export interface AvgPoolOptions {
  kernelSize: number | number[];
  stride?: number | number[] | null;
  /** Implicit zero padding on both sides, at most half the kernel size. */
  padding?: number | number[];
  ceilMode?: boolean;
  /** Count the zero padding in the divisor (default true). */
  countIncludePad?: boolean;
}

const MAX_KEYS = ['kernelSize', 'stride', 'padding', 'dilation', 'ceilMode'] as const;
const AVG_KEYS = ['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad'] as const;

interface Layout {
  batched: boolean;
  N: number; C: number;
  /** Spatial sizes as the 2-D kernels see them (1-D: [1, L]). */
  H: number; W: number;
}

function layoutOf(op: string, x: Tensor, nd: 1 | 2): Layout {
  if (x.ndim !== nd + 2 && x.ndim !== nd + 1) {
    const l = nd === 1 ? '[N, C, L]' : '[N, C, H, W]', u = nd === 1 ? '[C, L]' : '[C, H, W]';
    throw new RangeError(`${op}: expected a ${nd + 2}-D input ${l} (or ${nd + 1}-D unbatched ${u}), got shape ${formatShape(x.shape)}`);
  }
  const batched = x.ndim === nd + 2;
  const s = batched ? x.shape : [1, ...x.shape];
  if (s.some((d) => d < 1)) throw new RangeError(`${op}: input ${formatShape(x.shape)} has an empty dimension`);
  return nd === 1 ? { batched, N: s[0], C: s[1], H: 1, W: s[2] } : { batched, N: s[0], C: s[1], H: s[2], W: s[3] };
}

function outShapeOf(l: Layout, nd: 1 | 2, oh: number, ow: number): number[] {
  const sp = nd === 1 ? [ow] : [oh, ow];
  return l.batched ? [l.N, l.C, ...sp] : [l.C, ...sp];
}

interface WindowParams { kernel: number[]; stride: number[]; padding: number[]; dilation: number[]; ceilMode: boolean }

function windowParams(op: string, nd: 1 | 2, o: Partial<MaxPoolOptions>, withDilation: boolean): WindowParams {
  if (o.kernelSize === undefined) throw new TypeError(`${op}: kernelSize is required`);
  const kernel = intTuple(op, 'kernelSize', o.kernelSize, nd, 1);
  const stride = o.stride === undefined || o.stride === null ? kernel.slice() : intTuple(op, 'stride', o.stride, nd, 1);
  const padding = intTuple(op, 'padding', o.padding ?? 0, nd, 0);
  const dilation = withDilation ? intTuple(op, 'dilation', o.dilation ?? 1, nd, 1) : new Array<number>(nd).fill(1);
  const ceilMode = checkBoolean(op, 'ceilMode', o.ceilMode ?? false);
  for (let i = 0; i < nd; i++) {
    if (padding[i] > kernel[i] / 2) {
      throw new RangeError(`${op}: padding ${describeValue(o.padding)} must be at most half of kernelSize ${describeValue(o.kernelSize)}`);
    }
  }
  return { kernel, stride, padding, dilation, ceilMode };
}

function poolGeometry(op: string, nd: 1 | 2, l: Layout, p: WindowParams, x: Tensor): PoolGeometry {
  const two = (a: number[], one: number) => (nd === 1 ? [one, a[0]] : a);
  const [kh, kw] = two(p.kernel, 1), [sh, sw] = two(p.stride, 1);
  const [ph, pw] = two(p.padding, 0), [dh, dw] = two(p.dilation, 1);
  const OH = poolOutputSize(l.H, kh, sh, ph, dh, p.ceilMode);
  const OW = poolOutputSize(l.W, kw, sw, pw, dw, p.ceilMode);
  if (OH < 1 || OW < 1) {
    const eff = p.kernel.map((k, i) => p.dilation[i] * (k - 1) + 1);
    throw new RangeError(`${op}: the window ${eff.join('x')} (dilation included) does not fit the input ${formatShape(x.shape)} with padding ${p.padding.join('x')}: output size would be ${(nd === 1 ? [OW] : [OH, OW]).join('x')}`);
  }
  return {
    N: l.N, C: l.C, H: l.H, W: l.W, kernelH: kh, kernelW: kw, strideH: sh, strideW: sw,
    padH: ph, padW: pw, dilationH: dh, dilationW: dw, OH, OW,
  };
}

function maxPool(op: string, nd: 1 | 2, input: Tensor, options: MaxPoolOptions,
                 alloc?: (n: number) => Float32Array): Tensor {
  const x = checkTensorArg(op, 'input', input);
  const o = optionsOf(op, options, MAX_KEYS);
  if (options === undefined || options === null) throw new TypeError(`${op}: options with kernelSize are required`);
  const l = layoutOf(op, x, nd);
  const g = poolGeometry(op, nd, l, windowParams(op, nd, o, true), x);
  const n = g.N * g.C * g.OH * g.OW;
  if (alloc && needsGrad(x)) throw new Error(`${op}: an output buffer is for inference only (no tape)`);
  const y = alloc ? alloc(n) : new Float32Array(n);
  if (!(y instanceof Float32Array) || y.length !== n) throw new RangeError(`${op}: alloc(${n}) must return a Float32Array of ${n} elements`);
  // The argmax indices only serve the backward: skipped when nothing is recorded.
  if (!needsGrad(x)) {
    backend().maxPool2dForward(g, x.data, y, null);
    return new Tensor(y, outShapeOf(l, nd, g.OH, g.OW));
  }
  const indices = new Int32Array(n);
  backend().maxPool2dForward(g, x.data, y, indices);
  const out = new Tensor(y, outShapeOf(l, nd, g.OH, g.OW));
  return record(out, op, [x], (gy) => {
    const gx = new Float32Array(x.size);
    backend().maxPool2dBackward(g, gy.data, indices, gx);
    return [new Tensor(gx, x.shape.slice())];
  });
}

function avgPool(op: string, nd: 1 | 2, input: Tensor, options: AvgPoolOptions): Tensor {
  const x = checkTensorArg(op, 'input', input);
  const o = optionsOf(op, options, AVG_KEYS);
  if (options === undefined || options === null) throw new TypeError(`${op}: options with kernelSize are required`);
  const l = layoutOf(op, x, nd);
  const countIncludePad = checkBoolean(op, 'countIncludePad', o.countIncludePad ?? true);
  const g: AvgPoolGeometry = { ...poolGeometry(op, nd, l, windowParams(op, nd, o, false), x), countIncludePad };
  const y = new Float32Array(g.N * g.C * g.OH * g.OW);
  backend().avgPool2dForward(g, x.data, y);
  const out = new Tensor(y, outShapeOf(l, nd, g.OH, g.OW));
  if (!needsGrad(x)) return out;
  return record(out, op, [x], (gy) => {
    const gx = new Float32Array(x.size);
    backend().avgPool2dBackward(g, gy.data, gx);
    return [new Tensor(gx, x.shape.slice())];
  });
}

/** Max pooling over [N, C, L] (or [C, L]). */
export function maxPool1d(input: Tensor, options: MaxPoolOptions): Tensor {
  return maxPool('maxPool1d', 1, input, options);
}

/** Max pooling over [N, C, H, W] (or [C, H, W]); padding counts as -inf, ties go to the first maximum. */
export function maxPool2d(input: Tensor, options: MaxPoolOptions): Tensor {
  return maxPool('maxPool2d', 2, input, options);
}

/** maxPool2d without a tape, its output in a buffer from alloc(n) (the models' activation pools). */
export function maxPool2dInto(input: Tensor, options: MaxPoolOptions, alloc: (n: number) => Float32Array): Tensor {
  return maxPool('maxPool2d', 2, input, options, alloc);
}

/** Average pooling over [N, C, L] (or [C, L]). */
export function avgPool1d(input: Tensor, options: AvgPoolOptions): Tensor {
  return avgPool('avgPool1d', 1, input, options);
}

/** Average (mean) pooling over [N, C, H, W] (or [C, H, W]). */
export function avgPool2d(input: Tensor, options: AvgPoolOptions): Tensor {
  return avgPool('avgPool2d', 2, input, options);
}

function adaptiveAvgPool(op: string, nd: 1 | 2, input: Tensor, outputSize: unknown): Tensor {
  const x = checkTensorArg(op, 'input', input);
  const l = layoutOf(op, x, nd);
  const inSp = nd === 1 ? [l.W] : [l.H, l.W];
  let sizes: number[];
  if (Array.isArray(outputSize)) {
    if (outputSize.length !== nd) {
      throw new RangeError(`${op}: outputSize must be a number or ${nd} entries, got ${describeValue(outputSize)}`);
    }
    sizes = outputSize.map((v, i) => (v === null || v === undefined ? inSp[i] : checkInt(op, `outputSize[${i}]`, v, 1)));
  } else {
    sizes = new Array<number>(nd).fill(checkInt(op, 'outputSize', outputSize, 1));
  }
  const [OH, OW] = nd === 1 ? [1, sizes[0]] : sizes;
  const g: AdaptivePoolGeometry = { N: l.N, C: l.C, H: l.H, W: l.W, OH, OW };
  const y = new Float32Array(l.N * l.C * OH * OW);
  backend().adaptiveAvgPool2dForward(g, x.data, y);
  const out = new Tensor(y, outShapeOf(l, nd, OH, OW));
  if (!needsGrad(x)) return out;
  return record(out, op, [x], (gy) => {
    const gx = new Float32Array(x.size);
    backend().adaptiveAvgPool2dBackward(g, gy.data, gx);
    return [new Tensor(gx, x.shape.slice())];
  });
}

/** Adaptive average pooling to `outputSize` over [N, C, L] (or [C, L]). */
export function adaptiveAvgPool1d(input: Tensor, outputSize: number | [number | null]): Tensor {
  return adaptiveAvgPool('adaptiveAvgPool1d', 1, input, outputSize);
}

/**
 * Adaptive average pooling to `outputSize` (a number, or [h, w] where null keeps the
 * input's size): bin i covers [floor(i*In/Out), ceil((i+1)*In/Out)).
 */
export function adaptiveAvgPool2d(input: Tensor, outputSize: number | Array<number | null>): Tensor {
  return adaptiveAvgPool('adaptiveAvgPool2d', 2, input, outputSize);
}
