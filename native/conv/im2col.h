// im2col / col2im over a band of output rows, for the GEMM-based convolution paths.
#pragma once
#include <cstdint>
#include "receptive/conv.h"

namespace receptive {
namespace conv_detail {

// col is (Cg*R*S) x ((oh1 - oh0) * OW), row-major with row stride ld (>= the band's
// columns, so that several images can sit side by side): row (c*R + r)*S + s holds, for
// each output position of the band, the input value that tap (r, s) of channel c sees
// (0 in the padding). x points at the first of the group's Cg input planes. `threads` > 1
// splits the work over channels.
void im2col_rows(const ConvGeometry& g, int64_t Cg, const float* x, int64_t oh0, int64_t oh1,
                 float* col, int64_t ld, int threads);

// The adjoint: adds every column entry back onto the input position it was read from.
// gx must be initialised by the caller. Splitting over channels (threads > 1) is
// race-free because each channel's rows only touch that channel's plane.
void col2im_rows(const ConvGeometry& g, int64_t Cg, const float* col, int64_t oh0, int64_t oh1,
                 float* gx, int64_t ld, int threads);

// One col2im per ISA (col2im_kernels.inc); col2im_rows dispatches among them.
#define RECEPTIVE_COL2IM_DECLARE(ns)                                                        \
  namespace ns {                                                                            \
  void col2im_rows(const ConvGeometry& g, int64_t Cg, const float* col, int64_t oh0,       \
                   int64_t oh1, float* gx, int64_t ld, int threads);                        \
  }
RECEPTIVE_COL2IM_DECLARE(baseline)
RECEPTIVE_COL2IM_DECLARE(avx2)
RECEPTIVE_COL2IM_DECLARE(avx512)
#undef RECEPTIVE_COL2IM_DECLARE

// Output columns ow in [lo, hi) read input columns ow*stride + offset inside [0, W).
inline void valid_range(int64_t offset, int64_t stride, int64_t W, int64_t OW, int64_t* lo,
                        int64_t* hi) {
  int64_t l = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t h = offset > W - 1 ? 0 : (W - 1 - offset) / stride + 1;
  if (l > OW) l = OW;
  if (h > OW) h = OW;
  if (h < l) h = l;
  *lo = l;
  *hi = h;
}

}  // namespace conv_detail
}  // namespace receptive
