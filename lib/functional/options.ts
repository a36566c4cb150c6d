// Option parsing shared by the functional ops. Every bad value is rejected with an
// Error whose message names the op, the option and the value.
import { Tensor, formatShape } from '../tensor';

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  if (v instanceof Tensor) return `a Tensor of shape ${formatShape(v.shape)}`;
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `${typeof v} ${String(v)}`;
}

/** The options object (or {} when undefined); rejects non-objects and unknown keys. */
export function optionsOf<T extends object>(op: string, options: T | undefined | null,
                                            allowed: readonly string[]): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options) || options instanceof Tensor) {
    throw new TypeError(`${op}: options must be an object, got ${describeValue(options)}`);
  }
  for (const k of Object.keys(options)) {
    if ((options as Record<string, unknown>)[k] === undefined) continue;
    if (!allowed.includes(k)) {
      throw new TypeError(`${op}: unknown option '${k}' (known: ${allowed.join(', ')})`);
    }
  }
  return options;
}

export function checkTensorArg(op: string, name: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${name} must be a Tensor, got ${describeValue(t)}`);
  return t;
}

/** An optional Tensor argument: null/undefined give null. */
export function optionalTensor(op: string, name: string, t: unknown): Tensor | null {
  if (t === null || t === undefined) return null;
  return checkTensorArg(op, name, t);
}

/** An integer >= min. */
export function checkInt(op: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    const what = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
    throw new RangeError(`${op}: ${name} must be ${what}, got ${describeValue(v)}`);
  }
  return v;
}

/** A number or an n-element array of numbers, each an integer >= min, as an n-tuple. */
export function intTuple(op: string, name: string, v: unknown, n: number, min: number): number[] {
  if (Array.isArray(v)) {
    if (v.length !== n) {
      throw new RangeError(`${op}: ${name} must be a number or ${n} number${n === 1 ? '' : 's'}, got ${describeValue(v)}`);
    }
    return v.map((x, i) => checkInt(op, `${name}[${i}]`, x, min));
  }
  const x = checkInt(op, name, v, min);
  return new Array<number>(n).fill(x);
}

export function checkFiniteNumber(op: string, name: string, v: unknown,
                                  range: { min?: number; max?: number; minExclusive?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RangeError(`${op}: ${name} must be a finite number, got ${describeValue(v)}`);
  }
  if (range.min !== undefined && (range.minExclusive ? v <= range.min : v < range.min)) {
    throw new RangeError(`${op}: ${name} must be ${range.minExclusive ? '>' : '>='} ${range.min}, got ${v}`);
  }
  if (range.max !== undefined && v > range.max) {
    throw new RangeError(`${op}: ${name} must be <= ${range.max}, got ${v}`);
  }
  return v;
}

export function checkBoolean(op: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${op}: ${name} must be a boolean, got ${describeValue(v)}`);
  return v;
}

export type Reduction = 'mean' | 'sum' | 'none';

export function checkReduction(op: string, v: unknown): Reduction {
  if (v === 'mean' || v === 'sum' || v === 'none') return v;
  throw new RangeError(`${op}: reduction must be 'mean', 'sum' or 'none', got ${describeValue(v)}`);
}

/** Normalises a possibly negative dim for rank `ndim`. */
export function normalizeDim(op: string, dim: unknown, ndim: number): number {
  const n = Math.max(ndim, 1);
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < -n || dim >= n) {
    throw new RangeError(`${op}: dim ${describeValue(dim)} is out of range for a tensor of rank ${ndim} (expected ${-n}..${n - 1})`);
  }
  return dim < 0 ? dim + n : dim;
}

export type PaddingMode = 'valid' | 'same' | 'full';

/**
 * A convolution's padding: one number for every side, one number per spatial dimension
 * (both sides), per-side pairs `[[top, bottom], [left, right]]` (1-D: `[[left, right]]`,
 * or simply `[left, right]`, since a per-dimension array has one entry there), or a mode:
 * 'valid' (none), 'same' (output size = input size at stride 1; PyTorch's rule: total
 * d*(k-1), floor(total/2) before, the extra one after) or 'full' (d*(k-1) on each side).
 */
export type ConvPadding = number | number[] | Array<[number, number]> | PaddingMode;

/** Resolves a conv padding to per-side pairs, one per spatial dimension. */
export function resolveConvPadding(op: string, padding: unknown, kernel: number[], dilation: number[],
                                   stride: number[]): Array<[number, number]> {
  const n = kernel.length;
  if (typeof padding === 'string') {
    if (padding === 'valid') return kernel.map(() => [0, 0]);
    if (padding === 'full') {
      return kernel.map((k, i) => { const t = dilation[i] * (k - 1); return [t, t]; });
    }
    if (padding === 'same') {
      if (stride.some((s) => s !== 1)) {
        throw new RangeError(`${op}: padding='same' is not supported for strided convolutions (stride ${describeValue(stride)}); give explicit padding`);
      }
      return kernel.map((k, i) => {
        const total = dilation[i] * (k - 1);
        const before = Math.floor(total / 2);
        return [before, total - before];
      });
    }
    throw new RangeError(`${op}: padding must be a number, an array, 'valid', 'same' or 'full', got ${describeValue(padding)}`);
  }
  if (Array.isArray(padding) && padding.length > 0 && padding.some(Array.isArray)) {
    if (!padding.every(Array.isArray)) {
      throw new RangeError(`${op}: padding mixes numbers and [before, after] pairs: ${describeValue(padding)}`);
    }
    if (padding.length !== n) {
      throw new RangeError(`${op}: per-side padding needs ${n} [before, after] pair${n === 1 ? '' : 's'}, got ${describeValue(padding)}`);
    }
    return padding.map((pair: unknown[], i) => {
      if (pair.length !== 2) throw new RangeError(`${op}: padding[${i}] must be a [before, after] pair, got ${describeValue(pair)}`);
      return [checkInt(op, `padding[${i}][0]`, pair[0], 0), checkInt(op, `padding[${i}][1]`, pair[1], 0)];
    });
  }
  if (n === 1 && Array.isArray(padding) && padding.length === 2) {
    return [[checkInt(op, 'padding[0]', padding[0], 0), checkInt(op, 'padding[1]', padding[1], 0)]];
  }
  return intTuple(op, 'padding', padding, n, 0).map((p) => [p, p]);
}
