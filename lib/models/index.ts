// The model zoo: the networks of the study notes, built from the library's own layers,
// trainable, with torchvision's module names so PyTorch-trained weights load.
export { LeNet5, LeNet5Classic, lenet5, LENET5_C3_TABLE, Subsampling2d, PartialConv2d, ScaledTanh, scaledTanh } from './lenet5';
export type { LeNet5Options } from './lenet5';
export { AlexNet, alexnet } from './alexnet';
export type { AlexNetOptions } from './alexnet';
export { GoogLeNet, googlenet, googlenetLoss, Inception, InceptionAux, BasicConv2d } from './googlenet';
export type { GoogLeNetOptions, GoogLeNetOutputs } from './googlenet';
export {
  ResNet, BasicBlock, Bottleneck, resnet18, resnet34, resnet50, resnet101, resnet152, resnext50_32x4d, wide_resnet50_2,
} from './resnet';
export type { ResNetOptions, ResNetBlock } from './resnet';
export type { ModelOptions } from './common';
