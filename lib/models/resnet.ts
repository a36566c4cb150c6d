// ResNet (He, Zhang, Ren & Sun, "Deep residual learning for image recognition", CVPR 2016)
// as torchvision builds it, module for module, so torchvision's state_dicts load:
//   stem conv1 7x7/2 (no bias), bn1, ReLU, maxpool 3x3/2 pad 1; layer1..layer4, each a
//   Sequential of blocks named 0, 1, ...; avgpool (global); fc.
//   BasicBlock (ResNet-18/34): conv1 3x3 (stride), bn1, conv2 3x3, bn2.
//   Bottleneck (ResNet-50/101/152): conv1 1x1, bn1, conv2 3x3 (stride: "ResNet v1.5", as
//   torchvision; the paper strides the first 1x1), bn2, conv3 1x1 (x4 channels), bn3.
//   The shortcut is the identity, or where the shape changes a 1x1 projection
//   `downsample` = Sequential(conv 1x1 with the block's stride, BatchNorm): downsample.0/1.
// Convolutions have no bias; BatchNorm eps is 1e-5. Initialisation is torchvision's:
// Kaiming normal (fan_out, ReLU gain) for convolutions, BatchNorm weight 1 and bias 0, the
// default for fc; zeroInitResidual zeroes each block's last BatchNorm weight.
// groups / widthPerGroup give torchvision's ResNeXt and wide ResNet variants.
import { Tensor } from '../tensor';
import { runStep } from '../backend/call_recorder';
import * as F from '../functional';
import { Module } from '../nn/module';
import { Sequential } from '../nn/container';
import { Conv2d } from '../nn/conv';
import { Linear } from '../nn/linear';
import { BatchNorm2d } from '../nn/normalization';
import { MaxPool2d, AdaptiveAvgPool2d } from '../nn/pooling';
import { kaimingNormal_ } from '../nn/init';
import { Generator } from '../random';
import { convOutputSize, poolOutputSize } from '../backend/backend';
import {
  COMMON_OPTIONS, ModelOptions, checkBooleanOption, checkImageInput, checkModelOptions, checkNumClasses, convBnAct, convBnAddRelu, canRecycle, layerPooled,
  initOrLoad, modelGenerator, projection,
} from './common';
import { ActivationPool } from './activation_pool';

interface BlockOptions {
  stride?: number;
  downsample?: Sequential | null;
  groups?: number;
  baseWidth?: number;
  dilation?: number;
  generator?: Generator;
}

function conv3x3(cin: number, cout: number, stride: number, groups: number, dilation: number, generator?: Generator): Conv2d {
  return new Conv2d(cin, cout, 3, { stride, padding: dilation, groups, dilation, bias: false, generator });
}

function conv1x1(cin: number, cout: number, stride: number, generator?: Generator): Conv2d {
  return new Conv2d(cin, cout, 1, { stride, bias: false, generator });
}

/** Two 3x3 convolutions with a shortcut (ResNet-18/34). */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  downsample: Sequential | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, options: BlockOptions = {}) {
    super();
    const stride = options.stride ?? 1;
    if ((options.groups ?? 1) !== 1 || (options.baseWidth ?? 64) !== 64) throw new RangeError('BasicBlock only supports groups=1 and baseWidth=64');
    if ((options.dilation ?? 1) > 1) throw new RangeError('BasicBlock does not support dilation > 1');
    const g = options.generator;
    this.conv1 = conv3x3(inplanes, planes, stride, 1, 1, g);
    this.bn1 = new BatchNorm2d(planes);
    this.conv2 = conv3x3(planes, planes, 1, 1, 1, g);
    this.bn2 = new BatchNorm2d(planes);
    this.downsample = options.downsample ?? null;
    this.stride = stride;
  }

  /** The BatchNorm whose weight zeroInitResidual clears. */
  lastBn(): BatchNorm2d { return this.bn2; }

  /** The main path's convolutions, in order. */
  convs(): Module[] { return [this.conv1, this.conv2]; }

  forward(x: Tensor): Tensor {
    return this.forwardPooled(x);
  }

  /** forward, with the intermediates taken from and given back to `pool` (inference only). */
  forwardPooled(x: Tensor, pool?: ActivationPool): Tensor {
    const out = convBnAct(x, this.conv1, this.bn1, true, pool);
    const identity = this.downsample ? projection(x, this.downsample, pool) : x;
    const y = convBnAddRelu(out, this.conv2, this.bn2, identity, pool);
    if (pool) {
      pool.give(out.data);
      if (identity !== x) pool.give(identity.data);
    }
    return y;
  }
}

/** 1x1 reduce, 3x3 (carrying the stride), 1x1 expand (x4), with a shortcut (ResNet-50+). */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  conv1: Conv2d;
  bn1: BatchNorm2d;
  conv2: Conv2d;
  bn2: BatchNorm2d;
  conv3: Conv2d;
  bn3: BatchNorm2d;
  downsample: Sequential | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, options: BlockOptions = {}) {
    super();
    const stride = options.stride ?? 1;
    const groups = options.groups ?? 1;
    const width = Math.floor(planes * ((options.baseWidth ?? 64) / 64)) * groups;
    const g = options.generator;
    this.conv1 = conv1x1(inplanes, width, 1, g);
    this.bn1 = new BatchNorm2d(width);
    this.conv2 = conv3x3(width, width, stride, groups, options.dilation ?? 1, g);
    this.bn2 = new BatchNorm2d(width);
    this.conv3 = conv1x1(width, planes * Bottleneck.expansion, 1, g);
    this.bn3 = new BatchNorm2d(planes * Bottleneck.expansion);
    this.downsample = options.downsample ?? null;
    this.stride = stride;
  }

  lastBn(): BatchNorm2d { return this.bn3; }

  /** The main path's convolutions, in order. */
  convs(): Module[] { return [this.conv1, this.conv2, this.conv3]; }

  /** The in-place shortcut needs the plain zoo layers (the fused path checks the rest). */
  private inPlaceApplies(x: Tensor, o2: Tensor): boolean {
    const plain = (c: unknown) => c instanceof Conv2d && c.constructor === Conv2d && c.mode === 'cross-correlation';
    const ds = this.downsample;
    return plain(this.conv3) && !this.bn3.training && this.bn3.constructor === BatchNorm2d && o2.ndim === 4 &&
      (ds === null || (ds.length === 2 && plain(ds.get(0)) && ds.get(1) instanceof BatchNorm2d && !(ds.get(1) as BatchNorm2d).training &&
        (ds.get(1) as Module).constructor === BatchNorm2d)) && x.ndim === 4;
  }

  forward(x: Tensor): Tensor {
    return this.forwardPooled(x);
  }

  /**
   * forward, with the intermediates taken from and given back to `pool` (inference only).
   * `overwriteInput`: x is an activation nothing else reads, so the shortcut is added in
   * place (into x, or the projection into the block's output): one buffer less.
   */
  forwardPooled(x: Tensor, pool?: ActivationPool, overwriteInput = false): Tensor {
    const o1 = convBnAct(x, this.conv1, this.bn1, true, pool);
    const o2 = convBnAct(o1, this.conv2, this.bn2, true, pool);
    if (pool) pool.give(o1.data);
    if (pool && overwriteInput && this.inPlaceApplies(x, o2)) {
      if (!this.downsample) {
        // y = relu(bn3(conv3(o2)) + x), written over x
        const y = (this.conv3 as Conv2d).fusedForward(o2, { bn: this.bn3, residual: x, relu: true, alloc: () => x.data });
        pool.give(o2.data);
        return y;
      }
      // y = bn3(conv3(o2)), then y += bnd(convd(x)) and the ReLU, in y's buffer
      const y = (this.conv3 as Conv2d).fusedForward(o2, { bn: this.bn3, alloc: (n) => pool.take(n) });
      pool.give(o2.data);
      const [convd, bnd] = [this.downsample.get(0) as Conv2d, this.downsample.get(1) as BatchNorm2d];
      return convd.fusedForward(x, { bn: bnd, residual: y, relu: true, alloc: () => y.data });
    }
    // the shortcut only now, so that it is not held while conv1 and conv2 run
    const identity = this.downsample ? projection(x, this.downsample, pool) : x;
    const y = convBnAddRelu(o2, this.conv3, this.bn3, identity, pool);
    if (pool) {
      pool.give(o2.data);
      if (identity !== x) pool.give(identity.data);
    }
    return y;
  }
}

export type ResNetBlock = typeof BasicBlock | typeof Bottleneck;

export interface ResNetOptions extends ModelOptions {
  /** Zero the last BatchNorm weight of every block, so each starts as the identity (default false). */
  zeroInitResidual?: boolean;
  /** Groups of the 3x3 convolutions in Bottleneck blocks (ResNeXt; default 1). */
  groups?: number;
  /** Channels per group in Bottleneck blocks (default 64; 128 = wide ResNet). */
  widthPerGroup?: number;
  /** Replace the stride of layer2..layer4 by dilation (three booleans; default none). */
  replaceStrideWithDilation?: [boolean, boolean, boolean];
}

export class ResNet extends Module {
  conv1: Conv2d;
  bn1: BatchNorm2d;
  maxpool: MaxPool2d;
  layer1: Sequential;
  layer2: Sequential;
  layer3: Sequential;
  layer4: Sequential;
  avgpool: AdaptiveAvgPool2d;
  fc: Linear;
  readonly block: 'BasicBlock' | 'Bottleneck';
  /** Activation buffers reused by inference passes (see ActivationPool). */
  private readonly activations = new ActivationPool();
  /**
   * Inference (eval mode, no tape, no hooks) runs the leading stages a slice of the batch
   * at a time while the whole batch's activations there would pass this many bytes
   * (default 32 MiB; Infinity: always the whole batch). Same results, less memory.
   */
  inferenceSliceBytes = 32 * 2 ** 20;
  readonly layers: number[];
  readonly numClasses: number;

  constructor(block: ResNetBlock, layers: number[], options: ResNetOptions = {}) {
    super();
    checkModelOptions('resnet', options, ['zeroInitResidual', 'groups', 'widthPerGroup', 'replaceStrideWithDilation', ...COMMON_OPTIONS]);
    if (block !== BasicBlock && block !== Bottleneck) throw new TypeError('ResNet: block must be BasicBlock or Bottleneck');
    if (!Array.isArray(layers) || layers.length !== 4 || layers.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new RangeError(`ResNet: layers must be four positive block counts, got ${String(layers)}`);
    }
    this.block = block === BasicBlock ? 'BasicBlock' : 'Bottleneck';
    this.layers = layers.slice();
    const numClasses = checkNumClasses('resnet', options.numClasses, 1000);
    this.numClasses = numClasses;
    const zeroInit = checkBooleanOption('resnet', 'zeroInitResidual', options.zeroInitResidual, false);
    const groups = options.groups ?? 1;
    const baseWidth = options.widthPerGroup ?? 64;
    const dil = options.replaceStrideWithDilation ?? [false, false, false];
    if (!Array.isArray(dil) || dil.length !== 3) throw new RangeError('ResNet: replaceStrideWithDilation must be three booleans');
    const generator = modelGenerator(options);

    let inplanes = 64;
    let dilation = 1;
    this.conv1 = new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false, generator });
    this.bn1 = new BatchNorm2d(64);
    this.maxpool = new MaxPool2d(3, { stride: 2, padding: 1 });
    const makeLayer = (planes: number, blocks: number, stride: number, dilate: boolean): Sequential => {
      const previousDilation = dilation;
      if (dilate) { dilation *= stride; stride = 1; }
      let downsample: Sequential | null = null;
      if (stride !== 1 || inplanes !== planes * block.expansion) {
        downsample = new Sequential(conv1x1(inplanes, planes * block.expansion, stride, generator), new BatchNorm2d(planes * block.expansion));
      }
      const seq = new Sequential(new block(inplanes, planes, { stride, downsample, groups, baseWidth, dilation: previousDilation, generator }));
      inplanes = planes * block.expansion;
      for (let i = 1; i < blocks; i++) seq.append(new block(inplanes, planes, { groups, baseWidth, dilation, generator }));
      return seq;
    };
    this.layer1 = makeLayer(64, layers[0], 1, false);
    this.layer2 = makeLayer(128, layers[1], 2, !!dil[0]);
    this.layer3 = makeLayer(256, layers[2], 2, !!dil[1]);
    this.layer4 = makeLayer(512, layers[3], 2, !!dil[2]);
    this.avgpool = new AdaptiveAvgPool2d([1, 1]);
    this.fc = new Linear(512 * block.expansion, numClasses, { generator });

    initOrLoad(this, options, () => {
      for (const m of this.modules()) {
        if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu', generator });
        if (zeroInit && (m instanceof BasicBlock || m instanceof Bottleneck)) m.lastBn().weight!.data.fill(0);
      }
    });
  }

  forward(x: Tensor): Tensor {
    checkImageInput('resnet', x, 3, 1);
    if (this.recyclable(x)) return this.forwardRecycling(x);
    x = this.maxpool.forward(convBnAct(x, this.conv1, this.bn1, true));
    x = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(x))));
    return this.fc.forward(F.flatten(this.avgpool.forward(x), 1));
  }

  /** Inference without hooks on the zoo's own blocks: activations can be recycled. */
  private recyclable(x: Tensor): boolean {
    const layers = [this.layer1, this.layer2, this.layer3, this.layer4];
    return layers.every((l) => l.children().every((b) => b instanceof BasicBlock || b instanceof Bottleneck)) &&
      canRecycle(this, x);
  }

  /**
   * Inference with every activation but the logits recycled through the model's pool.
   * The leading stages whose activations for the whole batch would pass
   * inferenceSliceBytes run a slice of the images at a time, their outputs gathered into
   * one batch for the rest: at batch 32 on 224x224 images ResNet-50's 56x56 activations
   * take 98 MiB each, a slice of 8 images a quarter of that (peak RSS 613 -> 485 MB), while
   * the later stages, whose weights outweigh their activations, still see the whole batch.
   */
  private forwardRecycling(input: Tensor): Tensor {
    const pool = this.activations;
    const N = input.shape[0];
    const { stages, size } = this.slicing(input);
    let x: Tensor;
    if (stages === 0) {
      x = this.runStages(input, 0, STAGES, input);
    } else {
      const perImage = input.size / N;
      let gathered: Float32Array | null = null;
      let shape: number[] = [];
      for (let n0 = 0; n0 < N; n0 += size) {
        const b = Math.min(size, N - n0);
        // (a view of the caller's input: passed as the stages' input, so never overwritten)
        const slice = new Tensor(input.data.subarray(n0 * perImage, (n0 + b) * perImage), [b, ...input.shape.slice(1)]);
        const out = this.runStages(slice, 0, stages, slice);
        const outPerImage = out.size / b;
        if (!gathered) {
          gathered = pool.take(N * outPerImage);
          shape = out.shape.slice(1);
        }
        const dst = gathered, src = out.data, at = n0 * outPerImage;
        runStep(() => dst.set(src, at));  // (a step an inference plan replays)
        pool.give(out.data);
      }
      x = this.runStages(new Tensor(gathered!, [N, ...shape]), stages, STAGES, input);
    }
    const pooled = this.avgpool.forward(x);
    pool.retire(x, pooled, input);
    return this.fc.forward(F.flatten(pooled, 1));
  }

  /** Stages [from, to) (0: conv1 and the max pool, 1-4: layer1-4) of the recycling pass. */
  private runStages(x: Tensor, from: number, to: number, input: Tensor): Tensor {
    const pool = this.activations;
    const done = (used: Tensor, next: Tensor) => pool.retire(used, next, input);
    if (from === 0 && to > 0) {
      const stem = convBnAct(x, this.conv1, this.bn1, true, pool);
      const next = layerPooled(this.maxpool, stem, pool);
      done(stem, next);
      x = next;
    }
    const layers = [this.layer1, this.layer2, this.layer3, this.layer4];
    for (let s = Math.max(from, 1); s < to; s++) {
      for (const block of layers[s - 1].children() as Array<BasicBlock | Bottleneck>) {
        const next = block instanceof Bottleneck
          ? block.forwardPooled(x, pool, x !== input && x.data.buffer !== input.data.buffer)
          : block.forwardPooled(x, pool);
        done(x, next);
        x = next;
      }
    }
    return x;
  }

  /**
   * How many leading stages run in slices of images, and the slice size: the stages up to
   * the last one whose widest activation for the whole batch passes inferenceSliceBytes,
   * in equal slices within it (none when the shapes cannot be worked out: replaced layers).
   */
  private slicing(input: Tensor): { stages: number; size: number } {
    const budget = this.inferenceSliceBytes;
    if (typeof budget !== 'number' || !(budget > 0)) {
      throw new RangeError(`resnet: inferenceSliceBytes must be a positive number (Infinity: never slice), got ${String(budget)}`);
    }
    const N = input.shape[0];
    const widths = this.stageWidths(input.shape[2], input.shape[3]);
    if (!widths) return { stages: 0, size: N };
    let stages = 0;
    widths.forEach((floats, i) => { if (N * floats * 4 > budget) stages = i + 1; });
    if (stages === 0) return { stages: 0, size: N };
    const widest = Math.max(...widths.slice(0, stages));
    const most = Math.max(1, Math.floor(budget / (widest * 4)));
    if (most >= N) return { stages: 0, size: N };
    const count = Math.ceil(N / most);
    return { stages, size: Math.ceil(N / count) };
  }

  /** Floats per image of each stage's widest activation for h x w input, or null. */
  private stageWidths(h: number, w: number): number[] | null {
    const mp = this.maxpool;
    if (!(this.conv1 instanceof Conv2d) || !(mp instanceof MaxPool2d)) return null;
    let [a, b] = convOutputShape(this.conv1, h, w);
    const widths = [this.conv1.outChannels * a * b];
    a = poolOutputSize(a, mp.kernelSize[0], mp.stride[0], mp.padding[0], mp.dilation[0], mp.ceilMode);
    b = poolOutputSize(b, mp.kernelSize[1], mp.stride[1], mp.padding[1], mp.dilation[1], mp.ceilMode);
    for (const layer of [this.layer1, this.layer2, this.layer3, this.layer4]) {
      let widest = 0;
      for (const block of layer.children() as Array<BasicBlock | Bottleneck>) {
        for (const conv of block.convs()) {
          if (!(conv instanceof Conv2d)) return null;
          [a, b] = convOutputShape(conv, a, b);
          widest = Math.max(widest, conv.outChannels * a * b);
        }
      }
      widths.push(widest);
    }
    return widths;
  }
}

/** conv1 and the max pool, then layer1-layer4. */
const STAGES = 5;

/** Output height and width of conv for h x w input. */
function convOutputShape(conv: Conv2d, h: number, w: number): [number, number] {
  const [ph, pw] = conv.explicitPadding();
  return [convOutputSize(h, conv.kernelSize[0], conv.stride[0], ph[0], ph[1], conv.dilation[0]),
    convOutputSize(w, conv.kernelSize[1], conv.stride[1], pw[0], pw[1], conv.dilation[1])];
}

const DEPTHS: Record<number, [ResNetBlock, number[]]> = {
  18: [BasicBlock, [2, 2, 2, 2]],
  34: [BasicBlock, [3, 4, 6, 3]],
  50: [Bottleneck, [3, 4, 6, 3]],
  101: [Bottleneck, [3, 4, 23, 3]],
  152: [Bottleneck, [3, 8, 36, 3]],
};

function build(depth: number, options: ResNetOptions = {}): ResNet {
  const [block, layers] = DEPTHS[depth];
  return new ResNet(block, layers, options);
}

export function resnet18(options?: ResNetOptions): ResNet { return build(18, options); }
export function resnet34(options?: ResNetOptions): ResNet { return build(34, options); }
export function resnet50(options?: ResNetOptions): ResNet { return build(50, options); }
export function resnet101(options?: ResNetOptions): ResNet { return build(101, options); }
export function resnet152(options?: ResNetOptions): ResNet { return build(152, options); }
/** torchvision's resnext50_32x4d: Bottleneck blocks with 32 groups of width 4. */
export function resnext50_32x4d(options: ResNetOptions = {}): ResNet { return build(50, { ...options, groups: 32, widthPerGroup: 4 }); }
/** torchvision's wide_resnet50_2: Bottleneck blocks twice as wide inside. */
export function wide_resnet50_2(options: ResNetOptions = {}): ResNet { return build(50, { ...options, widthPerGroup: 128 }); }
