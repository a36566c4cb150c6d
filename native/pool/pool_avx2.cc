// The pooling kernels built with AVX2+FMA (see pool_kernels.inc).
#define POOL_NS avx2
#include "pool_kernels.inc"
