// Baseline build of the Winograd forward, the filter transform, the choice heuristics and
// the dispatch to the ISA the runtime chose.
#define WG_NS wg_baseline
#include "winograd_kernels.inc"

#include "receptive/runtime.h"

namespace receptive {
namespace conv_detail {

bool winograd_applies(const ConvGeometry& g) {
  return g.R == 3 && g.S == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h == 1 &&
         g.dilation_w == 1;
}

int winograd_tile(const ConvGeometry& g) {
  // F(4x4) unless it leaves the GEMMs too few columns (7x7 planes at batch 1: 4 tiles);
  // F(2x2) then has four times as many tiles and a smaller U to stream per tile. Also
  // F(2x2) where F(4x4)'s transformed filters would pass 32 MiB (36 / 9 = 4x the plain
  // weights; 512x512 layers: 38 MiB against 17 MiB): held per layer by prepared weights,
  // they would dominate a model's memory (ResNet-50's 3x3 layers: 181 MiB against 45).
  const int64_t tiles4 = g.N * ((g.out_h() + 3) / 4) * ((g.out_w() + 3) / 4);
  const int64_t bytes4 = 36 * g.K * (g.C / g.groups) * static_cast<int64_t>(sizeof(float));
  return tiles4 < 16 || bytes4 > (int64_t(32) << 20) ? 2 : 4;
}

bool winograd_preferred(const ConvGeometry& g) {
  if (!winograd_applies(g) || active_isa() == Isa::Scalar) return false;
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  // Measured (1 and 2 threads, AVX-512 and AVX2) against im2col + GEMM: 1.4-2.2x from 16
  // channels up on planes of 7x7 and more; below, the GEMMs are short and the transforms
  // dominate. A handful of outputs in all (a 4x4 or 2x2 plane at batch 1) is one or two
  // tiles: the GEMMs get no columns.
  if (Cg < 16 || Kg < 16) return false;
  return g.N * g.out_h() * g.out_w() >= 40;
}

namespace {

// G (A x 3) of F(m x m, 3 x 3), in double for the transform.
const double* filter_matrix(int m) {
  static const double g4[6 * 3] = {1.0 / 4,  0,         0,         -1.0 / 6, -1.0 / 6, -1.0 / 6,
                                   -1.0 / 6, 1.0 / 6,   -1.0 / 6,  1.0 / 24, 1.0 / 12, 1.0 / 6,
                                   1.0 / 24, -1.0 / 12, 1.0 / 6,   0,        0,        1};
  static const double g2[4 * 3] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
  return m == 2 ? g2 : g4;
}

}  // namespace

void WinogradWeights::prepare(const ConvGeometry& g, const float* w, int tile) {
  const int A = tile + 2, P = A * A;
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  const double* G = filter_matrix(tile);
  // U[p][k][c] of one group, then packed per position.
  thread_local std::vector<float> u;
  u.resize(static_cast<size_t>(P * Kg * Cg));
  packs.resize(static_cast<size_t>(g.groups * P));
  for (int64_t grp = 0; grp < g.groups; grp++) {
    for (int64_t k = 0; k < Kg; k++)
      for (int64_t c = 0; c < Cg; c++) {
        const float* f = w + ((grp * Kg + k) * Cg + c) * 9;
        double t[6][3];  // G f
        for (int i = 0; i < A; i++)
          for (int j = 0; j < 3; j++)
            t[i][j] = G[i * 3] * f[j] + G[i * 3 + 1] * f[3 + j] + G[i * 3 + 2] * f[6 + j];
        for (int i = 0; i < A; i++)
          for (int j = 0; j < A; j++) {
            const double v = t[i][0] * G[j * 3] + t[i][1] * G[j * 3 + 1] + t[i][2] * G[j * 3 + 2];
            u[((i * A + j) * Kg + k) * Cg + c] = static_cast<float>(v);
          }
      }
    for (int p = 0; p < P; p++)
      packs[grp * P + p].pack(false, Kg, Cg, u.data() + p * Kg * Cg, Cg);
  }
  m = tile;
}

size_t WinogradWeights::bytes() const {
  size_t n = 0;
  for (const SgemmPackedA& p : packs) n += p.bytes();
  return n;
}

void winograd_forward(const ConvGeometry& g, const float* x, const WinogradWeights& w,
                      const ConvEpilogue& ep, float* y) {
#if defined(__x86_64__)
  switch (active_isa()) {
    case Isa::Avx512: return wg_avx512::forward(g, x, w.packs.data(), w.m, ep, y);
    case Isa::Avx2: return wg_avx2::forward(g, x, w.packs.data(), w.m, ep, y);
    default: return wg_baseline::forward(g, x, w.packs.data(), w.m, ep, y);
  }
#else
  wg_baseline::forward(g, x, w.packs.data(), w.m, ep, y);
#endif
}

void winograd_forward_plain(const ConvGeometry& g, const float* x, const float* w,
                            const ConvEpilogue& ep, float* y) {
  // Held by the calling thread and reused: the packs keep their capacity across calls.
  thread_local WinogradWeights tw;
  tw.prepare(g, w, winograd_tile(g));
  winograd_forward(g, x, tw, ep, y);
}

}  // namespace conv_detail
}  // namespace receptive
