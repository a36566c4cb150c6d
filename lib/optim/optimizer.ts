// Optimizer base: parameter groups with per-group hyper-parameters, per-parameter state,
// zeroGrad, and a state dict. Updates run directly on the parameters' Float32Arrays,
// never through the tape.
import { Tensor, markDataChanged } from '../tensor';

/** A group of parameters sharing hyper-parameters H (lr, momentum, ...). */
export type ParamGroup<H> = H & {
  params: Tensor[];
  /** The lr a scheduler started from (set by the first scheduler attached). */
  initialLr?: number;
};

/** Parameters, or groups of them each optionally overriding the defaults. */
export type ParamsInput<H> = Iterable<Tensor> | Array<{ params: Iterable<Tensor> } & Partial<H>>;

/** Per-parameter state: named Float32Array buffers and numbers. */
export type ParamState = Record<string, Float32Array | number>;

export interface OptimizerStateDict<H> {
  /** Keyed by the parameter's position over all groups. */
  state: Record<number, ParamState>;
  paramGroups: Array<H & { params: number[]; initialLr?: number }>;
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly defaults: H;
  readonly paramGroups: Array<ParamGroup<H>> = [];
  readonly state = new Map<Tensor, ParamState>();
  protected readonly name: string;

  constructor(name: string, params: ParamsInput<H>, defaults: H) {
    this.name = name;
    this.defaults = defaults;
    if (params === null || params === undefined || typeof (params as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${name}: params must be an iterable of Tensors or of parameter groups, got ${typeof params}`);
    }
    const list = [...(params as Iterable<unknown>)];
    if (list.length === 0) throw new RangeError(`${name}: got an empty parameter list`);
    const groups = list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : list;
    for (const g of groups) this.addParamGroup(g as { params: Iterable<Tensor> } & Partial<H>);
  }

  /** Checks a group's merged hyper-parameters; throws a RangeError naming the bad one. */
  protected abstract validate(group: H): void;

  /** Adds a parameter group; unspecified hyper-parameters take the defaults. */
  addParamGroup(group: { params: Iterable<Tensor> } & Partial<H>): void {
    if (group === null || typeof group !== 'object' || group instanceof Tensor) {
      throw new TypeError(`${this.name}: a parameter group must be an object with params, got ${group instanceof Tensor ? 'a Tensor mixed with groups' : typeof group}`);
    }
    const raw = group.params as unknown;
    if (raw === undefined || raw === null || typeof (raw as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${this.name}: a parameter group's params must be an iterable of Tensors`);
    }
    const params = raw instanceof Tensor ? [raw] : [...(raw as Iterable<unknown>)];
    if (params.length === 0) throw new RangeError(`${this.name}: got an empty parameter group`);
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    const unique: Tensor[] = [];
    params.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${this.name}: can only optimize Tensors, but parameter ${i} is ${p === null ? 'null' : typeof p}`);
      if (!p.isLeaf) throw new TypeError(`${this.name}: cannot optimize a non-leaf Tensor (parameter ${i}, shape [${p.shape.join(', ')}])`);
      if (seen.has(p)) {
        if (unique.includes(p)) return; // listed twice in one group: keep one (PyTorch warns)
        throw new RangeError(`${this.name}: some parameters appear in more than one parameter group`);
      }
      unique.push(p);
    });
    for (const p of unique) seen.add(p);
    const merged = { ...this.defaults } as Record<string, unknown>;
    for (const [k, v] of Object.entries(group)) {
      if (k === 'params' || v === undefined) continue;
      if (!(k in this.defaults) && k !== 'initialLr') throw new TypeError(`${this.name}: unknown option '${k}' (known: ${Object.keys(this.defaults).join(', ')})`);
      merged[k] = v;
    }
    this.validate(merged as unknown as H);
    this.paramGroups.push({ ...(merged as unknown as H), params: unique });
  }

  /** Clears the gradients of every parameter (to null, or zeros with setToNone = false). */
  zeroGrad(setToNone = true): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        if (!p.grad) continue;
        if (setToNone) p.grad = null;
        else p.grad.data.fill(0);
      }
    }
  }

  /**
   * One update of every parameter that has a gradient (those whose grad is null are
   * skipped). A closure, if given, is called first (it re-evaluates the loss) and its
   * result returned.
   */
  step<T = undefined>(closure?: () => T): T | undefined {
    const loss = closure ? closure() : undefined;
    markDataChanged();
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (!p.grad) continue;
        if (p.grad.size !== p.size) {
          throw new RangeError(`${this.name}: gradient of shape [${p.grad.shape.join(', ')}] does not match parameter [${p.shape.join(', ')}]`);
        }
        let s = this.state.get(p);
        if (!s) { s = {}; this.state.set(p, s); }
        this.update(group, p.data, p.grad.data, s);
      }
    }
    return loss;
  }

  /** Updates one parameter's values `w` in place from its gradient `g`. */
  protected abstract update(group: ParamGroup<H>, w: Float32Array, g: Float32Array, state: ParamState): void;

  /** Hyper-parameters per group and state per parameter (buffers copied), PyTorch's layout. */
  stateDict(): OptimizerStateDict<H> {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      return { ...structuredClone(hyper), params: params.map((p) => { const i = index.size; index.set(p, i); return i; }) } as H & { params: number[] };
    });
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i === undefined) continue;
      const copy: ParamState = {};
      for (const [k, v] of Object.entries(s)) copy[k] = v instanceof Float32Array ? v.slice() : v;
      state[i] = copy;
    }
    return { state, paramGroups };
  }

  /** Restores hyper-parameters and state saved by stateDict() from an optimizer over the same parameters. */
  loadStateDict(sd: OptimizerStateDict<H>): void {
    if (!sd || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object') {
      throw new TypeError(`${this.name}.loadStateDict: expected {state, paramGroups}`);
    }
    if (sd.paramGroups.length !== this.paramGroups.length) {
      throw new RangeError(`${this.name}.loadStateDict: saved state has ${sd.paramGroups.length} parameter groups, this optimizer has ${this.paramGroups.length}`);
    }
    const byIndex: Tensor[] = [];
    sd.paramGroups.forEach((g, gi) => {
      const mine = this.paramGroups[gi];
      if (!Array.isArray(g.params) || g.params.length !== mine.params.length) {
        throw new RangeError(`${this.name}.loadStateDict: group ${gi} has ${g.params?.length} parameters, this optimizer's has ${mine.params.length}`);
      }
      g.params.forEach((idx, j) => { byIndex[idx] = mine.params[j]; });
    });
    for (const [k, s] of Object.entries(sd.state)) {
      const p = byIndex[Number(k)];
      if (!p) throw new RangeError(`${this.name}.loadStateDict: state for unknown parameter ${k}`);
      for (const v of Object.values(s)) {
        if (v instanceof Float32Array && v.length !== p.size) {
          throw new RangeError(`${this.name}.loadStateDict: state buffer of parameter ${k} has ${v.length} values, the parameter has ${p.size}`);
        }
      }
    }
    sd.paramGroups.forEach((g, gi) => {
      const { params: _ignored, ...hyper } = g;
      const merged = { ...this.defaults, ...hyper } as H;
      this.validate(merged);
      Object.assign(this.paramGroups[gi], merged);
    });
    this.state.clear();
    for (const [k, s] of Object.entries(sd.state)) {
      const copy: ParamState = {};
      for (const [name, v] of Object.entries(s)) copy[name] = v instanceof Float32Array ? v.slice() : v;
      this.state.set(byIndex[Number(k)], copy);
    }
  }
}

export function checkHyper(opt: string, name: string, v: unknown, opts: { min?: number; maxExclusive?: number } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${opt}: invalid ${name}: ${String(v)} (must be a finite number)`);
  if (opts.min !== undefined && v < opts.min) throw new RangeError(`${opt}: invalid ${name}: ${v} (must be >= ${opts.min})`);
  if (opts.maxExclusive !== undefined && v >= opts.maxExclusive) throw new RangeError(`${opt}: invalid ${name}: ${v} (must be < ${opts.maxExclusive})`);
  return v;
}

export function checkFlag(opt: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${opt}: ${name} must be a boolean, got ${String(v)}`);
  return v;
}
