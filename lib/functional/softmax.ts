// softmax / logSoftmax along one dim, numerically stable (max subtracted), float64 sums.
import { Tensor } from '../tensor';
import { record, needsGrad } from '../autograd/engine';
import { checkTensorArg, normalizeDim } from './options';

/** outer x D x inner decomposition of x's shape around dim. */
export function splitAt(shape: readonly number[], dim: number): [number, number, number] {
  let outer = 1, inner = 1;
  for (let i = 0; i < dim; i++) outer *= shape[i];
  for (let i = dim + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape.length === 0 ? 1 : shape[dim], inner];
}

/** Writes log-softmax of src along the middle axis of (outer, D, inner) into dst. */
export function logSoftmaxInto(src: Float32Array, dst: Float32Array, outer: number, D: number, inner: number): void {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * D * inner + i;
      let m = -Infinity;
      for (let d = 0; d < D; d++) { const v = src[base + d * inner]; if (v > m) m = v; }
      if (m === -Infinity) m = 0;
      let s = 0;
      for (let d = 0; d < D; d++) s += Math.exp(src[base + d * inner] - m);
      const lse = m + Math.log(s);
      for (let d = 0; d < D; d++) dst[base + d * inner] = src[base + d * inner] - lse;
    }
  }
}

function requireDim(op: string, dim: unknown): void {
  if (dim === undefined || dim === null) throw new TypeError(`${op}: dim is required (e.g. ${op}(x, 1) for [N, C] logits)`);
}

/** exp(x) / sum(exp(x)) along dim. */
export function softmax(input: Tensor, dim: number): Tensor {
  const x = checkTensorArg('softmax', 'input', input);
  requireDim('softmax', dim);
  const d = normalizeDim('softmax', dim, x.ndim);
  const [outer, D, inner] = splitAt(x.shape, d);
  const y = new Float32Array(x.size);
  const src = x.data;
  const e = new Float64Array(D);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * D * inner + i;
      let m = -Infinity;
      for (let k = 0; k < D; k++) { const v = src[base + k * inner]; if (v > m) m = v; }
      if (m === -Infinity) m = 0;
      let sum = 0;
      for (let k = 0; k < D; k++) { const v = Math.exp(src[base + k * inner] - m); e[k] = v; sum += v; }
      const inv = 1 / sum;
      for (let k = 0; k < D; k++) y[base + k * inner] = e[k] * inv;
    }
  }
  const out = new Tensor(y, x.shape.slice());
  if (!needsGrad(x)) return out;
  return record(out, 'softmax', [x], (gyT) => {
    const gy = gyT.data, gx = new Float32Array(x.size);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * D * inner + i;
        let dot = 0;
        for (let k = 0; k < D; k++) dot += gy[base + k * inner] * y[base + k * inner];
        for (let k = 0; k < D; k++) { const j = base + k * inner; gx[j] = y[j] * (gy[j] - dot); }
      }
    }
    return [new Tensor(gx, x.shape.slice())];
  });
}

/** x - log(sum(exp(x))) along dim. */
export function logSoftmax(input: Tensor, dim: number): Tensor {
  const x = checkTensorArg('logSoftmax', 'input', input);
  requireDim('logSoftmax', dim);
  const d = normalizeDim('logSoftmax', dim, x.ndim);
  const [outer, D, inner] = splitAt(x.shape, d);
  const y = new Float32Array(x.size);
  logSoftmaxInto(x.data, y, outer, D, inner);
  const out = new Tensor(y, x.shape.slice());
  if (!needsGrad(x)) return out;
  return record(out, 'logSoftmax', [x], (gyT) => {
    const gy = gyT.data, gx = new Float32Array(x.size);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * D * inner + i;
        let s = 0;
        for (let k = 0; k < D; k++) s += gy[base + k * inner];
        for (let k = 0; k < D; k++) { const j = base + k * inner; gx[j] = gy[j] - Math.exp(y[j]) * s; }
      }
    }
    return [new Tensor(gx, x.shape.slice())];
  });
}
