// Direct convolution for few input channels per group (LeNet, AlexNet conv1, stems), where
// im2col + GEMM has a short reduction (C*R*S) and spends its time unrolling the input.
//
// A register tile holds a block of output channels (one or two SIMD vectors) times a run
// of output columns of one output row; for every tap (c, r, s) it loads the filter values
// of the block and broadcasts one input value per output column. The input rows a work
// item needs are first copied into a zero-padded panel (so the tap loop has no bounds
// checks, any padding, stride and dilation); the tile is then transposed into the NCHW
// output while the output stage (bias, residual, ReLU) runs on it. Layers with few output
// channels (stride 1), and on AVX2 strided stems, run by columns instead: vectors of output
// columns times a few channels, the filter value broadcast, stored straight along the rows
// (a strided layer reads a panel whose rows are split into their column phases).
//
// Weights are laid out once (ConvWeights::prepare, or per call) as
// [group][block of 16 output channels][c][r][s][16], zero-padded past Kg; the layout does
// not depend on the ISA, so prepared weights keep working when the ISA is forced.
// Work items are (image, group, block of output rows), spread over the threads.
#pragma once
#include <cstddef>
#include <cstdint>

#include "receptive/conv.h"

namespace receptive {
namespace conv_detail {

// Output channels per weight block in the packed layout.
constexpr int64_t kDirectBlock = 16;

// Whether the direct kernel can run this geometry (ConvPolicy::DirectSmall forces it there):
// any geometry.
bool direct_small_applies(const ConvGeometry& g);
// Whether ConvPolicy::Auto should pick it (faster than im2col + GEMM for the shape).
bool direct_small_preferred(const ConvGeometry& g);
// Floats of the packed weights.
size_t direct_small_packed_floats(const ConvGeometry& g);
// packed <- w [K, C/groups, R, S] in the layout above.
void direct_small_pack(const ConvGeometry& g, const float* w, float* packed);
// Up to four convolutions of one input that differ only in their filters (sizes
// included) and in a shift of the input window, each writing its own rows and columns of
// one output: the output phases of a strided input gradient (backward_input_phases.cc),
// run in one pass so that each work item builds its panel of input rows once and the
// phases' interleaved outputs are written while their lines are in cache. The geometry
// given with them has the phases' output size and the largest top and left paddings;
// phase j has a taps_h[j] x taps_w[j] filter (packed for that size), reads its window
// shift_rows[j] rows and shift_cols[j] columns further on, and writes its output
// (n, k, oh, ow) to y[out_offset[j] + n*image + k*plane + oh*row + ow*col]. No residual.
struct DirectPhases {
  int count;
  const float* packed[4];
  int64_t taps_h[4], taps_w[4];
  int64_t shift_rows[4], shift_cols[4], out_offset[4];
  int64_t image, plane, row, col;
};

// y = epilogue(conv(x, w)) with packed weights; phases: null, or the phases above (then
// packed is unused).
void direct_small_forward(const ConvGeometry& g, const float* x, const float* packed,
                          const ConvEpilogue& ep, float* y,
                          const DirectPhases* phases = nullptr);
// The same from plain weights (packed per call into a reused per-thread buffer).
void direct_small_forward_plain(const ConvGeometry& g, const float* x, const float* w,
                                const ConvEpilogue& ep, float* y);

// One build per ISA (direct_small_kernels.inc).
#define RECEPTIVE_DS_DECLARE(ns)                                                         \
  namespace ns {                                                                         \
  void forward(const ConvGeometry& g, const float* x, const float* packed,               \
               const ConvEpilogue& ep, float* y, const DirectPhases* phases);            \
  }
RECEPTIVE_DS_DECLARE(ds_baseline)
RECEPTIVE_DS_DECLARE(ds_avx2)
RECEPTIVE_DS_DECLARE(ds_avx512)
#undef RECEPTIVE_DS_DECLARE

}  // namespace conv_detail
}  // namespace receptive
