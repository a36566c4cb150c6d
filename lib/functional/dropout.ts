// Inverted dropout: zero each element with probability p, scale the survivors by 1/(1-p).
import { Tensor } from '../tensor';
import { record, needsGrad } from '../autograd/engine';
import { Generator, generatorFor } from '../random';
import { checkBoolean, checkFiniteNumber, checkTensorArg, describeValue, optionsOf } from './options';

export interface DropoutOptions {
  /** Probability of zeroing an element (default 0.5). */
  p?: number;
  /** Identity when false (default true, as in PyTorch's F.dropout). */
  training?: boolean;
  /** Seeds a private generator for this call's mask. */
  seed?: number;
  /** Generator to draw the mask from (default: the process-wide one, see manualSeed). */
  generator?: Generator;
}

export function dropout(input: Tensor, options?: DropoutOptions): Tensor {
  const op = 'dropout';
  const x = checkTensorArg(op, 'input', input);
  const o = optionsOf(op, options, ['p', 'training', 'seed', 'generator']);
  const p = checkFiniteNumber(op, 'p', o.p ?? 0.5, { min: 0, max: 1 });
  const training = checkBoolean(op, 'training', o.training ?? true);
  if (o.seed !== undefined && o.generator !== undefined) throw new TypeError(`${op}: give seed or generator, not both`);
  let gen: Generator;
  if (o.generator !== undefined) {
    if (!(o.generator instanceof Generator)) throw new TypeError(`${op}: generator must be a Generator, got ${describeValue(o.generator)}`);
    gen = o.generator;
  } else {
    if (o.seed !== undefined) checkFiniteNumber(op, 'seed', o.seed);
    gen = generatorFor(o.seed);
  }
  if (!training || p === 0) return x;
  const n = x.size;
  const xd = x.data;
  const y = new Float32Array(n);
  const mask = new Float32Array(n);   // 0 or 1/(1-p)
  if (p < 1) {
    const scale = 1 / (1 - p);
    for (let i = 0; i < n; i++) {
      if (gen.random() >= p) { mask[i] = scale; y[i] = xd[i] * scale; }
    }
  }
  const out = new Tensor(y, x.shape.slice());
  if (!needsGrad(x)) return out;
  return record(out, op, [x], (gyT) => {
    const gy = gyT.data, gx = new Float32Array(n);
    for (let i = 0; i < n; i++) gx[i] = gy[i] * mask[i];
    return [new Tensor(gx, x.shape.slice())];
  });
}
