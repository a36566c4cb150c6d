// Convolution through GEMM. Per image and group, the input is unrolled (im2col) into a
// (Cg*R*S) x (rows*OW) matrix for a band of output rows, so the workspace stays bounded
// for big inputs; then Y = W x col. Small outputs (7x7, 14x14) put several images side
// by side in one wider column matrix instead, so that the GEMM is not starved of
// columns. 1x1 stride-1 unpadded convolutions use the input itself as the GEMM operand.
// Convolutions with one input channel per group go to the direct depthwise kernels.
// Each group's weights are packed once per call for the GEMM micro-kernels.
//
// Parallelism: the work items (image block, group, band) run on separate threads with a
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
// Images are batched into one GEMM until it has at least this many columns.
constexpr int64_t kMinColumns = 256;
// Backward weight with per-thread partial sums only while they fit this many floats in all.
constexpr int64_t kPartialBudget = int64_t(1) << 24;

struct Plan {
  int64_t OH, OW, OHW, Cg, Kg, CRS;
  bool direct;        // 1x1, stride 1, no padding except a negative bottom: B = x
  int64_t band_rows;  // output rows per band
  int64_t bands;
  int64_t nb;         // images side by side per work item (> 1 only with one band)
  int64_t blocks;     // ceil(N / nb)
};

bool is_direct_1x1(const ConvGeometry& g) {
  return g.R == 1 && g.S == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 &&
         g.pad_left == 0 && g.pad_right == 0 && g.pad_bottom <= 0;
}

Plan make_plan(const ConvGeometry& g, int threads) {
  Plan p;
  p.OH = g.out_h();
  p.OW = g.out_w();
  p.OHW = p.OH * p.OW;
  p.Cg = g.C / g.groups;
  p.Kg = g.K / g.groups;
  p.CRS = p.Cg * g.R * g.S;
  p.direct = is_direct_1x1(g);
  p.nb = 1;
  if (p.direct) {
    // No workspace; bands only exist to give threads work when there are few images.
    const int64_t items = g.N * g.groups;
    const int64_t want = items >= threads ? 1 : (threads + items - 1) / items;
    const int64_t min_rows = (kMinColumns + p.OW - 1) / p.OW;
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
  if (p.OHW < kMinColumns && g.N > 1) {
    int64_t nb = (kMinColumns + p.OHW - 1) / p.OHW;
    const int64_t fit = kColumnBudget / (p.CRS * p.OHW);
    if (nb > fit) nb = fit;
    // Keep one work item per thread where the batch allows it.
    const int64_t per_thread = g.N * g.groups / threads;
    if (per_thread >= 1 && nb > per_thread) nb = per_thread;
    if (nb > g.N) nb = g.N;
    if (nb > 1) {
      p.nb = nb;
      p.direct = false;  // the images' planes are not one matrix: gather them
      p.band_rows = p.OH;
      p.bands = 1;
    }
  }
  p.blocks = (g.N + p.nb - 1) / p.nb;
  return p;
}

// Per-group weights packed once per call for the GEMM micro-kernels and shared by every
// image and band (read-only inside the parallel region). Held by the calling thread and
// reused, so steady-state calls do not allocate.
const SgemmPackedA* pack_weights(const ConvGeometry& g, const Plan& p, bool transposed,
                                 const float* w) {
  thread_local std::vector<SgemmPackedA> packs;
  if (static_cast<int64_t>(packs.size()) < g.groups) packs.resize(g.groups);
  for (int64_t grp = 0; grp < g.groups; grp++) {
    const float* wg = w + grp * p.Kg * p.CRS;
    if (transposed)
      packs[grp].pack(true, p.CRS, p.Kg, wg, p.CRS);
    else
      packs[grp].pack(false, p.Kg, p.CRS, wg, p.CRS);
  }
  return packs.data();
}

// Work item -> (first image, image count, group, band).
struct Item {
  int64_t n0, count, grp, band, oh0, oh1;
};

Item decode(const ConvGeometry& g, const Plan& p, int64_t item, bool with_bands) {
  Item it;
  it.band = with_bands ? item % p.bands : 0;
  const int64_t t = with_bands ? item / p.bands : item;
  it.grp = t % g.groups;
  const int64_t block = t / g.groups;
  it.n0 = block * p.nb;
  it.count = g.N - it.n0 < p.nb ? g.N - it.n0 : p.nb;
  it.oh0 = it.band * p.band_rows;
  it.oh1 = it.oh0 + p.band_rows < p.OH ? it.oh0 + p.band_rows : p.OH;
  return it;
}

// Copies the Kg planes of images n0 .. n0+count-1 of tensor t[N, Ctot, OHW] (group
// offset `first` planes) side by side into dst (Kg x count*OHW).
void gather_planes(const float* t, int64_t Ctot, int64_t first, int64_t Kg, int64_t OHW,
                   int64_t n0, int64_t count, float* dst) {
  const int64_t ld = count * OHW;
  for (int64_t j = 0; j < count; j++)
    for (int64_t k = 0; k < Kg; k++)
      std::memcpy(dst + k * ld + j * OHW, t + ((n0 + j) * Ctot + first + k) * OHW,
                  sizeof(float) * OHW);
}

void add_bias(const float* bias, int64_t Kg, float* y, int64_t ld, int64_t cols) {
  for (int64_t k = 0; k < Kg; k++) {
    const float b = bias[k];
    float* row = y + k * ld;
    for (int64_t j = 0; j < cols; j++) row[j] += b;
  }
}

template <typename Run>
void run_items(int64_t items, int nt, Run run) {
  if (nt > 1 && items >= nt) {
#pragma omp parallel for num_threads(nt) schedule(dynamic)
    for (int64_t it = 0; it < items; it++) run(it, 1);
  } else {
    for (int64_t it = 0; it < items; it++) run(it, nt);
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
  const int64_t HW = g.H * g.W, OHW = p.OHW;
  const int64_t items = p.blocks * g.groups * p.bands;
  // The weights of a group meet blocks * bands column blocks: pack them once.
  const SgemmPackedA* packs = p.blocks * p.bands > 1 ? pack_weights(g, p, false, w) : nullptr;

  run_items(items, nt, [&](int64_t item, int inner_threads) {
    const Item it = decode(g, p, item, true);
    const float* wg = w + it.grp * p.Kg * p.CRS;
    const float* bg = bias ? bias + it.grp * p.Kg : nullptr;
    auto gemm = [&](const float* b, int64_t ldb, int64_t cols, float* c, int64_t ldc) {
      if (packs)
        sgemm(packs[it.grp], false, cols, 1.f, b, ldb, 0.f, c, ldc);
      else
        sgemm(false, false, p.Kg, cols, p.CRS, 1.f, wg, p.CRS, b, ldb, 0.f, c, ldc);
    };
    if (p.nb > 1) {
      // Several whole images side by side, then each image's rows to its place in y.
      const int64_t ld = it.count * OHW;
      float* col = thread_scratch(0, p.CRS * ld);
      for (int64_t j = 0; j < it.count; j++)
        im2col_rows(g, p.Cg, x + ((it.n0 + j) * g.C + it.grp * p.Cg) * HW, 0, p.OH,
                    col + j * OHW, ld, inner_threads);
      float* out = thread_scratch(1, p.Kg * ld);
      gemm(col, ld, ld, out, ld);
      for (int64_t j = 0; j < it.count; j++) {
        float* yj = y + ((it.n0 + j) * g.K + it.grp * p.Kg) * OHW;
        for (int64_t k = 0; k < p.Kg; k++) {
          const float* src = out + k * ld + j * OHW;
          float* dst = yj + k * OHW;
          const float b = bg ? bg[k] : 0.f;
          for (int64_t i = 0; i < OHW; i++) dst[i] = src[i] + b;
        }
      }
      return;
    }
    const int64_t cols = (it.oh1 - it.oh0) * p.OW;
    const float* xg = x + (it.n0 * g.C + it.grp * p.Cg) * HW;
    float* yg = y + (it.n0 * g.K + it.grp * p.Kg) * OHW + it.oh0 * p.OW;
    if (p.direct) {
      gemm(xg + it.oh0 * p.OW, HW, cols, yg, OHW);
    } else {
      float* col = thread_scratch(0, p.CRS * cols);
      im2col_rows(g, p.Cg, xg, it.oh0, it.oh1, col, cols, inner_threads);
      gemm(col, cols, cols, yg, OHW);
    }
    if (bg) add_bias(bg, p.Kg, yg, OHW, cols);
  });
}

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
