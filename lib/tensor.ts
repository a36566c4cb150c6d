// Tensor: a contiguous row-major Float32Array plus a shape (NCHW for images), and the
// autograd fields. The methods are thin: the work lives in lib/ops/ and lib/functional/.
import type { GradFn } from './autograd/engine';

export type NestedArray = number | NestedArray[];

export interface TensorOptions {
  requiresGrad?: boolean;
}

export class Tensor {
  /** Contiguous row-major values. */
  readonly data: Float32Array;
  /** Dimensions; [] for a 0-d (scalar) tensor. */
  readonly shape: number[];
  /** Whether gradients flow to this tensor. */
  requiresGrad: boolean;
  /** Accumulated gradient (leaves, and non-leaves after retainGrad()). */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when recorded on the tape. */
  gradFn: GradFn | null = null;
  /** Set by retainGrad() on non-leaf tensors. */
  retainsGrad = false;

  constructor(data: Float32Array, shape: number[], options?: TensorOptions) {
    if (!(data instanceof Float32Array)) throw new TypeError('Tensor data must be a Float32Array');
    checkShape(shape);
    const n = shapeSize(shape);
    if (n !== data.length) {
      throw new RangeError(`Tensor data has ${data.length} elements but shape [${shape.join(', ')}] needs ${n}`);
    }
    this.data = data;
    this.shape = shape;
    this.requiresGrad = options?.requiresGrad ?? false;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }

  /** True when not produced by a recorded op. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}]${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: readonly number[]): void {
  if (!Array.isArray(shape)) throw new TypeError('shape must be an array of non-negative integers');
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`shape [${shape.join(', ')}] has an invalid dimension ${d}: dimensions must be non-negative integers`);
    }
  }
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
