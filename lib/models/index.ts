// The model zoo.
export { LeNet5, lenet5 } from './lenet5';
export type { ModelOptions } from './lenet5';
