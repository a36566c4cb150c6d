// DataLoader: batches of a Dataset as {x: Tensor [B, ...itemShape], y: Int32Array}.
//
// Shuffling is reproducible: epoch e uses the permutation of a Generator seeded from
// (seed, e), so every epoch has a different order, and the same seed gives the same
// orders in every run and on every platform. `for (const batch of loader)` runs the next
// epoch (0, 1, 2, ...); `loader.epoch(e)` runs a given one. Random transforms without a
// generator of their own draw from a second per-epoch generator derived the same way.
//
// Each batch's images are copied into one Float32Array allocated for that batch, so a
// batch stays valid after the loader moves on.
import { Tensor } from '../tensor';
import { Generator, defaultGenerator } from '../random';
import type { Dataset } from './datasets';
import { TensorDataset } from './datasets';
import type { Transform, Image } from './transforms';

export interface DataLoaderOptions {
  /** Examples per batch (default 1). */
  batchSize?: number;
  /** Visit the examples in a new random order each epoch (default false). */
  shuffle?: boolean;
  /** Seed of the shuffle and of the transforms' per-epoch generator; default: drawn from the process-wide generator (see manualSeed). */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Applied to each image [C, H, W] before batching. */
  transform?: Transform;
}

export interface Batch {
  /** Images [B, ...itemShape] (after the transform). */
  x: Tensor;
  /** Class labels. */
  y: Int32Array;
  /** The data set indices of the batch's examples. */
  indices: Int32Array;
}

/** Mixes a seed and an epoch number into one 32-bit seed (splitmix-style finaliser). */
function mixSeed(seed: number, epoch: number, stream: number): number {
  let h = (Math.floor(seed) >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) >>> 0, 0x27d4eb2d);
  h = Math.imul(h ^ (epoch >>> 0), 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly transform: Transform | undefined;
  readonly seed: number;
  private nextEpoch = 0;

  constructor(dataset: Dataset, options: DataLoaderOptions = {}) {
    if (dataset === null || typeof dataset !== 'object' || typeof dataset.get !== 'function' || !Number.isInteger(dataset.length) || dataset.length < 0) {
      throw new TypeError('DataLoader: dataset must have an integer length and a get(index) method');
    }
    const batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    if (options.seed !== undefined && !Number.isFinite(options.seed)) throw new TypeError(`DataLoader: seed must be a finite number, got ${options.seed}`);
    if (options.transform !== undefined && typeof options.transform !== 'function') throw new TypeError('DataLoader: transform must be a function');
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.transform = options.transform;
    this.seed = options.seed ?? defaultGenerator.nextUint32();
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The epoch the next `for...of` will run. */
  get currentEpoch(): number {
    return this.nextEpoch;
  }

  /** Makes the next `for...of` run epoch `epoch` (e.g. when resuming training). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`DataLoader.setEpoch: epoch must be a non-negative integer, got ${epoch}`);
    this.nextEpoch = epoch;
  }

  /** The order in which epoch `epoch` visits the data set. */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    if (this.shuffle) return new Generator(mixSeed(this.seed, epoch, 0)).permutation(n);
    const o = new Int32Array(n);
    for (let i = 0; i < n; i++) o[i] = i;
    return o;
  }

  /** Runs the next epoch. */
  [Symbol.iterator](): Iterator<Batch> {
    return this.epoch(this.nextEpoch++);
  }

  /** The batches of epoch `epoch` (deterministic for a given seed and epoch). */
  *epoch(epoch: number): IterableIterator<Batch> {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`DataLoader.epoch: epoch must be a non-negative integer, got ${epoch}`);
    const order = this.order(epoch);
    const tgen = new Generator(mixSeed(this.seed, epoch, 1));
    const batches = this.length;
    for (let b = 0; b < batches; b++) {
      const start = b * this.batchSize;
      yield this.collate(order.subarray(start, Math.min(start + this.batchSize, order.length)), tgen);
    }
  }

  /** Builds one batch from the given data set indices. */
  collate(indices: ArrayLike<number>, generator?: Generator): Batch {
    const B = indices.length;
    const y = new Int32Array(B);
    const idx = Int32Array.from(indices);
    const ds = this.dataset;
    let itemShape: number[] | null = null;
    let itemSize = 0;
    let x: Float32Array | null = null;

    const fast = ds instanceof TensorDataset && !this.transform;
    if (fast) {
      itemShape = ds.itemShape;
      itemSize = ds.itemSize;
      x = new Float32Array(B * itemSize);
    }
    for (let k = 0; k < B; k++) {
      const i = idx[k];
      if (fast) {
        const t = ds as TensorDataset;
        if (!Number.isInteger(i) || i < 0 || i >= t.length) throw new RangeError(`DataLoader: index ${i} is out of range for a data set of ${t.length} items`);
        x!.set(t.images.subarray(i * itemSize, (i + 1) * itemSize), k * itemSize);
        y[k] = t.labels[i];
        continue;
      }
      let img: Image;
      let label: number;
      if (ds instanceof TensorDataset) {
        img = { data: ds.item(i), shape: ds.itemShape };
        label = ds.labels[i];
      } else {
        const s = ds.get(i);
        if (s === null || typeof s !== 'object') throw new TypeError(`DataLoader: dataset.get(${i}) returned ${s === null ? 'null' : typeof s}, expected {x, y}`);
        img = toImage(s.x, i);
        label = s.y;
      }
      if (typeof label !== 'number' || !Number.isInteger(label)) throw new TypeError(`DataLoader: label of item ${i} is ${label}, not an integer`);
      if (this.transform) {
        img = this.transform(img, generator ?? defaultGenerator);
        if (img === null || typeof img !== 'object' || !(img.data instanceof Float32Array) || !Array.isArray(img.shape)) {
          throw new TypeError(`DataLoader: the transform returned something other than an image {data, shape} for item ${i}`);
        }
      }
      if (itemShape === null) {
        itemShape = [...img.shape];
        itemSize = img.data.length;
        x = new Float32Array(B * itemSize);
      } else if (img.data.length !== itemSize || img.shape.length !== itemShape.length || img.shape.some((d, j) => d !== itemShape![j])) {
        throw new RangeError(`DataLoader: item ${i} has shape [${img.shape.join(', ')}] but the batch started with [${itemShape.join(', ')}]`);
      }
      x!.set(img.data, k * itemSize);
      y[k] = label;
    }
    return { x: new Tensor(x ?? new Float32Array(0), [B, ...(itemShape ?? [])]), y, indices: idx };
  }
}

function toImage(x: unknown, i: number): Image {
  if (x instanceof Tensor) return { data: x.data, shape: x.shape };
  if (x !== null && typeof x === 'object' && (x as Image).data instanceof Float32Array && Array.isArray((x as Image).shape)) return x as Image;
  if (x instanceof Float32Array) return { data: x, shape: [x.length] };
  throw new TypeError(`DataLoader: item ${i} has x of an unsupported kind (expected a Tensor, {data: Float32Array, shape} or a Float32Array)`);
}
