// Public API of receptive.
export { Tensor, markDataChanged } from './tensor';
export type { NestedArray, TensorOptions } from './tensor';
export * from './ops';
export { noGrad, isGradEnabled, setGradEnabled } from './autograd/engine';
export { setBackend, getBackend, setNumThreads, getNumThreads, setConvAlgorithm, getConvAlgorithm } from './backend/select';
export type { BackendName, ConvAlgorithmPolicy } from './backend/select';
export { Generator, manualSeed } from './random';
export * as F from './functional';
export * as nn from './nn';
export * as optim from './optim';
export * as data from './data';
export * as io from './io';
export { loadSafetensors, saveSafetensors } from './io';
export * as models from './models';
export { version } from './version';
export * as train from './train';
