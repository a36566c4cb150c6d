// LeNet-5, two ways.
//
// 'modern' (default): ReLU and max pooling, the layout of the PyTorch reference fixture
// (conv1, conv2, conv3, fc1, fc2) on 1x32x32 input.
//
// 'classic': the network of LeCun, Bottou, Bengio & Haffner, "Gradient-based learning
// applied to document recognition" (Proc. IEEE, 1998), section II.B:
//   input 1@32x32 -> C1 6@28x28 (5x5 conv) -> S2 6@14x14 (subsampling) -> C3 16@10x10
//   (5x5 conv, partial connection table, Table I) -> S4 16@5x5 -> C5 120@1x1 (5x5 conv)
//   -> F6 84 -> output.
// Every C, S and F layer is followed by the scaled tanh f(a) = 1.7159 tanh(2a/3). A
// subsampling unit adds the four inputs of its 2x2 block, multiplies the sum by a
// trainable coefficient and adds a trainable bias (one of each per map). The paper's
// output layer is a set of Euclidean RBF units with fixed prototypes; here it is a
// Linear(84, numClasses) layer, so the model trains with cross-entropy like the others.
// Parameter counts per layer are the paper's: C1 156, S2 12, C3 1,516, S4 32, C5 48,120,
// F6 10,164 (then the output layer: 850 for 10 classes instead of the RBF's 840).
// Initialisation follows the paper too: U(-2.4/Fi, 2.4/Fi), Fi the fan-in of the unit.
import { Tensor, formatShape } from '../tensor';
import { needsGrad, record } from '../autograd/engine';
import * as F from '../functional';
import { Module } from '../nn/module';
import { Parameter, emptyParameter } from '../nn/parameter';
import { Conv2d } from '../nn/conv';
import { Linear } from '../nn/linear';
import { MaxPool2d } from '../nn/pooling';
import { Generator } from '../random';
import { COMMON_OPTIONS, ModelOptions, checkModelOptions, checkNumClasses, initOrLoad, modelGenerator, reluFresh, convAct, canRecycle, layerPooled } from './common';
import { ActivationPool } from './activation_pool';

export type { ModelOptions } from './common';
export { modelGenerator, checkNumClasses } from './common';

/**
 * LeNet-5's C3 connection table (LeCun et al. 1998, Table I): entry j lists the S2 feature
 * maps that C3 feature map j reads. Maps 0-5 read 3 contiguous maps, 6-11 read 4
 * contiguous maps, 12-14 read 4 non-contiguous maps, 15 reads all 6.
 */
export const LENET5_C3_TABLE: ReadonlyArray<ReadonlyArray<number>> = Object.freeze([
  [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
  [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
  [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],
  [0, 1, 2, 3, 4, 5],
].map((r) => Object.freeze(r)));

/** The 1.7159 tanh(2x/3) squashing function of the 1998 paper (LeCun's Appendix A). */
export function scaledTanh(input: Tensor): Tensor {
  const A = 1.7159, S = 2 / 3;
  const xd = input.data, n = xd.length;
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = A * Math.tanh(S * xd[i]);
  const out = new Tensor(y, input.shape.slice());
  if (!needsGrad(input)) return out;
  return record(out, 'scaledTanh', [input], (gyT) => {
    // d/dx A tanh(Sx) = A S (1 - tanh^2) = S (A - y^2 / A)
    const gy = gyT.data, gx = new Float32Array(n);
    for (let i = 0; i < n; i++) gx[i] = gy[i] * S * (A - (y[i] * y[i]) / A);
    return [new Tensor(gx, input.shape.slice())];
  });
}

/** The scaled tanh as a layer. */
export class ScaledTanh extends Module {
  forward(x: Tensor): Tensor {
    return scaledTanh(x);
  }
}

function paperUniform_(t: Tensor, fanIn: number, g: Generator): void {
  const b = 2.4 / fanIn;
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = g.uniform(-b, b);
}

/**
 * LeNet's subsampling layer: each output unit is coefficient[c] * (sum of a k x k block of
 * map c) + bias[c], blocks not overlapping (stride = k). Two trainable values per map.
 */
export class Subsampling2d extends Module {
  readonly channels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  weight: Parameter;
  bias: Parameter;

  constructor(channels: number, kernelSize = 2, options: { generator?: Generator } = {}) {
    super();
    if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`Subsampling2d: channels must be a positive integer, got ${channels}`);
    if (!Number.isInteger(kernelSize) || kernelSize < 1) throw new RangeError(`Subsampling2d: kernelSize must be a positive integer, got ${kernelSize}`);
    this.channels = channels;
    this.kernelSize = [kernelSize, kernelSize];
    this.stride = [kernelSize, kernelSize];
    this.weight = emptyParameter([channels]);
    this.bias = emptyParameter([channels]);
    const g = options.generator ?? new Generator();
    const fanIn = kernelSize * kernelSize;
    paperUniform_(this.weight, fanIn, g);
    paperUniform_(this.bias, fanIn, g);
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.channels) {
      throw new RangeError(`Subsampling2d: expected input [N, ${this.channels}, H, W], got ${formatShape(x.shape)}`);
    }
    const k = this.kernelSize[0];
    const pooled = F.avgPool2d(x, { kernelSize: k });
    const area = k * k;
    const [N, C, H, W] = pooled.shape;
    const plane = H * W;
    const pd = pooled.data, wd = this.weight.data, bd = this.bias.data;
    const y = new Float32Array(pooled.size);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const s = wd[c] * area, b = bd[c], base = (n * C + c) * plane;
        for (let i = 0; i < plane; i++) y[base + i] = pd[base + i] * s + b;
      }
    }
    const out = new Tensor(y, pooled.shape.slice());
    const w = this.weight, bias = this.bias;
    if (!needsGrad(pooled, w, bias)) return out;
    return record(out, 'subsampling2d', [pooled, w, bias], (gyT) => {
      const gy = gyT.data;
      const gp = pooled.requiresGrad ? new Float32Array(pooled.size) : null;
      const gw = w.requiresGrad ? new Float32Array(C) : null;
      const gb = bias.requiresGrad ? new Float32Array(C) : null;
      for (let c = 0; c < C; c++) {
        const s = w.data[c] * area;
        let sw = 0, sb = 0;
        for (let n = 0; n < N; n++) {
          const base = (n * C + c) * plane;
          for (let i = 0; i < plane; i++) {
            const g = gy[base + i];
            sw += g * pd[base + i];
            sb += g;
            if (gp) gp[base + i] = g * s;
          }
        }
        if (gw) gw[c] = sw * area;
        if (gb) gb[c] = sb;
      }
      return [gp ? new Tensor(gp, pooled.shape.slice()) : null, gw ? new Tensor(gw, [C]) : null, gb ? new Tensor(gb, [C]) : null];
    });
  }

  override extraRepr(): string {
    return `${this.channels}, kernelSize=${this.kernelSize[0]}`;
  }
}

/**
 * A convolution whose output map j reads only the input maps table[j] (a partial
 * connection table, LeNet-5's C3). Only the existing connections are parameters:
 * `weight` is [connections, kH, kW], the kernels in table order (map 0's inputs first).
 * The forward pass scatters them into a dense [outC, inC, kH, kW] kernel (zeros for the
 * missing connections) and runs one convolution; gradients flow back to the compact
 * weight only, so missing connections stay missing during training.
 */
export class PartialConv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[] = [1, 1];
  readonly table: ReadonlyArray<ReadonlyArray<number>>;
  weight: Parameter;
  bias: Parameter;

  constructor(inChannels: number, table: ReadonlyArray<ReadonlyArray<number>>, kernelSize: number,
              options: { generator?: Generator } = {}) {
    super();
    this.inChannels = inChannels;
    this.outChannels = table.length;
    this.kernelSize = [kernelSize, kernelSize];
    table.forEach((row, j) => {
      if (row.length === 0) throw new RangeError(`PartialConv2d: output map ${j} reads no input map`);
      for (const i of row) {
        if (!Number.isInteger(i) || i < 0 || i >= inChannels) throw new RangeError(`PartialConv2d: table[${j}] names input map ${i}, outside 0..${inChannels - 1}`);
      }
      if (new Set(row).size !== row.length) throw new RangeError(`PartialConv2d: table[${j}] lists an input map twice`);
    });
    this.table = table.map((r) => r.slice());
    const connections = table.reduce((a, r) => a + r.length, 0);
    this.weight = emptyParameter([connections, kernelSize, kernelSize]);
    this.bias = emptyParameter([this.outChannels]);
    const g = options.generator ?? new Generator();
    // Fan-in of output map j: |table[j]| * k * k.
    const area = kernelSize * kernelSize;
    let at = 0;
    this.table.forEach((row, j) => {
      const fanIn = row.length * area;
      paperUniform_(new Tensor(this.weight.data.subarray(at * area, (at + row.length) * area), [row.length * area]), fanIn, g);
      at += row.length;
      this.bias.data[j] = g.uniform(-2.4 / fanIn, 2.4 / fanIn);
    });
  }

  /** The 0/1 connection matrix [outChannels][inChannels]. */
  connectionMatrix(): number[][] {
    return this.table.map((row) => Array.from({ length: this.inChannels }, (_, i) => (row.includes(i) ? 1 : 0)));
  }

  /** The dense kernel [outC, inC, kH, kW] with zeros where there is no connection. */
  denseWeight(): Tensor {
    const area = this.kernelSize[0] * this.kernelSize[1];
    const C = this.inChannels, K = this.outChannels;
    const src = this.weight;
    const dense = new Float32Array(K * C * area);
    // offsets[c] = where connection c's kernel goes in the dense kernel
    const offsets: number[] = [];
    this.table.forEach((row, j) => { for (const i of row) offsets.push((j * C + i) * area); });
    for (let c = 0; c < offsets.length; c++) dense.set(src.data.subarray(c * area, (c + 1) * area), offsets[c]);
    const out = new Tensor(dense, [K, C, ...this.kernelSize]);
    if (!needsGrad(src)) return out;
    return record(out, 'partialConnections', [src], (gT) => {
      const g = new Float32Array(src.size);
      for (let c = 0; c < offsets.length; c++) g.set(gT.data.subarray(offsets[c], offsets[c] + area), c * area);
      return [new Tensor(g, src.shape.slice())];
    });
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.denseWeight(), this.bias);
  }

  /** Multiply-adds: only the existing connections count. */
  multAdds(_inputShape: number[], outputShape: number[]): number {
    const [N, , H, W] = outputShape;
    return N * H * W * this.weight.size;
  }

  override extraRepr(): string {
    return `${this.inChannels}, ${this.outChannels}, kernelSize=[${this.kernelSize.join(', ')}], connections=${this.weight.shape[0]}`;
  }
}

/** Modern LeNet-5: ReLU and max pooling; state_dict names conv1..conv3, fc1, fc2. */
export class LeNet5 extends Module {
  conv1: Conv2d; pool1: MaxPool2d;
  conv2: Conv2d; pool2: MaxPool2d;
  conv3: Conv2d;
  fc1: Linear; fc2: Linear;
  readonly variant = 'modern';
  readonly numClasses: number;
  /** Activation buffers reused by inference passes (see ActivationPool). */
  private readonly activations = new ActivationPool();

  constructor(options: ModelOptions = {}) {
    super();
    const numClasses = checkNumClasses('lenet5', options.numClasses);
    this.numClasses = numClasses;
    const generator = modelGenerator(options);
    this.conv1 = new Conv2d(1, 6, 5, { generator });
    this.pool1 = new MaxPool2d(2);
    this.conv2 = new Conv2d(6, 16, 5, { generator });
    this.pool2 = new MaxPool2d(2);
    this.conv3 = new Conv2d(16, 120, 5, { generator });
    this.fc1 = new Linear(120, 84, { generator });
    this.fc2 = new Linear(84, numClasses, { generator });
    initOrLoad(this, options, () => {});
  }

  forward(x: Tensor): Tensor {
    checkLeNetInput(x);
    if (canRecycle(this, x)) return this.forwardRecycling(x);
    x = this.pool1.forward(convAct(x, this.conv1, true));
    x = this.pool2.forward(convAct(x, this.conv2, true));
    x = F.flatten(convAct(x, this.conv3, true), 1);
    return this.fc2.forward(reluFresh(this.fc1.forward(x)));
  }

  /** Inference with the conv and pool activations recycled through the model's pool. */
  private forwardRecycling(input: Tensor): Tensor {
    const pool = this.activations;
    const done = (used: Tensor, next: Tensor) => pool.retire(used, next, input);
    let x = input;
    for (const [conv, maxPool] of [[this.conv1, this.pool1], [this.conv2, this.pool2]] as const) {
      const y = convAct(x, conv, true, pool);
      done(x, y);
      x = layerPooled(maxPool, y, pool);
      done(y, x);
    }
    const features = convAct(x, this.conv3, true, pool);
    done(x, features);
    const hidden = this.fc1.forward(F.flatten(features, 1));
    done(features, hidden);
    return this.fc2.forward(reluFresh(hidden));
  }
}

function checkLeNetInput(x: Tensor): void {
  if (!(x instanceof Tensor)) throw new TypeError('lenet5: expected a Tensor input [N, 1, 32, 32]');
  if (x.ndim !== 4 || x.shape[1] !== 1 || x.shape[2] !== 32 || x.shape[3] !== 32) {
    throw new RangeError(`lenet5 expects input [N, 1, 32, 32], got [${x.shape.join(', ')}]`);
  }
}

/** The 1998 LeNet-5 (see the top of this file); layer names follow the paper. */
export class LeNet5Classic extends Module {
  c1: Conv2d; s2: Subsampling2d;
  c3: PartialConv2d; s4: Subsampling2d;
  c5: Conv2d;
  f6: Linear;
  /** Stands in for the paper's Euclidean RBF output layer. */
  output: Linear;
  readonly variant = 'classic';
  readonly numClasses: number;

  constructor(options: ModelOptions = {}) {
    super();
    const numClasses = checkNumClasses('lenet5', options.numClasses);
    this.numClasses = numClasses;
    const generator = modelGenerator(options);
    this.c1 = new Conv2d(1, 6, 5, { generator });
    this.s2 = new Subsampling2d(6, 2, { generator });
    this.c3 = new PartialConv2d(6, LENET5_C3_TABLE, 5, { generator });
    this.s4 = new Subsampling2d(16, 2, { generator });
    this.c5 = new Conv2d(16, 120, 5, { generator });
    this.f6 = new Linear(120, 84, { generator });
    this.output = new Linear(84, numClasses, { generator });
    initOrLoad(this, options, () => {
      for (const layer of [this.c1, this.c5, this.f6, this.output]) {
        const fanIn = layer.weight.size / layer.weight.shape[0];
        paperUniform_(layer.weight, fanIn, generator);
        if (layer.bias) paperUniform_(layer.bias, fanIn, generator);
      }
    });
  }

  forward(x: Tensor): Tensor {
    checkLeNetInput(x);
    x = scaledTanh(this.s2.forward(scaledTanh(this.c1.forward(x))));
    x = scaledTanh(this.s4.forward(scaledTanh(this.c3.forward(x))));
    x = F.flatten(scaledTanh(this.c5.forward(x)), 1);
    return this.output.forward(scaledTanh(this.f6.forward(x)));
  }
}

export interface LeNet5Options extends ModelOptions {
  /** 'modern' (default: ReLU, max pooling) or 'classic' (the 1998 network). */
  variant?: 'modern' | 'classic';
}

export function lenet5(options: LeNet5Options & { variant: 'classic' }): LeNet5Classic;
export function lenet5(options?: LeNet5Options & { variant?: 'modern' }): LeNet5;
export function lenet5(options?: LeNet5Options): LeNet5 | LeNet5Classic;
export function lenet5(options: LeNet5Options = {}): LeNet5 | LeNet5Classic {
  checkModelOptions('lenet5', options, ['variant', ...COMMON_OPTIONS]);
  const { variant = 'modern', ...rest } = options ?? {};
  if (variant === 'modern') return new LeNet5(rest);
  if (variant === 'classic') return new LeNet5Classic(rest);
  throw new RangeError(`lenet5: unknown variant '${String(variant)}' (expected 'modern' or 'classic')`);
}
