// Constructor-argument checks shared by the layers: every bad value gets a message that
// names the layer, the argument and the value.
import { describe } from './module';
import { Generator, defaultGenerator } from '../random';

export function checkPositiveInt(layer: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new RangeError(`${layer}: ${name} must be a positive integer, got ${describe(v)}`);
  }
  return v;
}

export function checkNonNegativeInt(layer: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new RangeError(`${layer}: ${name} must be a non-negative integer, got ${describe(v)}`);
  }
  return v;
}

export function checkFinite(layer: string, name: string, v: unknown, opts: { min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new RangeError(`${layer}: ${name} must be a finite number, got ${describe(v)}`);
  }
  const { min, max } = opts;
  if (min !== undefined && (opts.minExclusive ? v <= min : v < min)) {
    throw new RangeError(`${layer}: ${name} must be ${opts.minExclusive ? '>' : '>='} ${min}, got ${v}`);
  }
  if (max !== undefined && (opts.maxExclusive ? v >= max : v > max)) {
    throw new RangeError(`${layer}: ${name} must be ${opts.maxExclusive ? '<' : '<='} ${max}, got ${v}`);
  }
  return v;
}

export function checkBool(layer: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${layer}: ${name} must be a boolean, got ${describe(v)}`);
  return v;
}

/** A number or an n-element array of numbers, each checked, as an n-tuple. */
export function tuple(layer: string, name: string, v: unknown, n: number, check: (layer: string, name: string, v: unknown) => number): number[] {
  if (Array.isArray(v)) {
    if (v.length !== n) throw new RangeError(`${layer}: ${name} must be a number or ${n} numbers, got [${v.join(', ')}]`);
    return v.map((x, i) => check(layer, `${name}[${i}]`, x));
  }
  const x = check(layer, name, v);
  return new Array(n).fill(x);
}

export type PaddingMode = 'valid' | 'same' | 'full';
/** A conv padding: one number, per-dimension numbers, per-side pairs, or a mode. */
export type ConvPadding = number | number[] | Array<[number, number]> | PaddingMode;

/**
 * Checks a conv padding for `n` spatial dimensions; returns it in canonical form: a mode
 * string, or per-side pairs [[before, after], ...] (one pair per dimension).
 */
export function convPadding(layer: string, v: unknown, n: number): PaddingMode | Array<[number, number]> {
  if (v === 'valid' || v === 'same' || v === 'full') return v;
  if (typeof v === 'string') throw new RangeError(`${layer}: padding must be a number, an array, 'valid', 'same' or 'full', got '${v}'`);
  if (Array.isArray(v) && v.length > 0 && v.every(Array.isArray)) {
    if (v.length !== n) throw new RangeError(`${layer}: per-side padding needs ${n} [before, after] pairs, got ${v.length}`);
    return v.map((pair: unknown[], i) => {
      if (pair.length !== 2) throw new RangeError(`${layer}: padding[${i}] must be a [before, after] pair, got [${pair.join(', ')}]`);
      return [checkNonNegativeInt(layer, `padding[${i}][0]`, pair[0]), checkNonNegativeInt(layer, `padding[${i}][1]`, pair[1])] as [number, number];
    });
  }
  return tuple(layer, 'padding', v, n, checkNonNegativeInt).map((p) => [p, p] as [number, number]);
}

/** The padding as F's options expect it: the mode, one number per dim, or per-side pairs. */
export function paddingForF(p: PaddingMode | Array<[number, number]>): ConvPadding {
  if (typeof p === 'string') return p;
  if (p.every(([a, b]) => a === b)) return p.map(([a]) => a);
  return p;
}

export function paddingRepr(p: PaddingMode | Array<[number, number]>): string {
  if (typeof p === 'string') return `'${p}'`;
  if (p.every(([a, b]) => a === b)) return `[${p.map(([a]) => a).join(', ')}]`;
  return `[${p.map(([a, b]) => `[${a}, ${b}]`).join(', ')}]`;
}

export interface RandomOptions {
  /** Seeds a private generator for this layer's initialisation (or dropout masks). */
  seed?: number;
  /** A generator to draw from (default: the process-wide one, see manualSeed). */
  generator?: Generator;
}

export function generatorOf(layer: string, o: RandomOptions): Generator {
  if (o.seed !== undefined && o.generator !== undefined) throw new TypeError(`${layer}: give seed or generator, not both`);
  if (o.generator !== undefined) {
    if (!(o.generator instanceof Generator)) throw new TypeError(`${layer}: generator must be a Generator, got ${describe(o.generator)}`);
    return o.generator;
  }
  if (o.seed !== undefined) {
    if (typeof o.seed !== 'number' || !Number.isFinite(o.seed)) throw new RangeError(`${layer}: seed must be a finite number, got ${describe(o.seed)}`);
    return new Generator(o.seed);
  }
  return defaultGenerator;
}

/** Rejects option keys the layer does not know (a typo would otherwise pass silently). */
export function checkOptionKeys(layer: string, options: object | undefined, allowed: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${layer}: options must be an object, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if ((options as Record<string, unknown>)[k] === undefined) continue;
    if (!allowed.includes(k)) throw new TypeError(`${layer}: unknown option '${k}' (known: ${allowed.join(', ')})`);
  }
}

export function arr(v: readonly number[]): string {
  return `[${v.join(', ')}]`;
}
