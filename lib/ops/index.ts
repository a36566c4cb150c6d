// Tensor ops: creation, element-wise maths with broadcasting, reductions, shape ops and
// matmul. Every differentiable op records itself on the autograd tape.
export { tensor, zeros, ones, full, zerosLike, onesLike, fullLike, arange, randn, rand, randint, eye } from './creation';
export type { RandomOptions } from './creation';
export { add, sub, mul, div, neg, pow, exp, log, sqrt, abs, where } from './elementwise';
export { sum, mean, max, min, argmax, argmin } from './reduce';
export { reshape, view, flatten, squeeze, unsqueeze, permute, transpose, expand, concat, stack,
         narrow, split, clone, detach } from './shape';
export { matmul } from './matmul';
export { broadcastShapes } from './util';
