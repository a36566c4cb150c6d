// The input gradient of a strided convolution through the forward kernels, one output
// phase at a time (backward_input_phases.cc).
#pragma once
#include "receptive/conv.h"

namespace receptive {
namespace conv_detail {

// Whether the phases express g: stride > 1, dilation 1, paddings within a filter's reach.
bool backward_input_phases_apply(const ConvGeometry& g);
// Whether they are measured faster than GEMM + col2im for g.
bool backward_input_phases_preferred(const ConvGeometry& g);
// gx[N, C, H, W] (overwritten) from gy[N, K, OH, OW] and w[K, C/groups, R, S].
void backward_input_phases(const ConvGeometry& g, const float* gy, const float* w, float* gx);

}  // namespace conv_detail
}  // namespace receptive
