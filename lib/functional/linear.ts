// linear (y = x W^T + b over the last dim, any leading dims) on the backend's gemm, and flatten.
import { Tensor, formatShape } from '../tensor';
import { record, needsGrad } from '../autograd/engine';
import { backend } from '../backend/select';
import { runStep } from '../backend/call_recorder';
import { flatten as flattenOp } from '../ops/shape';
import { checkTensorArg, optionalTensor } from './options';

/** y[..., out] = x[..., in] @ weight[out, in]^T + bias[out]. */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const x = checkTensorArg('linear', 'input', input);
  const w = checkTensorArg('linear', 'weight', weight);
  const b = optionalTensor('linear', 'bias', bias);
  if (w.ndim !== 2) throw new RangeError(`linear: weight must be 2-D [out, in], got shape ${formatShape(w.shape)}`);
  if (x.ndim < 1) throw new RangeError(`linear: input must have at least 1 dim (last = in features), got shape ${formatShape(x.shape)}`);
  const [O, I] = w.shape;
  if (x.shape[x.ndim - 1] !== I) {
    throw new RangeError(`linear: input ${formatShape(x.shape)} has ${x.shape[x.ndim - 1]} features in its last dim but weight ${formatShape(w.shape)} expects ${I}`);
  }
  if (b && (b.ndim !== 1 || b.shape[0] !== O)) {
    throw new RangeError(`linear: bias must have shape [${O}], got ${formatShape(b.shape)}`);
  }
  const M = x.size / Math.max(I, 1);
  const outShape = [...x.shape.slice(0, -1), O];
  const y = new Float32Array(M * O);
  if (M > 0 && O > 0) {
    if (I > 0) backend().gemm(false, true, M, O, I, 1, x.data, w.data, 0, y);
    if (b) {
      const bd = b.data;
      // (A step of the pass: an inference plan replays it after the gemm.)
      runStep(() => {
        for (let m = 0; m < M; m++) for (let o = 0; o < O; o++) y[m * O + o] += bd[o];
      });
    }
  }
  const out = new Tensor(y, outShape);
  if (!needsGrad(x, w, b)) return out;
  const xData = x.data, wData = w.data;
  return record(out, 'linear', [x, w, b], (gyT) => {
    const gy = gyT.data;
    const be = backend();
    let gx: Tensor | null = null, gw: Tensor | null = null, gb: Tensor | null = null;
    if (x.requiresGrad) {
      const d = new Float32Array(x.size);
      if (M > 0 && I > 0 && O > 0) be.gemm(false, false, M, I, O, 1, gy, wData, 0, d);
      gx = new Tensor(d, x.shape.slice());
    }
    if (w.requiresGrad) {
      const d = new Float32Array(w.size);
      if (M > 0 && I > 0 && O > 0) be.gemm(true, false, O, I, M, 1, gy, xData, 0, d);
      gw = new Tensor(d, w.shape.slice());
    }
    if (b && b.requiresGrad) {
      const acc = new Float64Array(O);
      for (let m = 0; m < M; m++) for (let o = 0; o < O; o++) acc[o] += gy[m * O + o];
      gb = new Tensor(Float32Array.from(acc), b.shape.slice());
    }
    return [gx, gw, gb];
  });
}

/** Merges dims startDim..endDim into one (default: everything but the batch dim). */
export function flatten(input: Tensor, startDim = 1, endDim = -1): Tensor {
  const x = checkTensorArg('flatten', 'input', input);
  return flattenOp(x, startDim, endDim);
}
