// Learning-rate schedulers. Each computes the lr of epoch t from its closed form over the
// groups' initial lrs; step() advances t and writes the lr into the optimizer's groups.
// Like PyTorch, constructing a scheduler applies epoch 0 (sets each group's lr to its
// initial value times the factor at t = 0).
import { Optimizer } from './optimizer';

interface SchedulableGroup { lr: number; initialLr?: number }

export interface SchedulerStateDict {
  lastEpoch: number;
  baseLrs: number[];
  lastLr: number[];
}

export abstract class LRScheduler {
  readonly optimizer: Optimizer<{ lr: number }>;
  /** The initial lr of each group. */
  readonly baseLrs: number[];
  /** Epochs stepped so far (0 after construction). */
  lastEpoch: number;
  private lastLr: number[] = [];

  constructor(name: string, optimizer: Optimizer<{ lr: number }>, lastEpoch = -1) {
    if (!(optimizer instanceof Optimizer)) throw new TypeError(`${name}: expected an Optimizer, got ${optimizer === null ? 'null' : typeof optimizer}`);
    if (!Number.isInteger(lastEpoch) || lastEpoch < -1) throw new RangeError(`${name}: lastEpoch must be an integer >= -1, got ${lastEpoch}`);
    this.optimizer = optimizer;
    const groups = optimizer.paramGroups as SchedulableGroup[];
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) throw new RangeError(`${name}: param group ${i} has no initialLr, needed when resuming with lastEpoch = ${lastEpoch}`);
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** The lr of each group at epoch t. */
  abstract lrAt(epoch: number): number[];

  /** Advances one epoch (call after the epoch's optimizer steps) and sets the groups' lr. */
  step(): void {
    this.lastEpoch += 1;
    const lrs = this.lrAt(this.lastEpoch);
    const groups = this.optimizer.paramGroups as SchedulableGroup[];
    groups.forEach((g, i) => { g.lr = lrs[i]; });
    this.lastLr = lrs;
  }

  /** The lr of each group set by the last step(). */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }

  stateDict(): SchedulerStateDict {
    return { lastEpoch: this.lastEpoch, baseLrs: this.baseLrs.slice(), lastLr: this.lastLr.slice() };
  }

  loadStateDict(sd: SchedulerStateDict): void {
    if (!sd || !Number.isInteger(sd.lastEpoch) || !Array.isArray(sd.baseLrs) || sd.baseLrs.length !== this.baseLrs.length) {
      throw new TypeError(`${this.constructor.name}.loadStateDict: expected {lastEpoch, baseLrs, lastLr} for ${this.baseLrs.length} groups`);
    }
    this.lastEpoch = sd.lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...sd.baseLrs);
    this.lastLr = (sd.lastLr ?? []).slice();
  }
}

function positiveInt(name: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${name}: ${key} must be a positive integer, got ${String(v)}`);
  return v;
}

function finite(name: string, key: string, v: unknown, min?: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${name}: ${key} must be a finite number, got ${String(v)}`);
  if (min !== undefined && v < min) throw new RangeError(`${name}: ${key} must be >= ${min}, got ${v}`);
  return v;
}

/** lr_t = initialLr * gamma^floor(t / stepSize). */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: { stepSize: number; gamma?: number; lastEpoch?: number }) {
    super('StepLR', optimizer, options?.lastEpoch ?? -1);
    this.stepSize = positiveInt('StepLR', 'stepSize', options?.stepSize);
    this.gamma = finite('StepLR', 'gamma', options.gamma ?? 0.1, 0);
    this.step();
  }

  lrAt(t: number): number[] {
    return this.baseLrs.map((lr) => lr * Math.pow(this.gamma, Math.floor(t / this.stepSize)));
  }
}

/** lr_t = initialLr * gamma^(number of milestones <= t). */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: { milestones: number[]; gamma?: number; lastEpoch?: number }) {
    super('MultiStepLR', optimizer, options?.lastEpoch ?? -1);
    if (!Array.isArray(options?.milestones)) throw new TypeError('MultiStepLR: milestones must be an array of epochs');
    this.milestones = options.milestones.map((m) => positiveInt('MultiStepLR', 'milestone', m)).sort((a, b) => a - b);
    this.gamma = finite('MultiStepLR', 'gamma', options.gamma ?? 0.1, 0);
    this.step();
  }

  lrAt(t: number): number[] {
    const k = this.milestones.filter((m) => m <= t).length;
    return this.baseLrs.map((lr) => lr * Math.pow(this.gamma, k));
  }
}

/** lr_t = initialLr * gamma^t. */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: { gamma: number; lastEpoch?: number }) {
    super('ExponentialLR', optimizer, options?.lastEpoch ?? -1);
    this.gamma = finite('ExponentialLR', 'gamma', options?.gamma, 0);
    this.step();
  }

  lrAt(t: number): number[] {
    return this.baseLrs.map((lr) => lr * Math.pow(this.gamma, t));
  }
}

/**
 * SGDR's cosine annealing without restarts:
 * lr_t = etaMin + (initialLr - etaMin) * (1 + cos(pi * t / tMax)) / 2.
 * (PyTorch computes the same values recursively; past tMax the cosine climbs back.)
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer<{ lr: number }>, options: { tMax: number; etaMin?: number; lastEpoch?: number }) {
    super('CosineAnnealingLR', optimizer, options?.lastEpoch ?? -1);
    this.tMax = positiveInt('CosineAnnealingLR', 'tMax', options?.tMax);
    this.etaMin = finite('CosineAnnealingLR', 'etaMin', options.etaMin ?? 0, 0);
    this.step();
  }

  lrAt(t: number): number[] {
    return this.baseLrs.map((lr) => this.etaMin + (lr - this.etaMin) * (1 + Math.cos(Math.PI * t / this.tMax)) / 2);
  }
}
