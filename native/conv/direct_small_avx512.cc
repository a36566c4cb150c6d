// The direct small-channel convolution built with AVX-512 (see direct_small_kernels.inc).
#define DS_NS ds_avx512
#include "direct_small_kernels.inc"
