// Shape ops: views that share memory (reshape/view/flatten/squeeze/unsqueeze), copies that
// move data (transpose/permute/expand/concat/stack/narrow), clone and detach.
import { Tensor, formatShape, shapeSize } from '../tensor';
import { needsGrad, record } from '../autograd/engine';
import { broadcastShapes, broadcastTo, contiguousStrides, normDim, sameShape, sumTo } from './util';

function checkTensor(op: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: expected a Tensor`);
}

/** Resolves a requested shape (one -1 allowed) against `size` elements. */
export function inferShape(op: string, from: readonly number[], shape: readonly number[]): number[] {
  const out = shape.slice();
  let infer = -1, known = 1;
  for (let i = 0; i < out.length; i++) {
    const d = out[i];
    if (d === -1) {
      if (infer >= 0) throw new RangeError(`${op}: only one dimension can be -1 in ${formatShape(shape)}`);
      infer = i;
    } else if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`${op}: invalid dimension ${d} in shape ${formatShape(shape)}`);
    } else known *= d;
  }
  const size = shapeSize(from);
  if (infer >= 0) {
    if (known === 0 || size % known !== 0) {
      throw new RangeError(`${op}: shape ${formatShape(shape)} is invalid for a tensor of shape ${formatShape(from)} (${size} elements)`);
    }
    out[infer] = size / known;
  } else if (known !== size) {
    throw new RangeError(`${op}: shape ${formatShape(shape)} is invalid for a tensor of shape ${formatShape(from)} (${size} elements)`);
  }
  return out;
}

function shapeArgs(args: Array<number | number[]>): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return args[0];
  return args as number[];
}

/** A view of t with another shape (shares data). */
function viewAs(op: string, t: Tensor, shape: number[]): Tensor {
  const out = new Tensor(t.data, shape);
  if (needsGrad(t)) {
    const inShape = t.shape.slice();
    record(out, op, [t], (g) => [new Tensor(g.data, inShape.slice())]);
  }
  return out;
}

/** reshape(t, shape) or reshape(t, ...dims): shares memory; one -1 is inferred. */
export function reshape(t: Tensor, ...shape: Array<number | number[]>): Tensor {
  checkTensor('reshape', t);
  return viewAs('reshape', t, inferShape('reshape', t.shape, shapeArgs(shape)));
}

/** Same as reshape (tensors are always contiguous). */
export function view(t: Tensor, ...shape: Array<number | number[]>): Tensor {
  checkTensor('view', t);
  return viewAs('view', t, inferShape('view', t.shape, shapeArgs(shape)));
}

/** Merges dims startDim..endDim into one (a view). */
export function flatten(t: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor('flatten', t);
  if (t.ndim === 0) return viewAs('flatten', t, [1]);
  const s = normDim('flatten', startDim, t.ndim), e = normDim('flatten', endDim, t.ndim);
  if (s > e) throw new RangeError(`flatten: startDim ${startDim} comes after endDim ${endDim} for a tensor of rank ${t.ndim}`);
  const shape = [...t.shape.slice(0, s), shapeSize(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return viewAs('flatten', t, shape);
}

/** Drops size-1 dims (all, or only `dim`, which is kept when its size is not 1). */
export function squeeze(t: Tensor, dim?: number | null): Tensor {
  checkTensor('squeeze', t);
  if (dim === undefined || dim === null) return viewAs('squeeze', t, t.shape.filter((d) => d !== 1));
  if (t.ndim === 0) { normDim('squeeze', dim, 0); return viewAs('squeeze', t, []); }
  const d = normDim('squeeze', dim, t.ndim);
  if (t.shape[d] !== 1) return viewAs('squeeze', t, t.shape.slice());
  return viewAs('squeeze', t, t.shape.filter((_, i) => i !== d));
}

/** Inserts a size-1 dim at `dim` (-ndim-1 .. ndim). */
export function unsqueeze(t: Tensor, dim: number): Tensor {
  checkTensor('unsqueeze', t);
  const d = normDim('unsqueeze', dim, t.ndim + 1);
  const shape = t.shape.slice();
  shape.splice(d, 0, 1);
  return viewAs('unsqueeze', t, shape);
}

/** Contiguous copy of t with dims reordered: out.shape[i] = t.shape[dims[i]]. */
export function permute(t: Tensor, ...dimsArg: Array<number | number[]>): Tensor {
  checkTensor('permute', t);
  const dimsIn = shapeArgs(dimsArg);
  if (dimsIn.length !== t.ndim) {
    throw new RangeError(`permute: dims [${dimsIn.join(', ')}] do not match a tensor of rank ${t.ndim} (shape ${formatShape(t.shape)})`);
  }
  const dims = dimsIn.map((d) => normDim('permute', d, t.ndim));
  if (new Set(dims).size !== dims.length) throw new RangeError(`permute: dims [${dimsIn.join(', ')}] repeat a dim`);
  const out = new Tensor(permuteData(t.data, t.shape, dims), dims.map((d) => t.shape[d]));
  if (needsGrad(t)) {
    const inv = new Array<number>(dims.length);
    dims.forEach((d, i) => { inv[d] = i; });
    const outShape = out.shape.slice(), inShape = t.shape.slice();
    record(out, 'permute', [t], (g) => [new Tensor(permuteData(g.data, outShape, inv), inShape.slice())]);
  }
  return out;
}

function permuteData(x: Float32Array, shape: readonly number[], dims: number[]): Float32Array {
  const nd = shape.length;
  const out = new Float32Array(x.length);
  if (x.length === 0) return out;
  if (dims.every((d, i) => d === i)) { out.set(x); return out; }
  const inStrides = contiguousStrides(shape);
  const oShape = dims.map((d) => shape[d]);
  const oStrides = dims.map((d) => inStrides[d]); // input stride per output dim
  if (nd === 2) {
    // Blocked 2-D transpose.
    const R = oShape[0], C = oShape[1], sr = oStrides[0], sc = oStrides[1];
    const B = 32;
    for (let r0 = 0; r0 < R; r0 += B) {
      const r1 = Math.min(R, r0 + B);
      for (let c0 = 0; c0 < C; c0 += B) {
        const c1 = Math.min(C, c0 + B);
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) out[r * C + c] = x[r * sr + c * sc];
        }
      }
    }
    return out;
  }
  const inner = oShape[nd - 1], si = oStrides[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o += inner) {
    for (let j = 0; j < inner; j++) out[o + j] = x[src + j * si];
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      src += oStrides[d];
      if (idx[d] < oShape[d]) break;
      src -= oStrides[d] * oShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** Contiguous copy with dims d0 and d1 swapped. */
export function transpose(t: Tensor, dim0: number, dim1: number): Tensor {
  checkTensor('transpose', t);
  if (t.ndim === 0) { normDim('transpose', dim0, 0); normDim('transpose', dim1, 0); return clone(t); }
  const a = normDim('transpose', dim0, t.ndim), b = normDim('transpose', dim1, t.ndim);
  const dims = t.shape.map((_, i) => i);
  dims[a] = b; dims[b] = a;
  return permute(t, dims);
}

/** Copy of t broadcast to `shape` (-1 keeps a dim; new leading dims allowed). */
export function expand(t: Tensor, ...shapeArg: Array<number | number[]>): Tensor {
  checkTensor('expand', t);
  const req = shapeArgs(shapeArg);
  if (req.length < t.ndim) {
    throw new RangeError(`expand: shape ${formatShape(req)} has fewer dims than the tensor's shape ${formatShape(t.shape)}`);
  }
  const off = req.length - t.ndim;
  const shape = req.map((d, i) => {
    if (d === -1) {
      if (i < off) throw new RangeError(`expand: -1 is not allowed for the new leading dim ${i} in ${formatShape(req)}`);
      return t.shape[i - off];
    }
    return d;
  });
  for (let i = 0; i < t.ndim; i++) {
    const have = t.shape[i], want = shape[i + off];
    if (have !== want && have !== 1) {
      throw new RangeError(`expand: shape ${formatShape(t.shape)} cannot be expanded to ${formatShape(req)}`);
    }
  }
  broadcastShapes('expand', t.shape, shape);
  const out = new Tensor(broadcastTo(t.data, t.shape, shape), shape);
  if (needsGrad(t)) {
    const inShape = t.shape.slice();
    record(out, 'expand', [t], (g) => [new Tensor(sumTo(g.data, shape, inShape), inShape.slice())]);
  }
  return out;
}

/** Joins tensors along an existing dim; all other dims must match. */
export function concat(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('concat: expected a non-empty array of Tensors');
  tensors.forEach((t) => checkTensor('concat', t));
  const first = tensors[0];
  if (first.ndim === 0) throw new RangeError('concat: zero-dimensional tensors cannot be concatenated (use stack)');
  const d = normDim('concat', dim, first.ndim);
  for (const t of tensors) {
    const ok = t.ndim === first.ndim && t.shape.every((s, i) => i === d || s === first.shape[i]);
    if (!ok) {
      throw new RangeError(`concat: shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} do not match outside dim ${d}`);
    }
  }
  let outer = 1, inner = 1;
  for (let i = 0; i < d; i++) outer *= first.shape[i];
  for (let i = d + 1; i < first.ndim; i++) inner *= first.shape[i];
  const sizes = tensors.map((t) => t.shape[d]);
  const total = sizes.reduce((a, b) => a + b, 0);
  const outShape = first.shape.slice();
  outShape[d] = total;
  const out = new Float32Array(outer * total * inner);
  const rowOut = total * inner;
  let off = 0;
  for (let k = 0; k < tensors.length; k++) {
    const src = tensors[k].data, row = sizes[k] * inner;
    if (outer === 1) out.set(src, off);
    else for (let o = 0; o < outer; o++) out.set(src.subarray(o * row, (o + 1) * row), o * rowOut + off);
    off += row;
  }
  const result = new Tensor(out, outShape);
  if (needsGrad(...tensors)) {
    record(result, 'concat', tensors.slice(), (g) => {
      const gd = g.data;
      let at = 0;
      return tensors.map((t, k) => {
        const row = sizes[k] * inner, o0 = at;
        at += row;
        if (!t.requiresGrad) return null;
        const gx = new Float32Array(outer * row);
        for (let o = 0; o < outer; o++) gx.set(gd.subarray(o * rowOut + o0, o * rowOut + o0 + row), o * row);
        return new Tensor(gx, t.shape.slice());
      });
    });
  }
  return result;
}

/** Joins same-shaped tensors along a new dim. */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new RangeError('stack: expected a non-empty array of Tensors');
  tensors.forEach((t) => checkTensor('stack', t));
  const first = tensors[0];
  for (const t of tensors) {
    if (!sameShape(t.shape, first.shape)) {
      throw new RangeError(`stack: shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} differ`);
    }
  }
  const d = normDim('stack', dim, first.ndim + 1);
  return concat(tensors.map((t) => unsqueeze(t, d)), d);
}

/** The slice [start, start + length) of dim (a copy), like torch.narrow. */
export function narrow(t: Tensor, dim: number, start: number, length: number): Tensor {
  checkTensor('narrow', t);
  const d = normDim('narrow', dim, t.ndim);
  const n = t.shape[d];
  if (start < 0) start += n;
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > n) {
    throw new RangeError(`narrow: start ${start} and length ${length} do not fit dim ${d} of size ${n} (shape ${formatShape(t.shape)})`);
  }
  let outer = 1, inner = 1;
  for (let i = 0; i < d; i++) outer *= t.shape[i];
  for (let i = d + 1; i < t.ndim; i++) inner *= t.shape[i];
  const outShape = t.shape.slice();
  outShape[d] = length;
  const row = length * inner, rowIn = n * inner, o0 = start * inner;
  const out = new Float32Array(outer * row);
  for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * rowIn + o0, o * rowIn + o0 + row), o * row);
  const result = new Tensor(out, outShape);
  if (needsGrad(t)) {
    record(result, 'narrow', [t], (g) => {
      const gx = new Float32Array(t.size);
      for (let o = 0; o < outer; o++) gx.set(g.data.subarray(o * row, (o + 1) * row), o * rowIn + o0);
      return [new Tensor(gx, t.shape.slice())];
    });
  }
  return result;
}

/** Splits dim into pieces of `size` (the last may be smaller), or of the given sizes. */
export function split(t: Tensor, sizes: number | number[], dim = 0): Tensor[] {
  checkTensor('split', t);
  const d = normDim('split', dim, t.ndim);
  const n = t.shape[d];
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0) throw new RangeError(`split: size ${sizes} must be a positive integer`);
    list = [];
    for (let s = 0; s < n; s += sizes) list.push(Math.min(sizes, n - s));
  } else {
    list = sizes.slice();
    if (list.reduce((a, b) => a + b, 0) !== n) {
      throw new RangeError(`split: sizes [${list.join(', ')}] do not sum to dim ${d} of size ${n} (shape ${formatShape(t.shape)})`);
    }
  }
  let at = 0;
  return list.map((len) => { const r = narrow(t, d, at, len); at += len; return r; });
}

/** A differentiable copy. */
export function clone(t: Tensor): Tensor {
  checkTensor('clone', t);
  const out = new Tensor(t.data.slice(), t.shape.slice());
  if (needsGrad(t)) record(out, 'clone', [t], (g) => [g]);
  return out;
}

/** Shares data, cut from the graph. */
export function detach(t: Tensor): Tensor {
  checkTensor('detach', t);
  return new Tensor(t.data, t.shape.slice());
}
