// Data: IDX files, data sets (embedded MNIST digits, Fashion-MNIST), DataLoader, transforms.
export { readIdx, parseIdx, writeIdx, encodeIdx, isGzip } from './idx';
export type { IdxArray, IdxDType, IdxTypedArray } from './idx';
export {
  TensorDataset, mnistDigits, fashionMnist, idxDataset, concatDatasets, bytesToUnitFloat, isMnistDigitTest,
  MNIST_DIGITS_TOTAL, FASHION_MNIST_DIR, FASHION_MNIST_CLASSES,
} from './datasets';
export type { Dataset, Sample, Split } from './datasets';
export { DataLoader } from './loader';
export type { DataLoaderOptions, Batch } from './loader';
export type { Image, Transform, RandomOptions, AffineParams, RandomAffineOptions } from './transforms';
import * as datasets from './datasets';
import * as transforms from './transforms';
/** `data.datasets.mnistDigits()`, `data.datasets.fashionMnist()`, ... */
export { datasets, transforms };
