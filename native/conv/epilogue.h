// The convolution output stage (ConvEpilogue): bias, residual and ReLU applied to a block
// of output rows right after the GEMM wrote it, while it is still in cache.
#pragma once
#include <cstdint>

#include "receptive/conv.h"

namespace receptive {
namespace conv_detail {

// Rows k in [0, Kg) of y (row stride ld, `cols` columns): y = relu?(y + bias[k] + res),
// res with the same layout as y (row stride ld_res). bias and res may be null.
inline void apply_epilogue(const float* bias, const float* res, int64_t ld_res, bool relu,
                           int64_t Kg, float* y, int64_t ld, int64_t cols) {
  if (!bias && !res && !relu) return;
  for (int64_t k = 0; k < Kg; k++) {
    const float b = bias ? bias[k] : 0.f;
    float* row = y + k * ld;
    if (res) {
      const float* r = res + k * ld_res;
      if (relu) {
        for (int64_t j = 0; j < cols; j++) {
          const float v = row[j] + b + r[j];
          row[j] = v < 0.f ? 0.f : v;  // NaN stays NaN, as in PyTorch
        }
      } else {
        for (int64_t j = 0; j < cols; j++) row[j] = row[j] + b + r[j];
      }
    } else if (relu) {
      for (int64_t j = 0; j < cols; j++) {
        const float v = row[j] + b;
        row[j] = v < 0.f ? 0.f : v;  // NaN stays NaN, as in PyTorch
      }
    } else {
      for (int64_t j = 0; j < cols; j++) row[j] += b;
    }
  }
}

// The epilogue over a whole output y[N, K, OHW] for kernels without a fused output stage
// (the bias already added when `bias_done`), planes split over the threads.
void apply_epilogue_planes(const ConvGeometry& g, const ConvEpilogue& ep, bool bias_done,
                           float* y);

}  // namespace conv_detail
}  // namespace receptive
