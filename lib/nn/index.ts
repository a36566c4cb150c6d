// nn: Module and the layers. See lib/nn/module.ts for the registration and calling rules.
export { Module } from './module';
export type {
  TensorLike, StateDictSource, LoadStateDictOptions, LoadStateDictResult, RemovableHandle,
  ForwardHook, ForwardPreHook,
} from './module';
export { Parameter } from './parameter';
export { Sequential, ModuleList } from './container';
export { InferencePlan } from './inference_plan';
export type { SequentialEntries } from './container';
export { Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d } from './conv';
export type { ConvOptions, Conv1dOptions, Conv2dOptions, ConvTransposeOptions, ConvPaddingMode, ConvMode } from './conv';
export { ConvSiblings } from './sibling_conv';
export type { SiblingConv } from './sibling_conv';
export { Linear, Identity, Flatten } from './linear';
export type { LinearOptions } from './linear';
export { MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool2d } from './pooling';
export type { MaxPoolOptions, AvgPoolOptions } from './pooling';
export { ReLU, Tanh, Sigmoid, Softmax, LogSoftmax } from './activation';
export { Dropout } from './dropout';
export { BatchNorm1d, BatchNorm2d, LocalResponseNorm } from './normalization';
export type { BatchNormOptions, LocalResponseNormOptions } from './normalization';
export { CrossEntropyLoss, NLLLoss, MSELoss } from './loss';
export type { Reduction, ClassTargets } from './loss';
export type { ConvPadding, PaddingMode, RandomOptions } from './util';
export * as init from './init';
