// The Winograd forward built with AVX2+FMA (see winograd_kernels.inc).
#define WG_NS wg_avx2
#include "winograd_kernels.inc"
