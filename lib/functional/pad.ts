// F.pad: PyTorch's order (last dim first: [left, right, top, bottom, front, back, ...]),
// modes constant / reflect / replicate / circular. Each output index along a padded dim
// maps to one source index (or to the fill value); the gradient scatters back through
// the same map, so every mode is differentiable. Negative pads crop.
import { Tensor, formatShape, shapeSize } from '../tensor';
import { record, needsGrad } from '../autograd/engine';
import { checkTensorArg, checkFiniteNumber, describeValue, optionsOf } from './options';

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

export interface PadOptions {
  /** Default 'constant'. */
  mode?: PadMode;
  /** Fill value of constant mode (default 0). */
  value?: number;
}

/** Per dim: for each output index, the source index, or -1 for the fill value. null: dim untouched. */
function indexMaps(x: Tensor, pads: number[], mode: PadMode): { shape: number[]; maps: Array<Int32Array | null> } {
  const nd = x.ndim;
  const shape = x.shape.slice();
  const maps: Array<Int32Array | null> = new Array(nd).fill(null);
  for (let j = 0; j < pads.length / 2; j++) {
    const d = nd - 1 - j;
    const before = pads[2 * j], after = pads[2 * j + 1];
    if (before === 0 && after === 0) continue;
    const n = x.shape[d];
    const out = n + before + after;
    if (out < 0 || (out === 0 && mode !== 'constant')) {
      throw new RangeError(`pad: padding (${before}, ${after}) of dim ${d} makes the size ${n} ${out < 0 ? 'negative' : 'zero'} (${out})`);
    }
    if (mode === 'reflect' && (before >= n || after >= n)) {
      throw new RangeError(`pad: reflect padding (${before}, ${after}) of dim ${d} must be smaller than the input size ${n} (input ${formatShape(x.shape)})`);
    }
    if (mode === 'circular' && (before > n || after > n)) {
      throw new RangeError(`pad: circular padding (${before}, ${after}) of dim ${d} must be at most the input size ${n} (input ${formatShape(x.shape)})`);
    }
    if (mode === 'replicate' && n === 0) {
      throw new RangeError(`pad: replicate padding needs a non-empty dim ${d} (input ${formatShape(x.shape)})`);
    }
    const m = new Int32Array(out);
    for (let o = 0; o < out; o++) {
      let i = o - before;
      if (i < 0 || i >= n) {
        switch (mode) {
          case 'constant': i = -1; break;
          case 'reflect': i = i < 0 ? -i : 2 * (n - 1) - i; break;
          case 'replicate': i = i < 0 ? 0 : n - 1; break;
          case 'circular': i = ((i % n) + n) % n; break;
        }
      }
      m[o] = i;
    }
    shape[d] = out;
    maps[d] = m;
  }
  return { shape, maps };
}

/**
 * Calls body(outOffset, srcOffset) for every output element (srcOffset -1 when it is fill).
 * Rows of the last dim are walked with an odometer over the others.
 */
function forEachElement(inShape: number[], outShape: number[], maps: Array<Int32Array | null>,
                        body: (o: number, s: number) => void): void {
  const nd = outShape.length;
  const total = shapeSize(outShape);
  if (total === 0) return;
  if (nd === 0) { body(0, 0); return; }
  const inStrides = new Array<number>(nd);
  let acc = 1;
  for (let d = nd - 1; d >= 0; d--) { inStrides[d] = acc; acc *= inShape[d]; }
  const idx = new Array<number>(nd).fill(0);
  const last = nd - 1;
  const lastMap = maps[last];
  const inner = outShape[last];
  let o = 0;
  for (;;) {
    // Source offset of the row (dims 0..last-1), or -1 if any dim falls in the fill.
    let base = 0;
    for (let d = 0; d < last; d++) {
      const m = maps[d];
      const i = m ? m[idx[d]] : idx[d];
      if (i < 0) { base = -1; break; }
      base += i * inStrides[d];
    }
    if (base < 0) {
      for (let k = 0; k < inner; k++) body(o++, -1);
    } else if (lastMap) {
      for (let k = 0; k < inner; k++) { const i = lastMap[k]; body(o++, i < 0 ? -1 : base + i); }
    } else {
      for (let k = 0; k < inner; k++) body(o++, base + k);
    }
    let d = last - 1;
    for (; d >= 0; d--) {
      if (++idx[d] < outShape[d]) break;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}

/**
 * Pads (or, with negative amounts, crops) the trailing dims of `input`. `pads` lists
 * [before, after] for the last dim first, then the one before it, and so on.
 */
export function pad(input: Tensor, pads: number[], options?: PadOptions): Tensor {
  const x = checkTensorArg('pad', 'input', input);
  const o = optionsOf('pad', options, ['mode', 'value']);
  const mode = o.mode ?? 'constant';
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'replicate' && mode !== 'circular') {
    throw new RangeError(`pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got ${describeValue(mode)}`);
  }
  const value = checkFiniteNumber('pad', 'value', o.value ?? 0);
  if (mode !== 'constant' && o.value !== undefined && o.value !== 0) {
    throw new RangeError(`pad: value applies only to constant mode, not '${mode}'`);
  }
  if (!Array.isArray(pads) || pads.length % 2 !== 0 || pads.length === 0) {
    throw new RangeError(`pad: pads must be a non-empty array of [before, after] amounts (last dim first), got ${describeValue(pads)}`);
  }
  pads.forEach((p, i) => {
    if (typeof p !== 'number' || !Number.isInteger(p)) throw new RangeError(`pad: pads[${i}] must be an integer, got ${describeValue(p)}`);
  });
  if (pads.length / 2 > x.ndim) {
    throw new RangeError(`pad: ${pads.length} pad amounts pad ${pads.length / 2} dims but the input ${formatShape(x.shape)} has ${x.ndim}`);
  }
  if (mode !== 'constant' && pads.some((p) => p < 0) && mode !== 'circular') {
    throw new RangeError(`pad: negative pads (cropping) are supported in constant and circular modes only, got ${describeValue(pads)} with '${mode}'`);
  }
  const { shape, maps } = indexMaps(x, pads, mode);
  const src = x.data;
  const y = new Float32Array(shapeSize(shape));
  forEachElement(x.shape, shape, maps, (oi, si) => { y[oi] = si < 0 ? value : src[si]; });
  const out = new Tensor(y, shape);
  if (!needsGrad(x)) return out;
  return record(out, 'pad', [x], (gyT) => {
    const gy = gyT.data;
    const gx = new Float32Array(x.size);
    forEachElement(x.shape, shape, maps, (oi, si) => { if (si >= 0) gx[si] += gy[oi]; });
    return [new Tensor(gx, x.shape.slice())];
  });
}
