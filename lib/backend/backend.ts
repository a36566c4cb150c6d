// The backend contract: flat kernels on Float32Arrays plus plain shape records.
// Both implementations (native/ behind N-API, js/ in TypeScript) provide all of it.
// Kernels never allocate their outputs: the caller passes every output array,
// which lets the layers above reuse buffers. Kernels validate their arguments and
// throw TypeError/RangeError naming the argument before touching memory.

/**
 * Geometry of one 2-D cross-correlation, NCHW, weight [K, C/groups, R, S].
 * 1-D convolutions use H = 1, R = 1, padTop = padBottom = 0, strideH = dilationH = 1.
 *
 * Padding is per side. padTop/padLeft must be >= 0; padBottom/padRight may be
 * negative (the transposed convolution's outputPadding maps onto that), as long as
 * the output is at least 1x1. The output size is
 *   OH = floor((H + padTop + padBottom - dilationH * (R - 1) - 1) / strideH) + 1
 * and likewise OW; `convOutputSize` computes it and every kernel checks it.
 */
export interface ConvGeometry {
  N: number; C: number; H: number; W: number;
  K: number; R: number; S: number;
  strideH: number; strideW: number;
  padTop: number; padBottom: number; padLeft: number; padRight: number;
  dilationH: number; dilationW: number;
  groups: number;
}

/**
 * Geometry of a 2-D pooling window, NCHW. The output size OH x OW is chosen by the
 * caller (floor or ceil mode, see `poolOutputSize`); kernels check that every window
 * starts inside the input or its left/top padding.
 */
export interface PoolGeometry {
  N: number; C: number; H: number; W: number;
  kernelH: number; kernelW: number;
  strideH: number; strideW: number;
  padH: number; padW: number;
  dilationH: number; dilationW: number;
  OH: number; OW: number;
}

export interface AvgPoolGeometry extends PoolGeometry {
  /** Divide by the window size including zero padding (but never past the padding). */
  countIncludePad: boolean;
}

/** Adaptive average pooling: output bin i covers [floor(i*In/Out), ceil((i+1)*In/Out)). */
export interface AdaptivePoolGeometry {
  N: number; C: number; H: number; W: number;
  OH: number; OW: number;
}

/**
 * One layer's weights made ready for many inference calls (`prepareConv2d`): scaled per
 * output channel (BatchNorm folding), with the final bias, and laid out for the kernels
 * (packed GEMM panels, Winograd-transformed filters, ...). Opaque; only the backend that
 * made it can run it. It stays valid for inputs of any N, H, W and padding, as long as
 * the filter (K, C, R, S), groups, strides and dilations match the geometry it was made for.
 */
export interface PreparedConv2d {
  readonly backend: 'native' | 'js';
  /** The forward algorithm it runs: 'im2col-gemm', 'gemm-1x1', 'winograd', 'direct-small',
   *  'depthwise-direct' (native) or 'js'. */
  readonly algorithm: string;
  /** The kernel behind the algorithm: its name again, or 'pixel-rows' (native, AVX-512: a
   *  1x1 convolution of planes up to 64 pixels with the vectors along the output channels). */
  readonly kernel: string;
  /** Bytes held by the prepared form. */
  readonly bytes: number;
}

/** One destination of conv2dForwardPreparedSplit: `channels` output channels, image n at data[n * imageStride ..]. */
export interface ConvOutputPart {
  data: Float32Array;
  channels: number;
  imageStride: number;
}

/** At most this many outputs in conv2dForwardPreparedSplit. */
export const MAX_CONV_OUTPUT_PARTS = 8;

export interface BackendInfo {
  /** 'native' or 'js'. */
  name: 'native' | 'js';
  /** Instruction set the kernels run with: 'avx512', 'avx2', 'scalar' or 'js'. */
  isa: string;
  /** CPU features detected (native only), e.g. ['sse4.2', 'avx2', 'fma', 'avx512f']. */
  cpuFeatures: string[];
  /** Whether the native library was built with OpenMP. */
  openmp: boolean;
}

export interface Backend {
  readonly name: 'native' | 'js';
  info(): BackendInfo;

  /** Threads used by the kernels (the JS backend always runs on one). */
  setNumThreads(n: number): void;
  getNumThreads(): number;

  /**
   * C = alpha * op(A) * op(B) + beta * C, row-major, op(A) is M x K, op(B) is K x N.
   * A is M x K (or K x M when transA), B is K x N (or N x K when transB), C is M x N.
   * With beta = 0, C is not read (NaN in C does not propagate).
   */
  gemm(transA: boolean, transB: boolean, M: number, N: number, K: number,
       alpha: number, A: Float32Array, B: Float32Array, beta: number, C: Float32Array): void;

  /** y[N, K, OH, OW] = conv(x[N, C, H, W], w[K, C/g, R, S]) + bias[K] (bias may be null). */
  conv2dForward(g: ConvGeometry, x: Float32Array, w: Float32Array, bias: Float32Array | null,
                y: Float32Array): void;
  /** The forward algorithm the kernels pick for a geometry ('js' on the JS backend). */
  convAlgorithm(g: ConvGeometry): string;
  /**
   * Prepares w[K, C/g, R, S] for conv2dForwardPrepared: w'[k] = w[k] * scale[k] (scale
   * null: 1), bias' = bias (null: none). The arrays may change afterwards; the prepared
   * form keeps its own copy.
   */
  prepareConv2d(g: ConvGeometry, w: Float32Array, scale: Float32Array | null,
                bias: Float32Array | null): PreparedConv2d;
  /**
   * y = relu?(conv(x, w') + bias' + residual) with prepared weights: the bias, the residual
   * (same shape as y, or null) and the ReLU are applied in the convolution's output stage.
   * residual may be y itself (the same elements): the result is then added in place
   * (y = relu?(y + conv + bias'), a shortcut accumulated into its own buffer).
   * yImageStride (default K*OH*OW): y's images that many floats apart, y holding at least
   * (N-1)*yImageStride + K*OH*OW floats: the output fills channels of a wider tensor (a
   * concatenation) and the floats between the images are not written. Not with a residual.
   */
  conv2dForwardPrepared(g: ConvGeometry, x: Float32Array, prepared: PreparedConv2d,
                        residual: Float32Array | null, relu: boolean, y: Float32Array,
                        yImageStride?: number): void;
  /**
   * Sibling layers (convolutions of one input with the same filter size, stride, padding
   * and dilation) as one: conv2dForwardPrepared without a residual, where `prepared` holds
   * the siblings' filters one after another and the K output channels go in order to
   * 1 to MAX_CONV_OUTPUT_PARTS outputs whose channels add up to K: output i's channel j of
   * image n is outputs[i].data[n * imageStride + j * OH*OW ..] (imageStride >= channels *
   * OH*OW; the floats between images are not written). The outputs must not share memory
   * with x or with each other. The input is read once for all of them.
   */
  conv2dForwardPreparedSplit(g: ConvGeometry, x: Float32Array, prepared: PreparedConv2d,
                             relu: boolean, outputs: ConvOutputPart[]): void;
  /**
   * A zero-filled Float32Array of n floats for activations, laid out the way this backend's
   * kernels read fastest (native: starting on a 64-byte cache line; JS: a plain array).
   */
  allocate(n: number): Float32Array;
  /** y[i] = max(x[i], 0) with NaN kept (PyTorch's relu; -0 gives +0); y may be x itself. */
  reluForward(x: Float32Array, y: Float32Array): void;
  /** gx[i] = y[i] > 0 ? gy[i] : 0 from relu's output y; gx may be gy itself. */
  reluBackward(y: Float32Array, gy: Float32Array, gx: Float32Array): void;
  /** gx[N, C, H, W] = d(loss)/dx given gy[N, K, OH, OW]. Overwrites gx. */
  conv2dBackwardInput(g: ConvGeometry, gy: Float32Array, w: Float32Array, gx: Float32Array): void;
  /** gw[K, C/g, R, S] = d(loss)/dw given x and gy. Overwrites gw. */
  conv2dBackwardWeight(g: ConvGeometry, x: Float32Array, gy: Float32Array, gw: Float32Array): void;
  /** gb[K] = sum of gy over N, OH, OW. Overwrites gb. */
  conv2dBackwardBias(g: ConvGeometry, gy: Float32Array, gb: Float32Array): void;

  /** Max pooling; `indices` receives, per output, the flat h*W+w index of the chosen input
   *  (the first maximum in row-major window order; padding counts as -inf; -1 for a window
   *  of padding only). Pass null when no backward will run (inference): nothing is written
   *  then, and y is the same. */
  maxPool2dForward(g: PoolGeometry, x: Float32Array, y: Float32Array,
                   indices: Int32Array | null): void;
  /** gx = scatter-add of gy through `indices`. Overwrites gx. */
  maxPool2dBackward(g: PoolGeometry, gy: Float32Array, indices: Int32Array, gx: Float32Array): void;

  avgPool2dForward(g: AvgPoolGeometry, x: Float32Array, y: Float32Array): void;
  /** Overwrites gx. */
  avgPool2dBackward(g: AvgPoolGeometry, gy: Float32Array, gx: Float32Array): void;

  adaptiveAvgPool2dForward(g: AdaptivePoolGeometry, x: Float32Array, y: Float32Array): void;
  /** Overwrites gx. */
  adaptiveAvgPool2dBackward(g: AdaptivePoolGeometry, gy: Float32Array, gx: Float32Array): void;
}

/** Output length of a convolution along one axis (may be <= 0 for impossible shapes). */
export function convOutputSize(n: number, k: number, stride: number, padBefore: number,
                               padAfter: number, dilation: number): number {
  return Math.floor((n + padBefore + padAfter - dilation * (k - 1) - 1) / stride) + 1;
}

/**
 * Output length of a pooling window along one axis, PyTorch's rule: with ceilMode the
 * last window is kept only if it starts inside the input or the left padding.
 */
export function poolOutputSize(n: number, k: number, stride: number, pad: number,
                               dilation: number, ceilMode: boolean): number {
  const span = n + 2 * pad - dilation * (k - 1) - 1;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= n + pad) out--;
  return out;
}
