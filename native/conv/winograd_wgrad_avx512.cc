// The Winograd weight-gradient transforms built with AVX-512 (see winograd_wgrad_kernels.inc).
#define WGW_NS wgw_avx512
#include "winograd_wgrad_kernels.inc"
