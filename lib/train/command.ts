// `receptive train <model>`: trains a model zoo network on MNIST digits or Fashion-MNIST
// with a live progress bar, writes checkpoints and history, and compares the native
// backend's speed with the JavaScript backend's on a slice of an epoch.
import { getBackend, getBackendInstance, setBackend, setNumThreads, tryNative } from '../backend/select';
import { Generator } from '../random';
import { DataLoader, datasets, transforms } from '../data';
import * as models from '../models';
import * as optim from '../optim';
import { UsageError } from '../usage-error';
import { fit, BatchSource, TrainableModel } from './fit';
import { formatSeconds } from './progress';

const HELP = `usage: receptive train <model> [options]

models: lenet5

options:
  --data mnist|fashion-mnist  data set (default mnist: the 10,000 embedded digits, 8,000/2,000 split)
  --data-dir DIR              folder with the Fashion-MNIST IDX files (default /usr/share/datasets/fashion-mnist)
  --epochs N                  epochs (default 10 for mnist, 15 for fashion-mnist)
  --batch-size B              batch size (default 64)
  --lr X                      learning rate (default 0.05 for sgd, 0.001 for adam)
  --optimizer sgd|adam        optimizer (default sgd with momentum 0.9), cosine-annealed learning rate
  --augment                   random translation, rotation and scaling of the training images
  --threads T                 native threads
  --backend js|native         backend (default native when available)
  --seed S                    seed for initialisation, shuffling and augmentation (default 1)
  --out DIR                   write epoch checkpoints (safetensors) and history.json there
  --no-compare                skip the native/JS speed comparison`;

export interface TrainArgs {
  model: string;
  data: 'mnist' | 'fashion-mnist';
  dataDir?: string;
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: 'sgd' | 'adam';
  augment: boolean;
  threads?: number;
  backend?: 'js' | 'native';
  seed: number;
  out?: string;
  compare: boolean;
}

const MODELS = ['lenet5'];

function positiveInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got ${v ?? '(nothing)'}`);
  return n;
}

function positiveNumber(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got ${v ?? '(nothing)'}`);
  return n;
}

export function parseTrainArgs(argv: string[]): TrainArgs | null {
  if (argv.includes('--help') || argv.includes('-h')) return null;
  const [model, ...rest] = argv;
  if (!model || model.startsWith('--')) throw new UsageError(`train: which model? one of ${MODELS.join(', ')}`);
  if (!MODELS.includes(model)) throw new UsageError(`train: unknown model '${model}' (known: ${MODELS.join(', ')})`);
  const a: Partial<TrainArgs> & { model: string } = { model, data: 'mnist', batchSize: 64, optimizer: 'sgd', augment: false, seed: 1, compare: true };
  let epochs: number | undefined, lr: number | undefined;
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = () => rest[++i];
    switch (flag) {
      case '--data': {
        const v = value();
        if (v !== 'mnist' && v !== 'fashion-mnist') throw new UsageError(`--data must be mnist or fashion-mnist, got ${v ?? '(nothing)'}`);
        a.data = v;
        break;
      }
      case '--data-dir': { const v = value(); if (!v) throw new UsageError('--data-dir needs a folder'); a.dataDir = v; break; }
      case '--epochs': epochs = positiveInt(flag, value()); break;
      case '--batch-size': a.batchSize = positiveInt(flag, value()); break;
      case '--lr': lr = positiveNumber(flag, value()); break;
      case '--optimizer': {
        const v = value();
        if (v !== 'sgd' && v !== 'adam') throw new UsageError(`--optimizer must be sgd or adam, got ${v ?? '(nothing)'}`);
        a.optimizer = v;
        break;
      }
      case '--augment': a.augment = true; break;
      case '--threads': a.threads = positiveInt(flag, value()); break;
      case '--backend': {
        const v = value();
        if (v !== 'js' && v !== 'native') throw new UsageError(`--backend must be js or native, got ${v ?? '(nothing)'}`);
        a.backend = v;
        break;
      }
      case '--seed': {
        const v = value(); const n = Number(v);
        if (v === undefined || !Number.isInteger(n) || n < 0) throw new UsageError(`--seed must be a non-negative integer, got ${v ?? '(nothing)'}`);
        a.seed = n;
        break;
      }
      case '--out': { const v = value(); if (!v) throw new UsageError('--out needs a folder'); a.out = v; break; }
      case '--no-compare': a.compare = false; break;
      default: throw new UsageError(`train: unknown option '${flag}'`);
    }
  }
  a.epochs = epochs ?? (a.data === 'fashion-mnist' ? 15 : 10);
  a.lr = lr ?? (a.optimizer === 'adam' ? 0.001 : 0.05);
  return a as TrainArgs;
}

/** Images padded to 32x32 for LeNet-5 and normalised; augmentation on the training set. */
function loaders(args: TrainArgs): { train: DataLoader; test: DataLoader } {
  const load = (split: 'train' | 'test') => args.data === 'mnist'
    ? datasets.mnistDigits({ split })
    : datasets.fashionMnist({ split, dir: args.dataDir });
  const trainSet = load('train');
  const testSet = load('test');
  const gen = new Generator(args.seed + 1);
  const base = [transforms.pad(2), transforms.normalize([0.5], [0.5])];
  const augment = args.augment
    ? [transforms.randomAffine({ degrees: 10, translate: [0.1, 0.1], scale: [0.9, 1.1], generator: gen })]
    : [];
  return {
    train: new DataLoader(trainSet, { batchSize: args.batchSize, shuffle: true, seed: args.seed, transform: transforms.compose([...augment, ...base]) }),
    test: new DataLoader(testSet, { batchSize: 500, shuffle: false, transform: transforms.compose(base) }),
  };
}

function makeModel(args: TrainArgs): TrainableModel {
  return models.lenet5({ seed: args.seed }) as unknown as TrainableModel;
}

function makeOptimizer(args: TrainArgs, model: TrainableModel) {
  const params = (model as unknown as { parameters(): never[] }).parameters();
  return args.optimizer === 'adam'
    ? new optim.Adam(params, { lr: args.lr })
    : new optim.SGD(params, { lr: args.lr, momentum: 0.9 });
}

/** Images/s of `batches` training steps of a fresh model on the given backend. */
async function timeSlice(args: TrainArgs, loader: BatchSource, backendName: 'js' | 'native', batches: number): Promise<number> {
  const prev = getBackend();
  setBackend(backendName);
  try {
    const model = makeModel(args);
    const h = await fit(model, loader, { epochs: 1, optimizer: makeOptimizer(args, model), progress: false, maxBatchesPerEpoch: batches });
    return h[0].imagesPerSecond;
  } finally {
    setBackend(prev);
  }
}

export async function trainCommand(argv: string[]): Promise<number> {
  const args = parseTrainArgs(argv);
  if (!args) { console.log(HELP); return 0; }
  if (args.backend) setBackend(args.backend);
  else if (tryNative()) setBackend('native');
  if (args.threads) setNumThreads(args.threads);

  const { train, test } = loaders(args);
  const model = makeModel(args);
  const optimizer = makeOptimizer(args, model);
  // Cosine annealing over the run: large steps early, a settled model at the last epoch.
  const scheduler = new optim.CosineAnnealingLR(optimizer, { tMax: args.epochs });
  console.log(`training ${args.model} on ${args.data} (${train.dataset.length} train / ${test.dataset.length} test images), ` +
    `${args.epochs} epochs, batch ${args.batchSize}, ${args.optimizer} lr ${args.lr}, backend ${getBackend()}` +
    `${getBackend() === 'native' ? ` (${getBackendInstance('native').info().isa}, ${getBackendInstance('native').getNumThreads()} threads)` : ''}`);
  const history = await fit(model, train, { epochs: args.epochs, optimizer, scheduler, valLoader: test, checkpoint: args.out });
  const last = history[history.length - 1];
  const best = Math.max(...history.map((r) => r.valAccuracy ?? 0));
  const meanEpoch = history.reduce((s, r) => s + r.seconds, 0) / history.length;
  console.log(`test accuracy ${(100 * (last.valAccuracy ?? 0)).toFixed(2)}% (best ${(100 * best).toFixed(2)}%), ` +
    `${formatSeconds(meanEpoch)} per epoch, ${Math.round(history.reduce((s, r) => s + r.imagesPerSecond, 0) / history.length).toLocaleString('en-US')} img/s`);
  if (args.out) console.log(`checkpoints and history.json written to ${args.out}`);

  if (args.compare && getBackend() === 'native') {
    const batches = 20;
    console.log(`timing ${batches} training batches on each backend...`);
    const nativeRate = await timeSlice(args, train, 'native', batches);
    const jsRate = await timeSlice(args, train, 'js', batches);
    console.log(`native ${Math.round(nativeRate).toLocaleString('en-US')} img/s, JS ${Math.round(jsRate).toLocaleString('en-US')} img/s: native is ${(nativeRate / jsRate).toFixed(1)}x the JS backend`);
  }
  return 0;
}
