// Batch normalisation and local response normalisation, with fused backward passes.
// Statistics are accumulated in float64.
import { Tensor, formatShape, markDataChanged } from '../tensor';
import { record, needsGrad } from '../autograd/engine';
import { checkBoolean, checkFiniteNumber, checkInt, checkTensorArg, optionalTensor, optionsOf } from './options';

export interface BatchNormOptions {
  /** Normalise with the batch statistics and update the running ones (default false, as in PyTorch). */
  training?: boolean;
  /** Weight of the new batch statistic in the running average (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

function checkChannelVector(op: string, name: string, t: Tensor | null, C: number): void {
  if (t && (t.ndim !== 1 || t.shape[0] !== C)) {
    throw new RangeError(`${op}: ${name} must have shape [${C}] (one per channel), got ${formatShape(t.shape)}`);
  }
}

/**
 * Batch normalisation over dim 1 of x [N, C], [N, C, L] or [N, C, H, W] (any rank >= 2).
 * training: normalise with the batch mean and biased variance; runningMean/runningVar
 * (when given) are updated in place: (1 - momentum) * old + momentum * stat, with the
 * unbiased variance for runningVar. Otherwise normalise with the running statistics.
 * Differentiable w.r.t. x, weight and bias (not the running statistics).
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null | undefined, runningVar: Tensor | null | undefined,
                          weight?: Tensor | null, bias?: Tensor | null, options?: BatchNormOptions): Tensor {
  const op = 'batchNorm';
  const x = checkTensorArg(op, 'input', input);
  const rm = optionalTensor(op, 'runningMean', runningMean);
  const rv = optionalTensor(op, 'runningVar', runningVar);
  const w = optionalTensor(op, 'weight', weight);
  const b = optionalTensor(op, 'bias', bias);
  const o = optionsOf(op, options, ['training', 'momentum', 'eps']);
  const training = checkBoolean(op, 'training', o.training ?? false);
  const momentum = checkFiniteNumber(op, 'momentum', o.momentum ?? 0.1);
  const eps = checkFiniteNumber(op, 'eps', o.eps ?? 1e-5, { min: 0 });
  if (x.ndim < 2) throw new RangeError(`${op}: expected input [N, C, ...] of rank >= 2, got shape ${formatShape(x.shape)}`);
  const N = x.shape[0], C = x.shape[1];
  const S = x.size / Math.max(N * C, 1);
  for (const [name, t] of [['runningMean', rm], ['runningVar', rv], ['weight', w], ['bias', b]] as const) {
    checkChannelVector(op, name, t, C);
  }
  if ((rm === null) !== (rv === null)) throw new TypeError(`${op}: give both runningMean and runningVar, or neither`);
  const count = N * S;
  if (!training && (!rm || !rv)) throw new TypeError(`${op}: runningMean and runningVar are required when training is false`);
  if (training && count <= 1) {
    throw new RangeError(`${op}: expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`);
  }

  const xd = x.data;
  const mean = new Float64Array(C), invStd = new Float64Array(C);
  if (training) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) {
        const base = (n * C + c) * S;
        for (let i = 0; i < S; i++) s += xd[base + i];
      }
      const m = s / count;
      let v = 0;
      for (let n = 0; n < N; n++) {
        const base = (n * C + c) * S;
        for (let i = 0; i < S; i++) { const d = xd[base + i] - m; v += d * d; }
      }
      mean[c] = m;
      invStd[c] = 1 / Math.sqrt(v / count + eps);
      if (rm && rv) {
        if (c === 0) markDataChanged();
        rm.data[c] = (1 - momentum) * rm.data[c] + momentum * m;
        rv.data[c] = (1 - momentum) * rv.data[c] + momentum * (v / (count - 1));
      }
    }
  } else {
    for (let c = 0; c < C; c++) {
      mean[c] = rm!.data[c];
      invStd[c] = 1 / Math.sqrt(rv!.data[c] + eps);
    }
  }

  const y = new Float32Array(x.size);
  for (let c = 0; c < C; c++) {
    const scale = invStd[c] * (w ? w.data[c] : 1), shift = (b ? b.data[c] : 0) - mean[c] * scale;
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * S;
      for (let i = 0; i < S; i++) y[base + i] = xd[base + i] * scale + shift;
    }
  }
  const out = new Tensor(y, x.shape.slice());
  if (!needsGrad(x, w, b)) return out;
  const wd = w ? w.data.slice() : null;
  return record(out, op, [x, w, b], (gyT) => {
    const gy = gyT.data;
    const gx = x.requiresGrad ? new Float32Array(x.size) : null;
    const gw = w && w.requiresGrad ? new Float32Array(C) : null;
    const gb = b && b.requiresGrad ? new Float32Array(C) : null;
    for (let c = 0; c < C; c++) {
      const m = mean[c], is = invStd[c];
      let sumGy = 0, sumGyXhat = 0;
      for (let n = 0; n < N; n++) {
        const base = (n * C + c) * S;
        for (let i = 0; i < S; i++) {
          const g = gy[base + i];
          sumGy += g;
          sumGyXhat += g * (xd[base + i] - m) * is;
        }
      }
      if (gw) gw[c] = sumGyXhat;
      if (gb) gb[c] = sumGy;
      if (gx) {
        const k = (wd ? wd[c] : 1) * is;
        if (training) {
          const a = sumGy / count, bb = sumGyXhat / count;
          for (let n = 0; n < N; n++) {
            const base = (n * C + c) * S;
            for (let i = 0; i < S; i++) {
              const xh = (xd[base + i] - m) * is;
              gx[base + i] = k * (gy[base + i] - a - xh * bb);
            }
          }
        } else {
          for (let n = 0; n < N; n++) {
            const base = (n * C + c) * S;
            for (let i = 0; i < S; i++) gx[base + i] = k * gy[base + i];
          }
        }
      }
    }
    return [
      gx ? new Tensor(gx, x.shape.slice()) : null,
      gw ? new Tensor(gw, w!.shape.slice()) : null,
      gb ? new Tensor(gb, b!.shape.slice()) : null,
    ];
  });
}

export interface LocalResponseNormOptions {
  /** Number of neighbouring channels in the window (required). */
  size: number;
  /** Default 1e-4; divided by size. */
  alpha?: number;
  /** Default 0.75. */
  beta?: number;
  /** Default 1. */
  k?: number;
}

/**
 * Local response normalisation across channels (AlexNet), x [N, C, ...]:
 * y_c = x_c / (k + alpha/size * sum_{c'} x_{c'}^2)^beta, the sum over the channels
 * [c - floor(size/2), c + floor((size-1)/2)] clipped to the valid ones.
 */
export function localResponseNorm(input: Tensor, options: LocalResponseNormOptions): Tensor {
  const op = 'localResponseNorm';
  const x = checkTensorArg(op, 'input', input);
  const o = optionsOf(op, options, ['size', 'alpha', 'beta', 'k']);
  if (o.size === undefined) throw new TypeError(`${op}: the size option is required`);
  const size = checkInt(op, 'size', o.size, 1);
  const alpha = checkFiniteNumber(op, 'alpha', o.alpha ?? 1e-4);
  const beta = checkFiniteNumber(op, 'beta', o.beta ?? 0.75);
  const k = checkFiniteNumber(op, 'k', o.k ?? 1);
  if (x.ndim < 3) throw new RangeError(`${op}: expected input [N, C, ...] of rank >= 3, got shape ${formatShape(x.shape)}`);
  const N = x.shape[0], C = x.shape[1];
  const S = x.size / Math.max(N * C, 1);
  const lo = Math.floor(size / 2), hi = Math.floor((size - 1) / 2);
  const a = alpha / size;
  const xd = x.data;
  // d^-beta, with the common AlexNet/PyTorch beta = 0.75 and 0.5 without the general pow.
  const mode = beta === 0.75 ? 1 : beta === 0.5 ? 2 : 0;
  const grad = needsGrad(x);
  const scale = grad ? new Float64Array(x.size) : null;   // den^-beta per element
  const den = grad ? new Float64Array(x.size) : null;     // k + a * window sum of squares
  const y = new Float32Array(x.size);
  const win = new Float64Array(S);          // running window sum of squares over one plane
  const plane = (n: number, c: number) => (n * C + c) * S;
  for (let n = 0; n < N; n++) {
    win.fill(0);
    for (let c = 0; c <= Math.min(hi, C - 1); c++) {
      const b0 = plane(n, c);
      for (let s = 0; s < S; s++) { const v = xd[b0 + s]; win[s] += v * v; }
    }
    for (let c = 0; c < C; c++) {
      // win holds channels [c - lo, c + hi] clipped.
      const b0 = plane(n, c);
      for (let s = 0; s < S; s++) {
        const d = k + a * win[s];
        const f = mode === 1 ? 1 / Math.sqrt(d * Math.sqrt(d)) : mode === 2 ? 1 / Math.sqrt(d) : Math.pow(d, -beta);
        if (den && scale) { den[b0 + s] = d; scale[b0 + s] = f; }
        y[b0 + s] = xd[b0 + s] * f;
      }
      const add = c + hi + 1, drop = c - lo;
      if (add < C) {
        const ba = plane(n, add);
        for (let s = 0; s < S; s++) { const v = xd[ba + s]; win[s] += v * v; }
      }
      if (drop >= 0) {
        const bd = plane(n, drop);
        for (let s = 0; s < S; s++) { const v = xd[bd + s]; win[s] = Math.max(0, win[s] - v * v); }
      }
    }
  }
  const out = new Tensor(y, x.shape.slice());
  if (!den || !scale) return out;
  return record(out, op, [x], (gyT) => {
    const gy = gyT.data;
    const gx = new Float32Array(x.size);
    // gx_j = gy_j den_j^-beta - 2 beta a x_j * sum over channels c whose window holds j
    // (j - hi <= c <= j + lo) of t_c = gy_c x_c den_c^(-beta-1).
    const t = new Float64Array(x.size);
    for (let i = 0; i < x.size; i++) t[i] = gy[i] * xd[i] * scale[i] / den[i];
    const acc = new Float64Array(S);
    const f = 2 * beta * a;
    for (let n = 0; n < N; n++) {
      acc.fill(0);
      for (let c = 0; c <= Math.min(lo, C - 1); c++) {
        const b0 = plane(n, c);
        for (let s = 0; s < S; s++) acc[s] += t[b0 + s];
      }
      for (let j = 0; j < C; j++) {
        // acc holds t over channels [j - hi, j + lo] clipped.
        const b0 = plane(n, j);
        for (let s = 0; s < S; s++) gx[b0 + s] = gy[b0 + s] * scale[b0 + s] - f * xd[b0 + s] * acc[s];
        const add = j + lo + 1, drop = j - hi;
        if (add < C) { const ba = plane(n, add); for (let s = 0; s < S; s++) acc[s] += t[ba + s]; }
        if (drop >= 0) { const bd = plane(n, drop); for (let s = 0; s < S; s++) acc[s] -= t[bd + s]; }
      }
    }
    return [new Tensor(gx, x.shape.slice())];
  });
}
