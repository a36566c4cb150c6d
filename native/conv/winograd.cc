// Baseline build of the Winograd forward, the filter transform, the choice heuristics and
// the dispatch to the ISA the runtime chose.
#define WG_NS wg_baseline
#include "winograd_kernels.inc"

#include "receptive/runtime.h"
#include "receptive/threading.h"

namespace receptive {
namespace conv_detail {

bool winograd_applies(const ConvGeometry& g) {
  // (dilated layers run as undilated phases: winograd_dilated.cc)
  return g.R == 3 && g.S == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h >= 1 &&
         g.dilation_w >= 1;
}

int winograd_tile(const ConvGeometry& g) {
  // F(4x4) unless it leaves the GEMMs too few columns (7x7 and 14x14 planes at batch 1: 4
  // and 16 tiles); F(2x2) then has four times as many tiles and a smaller U to stream
  // (16/9 of the weights against 4x: at batch 1 each layer's U comes from memory; ResNet-18
  // and ResNet-50 at batch 1 ran 4-5% faster with F(2x2) on their 14x14 layers). Also
  // F(2x2) where F(4x4)'s transformed filters would pass 64 MiB (36 / 9 = 4x the plain
  // weights), held per layer by prepared weights. ResNet's 512x512 layers (36 MiB against
  // 16 MiB) take F(4x4): 7x7 at batch 8 4.0 -> 2.4 ms, ResNet-18 at batch 8 8-10% faster;
  // ResNet-50 at batch 32 then peaks at 485 MB with its first stages run in slices of images
  // (613 MB on the whole batch).
  const int64_t tiles4 = winograd_phase_tiles(g, 4);
  const int64_t bytes4 = 36 * g.K * (g.C / g.groups) * static_cast<int64_t>(sizeof(float));
  return tiles4 <= 16 || bytes4 > (int64_t(64) << 20) ? 2 : 4;
}

namespace {

// Outputs (N * OH * OW) from which Winograd beats im2col + GEMM at 16 channels and more;
// below, the weights dominate: 16/9 (F(2x2)) or 4x (F(4x4)) as many bytes to stream per
// call, and their transform when it runs per call. Measured (1 and 2 threads, AVX-512
// and AVX2, weights not in cache): ResNet's 7x7 layers win from batch 8 per call; 14x14
// from batch 2 per call, from batch 1 prepared. Prepared 7x7 layers win from batch 1 too
// on the Xeon with a large L3 (C512: 0.61 ms against 1.07 ms for im2col + GEMM).
bool winograd_worth(const ConvGeometry& g, int64_t min_outputs) {
  if (!winograd_applies(g) || active_isa() == Isa::Scalar) return false;
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  if (Cg < 16 || Kg < 16) return false;  // short GEMMs: the transforms dominate
  return g.N * g.out_h() * g.out_w() >= min_outputs;
}

}  // namespace

bool winograd_preferred(const ConvGeometry& g) { return winograd_worth(g, 256); }
bool winograd_preferred_prepared(const ConvGeometry& g) { return winograd_worth(g, 49); }

namespace {

void transform_filters(int m, const float* w, int64_t Cg, float* u, int64_t ps) {
#if defined(__x86_64__)
  switch (active_isa()) {
    case Isa::Avx512: return wg_avx512::transform_filters(m, w, Cg, u, ps);
    case Isa::Avx2: return wg_avx2::transform_filters(m, w, Cg, u, ps);
    default: return wg_baseline::transform_filters(m, w, Cg, u, ps);
  }
#else
  wg_baseline::transform_filters(m, w, Cg, u, ps);
#endif
}

}  // namespace

void WinogradWeights::prepare(const ConvGeometry& g, const float* w, int tile, bool pack,
                              bool reuse_staging) {
  const int A = tile + 2, P = A * A;
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups, ps = Kg * Cg;
  const int nt = kernel_threads();
  m = tile;
  packed = pack;
  if (!pack) {
    // U[grp][p][k][c], the filters split over the threads.
    plain.resize(static_cast<size_t>(g.groups * P * ps));
    for (int64_t grp = 0; grp < g.groups; grp++) {
      float* ud = plain.data() + grp * P * ps;
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1 && ps >= 4096)
      for (int64_t k = 0; k < Kg; k++)
        transform_filters(tile, w + (grp * Kg + k) * Cg * 9, Cg, ud + k * Cg, ps);
    }
    return;
  }
  // Packed: the filters of a block of output channels are transformed into a staging
  // buffer U[p][k][c] and packed as those rows of each position's matrix. The block keeps
  // the staging small (a whole U is 36 MiB for 512 x 512 channels, and was the peak of a
  // model's memory while it prepared); the per-call path keeps its buffer for the next call.
  packs.resize(static_cast<size_t>(g.groups * P));
  for (int64_t i = 0; i < g.groups * P; i++) packs[i].reset(Kg, Cg);
  const int64_t unit = packs[0].row_block();
  int64_t kb = (int64_t(1) << 20) / (P * std::max<int64_t>(Cg, 1)) / unit * unit;  // <= 4 MiB
  if (kb < unit) kb = unit;
  if (kb > Kg) kb = Kg;
  thread_local std::vector<float> kept;
  std::vector<float> local;
  std::vector<float>& u = reuse_staging ? kept : local;
  u.resize(static_cast<size_t>(P * kb * Cg));
  for (int64_t grp = 0; grp < g.groups; grp++) {
    SgemmPackedA* pk = packs.data() + grp * P;
    for (int64_t k0 = 0; k0 < Kg; k0 += kb) {
      const int64_t kn = std::min(kb, Kg - k0), bs = kn * Cg;  // U[p] of the block: kn x Cg
#pragma omp parallel num_threads(nt) if (nt > 1 && bs >= 4096)
      {
#pragma omp for schedule(static)
        for (int64_t k = 0; k < kn; k++)
          transform_filters(tile, w + (grp * Kg + k0 + k) * Cg * 9, Cg, u.data() + k * Cg, bs);
#pragma omp for schedule(dynamic)
        for (int p = 0; p < P; p++) pk[p].pack_rows(k0, kn, u.data() + p * bs, Cg);
      }
    }
  }
}

size_t WinogradWeights::bytes() const {
  size_t n = packed ? 0 : plain.size() * sizeof(float);
  if (packed)
    for (const SgemmPackedA& p : packs) n += p.bytes();
  return n;
}

void winograd_forward_mapped(const ConvGeometry& g, const float* x, const WinogradWeights& w,
                             const ConvEpilogue& ep, float* y, const PhaseMaps* maps) {
#if defined(__x86_64__)
  switch (active_isa()) {
    case Isa::Avx512: return wg_avx512::forward(g, x, w, ep, y, maps);
    case Isa::Avx2: return wg_avx2::forward(g, x, w, ep, y, maps);
    default: return wg_baseline::forward(g, x, w, ep, y, maps);
  }
#else
  wg_baseline::forward(g, x, w, ep, y, maps);
#endif
}

void winograd_forward(const ConvGeometry& g, const float* x, const WinogradWeights& w,
                      const ConvEpilogue& ep, float* y) {
  if (g.dilation_h != 1 || g.dilation_w != 1) return winograd_forward_dilated(g, x, w, ep, y);
  winograd_forward_mapped(g, x, w, ep, y, nullptr);
}

void winograd_forward_plain(const ConvGeometry& g, const float* x, const float* w,
                            const ConvEpilogue& ep, float* y) {
  // Held by the calling thread and reused: no allocation in steady state. Packed only when
  // many blocks (more than about two of kTargetTiles) will multiply with the filters.
  thread_local WinogradWeights tw;
  const int m = winograd_tile(g);
  tw.prepare(g, w, m, winograd_phase_tiles(g, m) > 320, true);
  winograd_forward(g, x, tw, ep, y);
}

}  // namespace conv_detail
}  // namespace receptive
