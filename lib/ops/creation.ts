// Tensor creation: from data, constant fills, ranges, random draws and identity.
import { Tensor, NestedArray, TensorOptions, checkShape, formatShape, shapeSize } from '../tensor';
import { Generator, defaultGenerator } from '../random';

export interface RandomOptions extends TensorOptions {
  /** A fresh generator seeded with this value (reproducible draws). */
  seed?: number;
  /** Draw from this generator (wins over seed). */
  generator?: Generator;
}

type ShapeArg = number[] | number;

function toShape(op: string, shape: ShapeArg): number[] {
  const s = typeof shape === 'number' ? [shape] : shape;
  if (!Array.isArray(s)) throw new TypeError(`${op}: shape must be an array of non-negative integers`);
  checkShape(s);
  return s.slice();
}

/** Arrays and typed arrays both nest (a row may be a Float32Array). */
function isList(a: unknown): a is ArrayLike<NestedArray> {
  return Array.isArray(a) || (ArrayBuffer.isView(a) && !(a instanceof DataView));
}

function nestedShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: unknown = data;
  while (isList(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

function flattenNested(data: NestedArray[], shape: number[], out: Float32Array): void {
  let k = 0;
  const walk = (a: unknown, d: number, path: number[]): void => {
    if (d === shape.length) {
      if (typeof a !== 'number') {
        throw new Error(`tensor: ragged nested array: expected a number at [${path.join('][')}], got ${isList(a) ? 'an array' : typeof a}`);
      }
      out[k++] = a;
      return;
    }
    if (!isList(a) || a.length !== shape[d]) {
      throw new Error(`tensor: ragged nested array: element [${path.join('][')}] has ${isList(a) ? `length ${a.length}` : 'a number'} but ${shape[d]} was expected at depth ${d}`);
    }
    if (d === shape.length - 1 && !Array.isArray(a)) {
      const row = a as unknown as ArrayLike<number>;
      out.set(row, k);
      k += row.length;
      return;
    }
    for (let i = 0; i < a.length; i++) { path.push(i); walk((a as NestedArray[])[i], d + 1, path); path.pop(); }
  };
  walk(data, 0, []);
}

/**
 * A tensor from data: a Float32Array (used as is), a flat number[] / typed array, nested
 * arrays, or a number (0-d). `shape` defaults to the nested structure (flat: [n]).
 */
export function tensor(data: Float32Array | ArrayLike<number> | NestedArray, shape?: number[] | null,
                       options?: TensorOptions): Tensor {
  let values: Float32Array;
  let inferred: number[];
  if (data instanceof Tensor) {
    values = data.data.slice();
    inferred = data.shape.slice();
  } else if (data instanceof Float32Array) {
    values = data;
    inferred = [data.length];
  } else if (typeof data === 'number') {
    values = new Float32Array([data]);
    inferred = [];
  } else if (Array.isArray(data)) {
    inferred = nestedShape(data);
    if (inferred.length <= 1) {
      for (let i = 0; i < data.length; i++) {
        if (typeof data[i] !== 'number') throw new TypeError(`tensor: element ${i} is ${typeof data[i]}, not a number`);
      }
      values = Float32Array.from(data as number[]);
    } else {
      values = new Float32Array(shapeSize(inferred));
      flattenNested(data, inferred, values);
    }
  } else if (ArrayBuffer.isView(data) && typeof (data as ArrayLike<number>).length === 'number') {
    values = Float32Array.from(data as unknown as ArrayLike<number>);
    inferred = [values.length];
  } else {
    throw new TypeError(`tensor: data must be a number, an array or a typed array, got ${typeof data}`);
  }
  let s = inferred;
  if (shape !== undefined && shape !== null) {
    if (!Array.isArray(shape)) throw new TypeError('tensor: shape must be an array of non-negative integers');
    checkShape(shape);
    if (shapeSize(shape) !== values.length) {
      throw new RangeError(`tensor: data of length ${values.length} does not fit shape ${formatShape(shape)} (${shapeSize(shape)} elements)`);
    }
    s = shape.slice();
  }
  return new Tensor(values, s, { requiresGrad: options?.requiresGrad ?? false });
}

export function zeros(shape: ShapeArg, options?: TensorOptions): Tensor {
  const s = toShape('zeros', shape);
  return new Tensor(new Float32Array(shapeSize(s)), s, options);
}

export function ones(shape: ShapeArg, options?: TensorOptions): Tensor {
  return full(shape, 1, options);
}

export function full(shape: ShapeArg, value: number, options?: TensorOptions): Tensor {
  const s = toShape('full', shape);
  if (typeof value !== 'number') throw new TypeError(`full: value must be a number, got ${typeof value}`);
  return new Tensor(new Float32Array(shapeSize(s)).fill(value), s, options);
}

export function zerosLike(t: Tensor, options?: TensorOptions): Tensor {
  return zeros(t.shape, options);
}

export function onesLike(t: Tensor, options?: TensorOptions): Tensor {
  return ones(t.shape, options);
}

export function fullLike(t: Tensor, value: number, options?: TensorOptions): Tensor {
  return full(t.shape, value, options);
}

/** arange(end) or arange(start, end, step = 1): [start, end) in steps, like torch.arange. */
export function arange(start: number, end?: number, step = 1, options?: TensorOptions): Tensor {
  if (end === undefined) { end = start; start = 0; }
  if (![start, end, step].every(Number.isFinite)) throw new RangeError(`arange: start ${start}, end ${end} and step ${step} must be finite`);
  if (step === 0) throw new RangeError('arange: step must be nonzero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = start + i * step;
  return new Tensor(d, [n], options);
}

function genFor(options?: RandomOptions): Generator {
  if (options?.generator) return options.generator;
  if (options?.seed !== undefined) return new Generator(options.seed);
  return defaultGenerator;
}

/** Standard normal draws. */
export function randn(shape: ShapeArg, options?: RandomOptions): Tensor {
  const s = toShape('randn', shape);
  const g = genFor(options);
  const d = new Float32Array(shapeSize(s));
  for (let i = 0; i < d.length; i++) d[i] = g.normal();
  return new Tensor(d, s, { requiresGrad: options?.requiresGrad ?? false });
}

/** Uniform draws in [0, 1). */
export function rand(shape: ShapeArg, options?: RandomOptions): Tensor {
  const s = toShape('rand', shape);
  const g = genFor(options);
  const d = new Float32Array(shapeSize(s));
  for (let i = 0; i < d.length; i++) {
    let v = g.random();
    // float32 rounding may reach 1; keep the interval half-open.
    d[i] = v;
    if (d[i] >= 1) { v = 0.99999994; d[i] = v; }
  }
  return new Tensor(d, s, { requiresGrad: options?.requiresGrad ?? false });
}

/** Integers uniform in [low, high), as float values. */
export function randint(low: number, high: number, shape: ShapeArg, options?: RandomOptions): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high)) throw new TypeError(`randint: low ${low} and high ${high} must be integers`);
  if (high <= low) throw new RangeError(`randint: high ${high} must be greater than low ${low}`);
  const s = toShape('randint', shape);
  const g = genFor(options);
  const d = new Float32Array(shapeSize(s));
  for (let i = 0; i < d.length; i++) d[i] = low + g.randint(high - low);
  return new Tensor(d, s, { requiresGrad: options?.requiresGrad ?? false });
}

/** n x m identity (m defaults to n). */
export function eye(n: number, m: number = n, options?: TensorOptions): Tensor {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(m) || m < 0) {
    throw new RangeError(`eye: sizes must be non-negative integers, got ${n} and ${m}`);
  }
  const d = new Float32Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) d[i * m + i] = 1;
  return new Tensor(d, [n, m], options);
}
