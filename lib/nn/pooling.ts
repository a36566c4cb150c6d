// Pooling layers: max and average, 1-D and 2-D, and adaptive average 2-D.
import { Tensor, formatShape } from '../tensor';
import * as F from '../functional';
import { maxPool2dInto } from '../functional/pool';
import { Module } from './module';
import { arr, checkBool, checkNonNegativeInt, checkOptionKeys, checkPositiveInt, tuple } from './util';

export interface MaxPoolOptions {
  /** Default: the kernel size. */
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  ceilMode?: boolean;
}

export interface AvgPoolOptions {
  /** Default: the kernel size. */
  stride?: number | number[];
  padding?: number | number[];
  ceilMode?: boolean;
  /** Count the zero padding in the divisor (default true, as in PyTorch). */
  countIncludePad?: boolean;
}

abstract class MaxPoolNd extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly dilation: number[];
  readonly ceilMode: boolean;

  constructor(layer: string, n: number, kernelSize: number | number[], options: MaxPoolOptions) {
    super();
    checkOptionKeys(layer, options, ['stride', 'padding', 'dilation', 'ceilMode']);
    const o = options ?? {};
    this.kernelSize = tuple(layer, 'kernelSize', kernelSize, n, checkPositiveInt);
    this.stride = o.stride === undefined || o.stride === null ? this.kernelSize.slice() : tuple(layer, 'stride', o.stride, n, checkPositiveInt);
    this.padding = tuple(layer, 'padding', o.padding ?? 0, n, checkNonNegativeInt);
    this.dilation = tuple(layer, 'dilation', o.dilation ?? 1, n, checkPositiveInt);
    this.ceilMode = checkBool(layer, 'ceilMode', o.ceilMode ?? false);
    this.padding.forEach((p, i) => {
      const effective = this.dilation[i] * (this.kernelSize[i] - 1) + 1;
      if (2 * p > effective) throw new RangeError(`${layer}: padding ${arr(this.padding)} must be at most half of the effective kernel size ${effective}`);
    });
  }

  protected opts() {
    return { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode };
  }

  override extraRepr(): string {
    return `kernelSize=${arr(this.kernelSize)}, stride=${arr(this.stride)}, padding=${arr(this.padding)}, dilation=${arr(this.dilation)}, ceilMode=${this.ceilMode}`;
  }
}

/** Max pooling over [N, C, L]. */
export class MaxPool1d extends MaxPoolNd {
  constructor(kernelSize: number | number[], options: MaxPoolOptions = {}) {
    super('MaxPool1d', 1, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return F.maxPool1d(x, this.opts());
  }
}

/** Max pooling over [N, C, H, W]. */
export class MaxPool2d extends MaxPoolNd {
  constructor(kernelSize: number | number[], options: MaxPoolOptions = {}) {
    super('MaxPool2d', 2, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.opts());
  }

  /** forward without a tape, the output in a buffer from alloc(n) (inference). */
  forwardInto(x: Tensor, alloc: (n: number) => Float32Array): Tensor {
    return maxPool2dInto(x, this.opts(), alloc);
  }
}

abstract class AvgPoolNd extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(layer: string, n: number, kernelSize: number | number[], options: AvgPoolOptions) {
    super();
    checkOptionKeys(layer, options, ['stride', 'padding', 'ceilMode', 'countIncludePad']);
    const o = options ?? {};
    this.kernelSize = tuple(layer, 'kernelSize', kernelSize, n, checkPositiveInt);
    this.stride = o.stride === undefined || o.stride === null ? this.kernelSize.slice() : tuple(layer, 'stride', o.stride, n, checkPositiveInt);
    this.padding = tuple(layer, 'padding', o.padding ?? 0, n, checkNonNegativeInt);
    this.ceilMode = checkBool(layer, 'ceilMode', o.ceilMode ?? false);
    this.countIncludePad = checkBool(layer, 'countIncludePad', o.countIncludePad ?? true);
    this.padding.forEach((p, i) => {
      if (2 * p > this.kernelSize[i]) throw new RangeError(`${layer}: padding ${arr(this.padding)} must be at most half of the kernel size ${arr(this.kernelSize)}`);
    });
  }

  protected opts() {
    return { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad };
  }

  override extraRepr(): string {
    return `kernelSize=${arr(this.kernelSize)}, stride=${arr(this.stride)}, padding=${arr(this.padding)}` +
      (this.ceilMode ? ', ceilMode=true' : '') + (this.countIncludePad ? '' : ', countIncludePad=false');
  }
}

/** Average pooling over [N, C, L]. */
export class AvgPool1d extends AvgPoolNd {
  constructor(kernelSize: number | number[], options: AvgPoolOptions = {}) {
    super('AvgPool1d', 1, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return F.avgPool1d(x, this.opts());
  }
}

/** Average pooling over [N, C, H, W]. */
export class AvgPool2d extends AvgPoolNd {
  constructor(kernelSize: number | number[], options: AvgPoolOptions = {}) {
    super('AvgPool2d', 2, kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.opts());
  }
}

/**
 * Average pooling to a fixed output size whatever the input size ([N, C, H, W] to
 * [N, C, oH, oW]); a null entry keeps that input dimension. 1 gives global pooling.
 */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: Array<number | null>;

  constructor(outputSize: number | Array<number | null>) {
    super();
    if (Array.isArray(outputSize)) {
      if (outputSize.length !== 2) throw new RangeError(`AdaptiveAvgPool2d: outputSize must be a number or 2 entries, got [${outputSize.join(', ')}]`);
      this.outputSize = outputSize.map((v, i) => (v === null ? null : checkPositiveInt('AdaptiveAvgPool2d', `outputSize[${i}]`, v)));
    } else {
      const v = checkPositiveInt('AdaptiveAvgPool2d', 'outputSize', outputSize);
      this.outputSize = [v, v];
    }
  }

  forward(x: Tensor): Tensor {
    if (x.ndim < 2) throw new RangeError(`AdaptiveAvgPool2d: expected [N, C, H, W] or [C, H, W] input, got ${formatShape(x.shape)}`);
    const size = this.outputSize.map((v, i) => v ?? x.shape[x.ndim - 2 + i]);
    return F.adaptiveAvgPool2d(x, size);
  }

  override extraRepr(): string {
    return `outputSize=[${this.outputSize.map((v) => (v === null ? 'null' : v)).join(', ')}]`;
  }
}
