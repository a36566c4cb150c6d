// The direct weight-gradient kernel built with AVX2+FMA (see direct_wgrad_kernels.inc).
#define DWG_NS dw_avx2
#include "direct_wgrad_kernels.inc"
