// Containers: Sequential (children named 0, 1, 2... or by name) and ModuleList.
import { Module, describe } from './module';

export type SequentialEntries = Array<[string, Module]> | Map<string, Module> | Record<string, Module>;

function entriesOf(layer: string, args: unknown[]): Array<[string, Module]> {
  if (args.length === 1 && !(args[0] instanceof Module)) {
    const a = args[0];
    let list: Array<[string, unknown]>;
    if (a instanceof Map) list = [...a.entries()];
    else if (Array.isArray(a)) {
      list = a.map((e, i) => {
        if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') {
          throw new TypeError(`${layer}: entry ${i} must be a [name, module] pair, got ${describe(e)}`);
        }
        return [e[0], e[1]] as [string, unknown];
      });
    } else if (a !== null && typeof a === 'object') list = Object.entries(a);
    else throw new TypeError(`${layer}: expected modules, [name, module] pairs, a Map or an object of modules, got ${describe(a)}`);
    return list.map(([k, m]) => {
      if (!(m instanceof Module)) throw new TypeError(`${layer}: entry '${k}' must be a Module, got ${describe(m)}`);
      return [k, m];
    });
  }
  return args.map((m, i) => {
    if (!(m instanceof Module)) throw new TypeError(`${layer}: argument ${i} must be a Module, got ${describe(m)}`);
    return [String(i), m];
  });
}

/**
 * Runs its children in order, each one's output feeding the next.
 * `new Sequential(a, b, c)` names them 0, 1, 2 (so parameters are `0.weight`, ...);
 * `new Sequential([['conv', a], ['relu', b]])`, a Map, or an object (keys in insertion
 * order; integer-like keys of a plain object are sorted first by JavaScript itself, so
 * prefer pairs or a Map when mixing them) give named children. `seq[i]` or
 * `seq.get(i | name)` reads a child.
 */
export class Sequential extends Module {
  [index: number]: Module;

  constructor(...modules: Module[]);
  constructor(entries: SequentialEntries);
  constructor(...args: unknown[]) {
    super();
    for (const [k, m] of entriesOf('Sequential', args)) this.registerModule(k, m);
  }

  /** Children in order; a module added twice runs twice, as in PyTorch. */
  private sequence(): Module[] {
    return this.members().map((e) => e[1]).filter((m): m is Module => m instanceof Module);
  }

  get length(): number {
    return this.sequence().length;
  }

  /** The child at position i (negative counts from the end) or with the given name. */
  get(key: number | string): Module {
    if (typeof key === 'string') {
      const e = this.members().find(([k, m]) => k === key && m instanceof Module);
      if (!e) throw new RangeError(`Sequential has no child named '${key}'`);
      return e[1] as Module;
    }
    const seq = this.sequence();
    const i = key < 0 ? key + seq.length : key;
    if (!Number.isInteger(i) || i < 0 || i >= seq.length) throw new RangeError(`Sequential index ${key} out of range for length ${seq.length}`);
    return seq[i];
  }

  /** Adds a module at the end, named by its position (or `name`); returns this. */
  append(module: Module, name?: string): this {
    return this.registerModule(name ?? String(this.length), module);
  }

  /** A Sequential of children start..end-1 (the same module objects, renumbered when numbered). */
  slice(start = 0, end?: number): Sequential {
    const entries = this.members().filter((e): e is [string, Module] => e[1] instanceof Module).slice(start, end);
    const numbered = entries.every(([k]) => /^\d+$/.test(k));
    return numbered ? new Sequential(...entries.map((e) => e[1])) : new Sequential(entries);
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.sequence()[Symbol.iterator]();
  }

  forward(x: any): any {
    for (const m of this.sequence()) x = (m.call as (...a: unknown[]) => unknown)(x);
    return x;
  }
}

/** Holds submodules in a list (named 0, 1, 2...) so they are registered; has no forward. */
export class ModuleList extends Module {
  [index: number]: Module;

  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  private list(): Module[] {
    return this.members().map((e) => e[1]).filter((m): m is Module => m instanceof Module);
  }

  get length(): number {
    return this.list().length;
  }

  get(i: number): Module {
    const l = this.list();
    const j = i < 0 ? i + l.length : i;
    if (!Number.isInteger(j) || j < 0 || j >= l.length) throw new RangeError(`ModuleList index ${i} out of range for length ${l.length}`);
    return l[j];
  }

  append(module: Module): this {
    if (!(module instanceof Module)) throw new TypeError(`ModuleList.append: expected a Module, got ${describe(module)}`);
    return this.registerModule(String(this.length), module);
  }

  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.list()[Symbol.iterator]();
  }

  forward(): never {
    throw new Error('ModuleList has no forward: iterate over it in the parent module');
  }
}
