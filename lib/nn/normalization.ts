// BatchNorm1d/2d and LocalResponseNorm.
import { Tensor, formatShape, markDataChanged } from '../tensor';
import * as F from '../functional';
import { Module } from './module';
import { Parameter } from './parameter';
import { checkBool, checkFinite, checkOptionKeys, checkPositiveInt } from './util';

export interface BatchNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-average factor (default 0.1); null for a cumulative average over all batches. */
  momentum?: number | null;
  /** Learnable per-channel weight (1) and bias (0) (default true). */
  affine?: boolean;
  /** Keep running mean/var for eval mode (default true); without them batch stats are always used. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over channel dim 1. Buffers carry PyTorch's state_dict names
 * (`running_mean`, `running_var`, `num_batches_tracked`) so torchvision weights load;
 * read them as `runningMean`, `runningVar`, `numBatchesTracked`.
 */
abstract class BatchNormBase extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  weight: Parameter | null;
  bias: Parameter | null;

  constructor(layer: string, numFeatures: number, options: BatchNormOptions) {
    super();
    checkOptionKeys(layer, options, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    const o = options ?? {};
    this.numFeatures = checkPositiveInt(layer, 'numFeatures', numFeatures);
    this.eps = checkFinite(layer, 'eps', o.eps ?? 1e-5, { min: 0, minExclusive: true });
    this.momentum = o.momentum === null ? null : checkFinite(layer, 'momentum', o.momentum ?? 0.1, { min: 0, max: 1 });
    this.affine = checkBool(layer, 'affine', o.affine ?? true);
    this.trackRunningStats = checkBool(layer, 'trackRunningStats', o.trackRunningStats ?? true);
    this.weight = this.affine ? new Parameter(new Float32Array(numFeatures).fill(1), [numFeatures]) : null;
    this.bias = this.affine ? new Parameter(new Float32Array(numFeatures), [numFeatures]) : null;
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', new Tensor(new Float32Array(numFeatures), [numFeatures]));
      this.registerBuffer('running_var', new Tensor(new Float32Array(numFeatures).fill(1), [numFeatures]));
      this.registerBuffer('num_batches_tracked', new Tensor(new Float32Array(1), []));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
  }

  get runningMean(): Tensor | null { return this.getBuffer('running_mean'); }
  get runningVar(): Tensor | null { return this.getBuffer('running_var'); }
  /** Training batches seen (a 0-d tensor; an int64 in PyTorch). */
  get numBatchesTracked(): Tensor | null { return this.getBuffer('num_batches_tracked'); }

  /** Running mean 0, running var 1, batch count 0. */
  resetRunningStats(): void {
    markDataChanged();
    this.runningMean?.data.fill(0);
    this.runningVar?.data.fill(1);
    this.numBatchesTracked?.data.fill(0);
  }

  /** Running stats reset, weight 1, bias 0. */
  resetParameters(): void {
    this.resetRunningStats();
    markDataChanged();
    this.weight?.data.fill(1);
    this.bias?.data.fill(0);
  }

  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new RangeError(`${this.typeName}: expected ${this.numFeatures} channels in dim 1, got input ${formatShape(x.shape)}`);
    }
    let factor = this.momentum ?? 0;
    const nbt = this.numBatchesTracked;
    if (this.training && this.trackRunningStats && nbt) {
      nbt.data[0] += 1;
      factor = this.momentum === null ? 1 / nbt.data[0] : this.momentum;
    }
    const useBatchStats = this.training || (this.runningMean === null && this.runningVar === null);
    const useRunning = !this.training || this.trackRunningStats;
    return F.batchNorm(x, useRunning ? this.runningMean : null, useRunning ? this.runningVar : null,
      this.weight, this.bias, { training: useBatchStats, momentum: factor, eps: this.eps });
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** BatchNorm over [N, C] or [N, C, L] input. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super('BatchNorm1d', numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new RangeError(`BatchNorm1d: expected 2-D or 3-D input, got ${formatShape(x.shape)}`);
  }
}

/** BatchNorm over [N, C, H, W] input. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super('BatchNorm2d', numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new RangeError(`BatchNorm2d: expected 4-D input, got ${formatShape(x.shape)}`);
  }
}

export interface LocalResponseNormOptions {
  alpha?: number;
  beta?: number;
  k?: number;
}

/**
 * Local response normalisation across channels (AlexNet):
 * b_c = a_c / (k + alpha/size * sum over `size` neighbouring channels of a^2)^beta.
 */
export class LocalResponseNorm extends Module {
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;

  constructor(size: number, options: LocalResponseNormOptions = {}) {
    super();
    checkOptionKeys('LocalResponseNorm', options, ['alpha', 'beta', 'k']);
    const o = options ?? {};
    this.size = checkPositiveInt('LocalResponseNorm', 'size', size);
    this.alpha = checkFinite('LocalResponseNorm', 'alpha', o.alpha ?? 1e-4);
    this.beta = checkFinite('LocalResponseNorm', 'beta', o.beta ?? 0.75);
    this.k = checkFinite('LocalResponseNorm', 'k', o.k ?? 1);
  }

  forward(x: Tensor): Tensor {
    return F.localResponseNorm(x, { size: this.size, alpha: this.alpha, beta: this.beta, k: this.k });
  }

  override extraRepr(): string {
    return `${this.size}, alpha=${this.alpha}, beta=${this.beta}, k=${this.k}`;
  }
}
