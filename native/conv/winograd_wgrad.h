// The weight gradient of 3x3 stride-1 convolutions by Winograd F(3x3, 2x2).
//
// gw[k][c][r][s] = sum over images and outputs of gy[k][oh][ow] * x[c][oh + r - pt][ow + s - pl].
// The output plane is cut into 2x2 tiles; tile t contributes the correlation of its 4x4
// input patch d (per channel) with its 2x2 gradient chunk h (per output channel), a 3x3
// result. F(3x3, 2x2) computes it with 16 multiplications instead of 36:
//   G^T [ (A h A^T) . (B^T d B) ] G,  A = [1 0; 1 1; 1 -1; 0 -1],
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]
// (F(2x2, 3x3)'s transforms with the roles of filter and output swapped). The sum over
// tiles runs in the transformed domain: for each of the 16 positions xi, one GEMM
// M_xi (K x C) += U_xi (K x tiles) V_xi^T (tiles x C), U = A h A^T, V = B^T d B, per
// block of tiles, into per-thread partial sums; gw = G^T M G at the end.
#pragma once

#include <cstdint>

#include "receptive/conv.h"

namespace receptive {
namespace conv_detail {

// Whether the Winograd weight gradient applies to g and is preferred there (3x3, stride 1,
// any dilation (run as dense output phases), one group, 32 channels and more each way,
// enough tiles to share).
bool winograd_wgrad_preferred(const ConvGeometry& g, int threads);
// Whether it can run g at all (the forcing env var's test).
bool winograd_wgrad_applies(const ConvGeometry& g, int threads);

void winograd_backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw);

// Where a (phase) plane's rows and columns lie: floats between rows, and between columns
// (a dilated layer's output phase reads every dilation-th row and column of the plane).
struct PlaneSteps {
  int64_t row, col;
};

// Per-ISA transforms of rows of tiles (see winograd_wgrad_kernels.inc).
#define RECEPTIVE_WGW_DECLARE(NS)                                                              \
  namespace NS {                                                                               \
  void input_tiles(const float* plane, const PlaneSteps& ps, int64_t Hv, int64_t Wv,           \
                   int64_t pt, int64_t pl, int64_t a0, int64_t a1, int64_t tw, float* rows,    \
                   float* v, int64_t vs);                                                      \
  void grad_tiles(const float* plane, const PlaneSteps& ps, int64_t OH, int64_t OW,            \
                  int64_t a0, int64_t a1, int64_t tw, float* rows, float* u, int64_t us);      \
  }
RECEPTIVE_WGW_DECLARE(wgw_baseline)
RECEPTIVE_WGW_DECLARE(wgw_avx2)
RECEPTIVE_WGW_DECLARE(wgw_avx512)
#undef RECEPTIVE_WGW_DECLARE

}  // namespace conv_detail
}  // namespace receptive
