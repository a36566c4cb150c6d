// The pooling kernels built with AVX-512 (see pool_kernels.inc).
#define POOL_NS avx512
#include "pool_kernels.inc"
