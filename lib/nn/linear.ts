// Linear, Identity and Flatten.
import { Tensor } from '../tensor';
import * as F from '../functional';
import { Module } from './module';
import { Parameter, emptyParameter } from './parameter';
import { defaultLayerInit_ } from './init';
import { RandomOptions, checkBool, checkOptionKeys, checkPositiveInt, generatorOf } from './util';

export interface LinearOptions extends RandomOptions {
  /** Learnable bias (default true). */
  bias?: boolean;
}

/** y = x W^T + b over the last dimension; weight [outFeatures, inFeatures]. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Parameter;
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    checkOptionKeys('Linear', options, ['bias', 'seed', 'generator']);
    this.inFeatures = checkPositiveInt('Linear', 'inFeatures', inFeatures);
    this.outFeatures = checkPositiveInt('Linear', 'outFeatures', outFeatures);
    const hasBias = checkBool('Linear', 'bias', options?.bias ?? true);
    this.weight = emptyParameter([outFeatures, inFeatures]);
    this.bias = hasBias ? emptyParameter([outFeatures]) : null;
    defaultLayerInit_(this.weight, this.bias, generatorOf('Linear', options ?? {}));
  }

  /** Re-draws weight and bias from PyTorch's default distribution. */
  resetParameters(options: RandomOptions = {}): void {
    defaultLayerInit_(this.weight, this.bias, generatorOf('Linear', options));
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias ?? undefined);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Returns its input unchanged (a placeholder, e.g. for a removed classifier head). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens dims startDim..endDim into one (default 1..-1: [N, ...] to [N, rest]). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    for (const [n, v] of [['startDim', startDim], ['endDim', endDim]] as const) {
      if (!Number.isInteger(v)) throw new RangeError(`Flatten: ${n} must be an integer, got ${v}`);
    }
    this.startDim = startDim;
    this.endDim = endDim;
  }

  forward(x: Tensor): Tensor {
    return F.flatten(x, this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}
