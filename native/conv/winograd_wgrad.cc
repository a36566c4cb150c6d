// Winograd weight gradient (winograd_wgrad.h): the plan, the driver and the dispatch of
// the transforms to the ISA the runtime chose; also the baseline build of the transforms.
#define WGW_NS wgw_baseline
#include "winograd_wgrad_kernels.inc"

#include <algorithm>
#include <cstring>
#include <vector>

#include "conv_plan.h"
#include "receptive/gemm.h"
#include "receptive/runtime.h"
#include "receptive/threading.h"
#include "winograd.h"

namespace receptive {
namespace conv_detail {

namespace {

// U + V of a block of tiles (16 * (C + K) floats a tile): about L2, so that the 16 GEMMs
// read them from cache while each adds a block's worth (the inner dimension) into M
// (C64 56x56 at batch 8: 6.4 -> 5.9 ms against 4 MiB blocks) ...
constexpr int64_t kBlockFloats = int64_t(1) << 19;  // 2 MiB
// ... unless that leaves fewer tiles than this: then past L2 for longer GEMMs (C256 14x14:
// 63 tiles a block 4.8 ms, 98 tiles 4.5 ms).
constexpr int64_t kTargetTiles = 96;
// Fewer tiles a block than this leave the GEMMs too short an inner dimension.
constexpr int64_t kMinBlockTiles = 32;

struct WgwPlan {
  int64_t th, tw;        // tile rows and columns of an image
  int64_t rows;          // tile rows of the batch
  int64_t block_rows;    // tile rows a block
  int64_t blocks;
};

WgwPlan wgw_plan(const ConvGeometry& g, int nt) {
  WgwPlan q;
  q.th = (g.out_h() + 1) / 2;
  q.tw = (g.out_w() + 1) / 2;
  q.rows = g.N * q.th;
  const int64_t per_row = 16 * (g.C + g.K) * q.tw;
  const int64_t budget = std::max<int64_t>(kBlockFloats / std::max<int64_t>(per_row, 1), 1);
  const int64_t target = (kTargetTiles + q.tw - 1) / q.tw;
  // two blocks a thread, for the balance, unless that leaves blocks too short for the GEMMs
  const int64_t share = (q.rows + 2 * nt - 1) / (2 * nt);
  const int64_t shortest = (kMinBlockTiles + q.tw - 1) / q.tw;
  int64_t br = std::max(std::min(std::max(budget, target), share), shortest);
  if (br > q.rows) br = q.rows;
  if (br < 1) br = 1;
  q.block_rows = br;
  q.blocks = (q.rows + br - 1) / br;
  return q;
}

void input_tiles(const float* plane, const PlaneSteps& ps, int64_t Hv, int64_t Wv, int64_t pt,
                 int64_t pl, int64_t a0, int64_t a1, int64_t tw, float* rows, float* v,
                 int64_t vs) {
#if defined(__x86_64__)
  switch (active_isa()) {
    case Isa::Avx512:
      return wgw_avx512::input_tiles(plane, ps, Hv, Wv, pt, pl, a0, a1, tw, rows, v, vs);
    case Isa::Avx2:
      return wgw_avx2::input_tiles(plane, ps, Hv, Wv, pt, pl, a0, a1, tw, rows, v, vs);
    default: break;
  }
#endif
  wgw_baseline::input_tiles(plane, ps, Hv, Wv, pt, pl, a0, a1, tw, rows, v, vs);
}

void grad_tiles(const float* plane, const PlaneSteps& ps, int64_t OH, int64_t OW, int64_t a0,
                int64_t a1, int64_t tw, float* rows, float* u, int64_t us) {
#if defined(__x86_64__)
  switch (active_isa()) {
    case Isa::Avx512: return wgw_avx512::grad_tiles(plane, ps, OH, OW, a0, a1, tw, rows, u, us);
    case Isa::Avx2: return wgw_avx2::grad_tiles(plane, ps, OH, OW, a0, a1, tw, rows, u, us);
    default: break;
  }
#endif
  wgw_baseline::grad_tiles(plane, ps, OH, OW, a0, a1, tw, rows, u, us);
}

// A dense (undilated) piece of the weight gradient: the whole layer, or one output phase
// of a dilated one, read in place: its planes start x_off / gy_off floats into each plane
// of x and gy, with rows and columns xs / gs apart. With its tiles' plan.
struct WgwPart {
  ConvGeometry g;
  int64_t x_off, gy_off;
  PlaneSteps xs, gs;
  WgwPlan q;
};

// The dense geometry of each output phase (a, b) of a dilated layer that reads input
// (winograd_dilated.cc), or g itself.
template <typename F>
void for_each_phase(const ConvGeometry& g, F&& fn) {
  if (g.dilation_h == 1 && g.dilation_w == 1) {
    fn(g, PhaseAxis{}, PhaseAxis{}, int64_t(0), int64_t(0));
    return;
  }
  const int64_t OH = g.out_h(), OW = g.out_w();
  for (int64_t a = 0; a < g.dilation_h && a < OH; a++)
    for (int64_t b = 0; b < g.dilation_w && b < OW; b++) {
      const PhaseAxis pa = phase_axis(a, g.dilation_h, g.pad_top, g.H, OH);
      const PhaseAxis pb = phase_axis(b, g.dilation_w, g.pad_left, g.W, OW);
      if (pa.in_len == 0 || pb.in_len == 0) continue;  // only padding under every tap: adds 0
      ConvGeometry pg = g;
      pg.H = pa.in_len;
      pg.W = pb.in_len;
      pg.pad_top = pa.pad_before;
      pg.pad_bottom = pa.pad_after;
      pg.pad_left = pb.pad_before;
      pg.pad_right = pb.pad_after;
      pg.dilation_h = pg.dilation_w = 1;
      fn(pg, pa, pb, a, b);
    }
}

}  // namespace

bool winograd_wgrad_applies(const ConvGeometry& g, int threads) {
  return g.R == 3 && g.S == 3 && g.stride_h == 1 && g.stride_w == 1 && g.dilation_h >= 1 &&
         g.dilation_w >= 1 && g.groups == 1 && g.out_h() >= 1 && g.out_w() >= 1 &&
         16 * g.K * g.C * threads <= kPartialBudget;
}

bool winograd_wgrad_preferred(const ConvGeometry& g, int threads) {
  if (!winograd_wgrad_applies(g, threads) || active_isa() == Isa::Scalar) return false;
  // few channels: the transforms outweigh the GEMMs they shorten (C16 -> 16 on 32x32 at
  // batch 8 took 2x the row-pitch GEMMs' time, C32 -> 32 on 28x28 0.87x)
  if (g.C < 32 || g.K < 32) return false;
  // blocks of enough tiles for every thread
  int64_t blocks = 0;
  bool long_enough = true;
  for_each_phase(g, [&](const ConvGeometry& pg, const PhaseAxis&, const PhaseAxis&, int64_t, int64_t) {
    const WgwPlan q = wgw_plan(pg, threads);
    blocks += q.blocks;
    if (q.block_rows * q.tw < kMinBlockTiles) long_enough = false;
  });
  return blocks >= threads && long_enough;
}

void winograd_backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw) {
  const int nt = kernel_threads();
  const int64_t C = g.C, K = g.K, msize = 16 * K * C;

  // The parts: the layer, or a dilated layer's output phases (rows a mod dh, columns b mod
  // dw of the output: dense 3x3 problems on every dh-th row and dw-th column of the input).
  std::vector<WgwPart> parts;
  const int64_t OW0 = g.out_w();
  for_each_phase(g, [&](const ConvGeometry& pg, const PhaseAxis& pa, const PhaseAxis& pb, int64_t a, int64_t b) {
    WgwPart p;
    p.g = pg;
    p.x_off = (pa.r + pa.skip * g.dilation_h) * g.W + pb.r + pb.skip * g.dilation_w;
    p.gy_off = a * OW0 + b;
    p.xs = {g.dilation_h * g.W, g.dilation_w};
    p.gs = {g.dilation_h * OW0, g.dilation_w};
    p.q = wgw_plan(pg, nt);
    parts.push_back(p);
  });
  const int64_t HW0 = g.H * g.W, OHW0 = g.out_h() * OW0;
  int64_t total = 0;
  for (const WgwPart& p : parts) total += p.q.blocks;

  std::vector<float>* sums = thread_partials(nt, static_cast<size_t>(msize));
  std::vector<char> used(static_cast<size_t>(nt), 0);  // whether a thread's partial was written
  const WgwPart* part_list = parts.data();
  const int64_t nparts = static_cast<int64_t>(parts.size());

#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = thread_index();
    float* mine = sums[tid].data();
    float beta = 0.f;  // the thread's first block overwrites its partial
#pragma omp for schedule(dynamic)
    for (int64_t item = 0; item < total; item++) {
      int64_t pi = 0, blk = item;
      while (pi + 1 < nparts && blk >= part_list[pi].q.blocks) blk -= part_list[pi++].q.blocks;
      const WgwPart& part = part_list[pi];
      const ConvGeometry& pg = part.g;
      const WgwPlan& q = part.q;
      const int64_t H = pg.H, W = pg.W, OH = pg.out_h(), OW = pg.out_w();
      // the input rows and columns the convolution reads (below OH + 2 - pt, OW + 2 - pl)
      const int64_t Hv = std::min(H, OH + 2 - pg.pad_top), Wv = std::min(W, OW + 2 - pg.pad_left);
      const int64_t r0 = blk * q.block_rows, r1 = std::min(r0 + q.block_rows, q.rows);
      const int64_t T = (r1 - r0) * q.tw;
      float* v = thread_scratch(0, static_cast<size_t>(16 * C * T));  // V[xi][c][tile]
      // U[xi][k][tile], then the transforms' scratch: split input rows (2 * rows + 2 of
      // 2 * (tw + 1)) and 16 gathered values a tile
      const int64_t br = r1 - r0;
      float* u = thread_scratch(1, static_cast<size_t>(16 * K * T + 4 * (br + 1) * (q.tw + 1) + 16 * T));
      float* rows = u + 16 * K * T;
      // the block's tile rows, an image at a time
      for (int64_t r = r0; r < r1;) {
        const int64_t n = r / q.th, a0 = r % q.th, a1 = std::min(q.th, a0 + (r1 - r));
        const int64_t t0 = (r - r0) * q.tw;
        for (int64_t c = 0; c < C; c++)
          input_tiles(x + (n * C + c) * HW0 + part.x_off, part.xs, Hv, Wv, pg.pad_top,
                      pg.pad_left, a0, a1, q.tw, rows, v + c * T + t0, C * T);
        for (int64_t k = 0; k < K; k++)
          grad_tiles(gy + (n * K + k) * OHW0 + part.gy_off, part.gs, OH, OW, a0, a1, q.tw, rows,
                     u + k * T + t0, K * T);
        r += a1 - a0;
      }
      for (int xi = 0; xi < 16; xi++)
        sgemm(false, true, K, C, T, 1.f, u + xi * K * T, T, v + xi * C * T, T, beta,
              mine + xi * K * C, C);
      beta = 1.f;
      used[tid] = 1;
    }
    // gw = G^T M G, M summed over the threads' partials; a row of channels at a time
#pragma omp for schedule(static)
    for (int64_t k = 0; k < K; k++) {
      constexpr int64_t kChunk = 64;
      float m[16][kChunk];
      for (int64_t c0 = 0; c0 < C; c0 += kChunk) {
        const int64_t nc = std::min(kChunk, C - c0);
        for (int xi = 0; xi < 16; xi++) {
          float* __restrict mx = m[xi];
          for (int64_t j = 0; j < nc; j++) mx[j] = 0.f;
          for (int t = 0; t < nt; t++) {
            if (!used[t]) continue;
            const float* __restrict p = sums[t].data() + xi * K * C + k * C + c0;
            for (int64_t j = 0; j < nc; j++) mx[j] += p[j];
          }
        }
        for (int64_t j = 0; j < nc; j++) {
          float t3[4][3];  // M G (each row: m0 + (m1 + m2)/2, (m1 - m2)/2, (m1 + m2)/2 + m3)
          for (int i = 0; i < 4; i++) {
            const float h = 0.5f * (m[4 * i + 1][j] + m[4 * i + 2][j]);
            t3[i][0] = m[4 * i][j] + h;
            t3[i][1] = 0.5f * (m[4 * i + 1][j] - m[4 * i + 2][j]);
            t3[i][2] = h + m[4 * i + 3][j];
          }
          float* out = gw + (k * C + c0 + j) * 9;
          for (int s = 0; s < 3; s++) {
            const float h = 0.5f * (t3[1][s] + t3[2][s]);
            out[s] = t3[0][s] + h;
            out[3 + s] = 0.5f * (t3[1][s] - t3[2][s]);
            out[6 + s] = h + t3[3][s];
          }
        }
      }
    }
  }
}

}  // namespace conv_detail
}  // namespace receptive
