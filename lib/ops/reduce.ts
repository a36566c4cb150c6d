// Reductions over one dim, several dims, or everything (dim omitted -> 0-d result).
import { Tensor, shapeSize } from '../tensor';
import { needsGrad, record } from '../autograd/engine';
import { broadcastTo, normDim, sumTo } from './util';

type Dims = number | number[] | null | undefined;

/** The set of reduced dims (sorted, unique), or null for "all". */
function reducedDims(op: string, dim: Dims, ndim: number): number[] | null {
  if (dim === undefined || dim === null) return null;
  const list = Array.isArray(dim) ? dim : [dim];
  const out = Array.from(new Set(list.map((d) => normDim(op, d, ndim)))).sort((a, b) => a - b);
  if (out.length !== list.length) throw new RangeError(`${op}: dim [${list.join(', ')}] repeats a dim`);
  return out;
}

/** Shapes for a reduction: with size-1 kept dims, and the final one. */
function reducedShapes(shape: number[], dims: number[] | null, keepDim: boolean): { kept: number[]; final: number[] } {
  if (dims === null) return { kept: shape.map(() => 1), final: keepDim ? shape.map(() => 1) : [] };
  const kept = shape.map((d, i) => (dims.includes(i) ? 1 : d));
  const final = keepDim ? kept.slice() : shape.filter((_, i) => !dims.includes(i));
  return { kept, final };
}

/** Sum over `dim` (a dim, a list of dims, or all when omitted). */
export function sum(t: Tensor, dim?: Dims, keepDim = false): Tensor {
  const dims = reducedDims('sum', dim, t.ndim);
  const { kept, final } = reducedShapes(t.shape, dims, keepDim);
  let values: Float32Array;
  if (dims !== null && dims.length === 1 && t.size > 0) values = sumOneDim(t.data, t.shape, dims[0]);
  else values = sumTo(t.data, t.shape, kept);
  if (values === t.data) values = values.slice();
  const out = new Tensor(values, final);
  if (needsGrad(t)) {
    const shape = t.shape.slice();
    record(out, 'sum', [t], (g) => [new Tensor(broadcastTo(g.data, kept, shape), shape)]);
  }
  return out;
}

function sumOneDim(x: Float32Array, shape: number[], d: number): Float32Array {
  let outer = 1, inner = 1;
  for (let i = 0; i < d; i++) outer *= shape[i];
  for (let i = d + 1; i < shape.length; i++) inner *= shape[i];
  const n = shape[d];
  const out = new Float32Array(outer * inner);
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let acc = 0;
      const base = o * n;
      for (let k = 0; k < n; k++) acc += x[base + k];
      out[o] = acc;
    }
    return out;
  }
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    for (let k = 0; k < n; k++) {
      const base = (o * n + k) * inner;
      for (let i = 0; i < inner; i++) acc[i] += x[base + i];
    }
    const ob = o * inner;
    for (let i = 0; i < inner; i++) out[ob + i] = acc[i];
  }
  return out;
}

/** Mean over `dim` (a dim, a list of dims, or all when omitted). */
export function mean(t: Tensor, dim?: Dims, keepDim = false): Tensor {
  const dims = reducedDims('mean', dim, t.ndim);
  const { kept, final } = reducedShapes(t.shape, dims, keepDim);
  const count = t.size / Math.max(shapeSize(kept), 1);
  let values: Float32Array;
  if (dims !== null && dims.length === 1 && t.size > 0) values = sumOneDim(t.data, t.shape, dims[0]);
  else values = sumTo(t.data, t.shape, kept);
  values = values === t.data ? values.slice() : values;
  for (let i = 0; i < values.length; i++) values[i] /= count;
  if (t.size === 0) values.fill(NaN);
  const out = new Tensor(values, final);
  if (needsGrad(t)) {
    const shape = t.shape.slice();
    record(out, 'mean', [t], (g) => {
      const r = broadcastTo(g.data, kept, shape);
      for (let i = 0; i < r.length; i++) r[i] /= count;
      return [new Tensor(r, shape)];
    });
  }
  return out;
}

/** Values and flat-in-dim indices of the maximum (first one on ties; NaN wins). */
function maxAlong(op: string, t: Tensor, dim: number | null | undefined, keepDim: boolean, sign: 1 | -1):
    { values: Float32Array; index: Int32Array; final: number[]; outer: number; n: number; inner: number } {
  const x = t.data;
  let outer = 1, n: number, inner = 1, final: number[];
  if (dim === undefined || dim === null) {
    n = t.size;
    final = keepDim ? t.shape.map(() => 1) : [];
  } else {
    const d = normDim(op, dim, t.ndim);
    if (t.ndim === 0) { n = 1; final = []; } else {
      for (let i = 0; i < d; i++) outer *= t.shape[i];
      for (let i = d + 1; i < t.ndim; i++) inner *= t.shape[i];
      n = t.shape[d];
      final = keepDim ? t.shape.map((s, i) => (i === d ? 1 : s)) : t.shape.filter((_, i) => i !== d);
    }
  }
  if (n === 0) throw new RangeError(`${op}: cannot reduce an empty dimension (shape [${t.shape.join(', ')}])`);
  const values = new Float32Array(outer * inner);
  const index = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * n * inner + i;
      let best = x[base] * sign, bi = 0;
      if (best === best) {
        for (let k = 1; k < n; k++) {
          const v = x[base + k * inner] * sign;
          if (v > best || v !== v) { best = v; bi = k; if (v !== v) break; }
        }
      }
      values[o * inner + i] = best * sign;
      index[o * inner + i] = bi;
    }
  }
  return { values, index, final, outer, n, inner };
}

function maxLike(op: string, t: Tensor, dim: number | null | undefined, keepDim: boolean, sign: 1 | -1): Tensor {
  const r = maxAlong(op, t, dim, keepDim, sign);
  const out = new Tensor(r.values, r.final);
  if (needsGrad(t)) {
    const shape = t.shape.slice();
    record(out, op, [t], (g) => {
      const gx = new Float32Array(t.size), gd = g.data;
      for (let o = 0; o < r.outer; o++) {
        for (let i = 0; i < r.inner; i++) {
          const j = o * r.inner + i;
          gx[o * r.n * r.inner + r.index[j] * r.inner + i] += gd[j];
        }
      }
      return [new Tensor(gx, shape)];
    });
  }
  return out;
}

/** Maximum values over `dim` (all elements when omitted); the gradient goes to the first maximum. */
export function max(t: Tensor, dim?: number | null, keepDim = false): Tensor {
  return maxLike('max', t, dim, keepDim, 1);
}

/** Minimum values over `dim` (all elements when omitted). */
export function min(t: Tensor, dim?: number | null, keepDim = false): Tensor {
  return maxLike('min', t, dim, keepDim, -1);
}

/** Index (as a float) of the first maximum over `dim`; flat index over all elements when omitted. */
export function argmax(t: Tensor, dim?: number | null, keepDim = false): Tensor {
  const r = maxAlong('argmax', t, dim, keepDim, 1);
  return new Tensor(Float32Array.from(r.index), r.final);
}

/** Index (as a float) of the first minimum over `dim`. */
export function argmin(t: Tensor, dim?: number | null, keepDim = false): Tensor {
  const r = maxAlong('argmin', t, dim, keepDim, -1);
  return new Tensor(Float32Array.from(r.index), r.final);
}
