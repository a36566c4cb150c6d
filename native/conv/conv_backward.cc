// Convolution backward through GEMM (to the input: W^T x gy then col2im; to the weight:
// gy x col^T summed over images and bands; to the bias: a reduction), on the plan the
// forward uses (conv_plan.h).
#include <cstring>
#include <vector>

#include "conv_plan.h"
#include "depthwise.h"
#include "im2col.h"
#include "receptive/conv.h"
#include "receptive/gemm.h"
#include "receptive/threading.h"

namespace receptive {

using conv_detail::col2im_rows;
using conv_detail::im2col_rows;
using namespace conv_detail;  // the plan (conv_plan.h)

void conv2d_backward_input(const ConvGeometry& g, const float* gy, const float* w, float* gx) {
  if (conv2d_algorithm(g) == ConvAlgorithm::DepthwiseDirect) {
    conv_detail::depthwise_backward_input(g, gy, w, gx);
    return;
  }
  const int nt = kernel_threads();
  const Plan p = make_plan(g, nt);
  const int64_t HW = g.H * g.W, OHW = p.OHW;
  // Bands of one (image, group) add into overlapping input rows, so they stay together.
  const int64_t items = p.blocks * g.groups;
  // W^T of a group meets blocks * bands column blocks: pack it once.
  const SgemmPackedA* packs =
      p.blocks * (p.direct ? 1 : p.bands) > 1 ? pack_weights(g, p, true, w) : nullptr;

  run_items(items, nt, [&](int64_t item, int inner_threads) {
    const Item it = decode(g, p, item, false);
    const float* wg = w + it.grp * p.Kg * p.CRS;
    // col (CRS x cols, row stride ldc) = W^T x gy block (Kg x cols, row stride ldb)
    auto gemm = [&](const float* b, int64_t ldb, int64_t cols, float* c, int64_t ldc) {
      if (packs)
        sgemm(packs[it.grp], false, cols, 1.f, b, ldb, 0.f, c, ldc);
      else
        sgemm(true, false, p.CRS, cols, p.Kg, 1.f, wg, p.CRS, b, ldb, 0.f, c, ldc);
    };
    if (p.nb > 1) {
      const int64_t ld = it.count * OHW;
      float* gyb = thread_scratch(1, p.Kg * ld);
      gather_planes(gy, g.K, it.grp * p.Kg, p.Kg, OHW, it.n0, it.count, gyb);
      float* col = thread_scratch(0, p.CRS * ld);
      gemm(gyb, ld, ld, col, ld);
      for (int64_t j = 0; j < it.count; j++) {
        float* gxj = gx + ((it.n0 + j) * g.C + it.grp * p.Cg) * HW;
        std::memset(gxj, 0, sizeof(float) * p.Cg * HW);
        col2im_rows(g, p.Cg, col + j * OHW, 0, p.OH, gxj, ld, inner_threads);
      }
      return;
    }
    const float* gyg = gy + (it.n0 * g.K + it.grp * p.Kg) * OHW;
    float* gxg = gx + (it.n0 * g.C + it.grp * p.Cg) * HW;
    if (p.direct) {
      // gx[:, :OH*W] = W^T gy; rows cut off by a negative bottom padding get no gradient.
      gemm(gyg, OHW, OHW, gxg, HW);
      if (OHW < HW)
        for (int64_t c = 0; c < p.Cg; c++)
          std::memset(gxg + c * HW + OHW, 0, sizeof(float) * (HW - OHW));
      return;
    }
    std::memset(gxg, 0, sizeof(float) * p.Cg * HW);
    for (int64_t band = 0; band < p.bands; band++) {
      const int64_t oh0 = band * p.band_rows;
      const int64_t oh1 = oh0 + p.band_rows < p.OH ? oh0 + p.band_rows : p.OH;
      const int64_t cols = (oh1 - oh0) * p.OW;
      float* col = thread_scratch(0, p.CRS * cols);
      gemm(gyg + oh0 * p.OW, OHW, cols, col, cols);
      col2im_rows(g, p.Cg, col, oh0, oh1, gxg, cols, inner_threads);
    }
  });
}

void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw) {
  if (conv2d_algorithm(g) == ConvAlgorithm::DepthwiseDirect) {
    conv_detail::depthwise_backward_weight(g, x, gy, gw);
    return;
  }
  const int nt = kernel_threads();
  const Plan p = make_plan(g, nt);
  const int64_t HW = g.H * g.W, OHW = p.OHW;
  const int64_t wsize = g.K * p.CRS;
  const int64_t items = p.blocks * g.groups * p.bands;

  // Adds the item's gy block (Kg x cols) x col^T (cols x CRS) into dst[K, CRS].
  auto run = [&](int64_t item, int inner_threads, float* dst) {
    const Item it = decode(g, p, item, true);
    float* dg = dst + it.grp * p.Kg * p.CRS;
    if (p.nb > 1) {
      const int64_t ld = it.count * OHW;
      float* gyb = thread_scratch(1, p.Kg * ld);
      gather_planes(gy, g.K, it.grp * p.Kg, p.Kg, OHW, it.n0, it.count, gyb);
      float* col = thread_scratch(0, p.CRS * ld);
      for (int64_t j = 0; j < it.count; j++)
        im2col_rows(g, p.Cg, x + ((it.n0 + j) * g.C + it.grp * p.Cg) * HW, 0, p.OH,
                    col + j * OHW, ld, inner_threads);
      sgemm(false, true, p.Kg, p.CRS, ld, 1.f, gyb, ld, col, ld, 1.f, dg, p.CRS);
      return;
    }
    const int64_t cols = (it.oh1 - it.oh0) * p.OW;
    const float* xg = x + (it.n0 * g.C + it.grp * p.Cg) * HW;
    const float* gyg = gy + (it.n0 * g.K + it.grp * p.Kg) * OHW + it.oh0 * p.OW;
    if (p.direct) {
      sgemm(false, true, p.Kg, p.CRS, cols, 1.f, gyg, OHW, xg + it.oh0 * p.OW, HW, 1.f, dg,
            p.CRS);
    } else {
      float* col = thread_scratch(0, p.CRS * cols);
      im2col_rows(g, p.Cg, xg, it.oh0, it.oh1, col, cols, inner_threads);
      sgemm(false, true, p.Kg, p.CRS, cols, 1.f, gyg, OHW, col, cols, 1.f, dg, p.CRS);
    }
  };

  if (nt > 1 && items >= nt && wsize * nt <= kPartialBudget) {
    // Each thread sums its items into a private copy of gw; the copies are added at the end.
    thread_local std::vector<std::vector<float>> partials;
    if (static_cast<int>(partials.size()) < nt) partials.resize(nt);
    for (int t = 0; t < nt; t++) partials[t].resize(wsize);
    std::vector<float>* parts = partials.data();
#pragma omp parallel num_threads(nt)
    {
      int t = 0;
#ifdef _OPENMP
      t = omp_get_thread_num();
#endif
      float* mine = parts[t].data();
      std::memset(mine, 0, sizeof(float) * wsize);
#pragma omp for schedule(dynamic)
      for (int64_t it = 0; it < items; it++) run(it, 1, mine);
#pragma omp for schedule(static)
      for (int64_t i = 0; i < wsize; i++) {
        float s = 0.f;
        for (int u = 0; u < nt; u++) s += parts[u][i];
        gw[i] = s;
      }
    }
  } else {
    std::memset(gw, 0, sizeof(float) * wsize);
    for (int64_t it = 0; it < items; it++) run(it, nt, gw);
  }
}

void conv2d_backward_bias(const ConvGeometry& g, const float* gy, float* gb) {
  const int64_t OHW = g.out_h() * g.out_w();
  const int nt = kernel_threads();
  const bool par = nt > 1 && g.K > 1 && g.N * g.K * OHW >= (1 << 15);
#pragma omp parallel for num_threads(nt) if (par) schedule(static)
  for (int64_t k = 0; k < g.K; k++) {
    double acc = 0.0;
    for (int64_t n = 0; n < g.N; n++) {
      const float* plane = gy + (n * g.K + k) * OHW;
      float s = 0.f;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < OHW; i++) s += plane[i];
      acc += s;
    }
    gb[k] = static_cast<float>(acc);
  }
}

}  // namespace receptive
