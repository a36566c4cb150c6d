// Convolution through GEMM. Per image and group, the input is unrolled (im2col) into a
// (Cg*R*S) x (rows*OW) matrix for a band of output rows, so the workspace stays bounded
// for big inputs; then Y = W x col. 1x1 stride-1 unpadded convolutions use the input
// itself as the GEMM operand. Convolutions with one input channel per group go to the
// direct depthwise kernels.
//
// Parallelism: the work items (image, group, band) run on separate threads with a
// single-threaded sgemm each when there are at least as many items as threads;
// otherwise the items run in turn and sgemm (and im2col) use all the threads.
#include <cstring>
#include <vector>

#include "depthwise.h"
#include "im2col.h"
#include "receptive/conv.h"
#include "receptive/gemm.h"
#include "receptive/threading.h"

namespace receptive {

using conv_detail::col2im_rows;
using conv_detail::im2col_rows;

namespace {

// Upper bound on one band's columns matrix, in floats (1 MiB), so that it stays in L2.
constexpr int64_t kColumnBudget = 1 << 18;
// Backward weight with per-thread partial sums only while they fit this many floats in all.
constexpr int64_t kPartialBudget = int64_t(1) << 24;

struct Plan {
  int64_t OH, OW, Cg, Kg, CRS;
  bool direct;          // 1x1, stride 1, no padding except a negative bottom: B = x
  int64_t band_rows;    // output rows per band
  int64_t bands;
};

bool is_direct_1x1(const ConvGeometry& g) {
  return g.R == 1 && g.S == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 &&
         g.pad_left == 0 && g.pad_right == 0 && g.pad_bottom <= 0;
}

Plan make_plan(const ConvGeometry& g, int threads) {
  Plan p;
  p.OH = g.out_h();
  p.OW = g.out_w();
  p.Cg = g.C / g.groups;
  p.Kg = g.K / g.groups;
  p.CRS = p.Cg * g.R * g.S;
  p.direct = is_direct_1x1(g);
  if (p.direct) {
    // No workspace; bands only exist to give threads work when there are few images.
    int64_t items = g.N * g.groups;
    int64_t want = items >= threads ? 1 : (threads + items - 1) / items;
    int64_t min_rows = (256 + p.OW - 1) / p.OW;  // keep GEMMs at least ~256 columns wide
    int64_t rows = (p.OH + want - 1) / want;
    if (rows < min_rows) rows = min_rows;
    if (rows > p.OH) rows = p.OH;
    p.band_rows = rows;
  } else {
    int64_t rows = kColumnBudget / (p.CRS * p.OW);
    if (rows < 1) rows = 1;
    if (rows > p.OH) rows = p.OH;
    p.band_rows = rows;
  }
  p.bands = (p.OH + p.band_rows - 1) / p.band_rows;
  return p;
}

// Per-group weights packed once per call for the GEMM micro-kernels and shared by every
// image and band (read-only inside the parallel region). Held by the calling thread and
// reused, so steady-state calls do not allocate.
std::vector<SgemmPackedA>& weight_packs(int64_t groups) {
  thread_local std::vector<SgemmPackedA> packs;
  if (static_cast<int64_t>(packs.size()) < groups) packs.resize(groups);
  return packs;
}

void add_bias(const float* bias, int64_t Kg, float* y, int64_t ld, int64_t cols) {
  for (int64_t k = 0; k < Kg; k++) {
    const float b = bias[k];
    float* row = y + k * ld;
    for (int64_t j = 0; j < cols; j++) row[j] += b;
  }
}

}  // namespace

ConvAlgorithm conv2d_algorithm(const ConvGeometry& g) {
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  if (Cg == 1 && Kg <= 4) return ConvAlgorithm::DepthwiseDirect;
  if (is_direct_1x1(g)) return ConvAlgorithm::Gemm1x1;
  return ConvAlgorithm::Im2colGemm;
}

const char* conv_algorithm_name(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::DepthwiseDirect: return "depthwise-direct";
    case ConvAlgorithm::Gemm1x1: return "gemm-1x1";
    default: return "im2col-gemm";
  }
}

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    float* y) {
  if (conv2d_algorithm(g) == ConvAlgorithm::DepthwiseDirect) {
    conv_detail::depthwise_forward(g, x, w, bias, y);
    return;
  }
  const int nt = kernel_threads();
  const Plan p = make_plan(g, nt);
  const int64_t HW = g.H * g.W, OHW = p.OH * p.OW;
  const int64_t items = g.N * g.groups * p.bands;
  const bool outer = nt > 1 && items >= nt;
  // The weights of a group meet N * bands column blocks: pack them once.
  const SgemmPackedA* packs = nullptr;
  if (g.N * p.bands > 1) {
    std::vector<SgemmPackedA>& v = weight_packs(g.groups);
    for (int64_t grp = 0; grp < g.groups; grp++)
      v[grp].pack(false, p.Kg, p.CRS, w + grp * p.Kg * p.CRS, p.CRS);
    packs = v.data();
  }

  auto run = [&](int64_t item, int inner_threads) {
    const int64_t band = item % p.bands;
    const int64_t ng = item / p.bands;
    const int64_t n = ng / g.groups, grp = ng % g.groups;
    const int64_t oh0 = band * p.band_rows;
    const int64_t oh1 = oh0 + p.band_rows < p.OH ? oh0 + p.band_rows : p.OH;
    const int64_t cols = (oh1 - oh0) * p.OW;
    const float* xg = x + (n * g.C + grp * p.Cg) * HW;
    const float* wg = w + grp * p.Kg * p.CRS;
    float* yg = y + (n * g.K + grp * p.Kg) * OHW + oh0 * p.OW;
    const float* b;
    int64_t ldb;
    if (p.direct) {
      b = xg + oh0 * p.OW;
      ldb = HW;
    } else {
      float* col = thread_scratch(0, p.CRS * cols);
      im2col_rows(g, p.Cg, xg, oh0, oh1, col, inner_threads);
      b = col;
      ldb = cols;
    }
    if (packs)
      sgemm(packs[grp], false, cols, 1.f, b, ldb, 0.f, yg, OHW);
    else
      sgemm(false, false, p.Kg, cols, p.CRS, 1.f, wg, p.CRS, b, ldb, 0.f, yg, OHW);
    if (bias) add_bias(bias + grp * p.Kg, p.Kg, yg, OHW, cols);
  };

  if (outer) {
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (int64_t it = 0; it < items; it++) run(it, 1);
  } else {
    for (int64_t it = 0; it < items; it++) run(it, nt);
  }
}

void conv2d_backward_input(const ConvGeometry& g, const float* gy, const float* w, float* gx) {
  if (conv2d_algorithm(g) == ConvAlgorithm::DepthwiseDirect) {
    conv_detail::depthwise_backward_input(g, gy, w, gx);
    return;
  }
  const int nt = kernel_threads();
  const Plan p = make_plan(g, nt);
  const int64_t HW = g.H * g.W, OHW = p.OH * p.OW;
  // Bands of one (image, group) add into overlapping input rows, so they stay together.
  const int64_t items = g.N * g.groups;
  const bool outer = nt > 1 && items >= nt;
  // W^T of a group meets N * bands column blocks: pack it once.
  const SgemmPackedA* packs = nullptr;
  if (g.N * (p.direct ? 1 : p.bands) > 1) {
    std::vector<SgemmPackedA>& v = weight_packs(g.groups);
    for (int64_t grp = 0; grp < g.groups; grp++)
      v[grp].pack(true, p.CRS, p.Kg, w + grp * p.Kg * p.CRS, p.CRS);
    packs = v.data();
  }

  auto run = [&](int64_t item, int inner_threads) {
    const int64_t n = item / g.groups, grp = item % g.groups;
    const float* gyg = gy + (n * g.K + grp * p.Kg) * OHW;
    const float* wg = w + grp * p.Kg * p.CRS;
    float* gxg = gx + (n * g.C + grp * p.Cg) * HW;
    if (p.direct) {
      // gx[:, :OH*W] = W^T gy; rows cut off by a negative bottom padding get no gradient.
      if (packs)
        sgemm(packs[grp], false, OHW, 1.f, gyg, OHW, 0.f, gxg, HW);
      else
        sgemm(true, false, p.Cg, OHW, p.Kg, 1.f, wg, p.CRS, gyg, OHW, 0.f, gxg, HW);
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
      if (packs)
        sgemm(packs[grp], false, cols, 1.f, gyg + oh0 * p.OW, OHW, 0.f, col, cols);
      else
        sgemm(true, false, p.CRS, cols, p.Kg, 1.f, wg, p.CRS, gyg + oh0 * p.OW, OHW, 0.f, col,
              cols);
      col2im_rows(g, p.Cg, col, oh0, oh1, gxg, inner_threads);
    }
  };

  if (outer) {
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (int64_t it = 0; it < items; it++) run(it, 1);
  } else {
    for (int64_t it = 0; it < items; it++) run(it, nt);
  }
}

void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw) {
  if (conv2d_algorithm(g) == ConvAlgorithm::DepthwiseDirect) {
    conv_detail::depthwise_backward_weight(g, x, gy, gw);
    return;
  }
  const int nt = kernel_threads();
  const Plan p = make_plan(g, nt);
  const int64_t HW = g.H * g.W, OHW = p.OH * p.OW;
  const int64_t wsize = g.K * p.CRS;
  const int64_t items = g.N * g.groups * p.bands;

  // Adds item's contribution gy_band (Kg x cols) x col^T (cols x CRS) into dst[K, CRS].
  auto run = [&](int64_t item, int inner_threads, float* dst) {
    const int64_t band = item % p.bands;
    const int64_t ng = item / p.bands;
    const int64_t n = ng / g.groups, grp = ng % g.groups;
    const int64_t oh0 = band * p.band_rows;
    const int64_t oh1 = oh0 + p.band_rows < p.OH ? oh0 + p.band_rows : p.OH;
    const int64_t cols = (oh1 - oh0) * p.OW;
    const float* xg = x + (n * g.C + grp * p.Cg) * HW;
    const float* gyg = gy + (n * g.K + grp * p.Kg) * OHW + oh0 * p.OW;
    float* dg = dst + grp * p.Kg * p.CRS;
    if (p.direct) {
      sgemm(false, true, p.Kg, p.CRS, cols, 1.f, gyg, OHW, xg + oh0 * p.OW, HW, 1.f, dg, p.CRS);
    } else {
      float* col = thread_scratch(0, p.CRS * cols);
      im2col_rows(g, p.Cg, xg, oh0, oh1, col, inner_threads);
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
