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
#include "conv_plan.h"

namespace receptive {

using conv_detail::col2im_rows;
using conv_detail::im2col_rows;
using namespace conv_detail;  // the plan (conv_plan.h)


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

}  // namespace receptive
