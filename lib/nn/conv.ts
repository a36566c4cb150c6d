// Convolution layers: Conv1d, Conv2d (cross-correlation or true convolution),
// ConvTranspose1d, ConvTranspose2d. Weights in PyTorch's layouts, PyTorch's default
// initialisation, seedable.
import { Tensor } from '../tensor';
import * as F from '../functional';
import { inferenceForward } from '../functional/conv';
import type { ConvDestination, ConvInference } from '../functional/conv';
import type { ConvGeometry } from '../backend/backend';
import { sameShape } from '../ops/util';
import { needsGrad } from '../autograd/engine';
import type { BatchNorm2d } from './normalization';
import { PreparedWeights } from './prepared_weights';
import { Module } from './module';
import { Parameter, emptyParameter } from './parameter';
import { defaultLayerInit_ } from './init';
import {
  ConvPadding, PaddingMode, RandomOptions, arr, checkBool, checkNonNegativeInt, checkOptionKeys,
  checkPositiveInt, convPadding, generatorOf, paddingForF, paddingRepr, tuple,
} from './util';

/** How the input is padded before a convolution (PyTorch's padding_mode). */
export type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface ConvOptions extends RandomOptions {
  stride?: number | number[];
  /** A number, per-dimension numbers, per-side pairs, or 'valid' | 'same' | 'full'. */
  padding?: ConvPadding;
  dilation?: number | number[];
  groups?: number;
  /** Learnable bias (default true). */
  bias?: boolean;
  /** Default 'zeros'; the others pad with F.pad first. */
  paddingMode?: ConvPaddingMode;
}

export type ConvMode = 'cross-correlation' | 'convolution';

/** A geometry fusedForward validated, for the input shape and tensors it was validated with. */
interface InferencePlan {
  xShape: number[];
  wShape: number[];
  weight: Tensor;
  bias: Tensor | null;
  g: ConvGeometry;
  outShape: number[];
}

/** What Conv1d/Conv2d.fusedForward applies after the convolution, in this order. */
export interface FusedConvOptions {
  /** An eval-mode BatchNorm over the output channels, folded into the weights. */
  bn?: BatchNorm2d | null;
  /** Added after the BatchNorm (a residual connection); the output's shape. */
  residual?: Tensor | null;
  relu?: boolean;
  /** Where the output goes: a Float32Array of n elements, overwritten (default: a fresh one). */
  alloc?: (n: number) => Float32Array;
  /**
   * Or into the channels of a wider tensor: image n at into.data[n * into.imageStride ..]
   * (a concatenation's buffer from this part's first channel on). The returned Tensor is
   * then into.data itself, 1-D. Not with a residual.
   */
  into?: ConvDestination | null;
}

export interface Conv2dOptions extends ConvOptions {
  /** 'cross-correlation' (default, F.conv2d, what every framework calls conv) or
   * 'convolution' (F.convolve2d: the kernel flipped in both spatial axes). */
  mode?: ConvMode;
}

export interface Conv1dOptions extends ConvOptions {
  /** 'cross-correlation' (default, F.conv1d) or 'convolution' (F.convolve1d: the kernel reversed). */
  mode?: ConvMode;
}

export interface ConvTransposeOptions extends RandomOptions {
  stride?: number | number[];
  padding?: number | number[];
  outputPadding?: number | number[];
  dilation?: number | number[];
  groups?: number;
  bias?: boolean;
}

const CONV_KEYS = ['stride', 'padding', 'dilation', 'groups', 'bias', 'paddingMode', 'seed', 'generator'] as const;
const PADDING_MODES: readonly ConvPaddingMode[] = ['zeros', 'reflect', 'replicate', 'circular'];

function checkChannels(layer: string, inChannels: unknown, outChannels: unknown, groups: number): void {
  checkPositiveInt(layer, 'inChannels', inChannels);
  checkPositiveInt(layer, 'outChannels', outChannels);
  if ((inChannels as number) % groups !== 0) throw new RangeError(`${layer}: inChannels (${inChannels}) must be divisible by groups (${groups})`);
  if ((outChannels as number) % groups !== 0) throw new RangeError(`${layer}: outChannels (${outChannels}) must be divisible by groups (${groups})`);
}

/** Shared by Conv1d and Conv2d: `n` spatial dimensions. */
abstract class ConvNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  /** A mode, or per-side pairs [[before, after], ...] per spatial dimension. */
  readonly padding: PaddingMode | Array<[number, number]>;
  readonly dilation: number[];
  readonly groups: number;
  readonly paddingMode: ConvPaddingMode;
  /** 'cross-correlation' (the usual conv layer) or 'convolution' (kernel flipped). */
  readonly mode: ConvMode;
  weight: Parameter;
  bias: Parameter | null;
  /** Weights prepared for the inference path (see fusedForward). */
  private readonly inference = new PreparedWeights();
  /** The geometry validated for the last inference input shape (see fusedForward). */
  private lastPlan: InferencePlan | null = null;

  constructor(layer: string, n: number, inChannels: number, outChannels: number,
              kernelSize: number | number[], options: ConvOptions & { mode?: ConvMode }) {
    super();
    checkOptionKeys(layer, options, [...CONV_KEYS, 'mode']);
    const o = options ?? {};
    const mode = o.mode ?? 'cross-correlation';
    if (mode !== 'cross-correlation' && mode !== 'convolution') {
      throw new RangeError(`${layer}: mode must be 'cross-correlation' or 'convolution', got '${String(mode)}'`);
    }
    this.mode = mode;
    this.groups = checkPositiveInt(layer, 'groups', o.groups ?? 1);
    checkChannels(layer, inChannels, outChannels, this.groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = tuple(layer, 'kernelSize', kernelSize, n, checkPositiveInt);
    this.stride = tuple(layer, 'stride', o.stride ?? 1, n, checkPositiveInt);
    this.dilation = tuple(layer, 'dilation', o.dilation ?? 1, n, checkPositiveInt);
    this.padding = convPadding(layer, o.padding ?? 0, n);
    if (this.padding === 'same' && this.stride.some((s) => s !== 1)) {
      throw new RangeError(`${layer}: padding 'same' needs stride 1 (got stride ${arr(this.stride)}), as in PyTorch`);
    }
    const pm = o.paddingMode ?? 'zeros';
    if (!PADDING_MODES.includes(pm)) throw new RangeError(`${layer}: paddingMode must be one of ${PADDING_MODES.join(', ')}, got '${pm}'`);
    this.paddingMode = pm;
    const hasBias = checkBool(layer, 'bias', o.bias ?? true);
    const gen = generatorOf(layer, o);
    this.weight = emptyParameter([outChannels, inChannels / this.groups, ...this.kernelSize]);
    this.bias = hasBias ? emptyParameter([outChannels]) : null;
    defaultLayerInit_(this.weight, this.bias, gen);
  }

  /** Re-draws weight and bias from PyTorch's default distribution. */
  resetParameters(options: RandomOptions = {}): void {
    defaultLayerInit_(this.weight, this.bias, generatorOf(this.typeName, options));
  }

  /** The per-side padding [[before, after], ...] a mode stands for at this kernel size. */
  explicitPadding(): Array<[number, number]> {
    const p = this.padding;
    if (typeof p !== 'string') return p.map(([a, b]) => [a, b] as [number, number]);
    return this.kernelSize.map((k, i) => {
      const total = this.dilation[i] * (k - 1);
      if (p === 'valid') return [0, 0] as [number, number];
      if (p === 'full') return [total, total] as [number, number];
      const before = Math.floor(total / 2); // PyTorch's 'same': the extra one goes after
      return [before, total - before] as [number, number];
    });
  }

  /** The input padded (non-zero padding modes) and the padding left for the conv. */
  protected prepare(x: Tensor): { x: Tensor; padding: ConvPadding } {
    if (this.paddingMode === 'zeros') return { x, padding: paddingForF(this.padding) };
    const pads: number[] = [];
    const sides = this.explicitPadding();
    for (let i = sides.length - 1; i >= 0; i--) pads.push(sides[i][0], sides[i][1]); // last dim first
    const padded = pads.some((v) => v > 0) ? F.pad(x, pads, { mode: this.paddingMode as 'reflect' | 'replicate' | 'circular' }) : x;
    return { x: padded, padding: 0 };
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=${arr(this.kernelSize)}, stride=${arr(this.stride)}`;
    const zeroPad = typeof this.padding !== 'string' && this.padding.every(([a, b]) => a === 0 && b === 0);
    if (!zeroPad) s += `, padding=${paddingRepr(this.padding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${arr(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=false';
    if (this.paddingMode !== 'zeros') s += `, paddingMode='${this.paddingMode}'`;
    if (this.mode === 'convolution') s += `, mode='convolution'`;
    return s;
  }

  /**
   * The inference path (no tape): this convolution, then optionally an eval-mode
   * BatchNorm folded into its weights, a residual added and a ReLU, all in the kernel's
   * output stage, with the weights prepared once (packed; remade when they change, see
   * markDataChanged). Equal to relu(bn(conv(x)) + residual) up to rounding.
   */
  fusedForward(x: Tensor, options: FusedConvOptions = {}): Tensor {
    const name = `${this.typeName}.fusedForward`;
    if (this.mode !== 'cross-correlation') throw new Error(`${name}: only for mode 'cross-correlation'`);
    const bn = options.bn ?? null;
    if (bn !== null) {
      if (bn.training) throw new Error(`${name}: the BatchNorm must be in eval mode to be folded`);
      if (!bn.runningMean || !bn.runningVar) throw new Error(`${name}: the BatchNorm has no running statistics to fold`);
      if (bn.numFeatures !== this.outChannels) {
        throw new RangeError(`${name}: the BatchNorm has ${bn.numFeatures} features, the convolution ${this.outChannels} output channels`);
      }
    }
    const folded = bn ? { weight: bn.weight, bias: bn.bias, runningMean: bn.runningMean!, runningVar: bn.runningVar!, eps: bn.eps } : null;
    const op = this.typeName === 'Conv1d' ? 'conv1d' : 'conv2d';
    const weight = this.weight, bias = this.bias;
    const inference: ConvInference = {
      prepared: (be, g) => this.inference.get(be, g, weight, bias, folded),
      residual: options.residual ?? null,
      relu: options.relu ?? false,
      alloc: options.alloc,
      into: options.into ?? null,
    };
    // The same input shape and tensors as the geometry validated last time: straight to the
    // kernel (a batch-1 call spends as long in the checks below as in the kernel).
    const plan = this.lastPlan;
    if (plan !== null && x instanceof Tensor && plan.weight === weight && plan.bias === bias &&
        sameShape(plan.xShape, x.shape) && sameShape(plan.wShape, weight.shape)) {
      return inferenceForward(op, plan.g, x, weight, bias, inference, plan.outShape.slice());
    }
    const p = this.prepare(x);
    if (p.x === x) {
      inference.planned = (g, outShape) => {
        this.lastPlan = { xShape: x.shape.slice(), wShape: weight.shape.slice(), weight, bias, g: { ...g }, outShape: outShape.slice() };
      };
    }
    return F.convolution(op, p.x, weight, bias, {
      ...this.convOptions(p.padding), dims: this.kernelSize.length as 1 | 2, inference,
    });
  }

  /** The weights prepared for the inference path (algorithm, kernel, bytes), or null before
   *  any. */
  preparedInfo(): { algorithm: string; kernel: string; bytes: number } | null {
    return this.inference.describe();
  }

  /** Whether forward may take the inference path: no tape, plain cross-correlation. */
  protected inferenceApplies(x: Tensor): boolean {
    return this.mode === 'cross-correlation' && !needsGrad(x, this.weight, this.bias);
  }

  protected convOptions(padding: ConvPadding) {
    return { stride: this.stride, padding: padding as never, dilation: this.dilation, groups: this.groups };
  }
}

/**
 * 1-D convolution over [N, C, L] input; weight [outC, inC/groups, k]. Cross-correlation
 * by default; `mode: 'convolution'` reverses the kernel (F.convolve1d).
 */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: Conv1dOptions = {}) {
    super('Conv1d', 1, inChannels, outChannels, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    if (this.inferenceApplies(x)) return this.fusedForward(x);
    const p = this.prepare(x);
    const b = this.bias ?? undefined;
    return this.mode === 'convolution'
      ? F.convolve1d(p.x, this.weight, b, this.convOptions(p.padding))
      : F.conv1d(p.x, this.weight, b, this.convOptions(p.padding));
  }
}

/**
 * 2-D convolution over [N, C, H, W] input; weight [outC, inC/groups, kH, kW].
 * `mode: 'convolution'` computes true convolution (F.convolve2d) instead of the usual
 * cross-correlation; with the same weights it equals cross-correlation with each kernel
 * flipped in both axes.
 */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: Conv2dOptions = {}) {
    super('Conv2d', 2, inChannels, outChannels, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    if (this.inferenceApplies(x)) return this.fusedForward(x);
    const p = this.prepare(x);
    const b = this.bias ?? undefined;
    return this.mode === 'convolution'
      ? F.convolve2d(p.x, this.weight, b, this.convOptions(p.padding))
      : F.conv2d(p.x, this.weight, b, this.convOptions(p.padding));
  }
}

const CONVT_KEYS = ['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'bias', 'seed', 'generator'] as const;

abstract class ConvTransposeNd extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly outputPadding: number[];
  readonly dilation: number[];
  readonly groups: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(layer: string, n: number, inChannels: number, outChannels: number,
              kernelSize: number | number[], options: ConvTransposeOptions) {
    super();
    checkOptionKeys(layer, options, CONVT_KEYS);
    const o = options ?? {};
    this.groups = checkPositiveInt(layer, 'groups', o.groups ?? 1);
    checkChannels(layer, inChannels, outChannels, this.groups);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = tuple(layer, 'kernelSize', kernelSize, n, checkPositiveInt);
    this.stride = tuple(layer, 'stride', o.stride ?? 1, n, checkPositiveInt);
    this.padding = tuple(layer, 'padding', o.padding ?? 0, n, checkNonNegativeInt);
    this.outputPadding = tuple(layer, 'outputPadding', o.outputPadding ?? 0, n, checkNonNegativeInt);
    this.dilation = tuple(layer, 'dilation', o.dilation ?? 1, n, checkPositiveInt);
    this.outputPadding.forEach((op, i) => {
      if (op >= this.stride[i] && op >= this.dilation[i]) {
        throw new RangeError(`${layer}: outputPadding (${arr(this.outputPadding)}) must be smaller than stride (${arr(this.stride)}) or dilation (${arr(this.dilation)})`);
      }
    });
    const hasBias = checkBool(layer, 'bias', o.bias ?? true);
    this.weight = emptyParameter([inChannels, outChannels / this.groups, ...this.kernelSize]);
    this.bias = hasBias ? emptyParameter([outChannels]) : null;
    defaultLayerInit_(this.weight, this.bias, generatorOf(layer, o));
  }

  resetParameters(options: RandomOptions = {}): void {
    defaultLayerInit_(this.weight, this.bias, generatorOf(this.typeName, options));
  }

  protected opts() {
    return { stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups };
  }

  override extraRepr(): string {
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=${arr(this.kernelSize)}, stride=${arr(this.stride)}`;
    if (this.padding.some((p) => p !== 0)) s += `, padding=${arr(this.padding)}`;
    if (this.outputPadding.some((p) => p !== 0)) s += `, outputPadding=${arr(this.outputPadding)}`;
    if (this.dilation.some((d) => d !== 1)) s += `, dilation=${arr(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=false';
    return s;
  }
}

/** Transposed 1-D convolution; weight [inC, outC/groups, k]. */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvTransposeOptions = {}) {
    super('ConvTranspose1d', 1, inChannels, outChannels, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return F.convTranspose1d(x, this.weight, this.bias ?? undefined, this.opts());
  }
}

/** Transposed 2-D (fractionally-strided) convolution; weight [inC, outC/groups, kH, kW]. */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvTransposeOptions = {}) {
    super('ConvTranspose2d', 2, inChannels, outChannels, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return F.convTranspose2d(x, this.weight, this.bias ?? undefined, this.opts());
  }
}
