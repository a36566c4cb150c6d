// The direct weight-gradient kernel built with AVX-512 (see direct_wgrad_kernels.inc).
#define DWG_NS dw_avx512
#include "direct_wgrad_kernels.inc"
