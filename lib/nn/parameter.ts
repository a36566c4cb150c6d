// A Parameter is a Tensor a Module owns and trains: a leaf with requiresGrad on. Being a
// subclass (not a flag) is what lets a Module find its parameters among its fields.
import { Tensor } from '../tensor';

export class Parameter extends Tensor {
  /**
   * Wraps `data` (a Tensor's values are shared, not copied) as a trainable leaf.
   * `new Parameter(t)`, `new Parameter(float32Array, shape)`.
   */
  constructor(data: Tensor | Float32Array, shape?: number[], requiresGrad = true) {
    if (data instanceof Tensor) {
      super(data.data, (shape ?? data.shape).slice(), { requiresGrad });
    } else {
      if (!shape) throw new TypeError('Parameter: a shape is required with a Float32Array');
      super(data, shape.slice(), { requiresGrad });
    }
  }

  override toString(): string {
    return `Parameter(shape=[${this.shape.join(', ')}]${this.requiresGrad ? '' : ', requiresGrad=false'})`;
  }
}

/** A fresh zero-filled Parameter of `shape`. */
export function emptyParameter(shape: number[]): Parameter {
  let n = 1;
  for (const d of shape) n *= d;
  return new Parameter(new Float32Array(n), shape);
}
