// GEMM-shaped convolutions into small output planes (ResNet's and GoogLeNet's 7x7 stages)
// with prepared weights: "pixel rows". 1x1 stride-1 layers read the input in place; the
// others (stride 2, 5x5, ...) read an im2col matrix of one image at a time.
//
// The GEMM path computes Y (K x P) = W (K x C) * X (C x P) with SIMD vectors along the P
// output pixels of an image (C: the reduction, input channels or im2col rows): a 7x7
// plane's 49 pixels fill 49 of 64 lanes, and the weights, broadcast one value per row, are
// re-read for every 32 pixels. Here the vectors run along the output channels instead: a
// register tile is up to 14 pixels (their input values broadcast) x 32 output channels
// (two vectors of weights), summed over the whole reduction in registers, then transposed
// into the NCHW output while the output stage (bias, residual or accumulation, ReLU) runs
// on it. Output channels come in blocks of 32 (any K; the last block zero-padded in the
// packed weights) and pixels in blocks of 14, so a 7x7 plane wastes no lanes.
//
// Packed weights: [ceil(K/32)][C*R*S][32], zero-padded past K; the layout does not depend on
// the ISA. The AVX-512 kernel is the fast one (pixel_rows_preferred asks for it); the
// baseline build is a plain loop over the same layout, used when the ISA is forced below
// AVX-512 after the weights were prepared.
// Work items (image, channel block, pixel block) are spread over the threads in the order
// image group, channel block, image, pixel block: one block's weights (C x 32) stay in
// L1/L2 while the pixel blocks of a group of images (inputs about 1 MiB) stream past.
#pragma once
#include <cstddef>
#include <cstdint>

#include "receptive/conv.h"

namespace receptive {
namespace conv_detail {

constexpr int64_t kPixelRowsChannels = 32;  // output channels per weight block
constexpr int64_t kPixelRowsPixels = 14;    // pixels per register tile

// Whether prepared weights for a geometry the GEMM paths would run (im2col-gemm, gemm-1x1)
// should take this layout (groups 1, AVX-512, small output planes).
bool pixel_rows_preferred(const ConvGeometry& g);
size_t pixel_rows_packed_floats(const ConvGeometry& g);
// packed <- w [K, C*R*S] in the layout above.
void pixel_rows_pack(const ConvGeometry& g, const float* w, float* packed);
// y = epilogue(conv(x, w)) for any geometry of the prepared filter with groups 1.
// accumulate: y holds the residual and the products are added onto it (then the bias and
// ReLU); ep.residual is then null. ep.parts: the output channels split among destinations
// (y unused).
void pixel_rows_forward(const ConvGeometry& g, const float* x, const float* packed,
                        const ConvEpilogue& ep, bool accumulate, float* y);

// The reduction operand of images [n0, n0 + count) and output pixels [p0, p0 + pn): image
// n's value for reduction index c at pixel p is
// x[(n - n0)*image_stride + c*channel_stride + (p - p0)], c < depth.
struct PixelRowsInput {
  const float* x;
  int64_t depth, channel_stride, image_stride, n0, count, p0, pn;
};

namespace pr_avx512 {
void forward(const ConvGeometry& g, const PixelRowsInput& in, const float* packed,
             const ConvEpilogue& ep, bool accumulate, float* y);
}

// Where output channel k of image n starts (NCHW, a strided y, or a part of a split output).
inline float* pixel_rows_out(const ConvGeometry& g, const ConvEpilogue& ep, float* y, int64_t n,
                             int64_t k, int64_t P) {
  if (ep.parts) {
    for (int s = 0;; s++) {
      if (k < ep.parts[s].channels || s == ep.part_count - 1)
        return ep.parts[s].y + n * ep.parts[s].image_stride + k * P;
      k -= ep.parts[s].channels;
    }
  }
  return y + n * ep.y_stride(g) + k * P;
}

}  // namespace conv_detail
}  // namespace receptive
