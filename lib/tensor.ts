// Tensor: a contiguous row-major Float32Array plus a shape (NCHW for images), and the
// autograd fields. The methods are thin: the work lives in lib/ops/ and lib/functional/.
import type { GradFn } from './autograd/engine';
import { runBackward } from './autograd/engine';
import * as ew from './ops/elementwise';
import * as red from './ops/reduce';
import * as sh from './ops/shape';
import { matmul as matmulOp } from './ops/matmul';

export type NestedArray = number | NestedArray[];

export interface TensorOptions {
  requiresGrad?: boolean;
}

let dataEpoch = 0;

/**
 * Tells the library that tensor values changed behind its back. In-place writes through
 * the library (optimizers, loadStateDict, fill_/copy_, nn.init, train()/eval()) call it
 * themselves; call it after writing a parameter's or buffer's `.data` directly, so that
 * weights prepared for inference (packed, BatchNorm folded) are made again.
 */
export function markDataChanged(): void {
  dataEpoch++;
}

/** Changes whenever markDataChanged() runs; prepared-weight caches compare it. */
export function currentDataEpoch(): number {
  return dataEpoch;
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

  // ---- values ----

  /** Nested arrays of the values; a number for a 0-d tensor. */
  toArray(): NestedArray {
    const d = this.data, shape = this.shape;
    if (shape.length === 0) return d[0];
    let k = 0;
    const build = (dim: number): NestedArray[] => {
      const n = shape[dim];
      const out = new Array<NestedArray>(n);
      if (dim === shape.length - 1) for (let i = 0; i < n; i++) out[i] = d[k++];
      else for (let i = 0; i < n; i++) out[i] = build(dim + 1);
      return out;
    };
    return build(0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) {
      throw new RangeError(`item: a tensor of shape [${this.shape.join(', ')}] has ${this.data.length} elements, not 1`);
    }
    return this.data[0];
  }

  // ---- shape (views share memory) ----

  reshape(...shape: Array<number | number[]>): Tensor { return sh.reshape(this, ...shape); }
  view(...shape: Array<number | number[]>): Tensor { return sh.view(this, ...shape); }
  flatten(startDim = 0, endDim = -1): Tensor { return sh.flatten(this, startDim, endDim); }
  squeeze(dim?: number): Tensor { return sh.squeeze(this, dim); }
  unsqueeze(dim: number): Tensor { return sh.unsqueeze(this, dim); }
  /** Contiguous copy with dims d0 and d1 swapped. */
  transpose(dim0: number, dim1: number): Tensor { return sh.transpose(this, dim0, dim1); }
  /** Contiguous copy with dims reordered. */
  permute(...dims: Array<number | number[]>): Tensor { return sh.permute(this, ...dims); }
  /** Copy broadcast to shape. */
  expand(...shape: Array<number | number[]>): Tensor { return sh.expand(this, ...shape); }
  narrow(dim: number, start: number, length: number): Tensor { return sh.narrow(this, dim, start, length); }
  split(sizes: number | number[], dim = 0): Tensor[] { return sh.split(this, sizes, dim); }
  /** Tensors are always contiguous: returns this (for code ported from PyTorch). */
  contiguous(): Tensor { return this; }
  /** Number of elements (same as size). */
  numel(): number { return this.data.length; }
  /** A differentiable copy. */
  clone(): Tensor { return sh.clone(this); }
  /** Shares data, no grad. */
  detach(): Tensor { return sh.detach(this); }

  // ---- arithmetic ----

  add(other: Tensor | number): Tensor { return ew.add(this, other); }
  sub(other: Tensor | number): Tensor { return ew.sub(this, other); }
  mul(other: Tensor | number): Tensor { return ew.mul(this, other); }
  div(other: Tensor | number): Tensor { return ew.div(this, other); }
  neg(): Tensor { return ew.neg(this); }
  pow(p: number): Tensor { return ew.pow(this, p); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  abs(): Tensor { return ew.abs(this); }
  matmul(other: Tensor): Tensor { return matmulOp(this, other); }

  // ---- reductions ----

  sum(dim?: number | number[] | null, keepDim = false): Tensor { return red.sum(this, dim, keepDim); }
  mean(dim?: number | number[] | null, keepDim = false): Tensor { return red.mean(this, dim, keepDim); }
  max(dim?: number | null, keepDim = false): Tensor { return red.max(this, dim, keepDim); }
  min(dim?: number | null, keepDim = false): Tensor { return red.min(this, dim, keepDim); }
  argmax(dim?: number | null, keepDim = false): Tensor { return red.argmax(this, dim, keepDim); }
  argmin(dim?: number | null, keepDim = false): Tensor { return red.argmin(this, dim, keepDim); }

  // ---- autograd ----

  /** Backpropagates from this tensor (gradOutput defaults to 1 for one-element tensors). */
  backward(gradOutput?: Tensor | number): void {
    const g = typeof gradOutput === 'number' ? new Tensor(new Float32Array([gradOutput]), []) : gradOutput;
    if (g !== undefined && !(g instanceof Tensor)) throw new TypeError('backward: gradOutput must be a Tensor or a number');
    runBackward(this, g);
  }

  /** Drops the accumulated gradient (mutates). */
  zeroGrad(): void { this.grad = null; }

  /** Keeps .grad on a non-leaf tensor during backward. */
  retainGrad(): this {
    if (!this.requiresGrad) throw new Error('retainGrad: the tensor does not require grad');
    if (!this.isLeaf) this.retainsGrad = true;
    return this;
  }

  /** Turns gradient tracking on or off for a leaf (mutates, returns this). */
  requiresGrad_(requiresGrad = true): this {
    if (!this.isLeaf && !requiresGrad) {
      throw new Error('requiresGrad_: cannot turn off requiresGrad on a non-leaf tensor; use detach()');
    }
    this.requiresGrad = requiresGrad;
    return this;
  }

  /** Sets every element to v (mutates; not recorded). */
  fill_(value: number): this {
    markDataChanged();
    this.data.fill(value);
    return this;
  }

  /** Copies src's values into this tensor (mutates; not recorded); src broadcasts. */
  copy_(src: Tensor | ArrayLike<number>): this {
    markDataChanged();
    if (src instanceof Tensor) {
      if (src.size === this.size) this.data.set(src.data);
      else this.data.set(sh.expand(src, this.shape).data);
    } else {
      if (src.length !== this.size) {
        throw new RangeError(`copy_: source of length ${src.length} does not fit shape [${this.shape.join(', ')}]`);
      }
      this.data.set(src);
    }
    return this;
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
