// LeNet-5. 'modern': ReLU and max pooling, the layout of the PyTorch reference fixture
// (conv1, conv2, conv3, fc1, fc2) on 1x32x32 input.
import { Tensor } from '../tensor';
import * as F from '../functional';
import { Module } from '../nn/module';
import { Conv2d } from '../nn/conv';
import { Linear } from '../nn/linear';
import { Generator, defaultGenerator } from '../random';

export interface ModelOptions {
  /** Output classes (default 10). */
  numClasses?: number;
  /** Seeds the initialisation of every layer (default: the process-wide generator). */
  seed?: number;
}

export function modelGenerator(o: ModelOptions): Generator {
  return o.seed === undefined ? defaultGenerator : new Generator(o.seed);
}

export function checkNumClasses(model: string, n: unknown): number {
  if (n === undefined) return 10;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new RangeError(`${model}: numClasses must be a positive integer, got ${String(n)}`);
  return n;
}

export class LeNet5 extends Module {
  conv1: Conv2d; conv2: Conv2d; conv3: Conv2d;
  fc1: Linear; fc2: Linear;

  constructor(options: ModelOptions = {}) {
    super();
    const numClasses = checkNumClasses('lenet5', options.numClasses);
    const generator = modelGenerator(options);
    this.conv1 = new Conv2d(1, 6, 5, { generator });
    this.conv2 = new Conv2d(6, 16, 5, { generator });
    this.conv3 = new Conv2d(16, 120, 5, { generator });
    this.fc1 = new Linear(120, 84, { generator });
    this.fc2 = new Linear(84, numClasses, { generator });
  }

  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== 1 || x.shape[2] !== 32 || x.shape[3] !== 32) {
      throw new RangeError(`lenet5 expects input [N, 1, 32, 32], got [${x.shape.join(', ')}]`);
    }
    x = F.maxPool2d(F.relu(this.conv1.forward(x)), { kernelSize: 2 });
    x = F.maxPool2d(F.relu(this.conv2.forward(x)), { kernelSize: 2 });
    x = F.flatten(F.relu(this.conv3.forward(x)), 1);
    return this.fc2.forward(F.relu(this.fc1.forward(x)));
  }
}

export function lenet5(options: ModelOptions & { variant?: 'modern' } = {}): LeNet5 {
  if (options.variant !== undefined && options.variant !== 'modern') {
    throw new RangeError(`lenet5: unknown variant '${String(options.variant)}'`);
  }
  const { variant: _variant, ...rest } = options;
  return new LeNet5(rest);
}
