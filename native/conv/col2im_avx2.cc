// col2im built with AVX2+FMA (see col2im_kernels.inc).
#define COL_NS avx2
#include "col2im_kernels.inc"
