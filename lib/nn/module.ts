// nn.Module: PyTorch's contract in TypeScript.
//
// Registration is discovered, not declared: a subclass assigns submodules and Parameters
// to ordinary fields, and the Module finds them by walking its own enumerable properties
// in definition order (so `conv1`, `bn1`, `layer1` come out in the order the constructor
// wrote them, as in PyTorch). Names that are not valid as fields, or that are only known
// at run time (Sequential's 0, 1, 2...), go through registerModule / registerParameter and
// come after the fields, in registration order. Buffers (BatchNorm's running statistics)
// are plain Tensors, so they are never guessed from fields: registerBuffer names them.
//
// Calling convention: subclasses implement `forward(...)`. `m.call(x)` is PyTorch's
// `m(x)`: forward pre-hooks, forward, forward hooks. Once a hook is registered on a
// module, its `forward` is routed through `call` as well, so hooks fire whichever of the
// two a parent uses; without hooks both are the same plain method call.
import { Tensor, formatShape, markDataChanged } from '../tensor';
import { Parameter } from './parameter';
import { summarize, predictWith } from './summary';
import type { SummaryOptions, SummaryResult } from './summary';

/** A tensor-like value accepted by loadStateDict: a Tensor or a `{shape, data}` record. */
export interface TensorLike {
  shape: readonly number[];
  data: ArrayLike<number> | BigInt64Array | BigUint64Array;
}

export type StateDictSource = Map<string, Tensor | TensorLike> | Record<string, Tensor | TensorLike>;

export interface LoadStateDictOptions {
  /** Require the keys to match exactly (default true). Shapes are always checked. */
  strict?: boolean;
}

export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export interface RemovableHandle {
  remove(): void;
}

export type ForwardPreHook = (module: Module, args: unknown[]) => unknown[] | void;
export type ForwardHook = (module: Module, args: unknown[], output: unknown) => unknown;

interface BufferEntry {
  tensor: Tensor | null;
  persistent: boolean;
}

let nextHookId = 0;

export abstract class Module {
  /** Training mode (dropout active, batch statistics in BatchNorm); see train()/eval(). */
  training = true;

  // Internal bookkeeping lives in non-enumerable properties so that field discovery only
  // ever sees what subclasses assign.
  private declare _registered: string[];
  private declare _buffers: Map<string, BufferEntry>;
  private declare _preHooks: Map<number, ForwardPreHook>;
  private declare _hooks: Map<number, ForwardHook>;
  private declare _rawForward: ((...args: any[]) => any) | null;

  constructor() {
    hidden(this, '_registered', []);
    hidden(this, '_buffers', new Map());
    hidden(this, '_preHooks', new Map());
    hidden(this, '_hooks', new Map());
    hidden(this, '_rawForward', null);
  }

  /** The computation. Subclasses override it with their own signature. */
  abstract forward(...args: any[]): any;

  /** PyTorch's `module(x)`: pre-hooks, forward, hooks. */
  call(...args: Parameters<this['forward']>): ReturnType<this['forward']> {
    const fwd = this._rawForward ?? this.forward;
    if (typeof fwd !== 'function') throw new TypeError(`${this.typeName} has no forward() method`);
    if (this._preHooks.size === 0 && this._hooks.size === 0) return fwd.apply(this, args);
    let a: unknown[] = args;
    for (const h of [...this._preHooks.values()]) {
      const r = h(this, a);
      if (r !== undefined) a = Array.isArray(r) ? r : [r];
    }
    let out = fwd.apply(this, a);
    for (const h of [...this._hooks.values()]) {
      const r = h(this, a, out);
      if (r !== undefined) out = r;
    }
    return out;
  }

  /** Runs `hook(module, args)` before forward; a returned array replaces the arguments. */
  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    return this.addHook(this._preHooks, hook);
  }

  /** Runs `hook(module, args, output)` after forward; a returned value replaces the output. */
  registerForwardHook(hook: ForwardHook): RemovableHandle {
    return this.addHook(this._hooks, hook);
  }

  private addHook<H>(map: Map<number, H>, hook: H): RemovableHandle {
    if (typeof hook !== 'function') throw new TypeError(`${this.typeName}: a hook must be a function`);
    if (this._rawForward === null) {
      this._rawForward = this.forward;
      Object.defineProperty(this, 'forward', {
        value: (...args: any[]) => (this.call as (...a: any[]) => any)(...args),
        enumerable: false, configurable: true, writable: true,
      });
    }
    const id = nextHookId++;
    map.set(id, hook);
    return {
      remove: () => {
        map.delete(id);
        // with no hook left, forward is the class's again (and the fused inference paths,
        // which step aside for hooked modules, apply again)
        if (this._hooks.size === 0 && this._preHooks.size === 0 && this._rawForward !== null) {
          delete (this as { forward?: unknown }).forward;
          this._rawForward = null;
        }
      },
    };
  }

  /** The class name, as shown by toString() (`Conv2d`, `Sequential`, ...). */
  get typeName(): string {
    return this.constructor.name;
  }

  // ---- registration -------------------------------------------------------------------

  /** Adds a child module under `name` (PyTorch's add_module); `this[name]` reads it back. */
  registerModule(name: string, module: Module | null): this {
    if (module !== null && !(module instanceof Module)) {
      throw new TypeError(`${this.typeName}.registerModule('${name}'): expected a Module, got ${describe(module)}`);
    }
    this.registerMember(name, module, 'module');
    return this;
  }

  /** Adds a parameter under `name`; `this[name]` reads it back. */
  registerParameter(name: string, param: Parameter | null): this {
    if (param !== null && !(param instanceof Parameter)) {
      throw new TypeError(`${this.typeName}.registerParameter('${name}'): expected a Parameter, got ${describe(param)}`);
    }
    this.registerMember(name, param, 'parameter');
    return this;
  }

  private registerMember(name: string, value: unknown, kind: string): void {
    checkName(this, name, kind);
    if (this._buffers.has(name)) throw new Error(`${this.typeName}: '${name}' is already a buffer`);
    const self = this as unknown as Record<string, unknown>;
    if (Object.prototype.propertyIsEnumerable.call(this, name)) {
      self[name] = value; // an existing field: replace it in place, keeping its position
      return;
    }
    if (!this._registered.includes(name)) {
      if (name in this) throw new Error(`${this.typeName}: cannot register ${kind} '${name}': the name is already an attribute`);
      this._registered.push(name);
      Object.defineProperty(this, name, { value, enumerable: false, configurable: true, writable: true });
    } else {
      self[name] = value;
    }
  }

  /**
   * Adds a buffer: state that is not trained but is saved in stateDict (unless
   * `persistent` is false) and moves with the module, like BatchNorm's running_mean.
   * Registering an existing buffer name replaces its tensor. `this[name]` reads it too.
   */
  registerBuffer(name: string, tensor: Tensor | null, options: { persistent?: boolean } = {}): this {
    checkName(this, name, 'buffer');
    if (tensor !== null && !(tensor instanceof Tensor)) {
      throw new TypeError(`${this.typeName}.registerBuffer('${name}'): expected a Tensor or null, got ${describe(tensor)}`);
    }
    if (tensor instanceof Parameter) throw new TypeError(`${this.typeName}.registerBuffer('${name}'): a Parameter cannot be a buffer`);
    const persistent = options.persistent ?? true;
    if (!this._buffers.has(name)) {
      if (name in this) throw new Error(`${this.typeName}: cannot register buffer '${name}': the name is already an attribute`);
      const buffers = this._buffers;
      Object.defineProperty(this, name, {
        get: () => buffers.get(name)?.tensor ?? null,
        set: (t: Tensor | null) => this.registerBuffer(name, t, { persistent: buffers.get(name)?.persistent }),
        enumerable: false, configurable: true,
      });
    }
    this._buffers.set(name, { tensor, persistent });
    return this;
  }

  /** The buffer registered as `name` (null when registered as null); throws if unknown. */
  getBuffer(name: string): Tensor | null {
    const b = this._buffers.get(name);
    if (!b) throw new Error(`${this.typeName} has no buffer '${name}'`);
    return b.tensor;
  }

  /** [name, value] of every field and registered member, in order (no de-duplication). */
  protected members(): Array<[string, unknown]> {
    const self = this as unknown as Record<string, unknown>;
    const out: Array<[string, unknown]> = [];
    for (const k of Object.keys(this)) out.push([k, self[k]]);
    for (const k of this._registered) out.push([k, self[k]]);
    return out;
  }

  // ---- traversal ----------------------------------------------------------------------

  /** This module's own parameters (not its children's), in order. */
  namedOwnParameters(): Array<[string, Parameter]> {
    return this.members().filter((e): e is [string, Parameter] => e[1] instanceof Parameter);
  }

  /** This module's own buffers (not its children's), in order; null buffers skipped. */
  namedOwnBuffers(options: { persistentOnly?: boolean } = {}): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [k, b] of this._buffers) {
      if (b.tensor && (b.persistent || !options.persistentOnly)) out.push([k, b.tensor]);
    }
    return out;
  }

  /** Direct submodules with their names. */
  namedChildren(): Array<[string, Module]> {
    const seen = new Set<Module>();
    const out: Array<[string, Module]> = [];
    for (const [k, v] of this.members()) {
      if (v instanceof Module && !seen.has(v)) { seen.add(v); out.push([k, v]); }
    }
    return out;
  }

  children(): Module[] {
    return this.namedChildren().map((e) => e[1]);
  }

  /** This module and every descendant, pre-order, each once; '' names this module. */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [k, c] of m.namedChildren()) visit(c, name ? `${name}.${k}` : k);
    };
    visit(this, prefix);
    return out;
  }

  /** namedModules() without the names (the per-call checks of the inference paths use it). */
  modules(): Module[] {
    const out: Module[] = [];
    const seen = new Set<Module>();
    const visit = (m: Module) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push(m);
      const self = m as unknown as Record<string, unknown>;
      for (const k of Object.keys(m)) { const v = self[k]; if (v instanceof Module) visit(v); }
      for (const k of m._registered) { const v = self[k]; if (v instanceof Module) visit(v); }
    };
    visit(this);
    return out;
  }

  /** Every parameter with its dotted name (`layer1.0.conv1.weight`), each tensor once. */
  namedParameters(options: { recurse?: boolean } = {}): Array<[string, Parameter]> {
    const mods: Array<[string, Module]> = options.recurse === false ? [['', this]] : this.namedModules();
    const seen = new Set<Tensor>();
    const out: Array<[string, Parameter]> = [];
    for (const [prefix, m] of mods) {
      for (const [k, p] of m.namedOwnParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${k}` : k, p]);
      }
    }
    return out;
  }

  parameters(options: { recurse?: boolean } = {}): Parameter[] {
    return this.namedParameters(options).map((e) => e[1]);
  }

  /** Every buffer with its dotted name (`bn1.running_mean`), each tensor once. */
  namedBuffers(options: { recurse?: boolean } = {}): Array<[string, Tensor]> {
    const mods: Array<[string, Module]> = options.recurse === false ? [['', this]] : this.namedModules();
    const seen = new Set<Tensor>();
    const out: Array<[string, Tensor]> = [];
    for (const [prefix, m] of mods) {
      for (const [k, b] of m.namedOwnBuffers()) {
        if (seen.has(b)) continue;
        seen.add(b);
        out.push([prefix ? `${prefix}.${k}` : k, b]);
      }
    }
    return out;
  }

  buffers(options: { recurse?: boolean } = {}): Tensor[] {
    return this.namedBuffers(options).map((e) => e[1]);
  }

  /** The descendant at a dotted path ('layer1.0.conv1'); '' is this module. */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    let m: Module = this;
    for (const part of path.split('.')) {
      const next = (m as unknown as Record<string, unknown>)[part];
      if (!(next instanceof Module)) throw new Error(`${m.typeName} has no submodule '${part}' (in '${path}')`);
      m = next;
    }
    return m;
  }

  /** Total number of parameter values (shared parameters counted once). */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    let n = 0;
    for (const p of this.parameters()) if (!options.trainableOnly || p.requiresGrad) n += p.size;
    return n;
  }

  // ---- modes and gradients ------------------------------------------------------------

  /** Sets training mode on this module and every descendant; returns this. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError(`${this.typeName}.train: mode must be a boolean, got ${describe(mode)}`);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient (to null, or to zeros with setToNone = false). */
  zeroGrad(setToNone = true): void {
    for (const p of this.parameters()) {
      if (!p.grad) continue;
      if (setToNone) p.grad = null;
      else p.grad.data.fill(0);
    }
  }

  /** Turns gradient tracking of every parameter on or off (freezing); returns this. */
  requiresGrad_(requiresGrad = true): this {
    for (const p of this.parameters()) p.requiresGrad = requiresGrad;
    return this;
  }

  /** Calls fn on every descendant (children first, like PyTorch) and then this; returns this. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  // ---- state dict ---------------------------------------------------------------------

  /**
   * Parameters and persistent buffers by dotted name, in PyTorch's order (a module's own
   * parameters, then its own buffers, then each child's entries). The tensors share
   * memory with the module's and carry no gradient.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const visit = (m: Module, prefix: string) => {
      for (const [k, p] of m.namedOwnParameters()) out.set(prefix + k, new Tensor(p.data, p.shape.slice()));
      for (const [k, b] of m.namedOwnBuffers({ persistentOnly: true })) out.set(prefix + k, new Tensor(b.data, b.shape.slice()));
      // Every name of a module listed twice is kept, as in PyTorch.
      for (const [k, c] of m.members()) if (c instanceof Module) visit(c, `${prefix}${k}.`);
    };
    visit(this, '');
    return out;
  }

  /**
   * Copies values into this module's parameters and buffers (in place: optimizers keep
   * their references). `source` is a Map or a plain object of Tensors or `{shape, data}`
   * records. Every name and shape is checked first; any problem throws one Error listing
   * the missing keys, the unexpected keys and the shape mismatches, and nothing is copied.
   * With strict = false missing and unexpected keys are allowed (and returned).
   */
  loadStateDict(source: StateDictSource, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const strict = options.strict ?? true;
    if (source === null || typeof source !== 'object') {
      throw new TypeError(`${this.typeName}.loadStateDict: expected a Map or an object of tensors, got ${describe(source)}`);
    }
    const entries: Array<[string, unknown]> = source instanceof Map ? [...source.entries()] : Object.entries(source);
    const own = this.stateDict();
    const given = new Map<string, unknown>(entries);
    const missing = [...own.keys()].filter((k) => !given.has(k));
    const unexpected = [...given.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    const invalid: string[] = [];
    const copies: Array<[Tensor, ArrayLike<number> | BigInt64Array | BigUint64Array]> = [];
    for (const [k, target] of own) {
      if (!given.has(k)) continue;
      const v = given.get(k);
      if (!isTensorLike(v)) { invalid.push(`${k}: expected a Tensor or {shape, data}, got ${describe(v)}`); continue; }
      const shape = Array.from(v.shape);
      if (!sameShape(shape, target.shape)) {
        mismatched.push(`${k}: expected ${formatShape(target.shape)}, got ${formatShape(shape)}`);
        continue;
      }
      if (v.data.length !== target.size) {
        invalid.push(`${k}: shape ${formatShape(shape)} needs ${target.size} values, data has ${v.data.length}`);
        continue;
      }
      copies.push([target, v.data]);
    }
    const problems: string[] = [];
    if (strict && missing.length) problems.push(`missing keys (${missing.length}): ${missing.join(', ')}`);
    if (strict && unexpected.length) problems.push(`unexpected keys (${unexpected.length}): ${unexpected.join(', ')}`);
    if (mismatched.length) problems.push(`shape mismatches (${mismatched.length}): ${mismatched.join('; ')}`);
    if (invalid.length) problems.push(`invalid values (${invalid.length}): ${invalid.join('; ')}`);
    if (problems.length) {
      throw new Error(`${this.typeName}.loadStateDict: ${problems.map((p) => `\n  ${p}`).join('')}`);
    }
    markDataChanged();
    for (const [target, data] of copies) copyInto(target.data, data);
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }

  // ---- inference and inspection (lib/nn/summary.ts) -----------------------------------

  /**
   * One forward pass on a zero input of `inputShape` ([N, C, H, W], or [C, H, W] for one
   * image) that prints and returns, per layer: name, type, output shape, parameters,
   * multiply-adds, receptive field of one output unit in input pixels and its jump; then
   * totals. `{print: false}` only returns the data.
   */
  summary(inputShape: number[], options?: SummaryOptions): SummaryResult {
    return summarize(this, inputShape, options);
  }

  /** forward(...args) in eval mode without recording a tape; every module's mode is restored. */
  predict(...args: Parameters<this['forward']>): ReturnType<this['forward']> {
    return predictWith(this, args) as ReturnType<this['forward']>;
  }

  // ---- printing -----------------------------------------------------------------------

  /** The options shown inside the parentheses by toString(); layers override it. */
  extraRepr(): string {
    return '';
  }

  /** A PyTorch-style tree: `Sequential(\n  (0): Conv2d(3, 64, ...)\n  ...\n)`. */
  toString(): string {
    const extra = this.extraRepr();
    const lines: string[] = extra ? extra.split('\n') : [];
    for (const [k, c] of this.namedChildren()) lines.push(`(${k}): ${c.toString()}`);
    const kids = this.namedChildren().length;
    if (kids === 0) return `${this.typeName}(${extra})`;
    return `${this.typeName}(\n${lines.map((l) => l.split('\n').map((s) => `  ${s}`).join('\n')).join('\n')}\n)`;
  }
}

/**
 * Whether m's forward is not its class's: a hook is registered (Module then routes forward
 * through call()) or forward was set on the instance. The fused inference paths and
 * InferencePlan step aside for such modules.
 */
export function hasOwnForward(m: Module): boolean {
  return Object.prototype.hasOwnProperty.call(m, 'forward');
}

function hidden(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: false, configurable: false, writable: true });
}

function checkName(m: Module, name: string, kind: string): void {
  if (typeof name !== 'string' || name === '' || name.includes('.')) {
    throw new TypeError(`${m.typeName}: ${kind} name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
  }
}

function isTensorLike(v: unknown): v is TensorLike {
  if (v instanceof Tensor) return true;
  if (v === null || typeof v !== 'object') return false;
  const o = v as { shape?: unknown; data?: unknown };
  return Array.isArray(o.shape) && o.data !== null && typeof o.data === 'object' &&
    typeof (o.data as { length?: unknown }).length === 'number';
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function copyInto(dst: Float32Array, src: ArrayLike<number> | BigInt64Array | BigUint64Array): void {
  if (src instanceof Float32Array || src instanceof Float64Array || Array.isArray(src) ||
      (ArrayBuffer.isView(src) && !(src instanceof BigInt64Array) && !(src instanceof BigUint64Array))) {
    dst.set(src as ArrayLike<number>);
    return;
  }
  for (let i = 0; i < dst.length; i++) dst[i] = Number((src as ArrayLike<number | bigint>)[i]);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
