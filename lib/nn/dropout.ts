// Dropout: zeroes each element with probability p in training and scales the rest by
// 1/(1-p); the identity in eval mode.
import { Tensor } from '../tensor';
import * as F from '../functional';
import { Generator } from '../random';
import { Module } from './module';
import { RandomOptions, checkFinite, checkOptionKeys, generatorOf } from './util';

export class Dropout extends Module {
  readonly p: number;
  /** Where the masks come from: a private generator with `seed`, else the given or global one. */
  readonly generator: Generator;

  constructor(p = 0.5, options: RandomOptions = {}) {
    super();
    checkOptionKeys('Dropout', options, ['seed', 'generator']);
    this.p = checkFinite('Dropout', 'p', p, { min: 0, max: 1 });
    this.generator = generatorOf('Dropout', options ?? {});
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return F.dropout(x, { p: this.p, training: true, generator: this.generator });
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}
