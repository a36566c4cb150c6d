// The weight gradient by a direct kernel (AVX-512), for layers whose im2col matrix is tall
// and thin: few input channels with large or strided filters (ResNet's stem, AlexNet's
// conv1), where the GEMM paths spend their time building and packing columns.
//
//   gw[k][c, r, s] = sum over images and output pixels p of gy[k][p] * x[c][tap (r, s) at p]
//
// A register tile is up to 14 filter taps (their input values broadcast) x 32 output
// channels (two vectors of gy), summed over a band of output pixels in registers and then
// added into the thread's partial gradient. gy is first transposed per band to
// [channel block][pixel][32], so that each pixel's 32 channels are two vector loads; the
// band's input rows are copied into a zero-padded panel (any padding, stride, dilation),
// as the direct forward kernel does. Work items are (image, group, band of output rows),
// spread over the threads, each summing into its own partial; the partials are then added
// and reordered into gw [K, C/groups, R, S].
#pragma once
#include <cstdint>

#include "receptive/conv.h"

namespace receptive {
namespace conv_detail {

// Whether the kernel can run on this CPU (the AVX-512 build only).
bool direct_wgrad_applies(const ConvGeometry& g);
// Whether the weight gradient should take it (measured faster than the GEMM paths).
bool direct_wgrad_preferred(const ConvGeometry& g);
// gw = the weight gradient of conv(x, w) given gy; direct_wgrad_applies(g) must hold.
void direct_wgrad(const ConvGeometry& g, const float* x, const float* gy, float* gw);

namespace dw_avx512 {
void backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw);
}
namespace dw_avx2 {
void backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw);
}

}  // namespace conv_detail
}  // namespace receptive
