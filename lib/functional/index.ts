// The functional API (exported as `F`): PyTorch's torch.nn.functional names and semantics,
// options in camelCase, Tensors in and out, every op differentiable through the tape.
export { convolution, conv1d, conv2d, convolve1d, convolve2d, convTranspose1d, convTranspose2d } from './conv';
export type { ConvOptions, ConvTransposeOptions, ConvolutionParams, ConvPadding } from './conv';
export { maxPool1d, maxPool2d, avgPool1d, avgPool2d, adaptiveAvgPool1d, adaptiveAvgPool2d } from './pool';
export type { MaxPoolOptions, AvgPoolOptions } from './pool';
export { pad } from './pad';
export type { PadMode, PadOptions } from './pad';
export { linear, flatten } from './linear';
export { relu, tanh, sigmoid } from './activation';
export { batchNorm, localResponseNorm } from './normalization';
export type { BatchNormOptions, LocalResponseNormOptions } from './normalization';
export { dropout } from './dropout';
export type { DropoutOptions } from './dropout';
export { softmax, logSoftmax } from './softmax';
export { crossEntropy, nllLoss, mseLoss } from './loss';
export type { CrossEntropyOptions, NllLossOptions, MseLossOptions, ClassTarget, Reduction } from './loss';
