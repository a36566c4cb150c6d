// The work plan shared by the GEMM-based convolution paths (forward in conv.cc, backward
// in conv_backward.cc): how the output is cut into bands and image blocks, how work items
// map to threads, and the per-group weight packs.
#pragma once
#include <cstring>
#include <vector>

#include "receptive/conv.h"
#include "receptive/gemm.h"
#include "receptive/threading.h"

namespace receptive {
namespace conv_detail {

// Upper bound on one band's columns matrix, in floats (1 MiB), so that it stays in L2.
constexpr int64_t kColumnBudget = 1 << 18;
// Images are batched into one GEMM until it has at least this many columns.
constexpr int64_t kMinColumns = 256;
constexpr int64_t kMinColumnsDirect = 128;
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

inline bool is_direct_1x1(const ConvGeometry& g) {
  return g.R == 1 && g.S == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_top == 0 &&
         g.pad_left == 0 && g.pad_right == 0 && g.pad_bottom <= 0;
}

inline Plan make_plan(const ConvGeometry& g, int threads) {
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
  // (1x1 planes of 14x14 and up run image by image: straight into y with the output stage in
  // the GEMM, where side by side they go through a workspace and a copy.)
  if (p.OHW < (p.direct ? kMinColumnsDirect : kMinColumns) && g.N > 1) {
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
inline const SgemmPackedA* pack_weights(const ConvGeometry& g, const Plan& p, bool transposed,
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

inline Item decode(const ConvGeometry& g, const Plan& p, int64_t item, bool with_bands) {
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
inline void gather_planes(const float* t, int64_t Ctot, int64_t first, int64_t Kg, int64_t OHW,
                   int64_t n0, int64_t count, float* dst) {
  const int64_t ld = count * OHW;
  for (int64_t j = 0; j < count; j++)
    for (int64_t k = 0; k < Kg; k++)
      std::memcpy(dst + k * ld + j * OHW, t + ((n0 + j) * Ctot + first + k) * OHW,
                  sizeof(float) * OHW);
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

}  // namespace conv_detail
}  // namespace receptive
