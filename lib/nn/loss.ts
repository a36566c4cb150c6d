// Loss modules: thin wrappers of the functional losses, called as loss.forward(input, target).
import { Tensor } from '../tensor';
import * as F from '../functional';
import { Module } from './module';
import { checkFinite, checkOptionKeys } from './util';

export type Reduction = 'mean' | 'sum' | 'none';
export type ClassTargets = Int32Array | number[] | Tensor;

function checkReduction(layer: string, r: unknown): Reduction {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new RangeError(`${layer}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
  return r;
}

/** Cross-entropy of logits [N, C] against integer class targets. */
export class CrossEntropyLoss extends Module {
  readonly reduction: Reduction;
  readonly labelSmoothing: number;

  constructor(options: { reduction?: Reduction; labelSmoothing?: number } = {}) {
    super();
    checkOptionKeys('CrossEntropyLoss', options, ['reduction', 'labelSmoothing']);
    this.reduction = checkReduction('CrossEntropyLoss', options?.reduction ?? 'mean');
    this.labelSmoothing = checkFinite('CrossEntropyLoss', 'labelSmoothing', options?.labelSmoothing ?? 0, { min: 0, max: 1 });
  }

  forward(input: Tensor, target: ClassTargets): Tensor {
    return F.crossEntropy(input, target, { reduction: this.reduction, labelSmoothing: this.labelSmoothing });
  }

  override extraRepr(): string {
    return `reduction='${this.reduction}'${this.labelSmoothing ? `, labelSmoothing=${this.labelSmoothing}` : ''}`;
  }
}

/** Negative log-likelihood of log-probabilities [N, C] against integer class targets. */
export class NLLLoss extends Module {
  readonly reduction: Reduction;

  constructor(options: { reduction?: Reduction } = {}) {
    super();
    checkOptionKeys('NLLLoss', options, ['reduction']);
    this.reduction = checkReduction('NLLLoss', options?.reduction ?? 'mean');
  }

  forward(input: Tensor, target: ClassTargets): Tensor {
    return F.nllLoss(input, target, { reduction: this.reduction });
  }

  override extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}

/** Mean squared error. */
export class MSELoss extends Module {
  readonly reduction: Reduction;

  constructor(options: { reduction?: Reduction } = {}) {
    super();
    checkOptionKeys('MSELoss', options, ['reduction']);
    this.reduction = checkReduction('MSELoss', options?.reduction ?? 'mean');
  }

  forward(input: Tensor, target: Tensor): Tensor {
    return F.mseLoss(input, target, { reduction: this.reduction });
  }

  override extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}
