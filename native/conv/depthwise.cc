#include "depthwise.h"

#include <cstring>
#include <vector>

#include "im2col.h"
#include "receptive/threading.h"

namespace receptive {
namespace conv_detail {

namespace {

// For each filter column s, the output columns [lo, hi) whose input column is real.
struct ColumnRanges {
  const int64_t* lo;
  const int64_t* hi;
};

ColumnRanges column_ranges(const ConvGeometry& g, int64_t OW) {
  thread_local std::vector<int64_t> buf;
  buf.resize(2 * g.S);
  for (int64_t s = 0; s < g.S; s++)
    valid_range(s * g.dilation_w - g.pad_left, g.stride_w, g.W, OW, &buf[s], &buf[g.S + s]);
  return {buf.data(), buf.data() + g.S};
}

}  // namespace

void depthwise_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                       float* y) {
  const int64_t OH = g.out_h(), OW = g.out_w(), H = g.H, W = g.W, R = g.R, S = g.S;
  const int64_t Kg = g.K / g.groups;
  const int64_t sw = g.stride_w;
  const int64_t planes = g.N * g.K;
  const int nt = kernel_threads();
#pragma omp parallel num_threads(nt) if (nt > 1 && planes > 1)
  {
    const ColumnRanges cr = column_ranges(g, OW);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < planes; p++) {
      const int64_t n = p / g.K, k = p % g.K, c = k / Kg;
      const float* xp = x + (n * g.C + c) * H * W;
      const float* wk = w + k * R * S;
      float* yp = y + p * OH * OW;
      const float b = bias ? bias[k] : 0.f;
      for (int64_t oh = 0; oh < OH; oh++) {
        float* row = yp + oh * OW;
        for (int64_t ow = 0; ow < OW; ow++) row[ow] = b;
        for (int64_t r = 0; r < R; r++) {
          const int64_t ih = oh * g.stride_h + r * g.dilation_h - g.pad_top;
          if (ih < 0 || ih >= H) continue;
          const float* xrow = xp + ih * W;
          for (int64_t s = 0; s < S; s++) {
            const float wv = wk[r * S + s];
            const int64_t iw0 = s * g.dilation_w - g.pad_left;
            const int64_t lo = cr.lo[s], hi = cr.hi[s];
            if (sw == 1) {
              for (int64_t ow = lo; ow < hi; ow++) row[ow] += wv * xrow[ow + iw0];
            } else {
              for (int64_t ow = lo; ow < hi; ow++) row[ow] += wv * xrow[ow * sw + iw0];
            }
          }
        }
      }
    }
  }
}

void depthwise_backward_input(const ConvGeometry& g, const float* gy, const float* w,
                              float* gx) {
  const int64_t OH = g.out_h(), OW = g.out_w(), H = g.H, W = g.W, R = g.R, S = g.S;
  const int64_t Kg = g.K / g.groups;
  const int64_t sw = g.stride_w;
  const int64_t planes = g.N * g.C;
  const int nt = kernel_threads();
#pragma omp parallel num_threads(nt) if (nt > 1 && planes > 1)
  {
    const ColumnRanges cr = column_ranges(g, OW);
#pragma omp for schedule(static)
    for (int64_t p = 0; p < planes; p++) {
      const int64_t n = p / g.C, c = p % g.C;
      float* gxp = gx + p * H * W;
      std::memset(gxp, 0, sizeof(float) * H * W);
      for (int64_t j = 0; j < Kg; j++) {
        const int64_t k = c * Kg + j;
        const float* gyp = gy + (n * g.K + k) * OH * OW;
        const float* wk = w + k * R * S;
        for (int64_t oh = 0; oh < OH; oh++) {
          const float* grow = gyp + oh * OW;
          for (int64_t r = 0; r < R; r++) {
            const int64_t ih = oh * g.stride_h + r * g.dilation_h - g.pad_top;
            if (ih < 0 || ih >= H) continue;
            float* xrow = gxp + ih * W;
            for (int64_t s = 0; s < S; s++) {
              const float wv = wk[r * S + s];
              const int64_t iw0 = s * g.dilation_w - g.pad_left;
              const int64_t lo = cr.lo[s], hi = cr.hi[s];
              if (sw == 1) {
                for (int64_t ow = lo; ow < hi; ow++) xrow[ow + iw0] += wv * grow[ow];
              } else {
                for (int64_t ow = lo; ow < hi; ow++) xrow[ow * sw + iw0] += wv * grow[ow];
              }
            }
          }
        }
      }
    }
  }
}

void depthwise_backward_weight(const ConvGeometry& g, const float* x, const float* gy,
                               float* gw) {
  const int64_t OH = g.out_h(), OW = g.out_w(), H = g.H, W = g.W, R = g.R, S = g.S;
  const int64_t Kg = g.K / g.groups;
  const int64_t sw = g.stride_w;
  const int nt = kernel_threads();
#pragma omp parallel num_threads(nt) if (nt > 1 && g.K > 1)
  {
    const ColumnRanges cr = column_ranges(g, OW);
    thread_local std::vector<double> acc;
    acc.resize(R * S);
#pragma omp for schedule(static)
    for (int64_t k = 0; k < g.K; k++) {
      const int64_t c = k / Kg;
      for (int64_t i = 0; i < R * S; i++) acc[i] = 0.0;
      for (int64_t n = 0; n < g.N; n++) {
        const float* xp = x + (n * g.C + c) * H * W;
        const float* gyp = gy + (n * g.K + k) * OH * OW;
        for (int64_t oh = 0; oh < OH; oh++) {
          const float* grow = gyp + oh * OW;
          for (int64_t r = 0; r < R; r++) {
            const int64_t ih = oh * g.stride_h + r * g.dilation_h - g.pad_top;
            if (ih < 0 || ih >= H) continue;
            const float* xrow = xp + ih * W;
            for (int64_t s = 0; s < S; s++) {
              const int64_t iw0 = s * g.dilation_w - g.pad_left;
              const int64_t lo = cr.lo[s], hi = cr.hi[s];
              float dot = 0.f;
              if (sw == 1) {
#pragma omp simd reduction(+ : dot)
                for (int64_t ow = lo; ow < hi; ow++) dot += grow[ow] * xrow[ow + iw0];
              } else {
#pragma omp simd reduction(+ : dot)
                for (int64_t ow = lo; ow < hi; ow++) dot += grow[ow] * xrow[ow * sw + iw0];
              }
              acc[r * S + s] += dot;
            }
          }
        }
      }
      for (int64_t i = 0; i < R * S; i++) gw[k * R * S + i] = static_cast<float>(acc[i]);
    }
  }
}

}  // namespace conv_detail
}  // namespace receptive
