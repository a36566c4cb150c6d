// Shape helpers shared by the ops: dim normalisation, strides, broadcasting, and the
// strided copy/reduce loops that broadcasting and gradient reduction are built on.
import { Tensor, formatShape, shapeSize } from '../tensor';

/** Normalises a possibly negative dim for a tensor of rank `ndim`; throws naming both. */
export function normDim(op: string, dim: number, ndim: number): number {
  if (!Number.isInteger(dim)) throw new TypeError(`${op}: dim must be an integer, got ${dim}`);
  const lo = ndim === 0 ? -1 : -ndim, hi = ndim === 0 ? 0 : ndim - 1;
  if (dim < lo || dim > hi) {
    throw new RangeError(`${op}: dim ${dim} is out of range for a tensor of rank ${ndim} (expected ${lo}..${hi})`);
  }
  return dim < 0 ? dim + Math.max(ndim, 1) : dim;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy broadcast of two shapes; throws `op: shapes [..] and [..] cannot be broadcast`. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else throw new Error(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} cannot be broadcast`);
  }
  return out;
}

/** Strides of `shape` read as broadcast to `outShape` (0 along broadcast dims). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const n = outShape.length, off = n - shape.length;
  const cs = contiguousStrides(shape);
  const s = new Array<number>(n).fill(0);
  for (let i = 0; i < shape.length; i++) s[i + off] = shape[i] === 1 ? 0 : cs[i];
  return s;
}

/**
 * Merges adjacent dims whose strides compose contiguously for every operand, and drops
 * size-1 dims: [N, C, H, W] + [1, C, 1, 1] becomes [N, C, H*W] with strides [0, 1, 0].
 */
export function coalesce(shape: readonly number[], strides: number[][]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[i] * shape[i])) {
      outShape[last] *= shape[i];
      strides.forEach((s, k) => { outStrides[k][last] = s[i]; });
    } else {
      outShape.push(shape[i]);
      strides.forEach((s, k) => { outStrides[k].push(s[i]); });
    }
  }
  if (outShape.length === 0) { outShape.push(1); outStrides.forEach((s) => s.push(0)); }
  return { shape: outShape, strides: outStrides };
}

/**
 * Calls body(offsets..., rowLength, innerStrides...) once per row of the coalesced
 * iteration space, the odometer running over all dims but the last.
 */
export function forEachRow(shape: readonly number[], strides: number[][],
                           body: (offsets: number[], outBase: number) => void): void {
  const nd = shape.length;
  const inner = shape[nd - 1];
  const rows = shapeSize(shape) / Math.max(inner, 1);
  if (inner === 0 || rows === 0) return;
  const idx = new Array<number>(nd).fill(0);
  const offs = strides.map(() => 0);
  let outBase = 0;
  for (let r = 0; r < rows; r++) {
    body(offs, outBase);
    outBase += inner;
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offs.length; k++) offs[k] += strides[k][d];
      if (idx[d] < shape[d]) break;
      for (let k = 0; k < offs.length; k++) offs[k] -= strides[k][d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Copy of `src` (shape `shape`) broadcast to `outShape`. */
export function broadcastTo(src: Float32Array, shape: readonly number[], outShape: readonly number[]): Float32Array {
  const out = new Float32Array(shapeSize(outShape));
  if (src.length === out.length) { out.set(src); return out; }
  if (src.length === 1) { out.fill(src[0]); return out; }
  const c = coalesce(outShape, [broadcastStrides(shape, outShape)]);
  const inner = c.shape[c.shape.length - 1];
  const si = c.strides[0][c.shape.length - 1];
  forEachRow(c.shape, c.strides, (offs, o) => {
    const a = offs[0];
    if (si === 0) out.fill(src[a], o, o + inner);
    else if (si === 1) out.set(src.subarray(a, a + inner), o);
    else for (let j = 0; j < inner; j++) out[o + j] = src[a + j * si];
  });
  return out;
}

/**
 * Sums `src` (shape `shape`) down to `target`, a shape `shape` broadcasts from: the
 * reduction a broadcast operand's gradient needs. Accumulates in float64.
 */
export function sumTo(src: Float32Array, shape: readonly number[], target: readonly number[]): Float32Array {
  const n = shapeSize(target);
  if (n === src.length) return src;
  if (n === 1) {
    let acc = 0;
    for (let i = 0; i < src.length; i++) acc += src[i];
    return new Float32Array([acc]);
  }
  const acc = new Float64Array(n);
  const c = coalesce(shape, [broadcastStrides(target, shape)]);
  const inner = c.shape[c.shape.length - 1];
  const si = c.strides[0][c.shape.length - 1];
  forEachRow(c.shape, c.strides, (offs, o) => {
    const a = offs[0];
    if (si === 0) {
      let s = 0;
      for (let j = 0; j < inner; j++) s += src[o + j];
      acc[a] += s;
    } else {
      for (let j = 0; j < inner; j++) acc[a + j * si] += src[o + j];
    }
  });
  return Float32Array.from(acc);
}

/** `src` viewed as `shape` (no copy), or the same tensor when already shaped so. */
export function asShape(t: Tensor, shape: readonly number[]): Tensor {
  return sameShape(t.shape, shape) ? t : new Tensor(t.data, shape.slice());
}
