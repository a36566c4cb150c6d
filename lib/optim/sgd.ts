// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay:
// PyTorch's update exactly (torch.optim.SGD).
import { Optimizer, ParamGroup, ParamState, ParamsInput, checkFlag, checkHyper } from './optimizer';

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
  /** Ascend instead of descend. */
  maximize: boolean;
}

/**
 * Per parameter, with g its gradient:
 *   g = g + weightDecay * w
 *   b = g on the first step, else momentum * b + (1 - dampening) * g   (when momentum != 0)
 *   g = nesterov ? g + momentum * b : b
 *   w = w - lr * g
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super('SGD', params, {
      lr: options.lr ?? 1e-3,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      nesterov: options.nesterov ?? false,
      weightDecay: options.weightDecay ?? 0,
      maximize: options.maximize ?? false,
    });
    for (const k of Object.keys(options)) if (!(k in this.defaults)) throw new TypeError(`SGD: unknown option '${k}' (known: ${Object.keys(this.defaults).join(', ')})`);
  }

  protected validate(h: SGDOptions): void {
    checkHyper('SGD', 'learning rate', h.lr, { min: 0 });
    checkHyper('SGD', 'momentum value', h.momentum, { min: 0 });
    checkHyper('SGD', 'dampening value', h.dampening);
    checkHyper('SGD', 'weightDecay value', h.weightDecay, { min: 0 });
    checkFlag('SGD', 'nesterov', h.nesterov);
    checkFlag('SGD', 'maximize', h.maximize);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new RangeError('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected update(group: ParamGroup<SGDOptions>, w: Float32Array, g: Float32Array, state: ParamState): void {
    const { lr, momentum, dampening, nesterov, weightDecay, maximize } = group;
    const n = w.length;
    if (momentum === 0) {
      for (let i = 0; i < n; i++) {
        let d = maximize ? -g[i] : g[i];
        if (weightDecay !== 0) d += weightDecay * w[i];
        w[i] -= lr * d;
      }
      return;
    }
    let buf = state.momentumBuffer as Float32Array | undefined;
    const first = buf === undefined;
    if (!buf) { buf = new Float32Array(n); state.momentumBuffer = buf; }
    const keep = 1 - dampening;
    for (let i = 0; i < n; i++) {
      let d = maximize ? -g[i] : g[i];
      if (weightDecay !== 0) d += weightDecay * w[i];
      const b = first ? d : momentum * buf[i] + keep * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
      w[i] -= lr * d;
    }
  }
}
