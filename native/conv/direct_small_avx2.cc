// The direct small-channel convolution built with AVX2+FMA (see direct_small_kernels.inc).
#define DS_NS ds_avx2
#include "direct_small_kernels.inc"
