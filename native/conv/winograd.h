// Winograd convolution F(m x m, 3 x 3), m = 4 (36 multiplications per 16 outputs instead
// of 144) or m = 2 (16 per 4), for 3x3 stride-1 layers (dilated ones as undilated phases); forward only.
//
//   U = G g G^T    per (k, c): the filters, transformed once (prepare) or per call;
//   V = B^T d B    per (c, tile): (m+2)^2 values from the (m+2)x(m+2) input patch;
//   M[p] = U[p] V[p]   for each of the (m+2)^2 positions p: a GEMM [Kg x Cg] x [Cg x tiles];
//   y = A^T M A    per (k, tile), fused with the output stage (bias, residual, ReLU).
//
// Tiles are cut along the output rows: a work item is a block of consecutive tile rows
// (across images when the planes are small, so that the GEMMs get enough columns) of one
// group. The transforms work on whole blocks with the tile index innermost, so their loops
// are contiguous and vectorise with each ISA's flags (winograd_kernels.inc is built once
// per ISA). Items run on separate threads; when there are fewer items than threads, the
// phases of each item (input transform over channels, GEMMs over positions, output
// transform over output channels) are split over the threads instead.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "receptive/conv.h"
#include "receptive/gemm.h"

namespace receptive {
namespace conv_detail {

// Whether Winograd can run this geometry: 3x3, stride 1 (any dilation, padding, groups).
bool winograd_applies(const ConvGeometry& g);
// Whether ConvPolicy::Auto should pick it (measured faster than im2col + GEMM), with the
// filters transformed per call, and with prepared weights (transformed once).
bool winograd_preferred(const ConvGeometry& g);
bool winograd_preferred_prepared(const ConvGeometry& g);
// Output tile size for the geometry (4 or 2).
int winograd_tile(const ConvGeometry& g);

// Transformed filters U, per group and position a Kg x Cg matrix: packed for sgemm once
// (prepared weights, or per call when many blocks will reuse them), or plain (per call
// with few blocks: sgemm's own packing of A then costs no more than packing once).
struct WinogradWeights {
  int m = 0;  // output tile; 0 when empty
  bool packed = false;
  std::vector<SgemmPackedA> packs;  // [group][position] when packed
  std::vector<float> plain;         // [group][position][Kg][Cg] when not
  // w [K, C/groups, 3, 3] (already scaled), tile m. reuse_staging: keep the staging
  // buffer of the packed form for the calling thread's next call (per-call preparation).
  void prepare(const ConvGeometry& g, const float* w, int m, bool pack = true,
               bool reuse_staging = false);
  size_t bytes() const;
};

// y = epilogue(conv(x, w)) with transformed weights (w.m decides the tile). ep.residual may
// be y itself (in-place residual add): each value is read right before its y is written.
void winograd_forward(const ConvGeometry& g, const float* x, const WinogradWeights& w,
                      const ConvEpilogue& ep, float* y);
// Dilated geometries (winograd_dilated.cc): the dilation_h x dilation_w output phases, each
// an undilated convolution of a subsampled input, run as one convolution (PhaseMaps).
void winograd_forward_dilated(const ConvGeometry& g, const float* x, const WinogradWeights& w,
                              const ConvEpilogue& ep, float* y);
// Tiles of m x m outputs over all phases (the output itself when undilated).
int64_t winograd_phase_tiles(const ConvGeometry& g, int m);

// One axis of a dilated 3x3 stride-1 layer's phase (winograd_dilated.cc): output positions
// a, a + d, ... (out_len of them) read the input positions r + d*i from i = skip on (in_len
// of them), with pad_before zeros in front and pad_after behind (may be negative).
struct PhaseAxis {
  int64_t r, skip, in_len, out_len, pad_before, pad_after;
};
PhaseAxis phase_axis(int64_t a, int64_t d, int64_t pad, int64_t in, int64_t out);
// The same from plain weights (transformed per call into a reused per-thread buffer).
void winograd_forward_plain(const ConvGeometry& g, const float* x, const float* w,
                            const ConvEpilogue& ep, float* y);

// A dilated layer as one undilated convolution over a virtual image (winograd_dilated.cc):
// its input phases side by side along each axis, each with its own zero padding, so that
// every 3x3 window reads one phase only (the two outputs between neighbouring phases are
// computed and dropped). The maps take the virtual rows and columns to x's and y's; the
// kernels read and write x, y and the residual through them, with no phase copies.
struct PhaseMaps {
  // Along one axis, one phase: virtual positions [v, v + len) <-> real positions r, r + d, ...
  struct Run {
    int32_t v, r, len;
  };
  const ConvGeometry* real;  // the dilated layer: x, y and the residual are its tensors
  const int32_t* in_row;     // virtual input row -> x row, or -1 (zeros)
  const int32_t* out_row;    // virtual output row -> y row, or -1 (dropped)
  const Run* in_cols;        // the columns of x in a virtual input row (zeros elsewhere)
  const Run* out_cols;       // the columns of y in a virtual output row (dropped elsewhere)
  int n_in_cols, n_out_cols;
};

// The per-ISA forward; maps: g is a dilated layer's virtual image (winograd_dilated.cc).
void winograd_forward_mapped(const ConvGeometry& g, const float* x, const WinogradWeights& w,
                             const ConvEpilogue& ep, float* y, const PhaseMaps* maps);

// One build per ISA (winograd_kernels.inc). maps: g is the virtual geometry of a dilated
// layer (see PhaseMaps).
#define RECEPTIVE_WG_DECLARE(ns)                                                          \
  namespace ns {                                                                          \
  void forward(const ConvGeometry& g, const float* x, const WinogradWeights& w,          \
               const ConvEpilogue& ep, float* y, const PhaseMaps* maps = nullptr);       \
  /* u[p * ps + c] = (G f_c G^T)[p], f_c = w[c * 9 .. c * 9 + 8], c in [0, Cg) */          \
  void transform_filters(int m, const float* w, int64_t Cg, float* u, int64_t ps);        \
  }
RECEPTIVE_WG_DECLARE(wg_baseline)
RECEPTIVE_WG_DECLARE(wg_avx2)
RECEPTIVE_WG_DECLARE(wg_avx512)
#undef RECEPTIVE_WG_DECLARE

}  // namespace conv_detail
}  // namespace receptive
