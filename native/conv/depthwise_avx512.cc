// The depthwise kernels built with AVX-512 (see depthwise_kernels.inc).
#define DW_NS avx512
#include "depthwise_kernels.inc"
