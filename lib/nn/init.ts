// Weight initialisation, torch.nn.init's functions: each fills a Tensor's data in place
// (no tape) from a Generator (default: the process-wide one) and returns the tensor.
import { Tensor, markDataChanged } from '../tensor';
import { Generator, defaultGenerator } from '../random';
import { describe } from './module';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' |
  'conv_transpose3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

export type FanMode = 'fanIn' | 'fanOut';

/** PyTorch's recommended gain for a nonlinearity (param: leaky_relu's negative slope). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new RangeError(`calculateGain: negative slope must be a finite number, got ${describe(slope)}`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu': return 3 / 4;
    default: throw new RangeError(`calculateGain: unknown nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * fanIn = shape[1] * receptive field, fanOut = shape[0] * receptive field, as PyTorch
 * computes them (so a transposed conv's [in, out/groups, k, k] weight has fanIn out/groups*k*k).
 */
export function calculateFanInAndFanOut(t: Tensor): { fanIn: number; fanOut: number } {
  checkTensor('calculateFanInAndFanOut', t);
  if (t.shape.length < 2) {
    throw new RangeError(`fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape [${t.shape.join(', ')}])`);
  }
  let receptive = 1;
  for (let i = 2; i < t.shape.length; i++) receptive *= t.shape[i];
  return { fanIn: t.shape[1] * receptive, fanOut: t.shape[0] * receptive };
}

function checkTensor(fn: string, t: unknown): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${fn}: expected a Tensor, got ${describe(t)}`);
  markDataChanged();  // every init function writes t in place after this check
}

function checkGenerator(fn: string, g: unknown): Generator {
  if (g === undefined) return defaultGenerator;
  if (!(g instanceof Generator)) throw new TypeError(`${fn}: generator must be a Generator, got ${describe(g)}`);
  return g;
}

function checkNumber(fn: string, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${fn}: ${name} must be a finite number, got ${describe(v)}`);
  return v;
}

/** Fills with U(low, high). */
export function uniform_(t: Tensor, low = 0, high = 1, generator?: Generator): Tensor {
  checkTensor('uniform_', t);
  checkNumber('uniform_', 'low', low);
  checkNumber('uniform_', 'high', high);
  if (low > high) throw new RangeError(`uniform_: low (${low}) must not exceed high (${high})`);
  const g = checkGenerator('uniform_', generator);
  const d = t.data, span = high - low;
  for (let i = 0; i < d.length; i++) d[i] = low + span * g.random();
  return t;
}

/** Fills with N(mean, std^2). */
export function normal_(t: Tensor, mean = 0, std = 1, generator?: Generator): Tensor {
  checkTensor('normal_', t);
  checkNumber('normal_', 'mean', mean);
  checkNumber('normal_', 'std', std);
  if (std < 0) throw new RangeError(`normal_: std must be non-negative, got ${std}`);
  const g = checkGenerator('normal_', generator);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = mean + std * g.normal();
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  checkTensor('constant_', t);
  if (typeof value !== 'number' || Number.isNaN(value)) throw new RangeError(`constant_: value must be a number, got ${describe(value)}`);
  t.data.fill(value);
  return t;
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only); default 0. */
  a?: number;
  /** 'fanIn' keeps the forward variance, 'fanOut' the backward one (default 'fanIn'). */
  mode?: FanMode;
  /** Default 'leaky_relu' as in PyTorch. */
  nonlinearity?: Nonlinearity;
  generator?: Generator;
}

function kaimingStd(fn: string, t: Tensor, o: KaimingOptions): number {
  const mode = o.mode ?? 'fanIn';
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new RangeError(`${fn}: mode must be 'fanIn' or 'fanOut', got ${describe(mode)}`);
  const a = checkNumber(fn, 'a', o.a ?? 0);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  if (fan === 0) throw new RangeError(`${fn}: cannot initialise a tensor with zero elements (shape [${t.shape.join(', ')}])`);
  return calculateGain(o.nonlinearity ?? 'leaky_relu', a) / Math.sqrt(fan);
}

/** He et al. 2015, uniform: U(-b, b) with b = gain * sqrt(3 / fan). */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  checkTensor('kaimingUniform_', t);
  const bound = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, options);
  return uniform_(t, -bound, bound, options.generator);
}

/** He et al. 2015, normal: N(0, std^2) with std = gain / sqrt(fan). */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  checkTensor('kaimingNormal_', t);
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, options), options.generator);
}

export interface XavierOptions {
  gain?: number;
  generator?: Generator;
}

function xavierStd(fn: string, t: Tensor, o: XavierOptions): number {
  const gain = checkNumber(fn, 'gain', o.gain ?? 1);
  const { fanIn, fanOut } = calculateFanInAndFanOut(t);
  if (fanIn + fanOut === 0) throw new RangeError(`${fn}: cannot initialise a tensor with zero elements`);
  return gain * Math.sqrt(2 / (fanIn + fanOut));
}

/** Glorot & Bengio 2010, uniform: U(-a, a) with a = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, options: XavierOptions = {}): Tensor {
  checkTensor('xavierUniform_', t);
  const a = Math.sqrt(3) * xavierStd('xavierUniform_', t, options);
  return uniform_(t, -a, a, options.generator);
}

/** Glorot & Bengio 2010, normal: N(0, std^2) with std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, options: XavierOptions = {}): Tensor {
  checkTensor('xavierNormal_', t);
  return normal_(t, 0, xavierStd('xavierNormal_', t, options), options.generator);
}

/**
 * The default initialisation of PyTorch's Linear and conv layers: kaiming_uniform_ with
 * a = sqrt(5), i.e. weight ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)), then bias from the same
 * bound. Draws the weight first, then the bias, from one generator.
 */
export function defaultLayerInit_(weight: Tensor, bias: Tensor | null, generator?: Generator): void {
  kaimingUniform_(weight, { a: Math.sqrt(5), generator });
  if (bias) {
    const { fanIn } = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound, generator);
  }
}
