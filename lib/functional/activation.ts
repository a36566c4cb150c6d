// Element-wise activations with fused backward passes.
import { Tensor } from '../tensor';
import { record, needsGrad } from '../autograd/engine';
import { checkTensorArg } from './options';
import { backend } from '../backend/select';

/** max(x, 0); the gradient at exactly 0 is 0 (as in PyTorch). */
export function relu(input: Tensor): Tensor {
  const x = checkTensorArg('relu', 'input', input);
  const n = x.data.length;
  const y = new Float32Array(n);
  backend().reluForward(x.data, y);
  const out = new Tensor(y, x.shape.slice());
  if (!needsGrad(x)) return out;
  return record(out, 'relu', [x], (gyT) => {
    const gx = new Float32Array(n);
    backend().reluBackward(y, gyT.data, gx);
    return [new Tensor(gx, x.shape.slice())];
  });
}

export function tanh(input: Tensor): Tensor {
  const x = checkTensorArg('tanh', 'input', input);
  const xd = x.data, n = xd.length;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.tanh(xd[i]);
  const out = new Tensor(y, x.shape.slice());
  if (!needsGrad(x)) return out;
  return record(out, 'tanh', [x], (gyT) => {
    const gy = gyT.data, gx = new Float32Array(n);
    for (let i = 0; i < n; i++) gx[i] = gy[i] * (1 - y[i] * y[i]);
    return [new Tensor(gx, x.shape.slice())];
  });
}

/** 1 / (1 + exp(-x)), computed without overflow for large |x|. */
export function sigmoid(input: Tensor): Tensor {
  const x = checkTensorArg('sigmoid', 'input', input);
  const xd = x.data, n = xd.length;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = xd[i];
    if (v >= 0) y[i] = 1 / (1 + Math.exp(-v));
    else { const e = Math.exp(v); y[i] = e / (1 + e); }
  }
  const out = new Tensor(y, x.shape.slice());
  if (!needsGrad(x)) return out;
  return record(out, 'sigmoid', [x], (gyT) => {
    const gy = gyT.data, gx = new Float32Array(n);
    for (let i = 0; i < n; i++) gx[i] = gy[i] * y[i] * (1 - y[i]);
    return [new Tensor(gx, x.shape.slice())];
  });
}
