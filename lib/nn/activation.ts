// Element-wise activations and softmax.
import { Tensor } from '../tensor';
import * as F from '../functional';
import { Module } from './module';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return F.relu(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return F.tanh(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return F.sigmoid(x);
  }
}

function checkDim(layer: string, dim: number): number {
  if (!Number.isInteger(dim)) throw new RangeError(`${layer}: dim must be an integer, got ${dim}`);
  return dim;
}

/** Softmax along `dim` (default -1, the last dimension: the class scores of [N, C]). */
export class Softmax extends Module {
  readonly dim: number;

  constructor(dim = -1) {
    super();
    this.dim = checkDim('Softmax', dim);
  }

  forward(x: Tensor): Tensor {
    return F.softmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** log(softmax(x)) along `dim` (default -1), computed stably. */
export class LogSoftmax extends Module {
  readonly dim: number;

  constructor(dim = -1) {
    super();
    this.dim = checkDim('LogSoftmax', dim);
  }

  forward(x: Tensor): Tensor {
    return F.logSoftmax(x, this.dim);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
