// Losses computed directly on the Float32Arrays with fused backward passes, float64 sums.
// Class-index targets: an Int32Array, a number[] or a Tensor of integral values.
import { Tensor, formatShape } from '../tensor';
import { record, needsGrad } from '../autograd/engine';
import {
  Reduction, checkFiniteNumber, checkReduction, checkTensorArg, describeValue, optionalTensor, optionsOf,
} from './options';
import { logSoftmaxInto } from './softmax';

export type { Reduction } from './options';
export type ClassTarget = Int32Array | number[] | Tensor;

export interface CrossEntropyOptions {
  /** 'mean' (default; weighted mean over non-ignored targets), 'sum' or 'none'. */
  reduction?: Reduction;
  /** Mix the one-hot target with the uniform distribution: (1 - e) * onehot + e / C. */
  labelSmoothing?: number;
  /** Targets equal to this contribute nothing (default -100). */
  ignoreIndex?: number;
  /** Per-class rescaling weight [C]. */
  weight?: Tensor | null;
}

export interface NllLossOptions {
  reduction?: Reduction;
  ignoreIndex?: number;
  weight?: Tensor | null;
}

export interface MseLossOptions {
  reduction?: Reduction;
}

interface ClassLayout {
  /** Samples (N * prod(d...)), classes, and the stride between classes (prod(d...)). */
  N: number; C: number; S: number;
  /** Shape of the per-sample loss ('none'): [N, d...], or [] for unbatched [C] input. */
  sampleShape: number[];
}

function classLayout(op: string, x: Tensor): ClassLayout {
  if (x.ndim === 1) return { N: 1, C: x.shape[0], S: 1, sampleShape: [] };
  if (x.ndim < 1) throw new RangeError(`${op}: expected input [N, C] or [N, C, d...] (or [C]), got shape ${formatShape(x.shape)}`);
  const N = x.shape[0], C = x.shape[1];
  const S = x.size / Math.max(N * C, 1);
  return { N, C, S, sampleShape: [N, ...x.shape.slice(2)] };
}

function checkIgnoreIndex(op: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new RangeError(`${op}: ignoreIndex must be an integer, got ${describeValue(v)}`);
  return v;
}

/** Class indices as an Int32Array, checked against the sample layout and the class count. */
function classTargets(op: string, target: unknown, L: ClassLayout, ignoreIndex: number): Int32Array {
  const count = L.N * L.S;
  let values: ArrayLike<number>;
  if (target instanceof Tensor) {
    const shapeOk = target.size === count && (target.ndim === L.sampleShape.length || (L.sampleShape.length === 0 && target.ndim <= 1));
    if (!shapeOk || (target.ndim === L.sampleShape.length && target.shape.some((d, i) => d !== L.sampleShape[i]))) {
      throw new RangeError(`${op}: target of shape ${formatShape(target.shape)} does not match the input's samples ${formatShape(L.sampleShape)}`);
    }
    values = target.data;
  } else if (target instanceof Int32Array || Array.isArray(target) || ArrayBuffer.isView(target)) {
    values = target as ArrayLike<number>;
    if (values.length !== count) {
      throw new RangeError(`${op}: target has ${values.length} entries but the input has ${count} samples (${formatShape(L.sampleShape)})`);
    }
  } else if (typeof target === 'number' && count === 1) {
    values = [target];
  } else {
    throw new TypeError(`${op}: target must be an Int32Array, a number[] or a Tensor of class indices, got ${describeValue(target)}`);
  }
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const t = values[i];
    if (typeof t !== 'number' || !Number.isInteger(t)) {
      throw new RangeError(`${op}: target ${describeValue(t)} at index ${i} is not an integer class index`);
    }
    if (t !== ignoreIndex && (t < 0 || t >= L.C)) {
      throw new RangeError(`${op}: target ${t} at index ${i} is out of range for ${L.C} classes (expected 0..${L.C - 1}${ignoreIndex < 0 || ignoreIndex >= L.C ? ` or ignoreIndex ${ignoreIndex}` : ''})`);
    }
    out[i] = t;
  }
  return out;
}

function classWeight(op: string, w: Tensor | null, C: number): Float32Array | null {
  if (!w) return null;
  if (w.ndim !== 1 || w.shape[0] !== C) throw new RangeError(`${op}: weight must have shape [${C}] (one per class), got ${formatShape(w.shape)}`);
  return w.data;
}

/** Reduced loss tensor from per-sample losses. */
function reduceOut(perSample: Float64Array, reduction: Reduction, sampleShape: number[], denom: number): Tensor {
  if (reduction === 'none') return new Tensor(Float32Array.from(perSample), sampleShape.slice());
  let s = 0;
  for (let i = 0; i < perSample.length; i++) s += perSample[i];
  return new Tensor(new Float32Array([reduction === 'mean' ? s / denom : s]), []);
}

/** Upstream gradient per sample, reduction scaling included. */
function sampleCoef(gy: Float32Array, reduction: Reduction, i: number, denom: number): number {
  if (reduction === 'none') return gy[i];
  return reduction === 'mean' ? gy[0] / denom : gy[0];
}

/**
 * Cross-entropy of logits [N, C] (or [N, C, d...], or unbatched [C]) against class indices
 * [N] (or [N, d...]), or against class probabilities of the input's shape (a Tensor).
 * PyTorch's semantics, including labelSmoothing, ignoreIndex and per-class weight.
 */
export function crossEntropy(input: Tensor, target: ClassTarget, options?: CrossEntropyOptions): Tensor {
  const op = 'crossEntropy';
  const x = checkTensorArg(op, 'input', input);
  const o = optionsOf(op, options, ['reduction', 'labelSmoothing', 'ignoreIndex', 'weight']);
  const reduction = checkReduction(op, o.reduction ?? 'mean');
  const eps = checkFiniteNumber(op, 'labelSmoothing', o.labelSmoothing ?? 0, { min: 0, max: 1 });
  const ignoreIndex = checkIgnoreIndex(op, o.ignoreIndex ?? -100);
  const wT = optionalTensor(op, 'weight', o.weight);
  if (x.ndim < 1) throw new RangeError(`${op}: expected input [N, C] or [N, C, d...] (or [C]), got shape ${formatShape(x.shape)}`);
  const L = classLayout(op, x);
  const { N, C, S } = L;
  const wc = classWeight(op, wT, C);
  const lp = new Float32Array(x.size);
  logSoftmaxInto(x.data, lp, N, C, S);
  const at = (n: number, c: number, s: number) => (n * C + c) * S + s;

  if (target instanceof Tensor && target.ndim === x.ndim && target.ndim >= 1 && target.shape.every((d, i) => d === x.shape[i])) {
    return softCrossEntropy(op, x, target, lp, L, wc, wT, reduction, eps, o.ignoreIndex);
  }
  const t = classTargets(op, target, L, ignoreIndex);
  const count = N * S;
  let wTot = C;
  if (wc) { wTot = 0; for (let c = 0; c < C; c++) wTot += wc[c]; }
  const loss = new Float64Array(count);
  const nllPart = new Float64Array(count), smoothPart = new Float64Array(count);
  let wSum = 0;
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      const i = n * S + s, ti = t[i];
      if (ti === ignoreIndex) continue;
      const wt = wc ? wc[ti] : 1;
      wSum += wt;
      nllPart[i] = -wt * lp[at(n, ti, s)];
      if (eps > 0) {
        let sm = 0;
        for (let c = 0; c < C; c++) sm -= (wc ? wc[c] : 1) * lp[at(n, c, s)];
        smoothPart[i] = sm;
      }
    }
  }
  // PyTorch (>= 1.12): both parts' mean divides by the summed weights of the non-ignored
  // targets (their count without a weight).
  const nllDenom = wSum, smoothDenom = wSum;
  let out: Tensor;
  if (reduction === 'none') {
    for (let i = 0; i < count; i++) loss[i] = (1 - eps) * nllPart[i] + (eps / C) * smoothPart[i];
    out = new Tensor(Float32Array.from(loss), L.sampleShape.slice());
  } else {
    let a = 0, b = 0;
    for (let i = 0; i < count; i++) { a += nllPart[i]; b += smoothPart[i]; }
    if (reduction === 'mean') { a /= nllDenom; b = eps > 0 ? b / smoothDenom : 0; }
    out = new Tensor(new Float32Array([(1 - eps) * a + (eps / C) * b]), []);
  }
  if (!needsGrad(x)) return out;
  return record(out, op, [x], (gyT) => {
    const gy = gyT.data;
    const gx = new Float32Array(x.size);
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = n * S + s, ti = t[i];
        if (ti === ignoreIndex) continue;
        const alpha = (1 - eps) * sampleCoef(gy, reduction, i, nllDenom) * (wc ? wc[ti] : 1);
        const beta = eps > 0 ? (eps / C) * sampleCoef(gy, reduction, i, smoothDenom) : 0;
        for (let c = 0; c < C; c++) {
          const j = at(n, c, s);
          const p = Math.exp(lp[j]);
          let g = alpha * p + beta * (p * wTot - (wc ? wc[c] : 1));
          if (c === ti) g -= alpha;
          gx[j] = g;
        }
      }
    }
    return [new Tensor(gx, x.shape.slice())];
  });
}

/** Cross-entropy against class probabilities (target shaped like the input). */
function softCrossEntropy(op: string, x: Tensor, target: Tensor, lp: Float32Array, L: ClassLayout,
                          wc: Float32Array | null, wT: Tensor | null, reduction: Reduction, eps: number,
                          ignoreIndex: number | undefined): Tensor {
  void wT;
  if (ignoreIndex !== undefined && ignoreIndex >= 0) {
    throw new RangeError(`${op}: ignoreIndex is not supported with class-probability targets`);
  }
  const { N, C, S } = L;
  const count = N * S;
  const pd = target.data;
  const at = (n: number, c: number, s: number) => (n * C + c) * S + s;
  const q = (j: number) => pd[j] * (1 - eps) + eps / C;
  const loss = new Float64Array(count);
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      let acc = 0;
      for (let c = 0; c < C; c++) { const j = at(n, c, s); acc -= (wc ? wc[c] : 1) * q(j) * lp[j]; }
      loss[n * S + s] = acc;
    }
  }
  const out = reduceOut(loss, reduction, L.sampleShape, count);
  if (!needsGrad(x, target)) return out;
  return record(out, op, [x, target], (gyT) => {
    const gy = gyT.data;
    const gx = x.requiresGrad ? new Float32Array(x.size) : null;
    const gt = target.requiresGrad ? new Float32Array(target.size) : null;
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = n * S + s;
        const k = sampleCoef(gy, reduction, i, count);
        let wq = 0;
        for (let c = 0; c < C; c++) { const j = at(n, c, s); wq += (wc ? wc[c] : 1) * q(j); }
        for (let c = 0; c < C; c++) {
          const j = at(n, c, s), w = wc ? wc[c] : 1;
          if (gx) gx[j] = k * (Math.exp(lp[j]) * wq - w * q(j));
          if (gt) gt[j] = -k * (1 - eps) * w * lp[j];
        }
      }
    }
    return [gx ? new Tensor(gx, x.shape.slice()) : null, gt ? new Tensor(gt, target.shape.slice()) : null];
  });
}

/**
 * Negative log-likelihood of log-probabilities [N, C] (or [N, C, d...], or [C]) against
 * class indices: -weight[t] * logProbs[t]; 'mean' divides by the summed target weights.
 */
export function nllLoss(input: Tensor, target: ClassTarget, options?: NllLossOptions): Tensor {
  const op = 'nllLoss';
  const x = checkTensorArg(op, 'input', input);
  const o = optionsOf(op, options, ['reduction', 'ignoreIndex', 'weight']);
  const reduction = checkReduction(op, o.reduction ?? 'mean');
  const ignoreIndex = checkIgnoreIndex(op, o.ignoreIndex ?? -100);
  if (x.ndim < 1) throw new RangeError(`${op}: expected input [N, C] or [N, C, d...] (or [C]), got shape ${formatShape(x.shape)}`);
  const L = classLayout(op, x);
  const { N, C, S } = L;
  const wc = classWeight(op, optionalTensor(op, 'weight', o.weight), C);
  const t = classTargets(op, target, L, ignoreIndex);
  const xd = x.data;
  const count = N * S;
  const loss = new Float64Array(count);
  let wSum = 0;
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      const i = n * S + s, ti = t[i];
      if (ti === ignoreIndex) continue;
      const wt = wc ? wc[ti] : 1;
      wSum += wt;
      loss[i] = -wt * xd[(n * C + ti) * S + s];
    }
  }
  const out = reduceOut(loss, reduction, L.sampleShape, wSum);
  if (!needsGrad(x)) return out;
  return record(out, op, [x], (gyT) => {
    const gy = gyT.data;
    const gx = new Float32Array(x.size);
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        const i = n * S + s, ti = t[i];
        if (ti === ignoreIndex) continue;
        gx[(n * C + ti) * S + s] = -sampleCoef(gy, reduction, i, wSum) * (wc ? wc[ti] : 1);
      }
    }
    return [new Tensor(gx, x.shape.slice())];
  });
}

/** Mean squared error between input and target (same shape); differentiable w.r.t. both. */
export function mseLoss(input: Tensor, target: Tensor, options?: MseLossOptions): Tensor {
  const op = 'mseLoss';
  const x = checkTensorArg(op, 'input', input);
  const y = checkTensorArg(op, 'target', target);
  const o = optionsOf(op, options, ['reduction']);
  const reduction = checkReduction(op, o.reduction ?? 'mean');
  if (x.ndim !== y.ndim || x.shape.some((d, i) => d !== y.shape[i])) {
    throw new RangeError(`${op}: input ${formatShape(x.shape)} and target ${formatShape(y.shape)} must have the same shape`);
  }
  const n = x.size, xd = x.data, yd = y.data;
  const sq = new Float64Array(n);
  for (let i = 0; i < n; i++) { const d = xd[i] - yd[i]; sq[i] = d * d; }
  const out = reduceOut(sq, reduction, x.shape, n);
  if (!needsGrad(x, y)) return out;
  return record(out, op, [x, y], (gyT) => {
    const gy = gyT.data;
    const gx = x.requiresGrad ? new Float32Array(n) : null;
    const gt = y.requiresGrad ? new Float32Array(n) : null;
    for (let i = 0; i < n; i++) {
      const g = 2 * (xd[i] - yd[i]) * sampleCoef(gy, reduction, i, n);
      if (gx) gx[i] = g;
      if (gt) gt[i] = -g;
    }
    return [gx ? new Tensor(gx, x.shape.slice()) : null, gt ? new Tensor(gt, y.shape.slice()) : null];
  });
}
