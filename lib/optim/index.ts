// optim: optimizers and learning-rate schedulers.
export { Optimizer } from './optimizer';
export type { ParamGroup, ParamsInput, ParamState, OptimizerStateDict } from './optimizer';
export { SGD } from './sgd';
export type { SGDOptions } from './sgd';
export { Adam, AdamW } from './adam';
export type { AdamOptions } from './adam';
export { LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR } from './lr_scheduler';
export type { SchedulerStateDict } from './lr_scheduler';
