// The training loop: fit() runs epochs over a loader with an optimizer, reports progress,
// evaluates on a validation loader, records a history and saves checkpoints atomically.
import * as fs from 'fs';
import * as path from 'path';
import { Tensor } from '../tensor';
import { noGrad } from '../autograd/engine';
import { crossEntropy } from '../functional';
import { saveSafetensors } from '../io';
import { ProgressBar, ProgressReporter, SilentProgress } from './progress';
import { writeFileAtomic } from '../io/atomic';

/** What fit() needs of a model: an nn.Module fits. */
export interface TrainableModel {
  forward(x: Tensor): ModelOutput;
  train(mode?: boolean): unknown;
  eval(): unknown;
  readonly training: boolean;
  stateDict(): Map<string, Tensor>;
}

/** A classifier's output: logits, or (GoogLeNet in training) logits plus auxiliary heads. */
export type ModelOutput = Tensor | { logits: Tensor; [head: string]: Tensor };

export interface Batch {
  x: Tensor;
  y: Int32Array;
}

/** What fit() needs of a loader: a DataLoader fits. */
export interface BatchSource {
  readonly length: number;
  [Symbol.iterator](): Iterator<Batch>;
}

export interface StepOptimizer {
  zeroGrad(): void;
  step(): void;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
  seconds: number;
  imagesPerSecond: number;
  lr: number | null;
}

export interface FitCallbacks {
  onBatchEnd?(info: { epoch: number; batch: number; loss: number }): void;
  /** Return false to stop training after this epoch. */
  onEpochEnd?(record: EpochRecord): void | boolean;
}

export interface FitOptions {
  epochs: number;
  optimizer: StepOptimizer;
  /** Maps (output, targets) to a scalar loss; default: cross-entropy (plus 0.3 x auxiliary heads). */
  loss?: (output: ModelOutput, target: Int32Array) => Tensor;
  valLoader?: BatchSource;
  scheduler?: { step(): void; getLastLr?(): number[] };
  callbacks?: FitCallbacks;
  /** Folder receiving `epoch-N.safetensors`, `last.safetensors` and `history.json`. */
  checkpoint?: string;
  /** Where to write the history JSON (default: inside `checkpoint` when given). */
  historyPath?: string;
  /** Progress output: a reporter, `false` for none; default a bar on stdout. */
  progress?: ProgressReporter | false;
  /** Stop an epoch after this many batches (for timing slices). */
  maxBatchesPerEpoch?: number;
}

/** Weight of the auxiliary classifiers' losses (GoogLeNet paper). */
export const AUX_LOSS_WEIGHT = 0.3;

export function logitsOf(out: ModelOutput): Tensor {
  return out instanceof Tensor ? out : out.logits;
}

/** Cross-entropy on the logits, plus AUX_LOSS_WEIGHT times each auxiliary head's. */
export function defaultLoss(out: ModelOutput, target: Int32Array): Tensor {
  if (out instanceof Tensor) return crossEntropy(out, target);
  let total = crossEntropy(out.logits, target);
  for (const [name, head] of Object.entries(out)) {
    if (name !== 'logits' && head instanceof Tensor) total = total.add(crossEntropy(head, target).mul(AUX_LOSS_WEIGHT));
  }
  return total;
}

/** Number of rows whose argmax equals the label. */
export function countCorrect(logits: Tensor, target: Int32Array): number {
  const n = target.length;
  const c = logits.size / Math.max(1, n);
  const d = logits.data;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0, bestV = -Infinity;
    for (let j = 0; j < c; j++) {
      const v = d[i * c + j];
      if (v > bestV) { bestV = v; best = j; }
    }
    if (best === target[i]) correct++;
  }
  return correct;
}

/** Loss and accuracy over a loader, in eval mode without a tape; restores the mode. */
export function evaluate(model: TrainableModel, loader: BatchSource,
                         loss: (out: ModelOutput, target: Int32Array) => Tensor = defaultLoss):
    { loss: number; accuracy: number; count: number } {
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0, correct = 0, count = 0;
  try {
    noGrad(() => {
      for (const { x, y } of loader) {
        const out = model.forward(x);
        lossSum += loss(out, y).data[0] * y.length;
        correct += countCorrect(logitsOf(out), y);
        count += y.length;
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return { loss: count ? lossSum / count : NaN, accuracy: count ? correct / count : NaN, count };
}

function checkOptions(o: FitOptions): void {
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new RangeError(`fit: epochs must be a positive integer, got ${o.epochs}`);
  if (!o.optimizer || typeof o.optimizer.step !== 'function') throw new TypeError('fit: optimizer with step() and zeroGrad() is required');
  if (o.maxBatchesPerEpoch !== undefined && (!Number.isInteger(o.maxBatchesPerEpoch) || o.maxBatchesPerEpoch < 1)) {
    throw new RangeError(`fit: maxBatchesPerEpoch must be a positive integer, got ${o.maxBatchesPerEpoch}`);
  }
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Trains `model` for `epochs` over `trainLoader`. Yields to the event loop between batches,
 * so a server keeps answering. Returns the history (one record per epoch).
 */
export async function fit(model: TrainableModel, trainLoader: BatchSource, options: FitOptions): Promise<EpochRecord[]> {
  checkOptions(options);
  const loss = options.loss ?? defaultLoss;
  const reporter = options.progress === false ? new SilentProgress() : options.progress ?? new ProgressBar();
  const historyPath = options.historyPath ?? (options.checkpoint ? path.join(options.checkpoint, 'history.json') : undefined);
  if (options.checkpoint) fs.mkdirSync(options.checkpoint, { recursive: true });
  const history: EpochRecord[] = [];
  const batches = Math.min(trainLoader.length, options.maxBatchesPerEpoch ?? Infinity);

  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    model.train(true);
    const start = process.hrtime.bigint();
    let lossSum = 0, correct = 0, seen = 0, batch = 0;
    const stats = () => {
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      return { epoch, epochs: options.epochs, batch, batches, loss: seen ? lossSum / seen : NaN,
        accuracy: seen ? correct / seen : 0, imagesPerSecond: elapsed > 0 ? seen / elapsed : 0, elapsedSeconds: elapsed };
    };
    for (const { x, y } of trainLoader) {
      if (batch >= batches) break;
      options.optimizer.zeroGrad();
      const out = model.forward(x);
      const l = loss(out, y);
      l.backward();
      options.optimizer.step();
      const lv = l.data[0];
      if (!Number.isFinite(lv)) throw new Error(`fit: loss became ${lv} at epoch ${epoch}, batch ${batch + 1}; lower the learning rate`);
      lossSum += lv * y.length;
      correct += countCorrect(logitsOf(out), y);
      seen += y.length;
      batch++;
      options.callbacks?.onBatchEnd?.({ epoch, batch, loss: lv });
      reporter.update(stats());
      await yieldToEventLoop();
    }
    const trainSeconds = stats().elapsedSeconds;
    const val = options.valLoader ? evaluate(model, options.valLoader, loss) : null;
    const lr = options.scheduler?.getLastLr?.()[0] ?? null;
    options.scheduler?.step();
    const s = stats();
    const record: EpochRecord = {
      epoch, trainLoss: s.loss, trainAccuracy: s.accuracy,
      valLoss: val ? val.loss : null, valAccuracy: val ? val.accuracy : null,
      seconds: trainSeconds, imagesPerSecond: trainSeconds > 0 ? seen / trainSeconds : 0, lr,
    };
    history.push(record);
    reporter.end({ ...s, elapsedSeconds: trainSeconds },
      val ? `val loss ${val.loss.toFixed(4)}  val acc ${(100 * val.accuracy).toFixed(2)}%` : '');
    if (options.checkpoint) {
      const sd = model.stateDict();
      saveSafetensors(path.join(options.checkpoint, `epoch-${epoch}.safetensors`), sd);
      saveSafetensors(path.join(options.checkpoint, 'last.safetensors'), sd);
    }
    if (historyPath) writeFileAtomic(historyPath, JSON.stringify(history, null, 2) + '\n');
    if (options.callbacks?.onEpochEnd?.(record) === false) break;
  }
  return history;
}
