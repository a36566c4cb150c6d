// col2im built with AVX-512 (see col2im_kernels.inc).
#define COL_NS avx512
#include "col2im_kernels.inc"
