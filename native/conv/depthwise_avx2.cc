// The depthwise kernels built with AVX2+FMA (see depthwise_kernels.inc).
#define DW_NS avx2
#include "depthwise_kernels.inc"
