// Winograd for dilated 3x3 stride-1 convolutions. With dilation d, the outputs whose row is
// a mod dh and column b mod dw read only the input rows r_a mod dh and columns r_b mod dw:
// each of the dh x dw output phases is an undilated 3x3 convolution of a subsampled input
// (a "phase image"), with its own padding. The phase images, side by side along each axis,
// make one virtual image whose undilated convolution holds every phase's outputs; the dense
// Winograd forward runs over it, reading x and writing y through row and column maps (no
// phase copies: gathering the phases and scattering their outputs was a fifth of the time
// of C64 56x56 d2 on AVX2). (im2col + GEMM ran these layers at ~270 GFLOP/s against ~500
// for Winograd on the phase images.)
#include <algorithm>
#include <vector>

#include "receptive/threading.h"
#include "winograd.h"

namespace receptive {
namespace conv_detail {

PhaseAxis phase_axis(int64_t a, int64_t d, int64_t pad, int64_t in, int64_t out) {
  PhaseAxis p;
  const int64_t t = a - pad;  // input position of tap 0 for output a
  const int64_t q = ConvGeometry::floor_div(t, d);
  p.r = t - q * d;
  p.out_len = a < out ? (out - a + d - 1) / d : 0;
  const int64_t sub = p.r < in ? (in - p.r + d - 1) / d : 0;  // positions r, r + d, ...
  p.skip = q > 0 ? q : 0;
  p.pad_before = q < 0 ? -q : 0;
  p.in_len = std::max<int64_t>(0, sub - p.skip);
  // out_len = in_len + pad_before + pad_after - 2 (3 taps, stride 1)
  p.pad_after = p.out_len + 2 - p.in_len - p.pad_before;
  return p;
}

int64_t winograd_phase_tiles(const ConvGeometry& g, int m) {
  const int64_t dh = g.dilation_h, dw = g.dilation_w, OH = g.out_h(), OW = g.out_w();
  int64_t tiles = 0;
  for (int64_t a = 0; a < dh && a < OH; a++)
    for (int64_t b = 0; b < dw && b < OW; b++) {
      const int64_t oh = (OH - a + dh - 1) / dh, ow = (OW - b + dw - 1) / dw;
      tiles += g.N * ((oh + m - 1) / m) * ((ow + m - 1) / m);
    }
  return tiles;
}

namespace {

// One axis of the virtual image: the phases a = 0 .. d-1 (those with outputs) in turn, each
// as its pad_before zeros, its in_len input positions and its pad_after zeros (out_len + 2
// positions in all; a negative pad_after drops inputs its outputs do not read). Returns the
// virtual input length; in_runs / out_runs: the phases' input and output positions.
int64_t axis_runs(int64_t d, int64_t pad, int64_t in, int64_t out,
                  std::vector<PhaseMaps::Run>* in_runs, std::vector<PhaseMaps::Run>* out_runs) {
  in_runs->clear();
  out_runs->clear();
  int64_t v = 0;
  for (int64_t a = 0; a < d && a < out; a++) {
    const PhaseAxis p = phase_axis(a, d, pad, in, out);
    const int64_t len = std::min(p.in_len, p.out_len + 2 - p.pad_before);
    if (len > 0)
      in_runs->push_back({static_cast<int32_t>(v + p.pad_before),
                          static_cast<int32_t>(p.r + p.skip * d), static_cast<int32_t>(len)});
    out_runs->push_back({static_cast<int32_t>(v), static_cast<int32_t>(a),
                         static_cast<int32_t>(p.out_len)});
    v += p.out_len + 2;  // (the next phase's windows start past the two across the seam)
  }
  return v;
}

// Runs -> a position map of n entries (-1 outside the runs).
void run_map(const std::vector<PhaseMaps::Run>& runs, int64_t d, int64_t n,
             std::vector<int32_t>* map) {
  map->assign(static_cast<size_t>(n), -1);
  for (const PhaseMaps::Run& r : runs)
    for (int32_t i = 0; i < r.len; i++) (*map)[static_cast<size_t>(r.v + i)] = static_cast<int32_t>(r.r + i * d);
}

}  // namespace

void winograd_forward_dilated(const ConvGeometry& g, const float* x, const WinogradWeights& w,
                              const ConvEpilogue& ep, float* y) {
  // (Held by the calling thread; the kernels' threads read them through the maps.)
  thread_local std::vector<PhaseMaps::Run> row_in, row_out, col_in, col_out;
  thread_local std::vector<int32_t> in_row, out_row;
  const int64_t VH = axis_runs(g.dilation_h, g.pad_top, g.H, g.out_h(), &row_in, &row_out);
  const int64_t VW = axis_runs(g.dilation_w, g.pad_left, g.W, g.out_w(), &col_in, &col_out);
  run_map(row_in, g.dilation_h, VH, &in_row);
  run_map(row_out, g.dilation_h, VH - 2, &out_row);
  ConvGeometry vg = g;  // the virtual image: unpadded, undilated, 3x3
  vg.H = VH;
  vg.W = VW;
  vg.pad_top = vg.pad_bottom = vg.pad_left = vg.pad_right = 0;
  vg.dilation_h = vg.dilation_w = 1;
  const PhaseMaps maps{&g, in_row.data(), out_row.data(), col_in.data(), col_out.data(),
                       static_cast<int>(col_in.size()), static_cast<int>(col_out.size())};
  winograd_forward_mapped(vg, x, w, ep, y, &maps);
}

}  // namespace conv_detail
}  // namespace receptive
