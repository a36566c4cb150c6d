// AlexNet, two ways.
//
// 'torchvision' (default): torchvision's AlexNet module for module (the single-GPU
// variant of "One weird trick", Krizhevsky 2014: 64-192-384-256-256 channels, no LRN), so
// its state_dict loads unchanged: features.0 (conv 11x11/4) ... features.10, avgpool
// (adaptive 6x6), classifier.1 / .4 / .6 (the Linear layers; .0 and .3 are Dropout).
//
// 'original': the 2012 network of Krizhevsky, Sutskever & Hinton (NIPS 2012), section 3:
// 96-256-384-384-256 channels; conv2, conv4 and conv5 have groups = 2 (each GPU's half
// of the kernels sees only the maps on its own GPU; conv3 and the fully connected layers
// cross GPUs); local response normalisation (k = 2, n = 5, alpha = 1e-4, beta = 0.75 in
// the paper's formula) after the ReLU of conv1 and conv2; overlapping 3x3 stride-2 max
// pooling after both normalisations and after conv5; dropout 0.5 before the first two
// fully connected layers. The paper sums alpha * a^2 over the window, while
// LocalResponseNorm (like PyTorch and Caffe) divides alpha by the window size, so the
// layers hold alpha = 5 * 1e-4. Initialisation is the paper's: weights N(0, 0.01^2),
// biases 1 in conv2, conv4, conv5 and the hidden fully connected layers, 0 elsewhere.
// Module indices: features.0 conv1, .1 ReLU, .2 LRN, .3 pool, .4 conv2, .5 ReLU, .6 LRN,
// .7 pool, .8 conv3, .10 conv4, .12 conv5, .14 pool; the classifier as torchvision's.
// An adaptive 6x6 average pool (the identity at 224x224) lets smaller images through.
import { Tensor } from '../tensor';
import * as F from '../functional';
import { Module } from '../nn/module';
import { Sequential } from '../nn/container';
import { Conv2d } from '../nn/conv';
import { Linear } from '../nn/linear';
import { MaxPool2d, AdaptiveAvgPool2d } from '../nn/pooling';
import { ReLU } from '../nn/activation';
import { Dropout } from '../nn/dropout';
import { LocalResponseNorm } from '../nn/normalization';
import { normal_, constant_ } from '../nn/init';
import {
  COMMON_OPTIONS, ModelOptions, canRecycle, checkImageInput, checkModelOptions, checkNumClasses, checkProbability, convAct,
  initOrLoad, layerPooled, modelGenerator, sequentialFused,
} from './common';
import { ActivationPool } from './activation_pool';

export interface AlexNetOptions extends ModelOptions {
  /** 'torchvision' (default) or 'original' (the 2012 two-tower network). */
  variant?: 'torchvision' | 'original';
  /** Dropout probability of the classifier (default 0.5). */
  dropout?: number;
}

export class AlexNet extends Module {
  features: Sequential;
  avgpool: AdaptiveAvgPool2d;
  classifier: Sequential;
  readonly variant: 'torchvision' | 'original';
  readonly numClasses: number;
  /** Activation buffers reused by inference passes (see ActivationPool). */
  private readonly activations = new ActivationPool();

  constructor(options: AlexNetOptions = {}) {
    super();
    checkModelOptions('alexnet', options, ['variant', 'dropout', ...COMMON_OPTIONS]);
    const variant = options.variant ?? 'torchvision';
    if (variant !== 'torchvision' && variant !== 'original') {
      throw new RangeError(`alexnet: unknown variant '${String(variant)}' (expected 'torchvision' or 'original')`);
    }
    this.variant = variant;
    const numClasses = checkNumClasses('alexnet', options.numClasses, 1000);
    this.numClasses = numClasses;
    const p = checkProbability('alexnet', 'dropout', options.dropout, 0.5);
    const generator = modelGenerator(options);
    const conv = (cin: number, cout: number, k: number, o: { stride?: number; padding?: number; groups?: number }) =>
      new Conv2d(cin, cout, k, { ...o, generator });
    if (variant === 'torchvision') {
      this.features = new Sequential(
        conv(3, 64, 11, { stride: 4, padding: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
        conv(64, 192, 5, { padding: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
        conv(192, 384, 3, { padding: 1 }), new ReLU(),
        conv(384, 256, 3, { padding: 1 }), new ReLU(),
        conv(256, 256, 3, { padding: 1 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
      );
    } else {
      const lrn = () => new LocalResponseNorm(5, { alpha: 5e-4, beta: 0.75, k: 2 });
      this.features = new Sequential(
        conv(3, 96, 11, { stride: 4, padding: 2 }), new ReLU(), lrn(), new MaxPool2d(3, { stride: 2 }),
        conv(96, 256, 5, { padding: 2, groups: 2 }), new ReLU(), lrn(), new MaxPool2d(3, { stride: 2 }),
        conv(256, 384, 3, { padding: 1 }), new ReLU(),
        conv(384, 384, 3, { padding: 1, groups: 2 }), new ReLU(),
        conv(384, 256, 3, { padding: 1, groups: 2 }), new ReLU(), new MaxPool2d(3, { stride: 2 }),
      );
    }
    this.avgpool = new AdaptiveAvgPool2d([6, 6]);
    this.classifier = new Sequential(
      new Dropout(p, { generator }), new Linear(256 * 6 * 6, 4096, { generator }), new ReLU(),
      new Dropout(p, { generator }), new Linear(4096, 4096, { generator }), new ReLU(),
      new Linear(4096, numClasses, { generator }),
    );
    initOrLoad(this, options, () => {
      if (variant !== 'original') return;
      const biasOne = new Set([4, 10, 12]);
      this.features.children().forEach((m, i) => {
        if (!(m instanceof Conv2d)) return;
        normal_(m.weight, 0, 0.01, generator);
        constant_(m.bias!, biasOne.has(i) ? 1 : 0);
      });
      this.classifier.children().forEach((m, i) => {
        if (!(m instanceof Linear)) return;
        normal_(m.weight, 0, 0.01, generator);
        constant_(m.bias!, i === 6 ? 0 : 1);
      });
    });
  }

  forward(x: Tensor): Tensor {
    checkImageInput('alexnet', x, 3, 63);
    if (canRecycle(this, x)) return this.forwardRecycling(x);
    x = sequentialFused(this.features, x);
    x = this.avgpool.forward(x);
    return this.classifier.forward(F.flatten(x, 1));
  }

  /**
   * Inference with the feature maps recycled through the model's pool: a fresh array per
   * layer cost page faults and zeroing on every pass (conv1 at batch 1 ran 2.3x slower in
   * the model than alone).
   */
  private forwardRecycling(input: Tensor): Tensor {
    const pool = this.activations;
    const layers = this.features.children();
    let x = input;
    for (let i = 0; i < layers.length; i++) {
      const m = layers[i], next = layers[i + 1];
      let y: Tensor;
      if (next !== undefined && next.constructor === ReLU && m.constructor === Conv2d) {
        y = convAct(x, m, true, pool);  // conv + ReLU: one fused kernel into the pool
        i++;
      } else {
        y = layerPooled(m, x, pool);
      }
      pool.retire(x, y, input);
      x = y;
    }
    const pooled = this.avgpool.forward(x);
    pool.retire(x, pooled, input);
    return this.classifier.forward(F.flatten(pooled, 1));
  }
}

export function alexnet(options: AlexNetOptions = {}): AlexNet {
  return new AlexNet(options);
}
