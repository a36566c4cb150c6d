// Pieces shared by the zoo: option checks, seeded initialisation, and two fused
// element-wise steps used on the hot path (ReLU on a fresh activation, residual add + ReLU).
import { Tensor, formatShape } from '../tensor';
import { isGradEnabled, needsGrad, record } from '../autograd/engine';
import * as F from '../functional';
import { backend } from '../backend/select';
import { Generator, defaultGenerator } from '../random';
import type { Module, StateDictSource } from '../nn/module';
import { hasOwnForward } from '../nn/module';
import { BatchNorm2d } from '../nn/normalization';
import { Conv2d } from '../nn/conv';
import { ConvSiblings } from '../nn/sibling_conv';
import { Sequential } from '../nn/container';
import { ReLU } from '../nn/activation';
import { MaxPool2d } from '../nn/pooling';
import type { ActivationPool } from './activation_pool';
import type { ConvDestination } from '../functional/conv';

export interface ModelOptions {
  /** Output classes (default 10 for LeNet-5, 1000 for the ImageNet models). */
  numClasses?: number;
  /** Seeds the initialisation of every layer (default: the process-wide generator, see manualSeed). */
  seed?: number;
  /**
   * A state dict to load (strictly) instead of initialising, e.g. torchvision weights:
   * `resnet50({weights: io.loadSafetensors('resnet50.safetensors')})`. The model's own
   * initialisation scheme is then skipped.
   */
  weights?: StateDictSource;
}

/** Option keys every model accepts. */
export const COMMON_OPTIONS = ['numClasses', 'seed', 'weights'] as const;

/** Runs the model's initialisation, or loads options.weights strictly instead. */
export function initOrLoad(model: Module, options: ModelOptions, init: () => void): void {
  if (options.weights === undefined || options.weights === null) { init(); return; }
  model.loadStateDict(options.weights, { strict: true });
}

export function modelGenerator(o: ModelOptions): Generator {
  if (o.seed === undefined) return defaultGenerator;
  if (typeof o.seed !== 'number' || !Number.isFinite(o.seed)) throw new RangeError(`seed must be a finite number, got ${String(o.seed)}`);
  return new Generator(o.seed);
}

export function checkNumClasses(model: string, n: unknown, fallback = 10): number {
  if (n === undefined) return fallback;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new RangeError(`${model}: numClasses must be a positive integer, got ${String(n)}`);
  return n;
}

/** Rejects unknown option keys (a typo such as `auxLogit` would otherwise pass silently). */
export function checkModelOptions(model: string, options: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${model}: options must be an object, got ${typeof options}`);
  for (const k of Object.keys(options)) {
    if ((options as Record<string, unknown>)[k] === undefined) continue;
    if (!allowed.includes(k)) throw new TypeError(`${model}: unknown option '${k}' (known: ${allowed.join(', ')})`);
  }
  return options as Record<string, unknown>;
}

export function checkProbability(model: string, name: string, p: unknown, fallback: number): number {
  if (p === undefined) return fallback;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${model}: ${name} must be a number in [0, 1], got ${String(p)}`);
  return p;
}

export function checkBooleanOption(model: string, name: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new TypeError(`${model}: ${name} must be a boolean, got ${typeof v}`);
  return v;
}

export function checkImageInput(model: string, x: unknown, channels: number, minSize = 1): Tensor {
  if (!(x instanceof Tensor)) throw new TypeError(`${model}: expected a Tensor input [N, ${channels}, H, W]`);
  if (x.ndim !== 4 || x.shape[1] !== channels || x.shape[0] < 1) {
    throw new RangeError(`${model} expects input [N, ${channels}, H, W], got ${formatShape(x.shape)}`);
  }
  if (x.shape[2] < minSize || x.shape[3] < minSize) {
    throw new RangeError(`${model} needs images of at least ${minSize}x${minSize}, got ${formatShape(x.shape)}`);
  }
  return x;
}

/** Truncated normal N(0, std^2) restricted to [-2 std, 2 std] (scipy's truncnorm(-2, 2, scale=std)). */
export function truncNormal_(t: Tensor, std: number, generator: Generator): Tensor {
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    let v: number;
    do v = generator.normal(); while (v < -2 || v > 2);
    d[i] = v * std;
  }
  return t;
}

/**
 * ReLU of an activation this model just produced. Without a tape (inference) it rewrites
 * the tensor in place, as PyTorch's ReLU(inplace=True) does, saving an allocation and a
 * pass; `keep` lists tensors that must not be overwritten (a block's input). With a tape
 * it is F.relu.
 */
export function reluFresh(t: Tensor, ...keep: Tensor[]): Tensor {
  if (needsGrad(t) || keep.includes(t)) return F.relu(t);
  backend().reluForward(t.data, t.data);
  return t;
}

/**
 * relu(a + b) for a residual join, one pass. Without a tape the sum lands in `a` (a fresh
 * activation of the block) unless a is listed in `keep`.
 */
export function addRelu(a: Tensor, b: Tensor, ...keep: Tensor[]): Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(`residual add: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
  }
  const ad = a.data, bd = b.data, n = ad.length;
  const grad = needsGrad(a, b);
  const inPlace = !grad && a !== b && !keep.includes(a);
  const y = inPlace ? ad : new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = ad[i] + bd[i];
  backend().reluForward(y, y);
  if (inPlace) return a;
  const out = new Tensor(y, a.shape.slice());
  if (!grad) return out;
  return record(out, 'addRelu', [a, b], (gyT) => {
    const g = new Float32Array(n);
    backend().reluBackward(y, gyT.data, g);
    const gt = new Tensor(g, a.shape.slice());
    return [a.requiresGrad ? gt : null, b.requiresGrad ? gt : null];
  });
}

const hooked = hasOwnForward;

/**
 * bn(y), then ReLU when `relu`: the conv -> BatchNorm (-> ReLU) step of the ImageNet
 * models. For inference (BatchNorm in eval mode, no tape, a plain BatchNorm2d without
 * hooks) the affine map and the ReLU are applied in one pass over y, a fresh conv output,
 * in place: the same arithmetic as F.batchNorm (float64 scale and shift per channel), one
 * pass and no allocation instead of two passes and two arrays. Otherwise the module runs.
 */
export function batchNormAct(y: Tensor, bn: Module, relu: boolean, ...keep: Tensor[]): Tensor {
  const b = bn as BatchNorm2d;
  const fast = bn.constructor === BatchNorm2d && !b.training && !hooked(bn) && !keep.includes(y) &&
    y.ndim === 4 && y.shape[1] === b.numFeatures && b.runningMean !== null && b.runningVar !== null &&
    !needsGrad(y, b.weight, b.bias);
  if (!fast) {
    const z = b.forward(y);
    return relu ? reluFresh(z, ...keep) : z;
  }
  const [N, C, H, W] = y.shape;
  const S = H * W;
  const d = y.data, rm = b.runningMean!.data, rv = b.runningVar!.data;
  const w = b.weight ? b.weight.data : null, bb = b.bias ? b.bias.data : null;
  for (let c = 0; c < C; c++) {
    const invStd = 1 / Math.sqrt(rv[c] + b.eps);
    const scale = invStd * (w ? w[c] : 1), shift = (bb ? bb[c] : 0) - rm[c] * scale;
    for (let n = 0; n < N; n++) {
      const base = (n * C + c) * S, end = base + S;
      for (let i = base; i < end; i++) d[i] = d[i] * scale + shift;
    }
  }
  if (relu) backend().reluForward(d, d);
  return y;
}

/**
 * Whether conv (then bn) may run as one fused inference kernel (Conv2d.fusedForward): a
 * plain Conv2d and BatchNorm2d in eval mode, neither with hooks (they must see the
 * intermediate tensors), and no tape.
 */
function fusable(x: Tensor, conv: Module, bn: Module | null, residual: Tensor | null): boolean {
  if (conv.constructor !== Conv2d || hooked(conv) || (conv as Conv2d).mode !== 'cross-correlation') return false;
  const c = conv as Conv2d;
  if (bn === null) return !needsGrad(x, c.weight, c.bias, residual);
  const b = bn as BatchNorm2d;
  return bn.constructor === BatchNorm2d && !hooked(bn) && !b.training && b.runningMean !== null &&
    b.runningVar !== null && !needsGrad(x, c.weight, c.bias, b.weight, b.bias, residual);
}

/**
 * Whether conv -> bn pairs that read x may run as one ConvSiblings call: each fusable on its
 * own, and the convolutions alike in everything but their output channels.
 */
export function siblingsFusable(x: Tensor, pairs: Array<[Module, Module]>): boolean {
  return pairs.every(([conv, bn]) => fusable(x, conv, bn, null)) && ConvSiblings.compatible(pairs.map(([conv]) => conv));
}

/**
 * Whether a model's forward may recycle its intermediate activations through an
 * ActivationPool: no tape and no hook anywhere (a hook could keep an intermediate).
 */
export function canRecycle(model: Module, x: Tensor): boolean {
  if (isGradEnabled() && needsGrad(x, ...model.parameters())) return false;
  for (const m of model.modules()) if (hooked(m)) return false;
  return true;
}

/**
 * conv -> bn (-> ReLU): one fused kernel for inference (output from `pool` if given), else
 * the modules.
 */
export function convBnAct(x: Tensor, conv: Module, bn: Module, relu: boolean, pool?: ActivationPool): Tensor {
  if (fusable(x, conv, bn, null)) {
    return (conv as Conv2d).fusedForward(x, { bn: bn as BatchNorm2d, relu, alloc: pool && ((n) => pool.take(n)) });
  }
  return batchNormAct((conv as Conv2d).forward(x), bn, relu, x);
}

/**
 * convBnAct written into the channels of a wider tensor (`into`: image n at
 * into.data[n * into.imageStride ..], a concatenation's buffer from this part's first
 * channel on): the fused kernel writes there, the module path is copied there.
 */
export function convBnActInto(x: Tensor, conv: Module, bn: Module, relu: boolean, into: ConvDestination): void {
  if (fusable(x, conv, bn, null)) {
    (conv as Conv2d).fusedForward(x, { bn: bn as BatchNorm2d, relu, into });
    return;
  }
  const y = batchNormAct((conv as Conv2d).forward(x), bn, relu, x);
  const image = y.size / y.shape[0];
  for (let n = 0; n < y.shape[0]; n++) into.data.set(y.data.subarray(n * image, (n + 1) * image), n * into.imageStride);
}

/** A layer of a recycling inference pass: a MaxPool2d writes into the pool, others run as they are. */
export function layerPooled(m: Module, x: Tensor, pool: ActivationPool): Tensor {
  if (m.constructor === MaxPool2d) return (m as MaxPool2d).forwardInto(x, (n) => pool.take(n));
  return m.forward(x) as Tensor;
}

/** relu(bn(conv(x)) + residual), a residual block's last step: one fused kernel for inference. */
export function convBnAddRelu(x: Tensor, conv: Module, bn: Module, residual: Tensor, pool?: ActivationPool): Tensor {
  if (fusable(x, conv, bn, residual)) {
    return (conv as Conv2d).fusedForward(x, { bn: bn as BatchNorm2d, residual, relu: true, alloc: pool && ((n) => pool.take(n)) });
  }
  return addRelu(batchNormAct((conv as Conv2d).forward(x), bn, false, x), residual, x);
}

/** conv (-> ReLU) for a Conv2d with its bias: one fused kernel for inference (output from `pool` if given). */
export function convAct(x: Tensor, conv: Module, relu: boolean, pool?: ActivationPool): Tensor {
  if (fusable(x, conv, null, null)) return (conv as Conv2d).fusedForward(x, { relu, alloc: pool && ((n) => pool.take(n)) });
  const y = conv.forward(x) as Tensor;
  return relu ? reluFresh(y, x) : y;
}

/**
 * A Sequential's forward, with each Conv2d followed by a ReLU run as one fused inference
 * kernel where fusable (the ReLU module is then skipped: it has no hooks).
 */
export function sequentialFused(seq: Sequential, x: Tensor): Tensor {
  if (hooked(seq)) return seq.forward(x);
  const layers = seq.children();
  for (let i = 0; i < layers.length; i++) {
    const m = layers[i], next = layers[i + 1];
    if (next !== undefined && next.constructor === ReLU && !hooked(next) && fusable(x, m, null, null)) {
      x = (m as Conv2d).fusedForward(x, { relu: true });
      i++;
    } else {
      x = m.forward(x);
    }
  }
  return x;
}

/** A projection shortcut Sequential(conv, bn), with the inference path when it has no hooks. */
export function projection(x: Tensor, seq: Sequential, pool?: ActivationPool): Tensor {
  if (hooked(seq) || seq.length !== 2 || !(seq.get(1) instanceof BatchNorm2d)) return seq.forward(x);
  return convBnAct(x, seq.get(0), seq.get(1), false, pool);
}
