// The Winograd forward built with AVX-512 (see winograd_kernels.inc).
#define WG_NS wg_avx512
#include "winograd_kernels.inc"
