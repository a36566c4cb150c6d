// GoogLeNet (Inception v1; Szegedy et al., "Going deeper with convolutions", CVPR 2015) as
// torchvision 0.14 builds it, module for module, so torchvision's state_dict loads:
//   BasicConv2d = conv (no bias) + BatchNorm (eps 0.001) + ReLU, named `conv` and `bn`;
//   conv1 7x7/2, maxpool1 3x3/2, conv2 1x1, conv3 3x3, maxpool2, inception3a/3b, maxpool3,
//   inception4a..4e, maxpool4 2x2/2, inception5a/5b (all max pools with ceil_mode),
//   aux1 / aux2 (InceptionAux: adaptive 4x4 average pool, conv 1x1 -> 128, fc1 2048 ->
//   1024, ReLU, dropout 0.7, fc2), avgpool (global), dropout 0.2, fc.
// An Inception block runs four branches on the same input and concatenates them along
// the channels (one copy): branch1 1x1; branch2 1x1 then 3x3; branch3 1x1 then the
// 'large' kernel; branch4 3x3/1 max pool then 1x1. torchvision's branch3 uses a 3x3
// kernel where the paper has 5x5 (pytorch/vision#906); `largeBranchKernel: 5` gives the
// paper's network (its weights are then not torchvision's).
// The auxiliary classifiers run only in training mode (and only with auxLogits); forward
// then returns {logits, aux1, aux2}, otherwise the logits. googlenetLoss() combines the
// heads as in the paper: CE(logits) + 0.3 (CE(aux1) + CE(aux2)).
import { Tensor } from '../tensor';
import { concat } from '../ops/shape';
import * as F from '../functional';
import { Module } from '../nn/module';
import { Sequential } from '../nn/container';
import { Conv2d } from '../nn/conv';
import { ConvSiblings } from '../nn/sibling_conv';
import { Linear } from '../nn/linear';
import { BatchNorm2d } from '../nn/normalization';
import { MaxPool2d, AdaptiveAvgPool2d } from '../nn/pooling';
import { Dropout } from '../nn/dropout';
import { Generator } from '../random';
import type { ModelOutput } from '../train/fit';
import {
  COMMON_OPTIONS, ModelOptions, checkBooleanOption, checkImageInput, checkModelOptions, checkNumClasses, checkProbability,
  canRecycle, convBnAct, convBnActInto, initOrLoad, layerPooled, modelGenerator, reluFresh, siblingsFusable, truncNormal_,
} from './common';
import { ActivationPool } from './activation_pool';

/** Conv (no bias) + BatchNorm(eps 0.001) + ReLU: torchvision's BasicConv2d. */
export class BasicConv2d extends Module {
  conv: Conv2d;
  bn: BatchNorm2d;

  constructor(inChannels: number, outChannels: number, kernelSize: number,
              options: { stride?: number; padding?: number; generator?: Generator } = {}) {
    super();
    const { generator, ...geometry } = options;
    this.conv = new Conv2d(inChannels, outChannels, kernelSize, { ...geometry, bias: false, generator });
    this.bn = new BatchNorm2d(outChannels, { eps: 0.001 });
  }

  forward(x: Tensor): Tensor {
    return convBnAct(x, this.conv, this.bn, true);
  }
}

/** The four-branch Inception block (torchvision's `Inception`). */
export class Inception extends Module {
  branch1: BasicConv2d;
  branch2: Sequential;
  branch3: Sequential;
  branch4: Sequential;
  readonly outChannels: number;
  /** branch1 and the two 1x1 reductions prepared as one convolution (inference). */
  private readonly reductions = new ConvSiblings();

  constructor(inChannels: number, ch1x1: number, ch3x3red: number, ch3x3: number, ch5x5red: number, ch5x5: number,
              poolProj: number, options: { largeBranchKernel?: 3 | 5; generator?: Generator } = {}) {
    super();
    const generator = options.generator;
    const k = options.largeBranchKernel ?? 3;
    this.branch1 = new BasicConv2d(inChannels, ch1x1, 1, { generator });
    this.branch2 = new Sequential(
      new BasicConv2d(inChannels, ch3x3red, 1, { generator }),
      new BasicConv2d(ch3x3red, ch3x3, 3, { padding: 1, generator }),
    );
    this.branch3 = new Sequential(
      new BasicConv2d(inChannels, ch5x5red, 1, { generator }),
      new BasicConv2d(ch5x5red, ch5x5, k, { padding: (k - 1) / 2, generator }),
    );
    this.branch4 = new Sequential(
      new MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }),
      new BasicConv2d(inChannels, poolProj, 1, { generator }),
    );
    this.outChannels = ch1x1 + ch3x3 + ch5x5 + poolProj;
  }

  forward(x: Tensor): Tensor {
    return concat([this.branch1.forward(x), this.branch2.forward(x), this.branch3.forward(x), this.branch4.forward(x)], 1);
  }

  /** forward with the branch outputs and intermediates recycled through `pool` (inference only). */
  forwardPooled(x: Tensor, pool: ActivationPool): Tensor {
    // Each branch's last convolution writes straight into its channels of the output, image n
    // `perImage` floats after image n - 1: no concatenation copy (at batch 8 the copies took
    // 6% of a pass).
    const [N, , H, W] = x.shape;
    const lasts = [this.branch1, this.branch2.get(1), this.branch3.get(1), this.branch4.get(1)] as BasicConv2d[];
    const planes = lasts.map((b) => b.conv.outChannels * H * W);
    const perImage = planes.reduce((a, b) => a + b, 0);
    const joined = pool.take(N * perImage);
    const into = (i: number) => ({ data: joined.subarray(planes.slice(0, i).reduce((a, b) => a + b, 0)), imageStride: perImage });
    // branch1 and the 1x1 reductions of branches 2 and 3 read the same input: one call for
    // the three (the input read once, the small reductions no longer a product of their own).
    const b1 = this.branch1, b2a = this.branch2.get(0) as Module, b3a = this.branch3.get(0) as Module;
    const reduced = new Map<Module, Tensor>();
    if (b2a instanceof BasicConv2d && b3a instanceof BasicConv2d &&
        siblingsFusable(x, [[b1.conv, b1.bn], [b2a.conv, b2a.bn], [b3a.conv, b3a.bn]])) {
      const [k2, k3] = [b2a.conv.outChannels, b3a.conv.outChannels];
      const m2 = new Tensor(pool.take(N * k2 * H * W), [N, k2, H, W]), m3 = new Tensor(pool.take(N * k3 * H * W), [N, k3, H, W]);
      this.reductions.forward(x, [
        { conv: b1.conv, bn: b1.bn, into: into(0) },
        { conv: b2a.conv, bn: b2a.bn, into: { data: m2.data, imageStride: k2 * H * W } },
        { conv: b3a.conv, bn: b3a.bn, into: { data: m3.data, imageStride: k3 * H * W } },
      ], { relu: true });
      reduced.set(b2a, m2).set(b3a, m3);
    } else {
      convBnActInto(x, b1.conv, b1.bn, true, into(0));
    }
    [this.branch2, this.branch3, this.branch4].forEach((seq, j) => {
      const a = seq.get(0) as Module, b = seq.get(1) as BasicConv2d;
      const mid = reduced.get(a) ??
        (a instanceof BasicConv2d ? convBnAct(x, a.conv, a.bn, true, pool) : layerPooled(a, x, pool));
      convBnActInto(mid, b.conv, b.bn, true, into(j + 1));
      pool.retire(mid, x, x);  // (mid goes back unless it is x itself or a view of it)
    });
    return new Tensor(joined, [N, perImage / (H * W), H, W]);
  }
}

/** torchvision's InceptionAux: the auxiliary classifier on inception4a / inception4d. */
export class InceptionAux extends Module {
  conv: BasicConv2d;
  fc1: Linear;
  fc2: Linear;
  dropout: Dropout;

  constructor(inChannels: number, numClasses: number, options: { dropout?: number; generator?: Generator } = {}) {
    super();
    const generator = options.generator;
    this.conv = new BasicConv2d(inChannels, 128, 1, { generator });
    this.fc1 = new Linear(2048, 1024, { generator });
    this.fc2 = new Linear(1024, numClasses, { generator });
    this.dropout = new Dropout(options.dropout ?? 0.7, { generator });
  }

  forward(x: Tensor): Tensor {
    x = F.adaptiveAvgPool2d(x, [4, 4]);
    x = F.flatten(this.conv.forward(x), 1);
    x = reluFresh(this.fc1.forward(x));
    return this.fc2.forward(this.dropout.forward(x));
  }
}

export interface GoogLeNetOptions extends ModelOptions {
  /** Build the two auxiliary classifiers (default true, as torchvision). */
  auxLogits?: boolean;
  /** Kernel of the 'large' branch: 3 (default, torchvision's weights) or 5 (the paper). */
  largeBranchKernel?: 3 | 5;
  /** Map ImageNet-normalised input to the [-1, 1] scaling torchvision's pretrained weights
   * were trained on (default false; set true with torchvision's pretrained weights). */
  transformInput?: boolean;
  /** Dropout before fc (default 0.2). */
  dropout?: number;
  /** Dropout in the auxiliary classifiers (default 0.7). */
  dropoutAux?: number;
}

/** Output of GoogLeNet in training mode with auxiliary classifiers. */
export interface GoogLeNetOutputs {
  logits: Tensor;
  aux1: Tensor;
  aux2: Tensor;
}

export class GoogLeNet extends Module {
  conv1: BasicConv2d;
  maxpool1: MaxPool2d;
  conv2: BasicConv2d;
  conv3: BasicConv2d;
  maxpool2: MaxPool2d;
  inception3a: Inception;
  inception3b: Inception;
  maxpool3: MaxPool2d;
  inception4a: Inception;
  inception4b: Inception;
  inception4c: Inception;
  inception4d: Inception;
  inception4e: Inception;
  maxpool4: MaxPool2d;
  inception5a: Inception;
  inception5b: Inception;
  aux1: InceptionAux | null;
  aux2: InceptionAux | null;
  avgpool: AdaptiveAvgPool2d;
  dropout: Dropout;
  fc: Linear;
  /** Activation buffers reused by inference passes (see ActivationPool). */
  private readonly activations = new ActivationPool();
  readonly auxLogits: boolean;
  readonly transformInput: boolean;
  readonly largeBranchKernel: 3 | 5;
  readonly numClasses: number;

  constructor(options: GoogLeNetOptions = {}) {
    super();
    checkModelOptions('googlenet', options,
      ['auxLogits', 'largeBranchKernel', 'transformInput', 'dropout', 'dropoutAux', ...COMMON_OPTIONS]);
    const numClasses = checkNumClasses('googlenet', options.numClasses, 1000);
    this.numClasses = numClasses;
    this.auxLogits = checkBooleanOption('googlenet', 'auxLogits', options.auxLogits, true);
    this.transformInput = checkBooleanOption('googlenet', 'transformInput', options.transformInput, false);
    const k = options.largeBranchKernel ?? 3;
    if (k !== 3 && k !== 5) throw new RangeError(`googlenet: largeBranchKernel must be 3 or 5, got ${String(k)}`);
    this.largeBranchKernel = k;
    const dropout = checkProbability('googlenet', 'dropout', options.dropout, 0.2);
    const dropoutAux = checkProbability('googlenet', 'dropoutAux', options.dropoutAux, 0.7);
    const generator = modelGenerator(options);
    const inc = (...c: [number, number, number, number, number, number, number]) =>
      new Inception(...c, { largeBranchKernel: k, generator });

    this.conv1 = new BasicConv2d(3, 64, 7, { stride: 2, padding: 3, generator });
    this.maxpool1 = new MaxPool2d(3, { stride: 2, ceilMode: true });
    this.conv2 = new BasicConv2d(64, 64, 1, { generator });
    this.conv3 = new BasicConv2d(64, 192, 3, { padding: 1, generator });
    this.maxpool2 = new MaxPool2d(3, { stride: 2, ceilMode: true });
    this.inception3a = inc(192, 64, 96, 128, 16, 32, 32);
    this.inception3b = inc(256, 128, 128, 192, 32, 96, 64);
    this.maxpool3 = new MaxPool2d(3, { stride: 2, ceilMode: true });
    this.inception4a = inc(480, 192, 96, 208, 16, 48, 64);
    this.inception4b = inc(512, 160, 112, 224, 24, 64, 64);
    this.inception4c = inc(512, 128, 128, 256, 24, 64, 64);
    this.inception4d = inc(512, 112, 144, 288, 32, 64, 64);
    this.inception4e = inc(528, 256, 160, 320, 32, 128, 128);
    this.maxpool4 = new MaxPool2d(2, { stride: 2, ceilMode: true });
    this.inception5a = inc(832, 256, 160, 320, 32, 128, 128);
    this.inception5b = inc(832, 384, 192, 384, 48, 128, 128);
    this.aux1 = this.auxLogits ? new InceptionAux(512, numClasses, { dropout: dropoutAux, generator }) : null;
    this.aux2 = this.auxLogits ? new InceptionAux(528, numClasses, { dropout: dropoutAux, generator }) : null;
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.dropout = new Dropout(dropout, { generator });
    this.fc = new Linear(1024, numClasses, { generator });

    // torchvision's initialisation: conv and linear weights from a truncated normal
    // (std 0.01, cut at 2 std); BatchNorm weight 1, bias 0 (already so). Biases keep
    // the layers' default initialisation, as in torchvision.
    initOrLoad(this, options, () => {
      for (const m of this.modules()) {
        if (m instanceof Conv2d || m instanceof Linear) truncNormal_(m.weight, 0.01, generator);
      }
    });
  }

  /** Eval-mode inference on the zoo's own blocks with no hooks or tape: activations can be recycled. */
  private recyclable(x: Tensor): boolean {
    const blocks = [this.inception3a, this.inception3b, this.inception4a, this.inception4b, this.inception4c,
      this.inception4d, this.inception4e, this.inception5a, this.inception5b];
    return blocks.every((b) => b instanceof Inception && b.branch2.length === 2 && b.branch3.length === 2 && b.branch4.length === 2) &&
      [this.conv1, this.conv2, this.conv3].every((c) => c instanceof BasicConv2d) && canRecycle(this, x);
  }

  /** Inference with every activation but the logits recycled through the model's pool. */
  private forwardRecycling(input: Tensor): Tensor {
    const pool = this.activations;
    let x = input;
    const step = (next: Tensor) => { pool.retire(x, next, input); x = next; };
    step(this.transformed(x));
    const conv = (c: BasicConv2d) => step(convBnAct(x, c.conv, c.bn, true, pool));
    const layer = (m: Module) => step(layerPooled(m, x, pool));
    conv(this.conv1); layer(this.maxpool1);
    conv(this.conv2); conv(this.conv3); layer(this.maxpool2);
    for (const b of [this.inception3a, this.inception3b]) step(b.forwardPooled(x, pool));
    layer(this.maxpool3);
    for (const b of [this.inception4a, this.inception4b, this.inception4c, this.inception4d, this.inception4e]) step(b.forwardPooled(x, pool));
    layer(this.maxpool4);
    for (const b of [this.inception5a, this.inception5b]) step(b.forwardPooled(x, pool));
    layer(this.avgpool);
    // (the pooled features are a fresh array of a size no layer asks the pool for: not given back)
    return this.fc.forward(this.dropout.forward(F.flatten(x, 1)));
  }

  private transformed(x: Tensor): Tensor {
    if (!this.transformInput) return x;
    // x_c * (std_c / 0.5) + (mean_c - 0.5) / 0.5, per channel
    const scale = [0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5];
    const shift = [(0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5];
    const s = new Tensor(Float32Array.from(scale), [1, 3, 1, 1]);
    const b = new Tensor(Float32Array.from(shift), [1, 3, 1, 1]);
    return x.mul(s).add(b);
  }

  forward(input: Tensor): Tensor | GoogLeNetOutputs {
    checkImageInput('googlenet', input, 3, 1);
    if (!this.training && this.recyclable(input)) return this.forwardRecycling(input);
    let x = this.transformed(input);
    x = this.maxpool1.forward(this.conv1.forward(x));
    x = this.maxpool2.forward(this.conv3.forward(this.conv2.forward(x)));
    x = this.maxpool3.forward(this.inception3b.forward(this.inception3a.forward(x)));
    x = this.inception4a.forward(x);
    const withAux = this.training && this.aux1 !== null && this.aux2 !== null;
    const aux1 = withAux ? this.aux1!.forward(x) : null;
    x = this.inception4d.forward(this.inception4c.forward(this.inception4b.forward(x)));
    const aux2 = withAux ? this.aux2!.forward(x) : null;
    x = this.maxpool4.forward(this.inception4e.forward(x));
    x = this.inception5b.forward(this.inception5a.forward(x));
    x = F.flatten(this.avgpool.forward(x), 1);
    const logits = this.fc.forward(this.dropout.forward(x));
    if (aux1 && aux2) return { logits, aux1, aux2 };
    return logits;
  }
}

export function googlenet(options: GoogLeNetOptions = {}): GoogLeNet {
  return new GoogLeNet(options);
}

/**
 * GoogLeNet's training loss: cross-entropy of the logits plus 0.3 times that of each
 * auxiliary head (the paper's weighting); plain cross-entropy for a Tensor output. It is
 * lib/train's defaultLoss, so fit() trains GoogLeNet this way without a `loss` option.
 */
export function googlenetLoss(output: Tensor | GoogLeNetOutputs | ModelOutput, target: Int32Array | ArrayLike<number> | Tensor): Tensor {
  // Loaded on first use: lib/train sits above lib/models, and loading it eagerly would
  // make every model depend on the training loop's own imports.
  const { defaultLoss } = require('../train/fit') as typeof import('../train/fit');
  const t = target instanceof Int32Array ? target
    : Int32Array.from(target instanceof Tensor ? target.data : (target as ArrayLike<number>));
  return defaultLoss(output as ModelOutput, t);
}
