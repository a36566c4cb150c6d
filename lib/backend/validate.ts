// Argument validation for the Backend contract, run by the JS backend before it touches any
// memory. It mirrors native/addon.cc: a wrong type is a TypeError, a wrong value, size or
// length a RangeError, and every message starts with the kernel's name and names the
// argument or geometry field (`conv2dForward: g.padTop must be a non-negative integer, got -1`).
// The checked geometry comes back as a fresh record of plain integers, so a getter or a
// caller mutating the record cannot change a size between the check and the loops.
import { MAX_CONV_OUTPUT_PARTS } from './backend';
import type { AdaptivePoolGeometry, AvgPoolGeometry, ConvGeometry, ConvOutputPart, PoolGeometry } from './backend';

/** The largest size or geometry value accepted (int32, like the native side). */
export const MAX_DIM = 2147483647;

/** A checked convolution geometry plus its output size. */
export interface CheckedConv extends ConvGeometry {
  OH: number; OW: number;
}

/** A checked pooling geometry (countIncludePad only meaningful for average pooling). */
export interface CheckedPool extends AvgPoolGeometry {}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'function') return 'a function';
  if (ArrayBuffer.isView(v)) {
    const n = (v as object).constructor?.name ?? 'typed array';
    return /^[AEIOU]/.test(n) ? `an ${n}` : `a ${n}`;
  }
  if (Array.isArray(v)) return 'an Array';
  if (v instanceof ArrayBuffer) return 'an ArrayBuffer';
  return 'an object';
}

function typeError(fn: string, msg: string): never {
  throw new TypeError(`${fn}: ${msg}`);
}

function rangeError(fn: string, msg: string): never {
  throw new RangeError(`${fn}: ${msg}`);
}

/** `v` must be a Float32Array (or null when nullable). */
export function f32(fn: string, name: string, v: unknown, nullable = false): Float32Array {
  if (nullable && (v === null || v === undefined)) return null as unknown as Float32Array;
  if (!(v instanceof Float32Array)) {
    typeError(fn, `${name} must be a Float32Array${nullable ? ' or null' : ''}, got ${describe(v)}`);
  }
  return v;
}

/** `v` must be an Int32Array (or null when nullable: then null comes back). */
export function i32(fn: string, name: string, v: unknown, nullable: true): Int32Array | null;
export function i32(fn: string, name: string, v: unknown, nullable?: false): Int32Array;
export function i32(fn: string, name: string, v: unknown, nullable = false): Int32Array | null {
  if (nullable && (v === null || v === undefined)) return null;
  if (!(v instanceof Int32Array)) {
    typeError(fn, `${name} must be an Int32Array${nullable ? ' or null' : ''}, got ${describe(v)}`);
  }
  return v;
}

/** `length` must equal the product of `dims`; the message spells the product out. */
export function expectLength(fn: string, name: string, length: number, dims: number[]): void {
  let want = 1;
  for (const d of dims) want *= d;
  const expr = dims.join('*');
  if (!Number.isSafeInteger(want)) rangeError(fn, `${name} would need ${expr} elements, too many`);
  if (want !== length) {
    rangeError(fn, `${name} has ${length} elements, expected ${expr}` +
      (dims.length > 1 ? ` = ${want}` : '') + (length === 0 ? ' (is its buffer detached?)' : ''));
  }
}

/** A non-negative (min 0) or positive (min 1) integer size argument such as gemm's M. */
export function intArg(fn: string, name: string, v: unknown, min = 0): number {
  if (typeof v !== 'number') typeError(fn, `${name} must be a number, got ${describe(v)}`);
  if (!Number.isFinite(v) || !Number.isInteger(v)) rangeError(fn, `${name} must be an integer, got ${v}`);
  if (v < min) {
    rangeError(fn, `${name} must be ${min === 1 ? 'a positive' : 'a non-negative'} integer, got ${v}`);
  }
  if (v > MAX_DIM) rangeError(fn, `${name} is too large: ${v}`);
  return v;
}

export function boolArg(fn: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') typeError(fn, `${name} must be a boolean, got ${describe(v)}`);
  return v;
}

export function numberArg(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number') typeError(fn, `${name} must be a number, got ${describe(v)}`);
  return v;
}

function geometryObject(fn: string, g: unknown): Record<string, unknown> {
  if (g === null || typeof g !== 'object' || Array.isArray(g) || ArrayBuffer.isView(g)) {
    typeError(fn, `g (geometry) must be an object, got ${describe(g)}`);
  }
  return g as Record<string, unknown>;
}

/** An integer geometry field >= min (min = -MAX_DIM for the far-side paddings). */
function intField(fn: string, o: Record<string, unknown>, name: string, min: number): number {
  const v = o[name];
  if (typeof v !== 'number') typeError(fn, `g.${name} must be a number, got ${describe(v)}`);
  if (!Number.isFinite(v) || !Number.isInteger(v)) rangeError(fn, `g.${name} must be an integer, got ${v}`);
  if (v < min) {
    const what = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer'
      : `an integer >= ${min}`;
    rangeError(fn, `g.${name} must be ${what}, got ${v}`);
  }
  if (v > MAX_DIM) rangeError(fn, `g.${name} is too large: ${v}`);
  return v;
}

export function convGeometry(fn: string, gIn: unknown): CheckedConv {
  const o = geometryObject(fn, gIn);
  const g: CheckedConv = {
    N: intField(fn, o, 'N', 1), C: intField(fn, o, 'C', 1),
    H: intField(fn, o, 'H', 1), W: intField(fn, o, 'W', 1),
    K: intField(fn, o, 'K', 1), R: intField(fn, o, 'R', 1), S: intField(fn, o, 'S', 1),
    strideH: intField(fn, o, 'strideH', 1), strideW: intField(fn, o, 'strideW', 1),
    padTop: intField(fn, o, 'padTop', 0), padBottom: intField(fn, o, 'padBottom', -MAX_DIM),
    padLeft: intField(fn, o, 'padLeft', 0), padRight: intField(fn, o, 'padRight', -MAX_DIM),
    dilationH: intField(fn, o, 'dilationH', 1), dilationW: intField(fn, o, 'dilationW', 1),
    groups: intField(fn, o, 'groups', 1),
    OH: 0, OW: 0,
  };
  if (g.C % g.groups !== 0) rangeError(fn, `C (${g.C}) must be divisible by groups (${g.groups})`);
  if (g.K % g.groups !== 0) rangeError(fn, `K (${g.K}) must be divisible by groups (${g.groups})`);
  const ph = g.H + g.padTop + g.padBottom, pw = g.W + g.padLeft + g.padRight;
  const eh = g.dilationH * (g.R - 1) + 1, ew = g.dilationW * (g.S - 1) + 1;
  if (ph < eh || pw < ew) {
    const dil = g.dilationH === g.dilationW ? `${g.dilationH}` : `${g.dilationH}x${g.dilationW}`;
    rangeError(fn, `kernel ${g.R}x${g.S} (dilation ${dil}) larger than padded input ${ph}x${pw}`);
  }
  g.OH = Math.floor((ph - eh) / g.strideH) + 1;
  g.OW = Math.floor((pw - ew) / g.strideW) + 1;
  return g;
}

export function poolGeometry(fn: string, gIn: unknown, avg: boolean): CheckedPool {
  const o = geometryObject(fn, gIn);
  const g: CheckedPool = {
    N: intField(fn, o, 'N', 1), C: intField(fn, o, 'C', 1),
    H: intField(fn, o, 'H', 1), W: intField(fn, o, 'W', 1),
    kernelH: intField(fn, o, 'kernelH', 1), kernelW: intField(fn, o, 'kernelW', 1),
    strideH: intField(fn, o, 'strideH', 1), strideW: intField(fn, o, 'strideW', 1),
    padH: intField(fn, o, 'padH', 0), padW: intField(fn, o, 'padW', 0),
    dilationH: intField(fn, o, 'dilationH', 1), dilationW: intField(fn, o, 'dilationW', 1),
    OH: intField(fn, o, 'OH', 1), OW: intField(fn, o, 'OW', 1),
    countIncludePad: false,
  };
  // Every window must start inside the input or its top/left padding.
  const lastH = (g.OH - 1) * g.strideH - g.padH;
  if (lastH > g.H - 1) {
    rangeError(fn, `g.OH = ${g.OH} is too large: the last window starts at row ${lastH}, ` +
      `past the input (g.H = ${g.H}, g.padH = ${g.padH})`);
  }
  const lastW = (g.OW - 1) * g.strideW - g.padW;
  if (lastW > g.W - 1) {
    rangeError(fn, `g.OW = ${g.OW} is too large: the last window starts at column ${lastW}, ` +
      `past the input (g.W = ${g.W}, g.padW = ${g.padW})`);
  }
  if (avg) g.countIncludePad = boolArg(fn, 'g.countIncludePad', o.countIncludePad);
  return g;
}

export function adaptiveGeometry(fn: string, gIn: unknown): AdaptivePoolGeometry {
  const o = geometryObject(fn, gIn);
  return {
    N: intField(fn, o, 'N', 1), C: intField(fn, o, 'C', 1),
    H: intField(fn, o, 'H', 1), W: intField(fn, o, 'W', 1),
    OH: intField(fn, o, 'OH', 1), OW: intField(fn, o, 'OW', 1),
  };
}

/** Max-pool indices: each in [-1, H*W) (-1 marks a window of padding only). */
export function poolIndices(fn: string, indices: Int32Array, plane: number): void {
  for (let i = 0; i < indices.length; i++) {
    const v = indices[i];
    if (v < -1 || v >= plane) {
      rangeError(fn, `indices[${i}] = ${v} is out of range [0, ${plane}) (g.H*g.W)`);
    }
  }
}

export function threadCount(fn: string, n: unknown): number {
  return intArg(fn, 'n', n, 1);
}

/** An output must not share memory with an input (the kernels read inputs while writing). */
export function disjoint(fn: string, out: ArrayBufferView | null, outName: string,
                         inp: ArrayBufferView | null, inName: string): void {
  if (!out || !inp || out.byteLength === 0 || inp.byteLength === 0 || out.buffer !== inp.buffer) return;
  const a0 = out.byteOffset, a1 = a0 + out.byteLength;
  const b0 = inp.byteOffset, b1 = b0 + inp.byteLength;
  if (a0 < b1 && b0 < a1) throw new RangeError(`${fn}: ${outName} must not share memory with ${inName}`);
}

/**
 * The outputs of conv2dForwardPreparedSplit for N images of K channels of OHW floats:
 * 1 to MAX_CONV_OUTPUT_PARTS records { data, channels, imageStride } that hold their images,
 * add up to K channels and share no memory with x or each other.
 */
export function convOutputParts(fn: string, outputs: unknown, N: number, K: number, OHW: number,
                                x: Float32Array): ConvOutputPart[] {
  if (!Array.isArray(outputs)) typeError(fn, `outputs must be an Array, got ${describe(outputs)}`);
  if (outputs.length < 1 || outputs.length > MAX_CONV_OUTPUT_PARTS) {
    rangeError(fn, `outputs must hold 1 to ${MAX_CONV_OUTPUT_PARTS} parts, got ${outputs.length}`);
  }
  const parts: ConvOutputPart[] = [];
  let channels = 0;
  outputs.forEach((o: unknown, i) => {
    const name = `outputs[${i}]`;
    if (typeof o !== 'object' || o === null) typeError(fn, `${name} must be { data, channels, imageStride }, got ${describe(o)}`);
    const r = o as Record<string, unknown>;
    const data = f32(fn, `${name}.data`, r.data);
    const k = intArg(fn, `${name}.channels`, r.channels, 1);
    const stride = intArg(fn, `${name}.imageStride`, r.imageStride);
    const image = k * OHW;
    if (stride < image) rangeError(fn, `${name}.imageStride must be at least channels*OH*OW = ${image}, got ${stride}`);
    const need = N > 0 ? (N - 1) * stride + image : 0;
    if (!Number.isSafeInteger(need)) rangeError(fn, `${name}.imageStride is too large`);
    if (data.length < need) rangeError(fn, `${name}.data has ${data.length} elements, fewer than the ${need} that N images ${stride} apart need`);
    disjoint(fn, data, name, x, 'x');
    parts.forEach((q, j) => disjoint(fn, data, name, q.data, `outputs[${j}]`));
    parts.push({ data, channels: k, imageStride: stride });
    channels += k;
  });
  if (channels !== K) rangeError(fn, `the outputs' channels add up to ${channels}, not K = ${K}`);
  return parts;
}

/** An output that is either its input itself (the same elements: in place) or shares no memory with it. */
export function sameOrDisjoint(fn: string, out: Float32Array, outName: string, inp: Float32Array, inName: string): void {
  if (out.buffer === inp.buffer && out.byteOffset === inp.byteOffset && out.length === inp.length) return;
  disjoint(fn, out, outName, inp, inName);
}
