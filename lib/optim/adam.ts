// Adam (Kingma & Ba 2015) with optional AMSGrad and L2 weight decay, and AdamW
// (Loshchilov & Hutter 2019) with decoupled weight decay: PyTorch's updates exactly.
import { Optimizer, ParamGroup, ParamState, ParamsInput, checkFlag, checkHyper } from './optimizer';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

abstract class AdamBase extends Optimizer<AdamOptions> {
  constructor(name: string, params: ParamsInput<AdamOptions>, options: Partial<AdamOptions>, defaultWeightDecay: number) {
    super(name, params, {
      lr: options.lr ?? 1e-3,
      betas: options.betas ?? [0.9, 0.999],
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? defaultWeightDecay,
      amsgrad: options.amsgrad ?? false,
      maximize: options.maximize ?? false,
    });
    for (const k of Object.keys(options)) if (!(k in this.defaults)) throw new TypeError(`${name}: unknown option '${k}' (known: ${Object.keys(this.defaults).join(', ')})`);
  }

  protected validate(h: AdamOptions): void {
    const n = this.name;
    checkHyper(n, 'learning rate', h.lr, { min: 0 });
    checkHyper(n, 'epsilon value', h.eps, { min: 0 });
    if (!Array.isArray(h.betas) || h.betas.length !== 2) throw new RangeError(`${n}: betas must be a pair [beta1, beta2], got ${String(h.betas)}`);
    checkHyper(n, 'beta parameter at index 0', h.betas[0], { min: 0, maxExclusive: 1 });
    checkHyper(n, 'beta parameter at index 1', h.betas[1], { min: 0, maxExclusive: 1 });
    checkHyper(n, 'weightDecay value', h.weightDecay, { min: 0 });
    checkFlag(n, 'amsgrad', h.amsgrad);
    checkFlag(n, 'maximize', h.maximize);
  }

  /** true: w *= 1 - lr * weightDecay before the step (AdamW); false: g += weightDecay * w (Adam). */
  protected abstract readonly decoupled: boolean;

  protected update(group: ParamGroup<AdamOptions>, w: Float32Array, g: Float32Array, state: ParamState): void {
    const { lr, eps, weightDecay, amsgrad, maximize } = group;
    const [beta1, beta2] = group.betas;
    const n = w.length;
    if (state.step === undefined) {
      state.step = 0;
      state.expAvg = new Float32Array(n);
      state.expAvgSq = new Float32Array(n);
      if (amsgrad) state.maxExpAvgSq = new Float32Array(n);
    }
    if (amsgrad && !state.maxExpAvgSq) state.maxExpAvgSq = new Float32Array(n);
    const step = (state.step as number) + 1;
    state.step = step;
    const m = state.expAvg as Float32Array;
    const v = state.expAvgSq as Float32Array;
    const vmax = state.maxExpAvgSq as Float32Array | undefined;
    const stepSize = lr / (1 - Math.pow(beta1, step));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
    const decay = this.decoupled ? 1 - lr * weightDecay : 1;
    const l2 = this.decoupled ? 0 : weightDecay;
    for (let i = 0; i < n; i++) {
      let d = maximize ? -g[i] : g[i];
      let wi = w[i];
      if (decay !== 1) wi *= decay;
      if (l2 !== 0) d += l2 * wi;
      const mi = beta1 * m[i] + (1 - beta1) * d;
      const vi = beta2 * v[i] + (1 - beta2) * d * d;
      m[i] = mi;
      v[i] = vi;
      let s = vi;
      if (amsgrad && vmax) { s = Math.max(vmax[i], vi); vmax[i] = s; }
      w[i] = wi - stepSize * mi / (Math.sqrt(s) / bc2Sqrt + eps);
    }
  }
}

/**
 * Per parameter at step t (from 1), with g its gradient:
 *   g = g + weightDecay * w
 *   m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
 *   vHat = amsgrad ? max(vHat, v) : v
 *   w = w - lr / (1 - beta1^t) * m / (sqrt(vHat) / sqrt(1 - beta2^t) + eps)
 */
export class Adam extends AdamBase {
  protected readonly decoupled = false;

  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('Adam', params, options, 0);
  }
}

/** Adam with decoupled weight decay: w = w * (1 - lr * weightDecay) first, then Adam's step
 * without the L2 term. weightDecay defaults to 0.01 as in PyTorch. */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;

  constructor(params: ParamsInput<AdamOptions>, options: Partial<AdamOptions> = {}) {
    super('AdamW', params, options, 0.01);
  }
}
