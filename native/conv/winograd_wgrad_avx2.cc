// The Winograd weight-gradient transforms built with AVX2 (see winograd_wgrad_kernels.inc).
#define WGW_NS wgw_avx2
#include "winograd_wgrad_kernels.inc"
