// Training: the fit loop, evaluation and progress reporting.
export { fit, evaluate, defaultLoss, countCorrect, logitsOf, AUX_LOSS_WEIGHT } from './fit';
export type { FitOptions, FitCallbacks, EpochRecord, TrainableModel, ModelOutput, Batch, BatchSource, StepOptimizer } from './fit';
export { ProgressBar, SilentProgress } from './progress';
export type { ProgressReporter, ProgressStats } from './progress';
