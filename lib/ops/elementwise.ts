// Element-wise arithmetic with NumPy broadcasting, and the unary maths. Same-shape and
// scalar operands take flat loops; broadcasting walks coalesced rows with precomputed
// strides. Gradients of broadcast operands are summed back to the operand's shape.
import { Tensor, formatShape } from '../tensor';
import { needsGrad, record } from '../autograd/engine';
import { broadcastShapes, broadcastStrides, broadcastTo, coalesce, forEachRow, sameShape, sumTo } from './util';

const enum Op { Add, Sub, Mul, Div }
const OP_NAMES = ['add', 'sub', 'mul', 'div'];

function scalarTensor(v: number): Tensor {
  return new Tensor(new Float32Array([v]), []);
}

function checkOperand(name: string, t: unknown): void {
  if (!(t instanceof Tensor)) throw new TypeError(`${name}: expected a Tensor, got ${typeof t === 'object' ? String(t) : typeof t}`);
}

function flatScalar(op: Op, a: Float32Array, c: number, out: Float32Array, scalarFirst: boolean): void {
  const n = a.length;
  switch (op) {
    case Op.Add: for (let i = 0; i < n; i++) out[i] = a[i] + c; break;
    case Op.Sub:
      if (scalarFirst) for (let i = 0; i < n; i++) out[i] = c - a[i];
      else for (let i = 0; i < n; i++) out[i] = a[i] - c;
      break;
    case Op.Mul: for (let i = 0; i < n; i++) out[i] = a[i] * c; break;
    case Op.Div:
      if (scalarFirst) for (let i = 0; i < n; i++) out[i] = c / a[i];
      else for (let i = 0; i < n; i++) out[i] = a[i] / c;
      break;
  }
}

function flatSame(op: Op, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const n = out.length;
  switch (op) {
    case Op.Add: for (let i = 0; i < n; i++) out[i] = a[i] + b[i]; break;
    case Op.Sub: for (let i = 0; i < n; i++) out[i] = a[i] - b[i]; break;
    case Op.Mul: for (let i = 0; i < n; i++) out[i] = a[i] * b[i]; break;
    case Op.Div: for (let i = 0; i < n; i++) out[i] = a[i] / b[i]; break;
  }
}

/** out = a (op) b with broadcasting; out has shape outShape. */
function binaryKernel(op: Op, a: Tensor, b: Tensor, outShape: number[]): Float32Array {
  const out = new Float32Array(outShape.reduce((x, y) => x * y, 1));
  const ad = a.data, bd = b.data;
  if (ad.length === out.length && bd.length === out.length) { flatSame(op, ad, bd, out); return out; }
  if (bd.length === 1 && ad.length === out.length) { flatScalar(op, ad, bd[0], out, false); return out; }
  if (ad.length === 1 && bd.length === out.length) { flatScalar(op, bd, ad[0], out, true); return out; }
  const c = coalesce(outShape, [broadcastStrides(a.shape, outShape), broadcastStrides(b.shape, outShape)]);
  const last = c.shape.length - 1;
  const inner = c.shape[last], sa = c.strides[0][last], sb = c.strides[1][last];
  forEachRow(c.shape, c.strides, (offs, o) => {
    const ia = offs[0], ib = offs[1];
    switch (op) {
      case Op.Add: for (let j = 0; j < inner; j++) out[o + j] = ad[ia + j * sa] + bd[ib + j * sb]; break;
      case Op.Sub: for (let j = 0; j < inner; j++) out[o + j] = ad[ia + j * sa] - bd[ib + j * sb]; break;
      case Op.Mul: for (let j = 0; j < inner; j++) out[o + j] = ad[ia + j * sa] * bd[ib + j * sb]; break;
      case Op.Div: for (let j = 0; j < inner; j++) out[o + j] = ad[ia + j * sa] / bd[ib + j * sb]; break;
    }
  });
  return out;
}

function reduceTo(g: Tensor, shape: number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  return new Tensor(sumTo(g.data, g.shape, shape), shape.slice());
}

function binary(op: Op, x: Tensor | number, y: Tensor | number): Tensor {
  const name = OP_NAMES[op];
  const aIsNum = typeof x === 'number', bIsNum = typeof y === 'number';
  if (aIsNum && bIsNum) return new Tensor(new Float32Array([applyNum(op, x as number, y as number)]), []);
  if (!aIsNum) checkOperand(name, x);
  if (!bIsNum) checkOperand(name, y);
  if (bIsNum || aIsNum) {
    // Tensor with a constant: no broadcasting, one gradient.
    const t = (aIsNum ? y : x) as Tensor;
    const c = (aIsNum ? x : y) as number;
    const out = new Tensor(new Float32Array(t.size), t.shape.slice());
    flatScalar(op, t.data, c, out.data, aIsNum);
    if (needsGrad(t)) {
      record(out, name, [t], (g) => {
        switch (op) {
          case Op.Add: return [g];
          case Op.Sub: return [aIsNum ? neg(g) : g];
          case Op.Mul: return [mul(g, c)];
          case Op.Div:
            if (!aIsNum) return [mul(g, 1 / c)];
            // d(c/t)/dt = -c / t^2 = -out / t
            return [mul(g, div(out.detach(), t.detach()).neg())];
        }
      });
    }
    return out;
  }
  const a = x as Tensor, b = y as Tensor;
  const outShape = sameShape(a.shape, b.shape) ? a.shape.slice() : broadcastShapes(name, a.shape, b.shape);
  const out = new Tensor(binaryKernel(op, a, b, outShape), outShape);
  if (needsGrad(a, b)) {
    const aS = a.shape, bS = b.shape;
    record(out, name, [a, b], (g) => {
      const ga = a.requiresGrad, gb = b.requiresGrad;
      switch (op) {
        case Op.Add: return [ga ? reduceTo(g, aS) : null, gb ? reduceTo(g, bS) : null];
        case Op.Sub: return [ga ? reduceTo(g, aS) : null, gb ? reduceTo(neg(g), bS) : null];
        case Op.Mul: return [ga ? reduceTo(mul(g, b.detach()), aS) : null, gb ? reduceTo(mul(g, a.detach()), bS) : null];
        case Op.Div: {
          const bd = b.detach();
          const gaT = ga || gb ? div(g, bd) : null;
          return [ga ? reduceTo(gaT!, aS) : null,
                  gb ? reduceTo(mul(gaT!, out.detach()).neg(), bS) : null];
        }
      }
    });
  }
  return out;
}

function applyNum(op: Op, a: number, b: number): number {
  const f = new Float32Array([a, b]);
  switch (op) {
    case Op.Add: return f[0] + f[1];
    case Op.Sub: return f[0] - f[1];
    case Op.Mul: return f[0] * f[1];
    case Op.Div: return f[0] / f[1];
  }
}

/** a + b with broadcasting (either may be a number). */
export function add(a: Tensor | number, b: Tensor | number): Tensor { return binary(Op.Add, a, b); }
/** a - b with broadcasting. */
export function sub(a: Tensor | number, b: Tensor | number): Tensor { return binary(Op.Sub, a, b); }
/** a * b with broadcasting. */
export function mul(a: Tensor | number, b: Tensor | number): Tensor { return binary(Op.Mul, a, b); }
/** a / b with broadcasting. */
export function div(a: Tensor | number, b: Tensor | number): Tensor { return binary(Op.Div, a, b); }

// ---- unary ----

function unaryOut(t: Tensor): Tensor {
  return new Tensor(new Float32Array(t.size), t.shape.slice());
}

export function neg(t: Tensor): Tensor {
  checkOperand('neg', t);
  const out = unaryOut(t);
  const x = t.data, o = out.data;
  for (let i = 0; i < o.length; i++) o[i] = -x[i];
  if (needsGrad(t)) record(out, 'neg', [t], (g) => [neg(g)]);
  return out;
}

export function exp(t: Tensor): Tensor {
  checkOperand('exp', t);
  const out = unaryOut(t);
  const x = t.data, o = out.data;
  for (let i = 0; i < o.length; i++) o[i] = Math.exp(x[i]);
  if (needsGrad(t)) record(out, 'exp', [t], (g) => [mul(g, out.detach())]);
  return out;
}

export function log(t: Tensor): Tensor {
  checkOperand('log', t);
  const out = unaryOut(t);
  const x = t.data, o = out.data;
  for (let i = 0; i < o.length; i++) o[i] = Math.log(x[i]);
  if (needsGrad(t)) record(out, 'log', [t], (g) => [div(g, t.detach())]);
  return out;
}

export function sqrt(t: Tensor): Tensor {
  checkOperand('sqrt', t);
  const out = unaryOut(t);
  const x = t.data, o = out.data;
  for (let i = 0; i < o.length; i++) o[i] = Math.sqrt(x[i]);
  if (needsGrad(t)) {
    record(out, 'sqrt', [t], (g) => {
      const r = new Float32Array(g.size), gd = g.data;
      for (let i = 0; i < r.length; i++) r[i] = gd[i] / (2 * o[i]);
      return [new Tensor(r, t.shape.slice())];
    });
  }
  return out;
}

export function abs(t: Tensor): Tensor {
  checkOperand('abs', t);
  const out = unaryOut(t);
  const x = t.data, o = out.data;
  for (let i = 0; i < o.length; i++) o[i] = Math.abs(x[i]);
  if (needsGrad(t)) {
    record(out, 'abs', [t], (g) => {
      const r = new Float32Array(g.size), gd = g.data;
      for (let i = 0; i < r.length; i++) r[i] = x[i] > 0 ? gd[i] : x[i] < 0 ? -gd[i] : 0;
      return [new Tensor(r, t.shape.slice())];
    });
  }
  return out;
}

/** t ** p for a number p. */
export function pow(t: Tensor, p: number): Tensor {
  checkOperand('pow', t);
  if (typeof p !== 'number') throw new TypeError(`pow: exponent must be a number, got ${typeof p}`);
  const out = unaryOut(t);
  const x = t.data, o = out.data;
  if (p === 2) for (let i = 0; i < o.length; i++) o[i] = x[i] * x[i];
  else if (p === 0.5) for (let i = 0; i < o.length; i++) o[i] = Math.sqrt(x[i]);
  else for (let i = 0; i < o.length; i++) o[i] = Math.pow(x[i], p);
  if (needsGrad(t)) {
    record(out, 'pow', [t], (g) => {
      const r = new Float32Array(g.size), gd = g.data;
      if (p === 0) return [new Tensor(r, t.shape.slice())];
      if (p === 2) for (let i = 0; i < r.length; i++) r[i] = 2 * x[i] * gd[i];
      else for (let i = 0; i < r.length; i++) r[i] = p * Math.pow(x[i], p - 1) * gd[i];
      return [new Tensor(r, t.shape.slice())];
    });
  }
  return out;
}

/** Element-wise choice: cond (nonzero = true) ? a : b, all three broadcast together. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  checkOperand('where', cond);
  const at = typeof a === 'number' ? scalarTensor(a) : a;
  const bt = typeof b === 'number' ? scalarTensor(b) : b;
  checkOperand('where', at); checkOperand('where', bt);
  const s1 = broadcastShapes('where', cond.shape, at.shape);
  let outShape: number[];
  try {
    outShape = broadcastShapes('where', s1, bt.shape);
  } catch {
    throw new Error(`where: shapes ${formatShape(cond.shape)}, ${formatShape(at.shape)} and ${formatShape(bt.shape)} cannot be broadcast`);
  }
  const n = outShape.reduce((x, y) => x * y, 1);
  const out = new Float32Array(n);
  const c = coalesce(outShape, [broadcastStrides(cond.shape, outShape), broadcastStrides(at.shape, outShape),
                                broadcastStrides(bt.shape, outShape)]);
  const last = c.shape.length - 1;
  const inner = c.shape[last], sc = c.strides[0][last], sa = c.strides[1][last], sb = c.strides[2][last];
  const cd = cond.data, ad = at.data, bd = bt.data;
  forEachRow(c.shape, c.strides, (offs, o) => {
    for (let j = 0; j < inner; j++) {
      out[o + j] = cd[offs[0] + j * sc] !== 0 ? ad[offs[1] + j * sa] : bd[offs[2] + j * sb];
    }
  });
  const result = new Tensor(out, outShape);
  if (needsGrad(at, bt)) {
    record(result, 'where', [at, bt], (g) => {
      const m = broadcastTo(cond.data, cond.shape, outShape);
      for (let i = 0; i < n; i++) m[i] = m[i] !== 0 ? 1 : 0;
      const mask = new Tensor(m, outShape.slice());
      return [at.requiresGrad ? reduceTo(mul(g, mask), at.shape) : null,
              bt.requiresGrad ? reduceTo(mul(g, sub(1, mask)), bt.shape) : null];
    });
  }
  return result;
}
