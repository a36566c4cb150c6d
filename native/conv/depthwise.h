// Direct kernels for convolutions whose groups see one input channel each (Cg == 1):
// depthwise convolutions (groups == C, K = multiplier * C) and single-channel filters.
// A GEMM per group would be a 1-row matrix product; sliding the filter directly is faster.
#pragma once
#include "receptive/conv.h"

namespace receptive {
namespace conv_detail {

void depthwise_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                       float* y);
void depthwise_backward_input(const ConvGeometry& g, const float* gy, const float* w, float* gx);
void depthwise_backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw);

}  // namespace conv_detail
}  // namespace receptive

namespace receptive {
namespace conv_detail {
// One set per ISA (depthwise_kernels.inc); the functions above dispatch among them.
#define RECEPTIVE_DW_DECLARE(ns)                                                              \
  namespace ns {                                                                              \
  void forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,      \
               float* y);                                                                     \
  void backward_input(const ConvGeometry& g, const float* gy, const float* w, float* gx);    \
  void backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw);   \
  }
RECEPTIVE_DW_DECLARE(baseline)
RECEPTIVE_DW_DECLARE(avx2)
RECEPTIVE_DW_DECLARE(avx512)
#undef RECEPTIVE_DW_DECLARE
}  // namespace conv_detail
}  // namespace receptive
