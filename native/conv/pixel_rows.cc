// Pixel-rows convolution (pixel_rows.h): the choice, the weight layout, the dispatch, the
// im2col bands, and the baseline build (a plain loop over the packed weights).
#include "pixel_rows.h"

#include "conv_plan.h"
#include "im2col.h"
#include "receptive/runtime.h"
#include "receptive/threading.h"

namespace receptive {
namespace conv_detail {

bool pixel_rows_preferred(const ConvGeometry& g) {
#if defined(__x86_64__)
  if (active_isa() != Isa::Avx512) return false;
  // Planes up to 64 pixels (ResNet's and GoogLeNet's 7x7 stages), where the GEMM fills 49
  // of 64 lanes. Measured against the GEMM path (2 threads, AVX-512, one layer looped, batch
  // 1): C2048 -> 512 0.44 -> 0.28 ms, C512 -> 2048 0.39 -> 0.31; whole ResNet-50 at batch 1
  // 24.7 -> 23.3 ms, GoogLeNet 7.40 -> 7.22, batch 8 even. On 14x14 planes it lost in the
  // model's sequence (C256 -> 1024 at batch 8: 12.0 -> 13.4 ms, its outputs' partial-line
  // stores and cold inputs), though C1024 -> 256 won looped at batch 1. One pixel (a
  // classifier written as a convolution) runs as one GEMM over the batch instead.
  const int64_t P = g.out_h() * g.out_w();
  return g.groups == 1 && P >= 7 && P <= 64;
#else
  (void)g;
  return false;
#endif
}

size_t pixel_rows_packed_floats(const ConvGeometry& g) {
  const int64_t blocks = (g.K + kPixelRowsChannels - 1) / kPixelRowsChannels;
  return static_cast<size_t>(blocks * g.C * g.R * g.S * kPixelRowsChannels);
}

void pixel_rows_pack(const ConvGeometry& g, const float* w, float* packed) {
  const int64_t blocks = (g.K + kPixelRowsChannels - 1) / kPixelRowsChannels;
  const int64_t CRS = g.C * g.R * g.S;
  for (int64_t b = 0; b < blocks; b++)
    for (int64_t c = 0; c < CRS; c++)
      for (int64_t l = 0; l < kPixelRowsChannels; l++) {
        const int64_t k = b * kPixelRowsChannels + l;
        packed[(b * CRS + c) * kPixelRowsChannels + l] = k < g.K ? w[k * CRS + c] : 0.f;
      }
}

namespace {

void forward_baseline(const ConvGeometry& g, const PixelRowsInput& in, const float* packed,
                      const ConvEpilogue& ep, bool accumulate, float* y) {
  const int64_t P = g.out_h() * g.out_w();
  const int nt = kernel_threads_for(double(in.count) * g.K * in.depth * in.pn);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t nk = 0; nk < in.count * g.K; nk++) {
    const int64_t n = in.n0 + nk / g.K, k = nk % g.K;
    const float* wk = packed + (k / kPixelRowsChannels) * in.depth * kPixelRowsChannels +
                      k % kPixelRowsChannels;
    const float* xn = in.x + (n - in.n0) * in.image_stride;
    float* out = pixel_rows_out(g, ep, y, n, k, P);
    const float* res = ep.residual ? ep.residual + (n * g.K + k) * P : nullptr;
    for (int64_t p = in.p0; p < in.p0 + in.pn; p++) {
      float s = 0.f;
      for (int64_t c = 0; c < in.depth; c++)
        s += wk[c * kPixelRowsChannels] * xn[c * in.channel_stride + (p - in.p0)];
      if (accumulate) s += out[p];
      if (ep.bias) s += ep.bias[k];
      if (res) s += res[p];
      if (ep.relu && s < 0.f) s = 0.f;  // NaN stays NaN
      out[p] = s;
    }
  }
}

void run(const ConvGeometry& g, const PixelRowsInput& in, const float* packed,
         const ConvEpilogue& ep, bool accumulate, float* y) {
#if defined(__x86_64__)
  if (active_isa() == Isa::Avx512) return pr_avx512::forward(g, in, packed, ep, accumulate, y);
#endif
  forward_baseline(g, in, packed, ep, accumulate, y);
}

}  // namespace

void pixel_rows_forward(const ConvGeometry& g, const float* x, const float* packed,
                        const ConvEpilogue& ep, bool accumulate, float* y) {
  const int64_t HW = g.H * g.W, P = g.out_h() * g.out_w();
  if (is_direct_1x1(g)) {
    run(g, {x, g.C, HW, g.C * HW, 0, g.N, 0, P}, packed, ep, accumulate, y);
    return;
  }
  // One image's im2col matrix at a time, in bands of output rows whose columns stay within
  // the GEMM path's budget (1 MiB: ResNet-50's 3x3 stride 2 into 7x7 is one band; weights
  // prepared on a small plane may meet a large one), then the band's tiles.
  const int64_t CRS = g.C * g.R * g.S, OH = g.out_h(), OW = g.out_w();
  int64_t band = kColumnBudget / (CRS * OW > 0 ? CRS * OW : 1);
  if (band < 1) band = 1;
  if (band > OH) band = OH;
  float* col = thread_scratch(0, static_cast<size_t>(CRS * band * OW));
  const int nt = kernel_threads();
  for (int64_t n = 0; n < g.N; n++) {
    for (int64_t oh0 = 0; oh0 < OH; oh0 += band) {
      const int64_t oh1 = oh0 + band < OH ? oh0 + band : OH, cols = (oh1 - oh0) * OW;
      im2col_rows(g, g.C, x + n * g.C * HW, oh0, oh1, col, cols, nt);
      run(g, {col, CRS, cols, 0, n, 1, oh0 * OW, cols}, packed, ep, accumulate, y);
    }
  }
}

}  // namespace conv_detail
}  // namespace receptive
