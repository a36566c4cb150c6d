// 2-D pooling kernels, NCHW, float32. Plain C++: no N-API here. The caller has validated
// the geometry (every window starts inside the input or its top/left padding) and the
// buffer lengths.
#pragma once
#include <cstdint>

namespace receptive {

// Mirrors PoolGeometry in lib/backend/backend.ts; the caller chooses OH x OW.
struct PoolGeometry {
  int64_t N, C, H, W;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_h, pad_w;
  int64_t dilation_h, dilation_w;
  int64_t OH, OW;
};

struct AdaptivePoolGeometry {
  int64_t N, C, H, W;
  int64_t OH, OW;
};

// Padding counts as -inf. indices[i] = h*W + w of the first maximum in row-major window
// order, or -1 for a window that holds padding only (y = -inf there). indices may be null
// (inference): y alone is computed, the same values, on faster paths.
void max_pool2d_forward(const PoolGeometry& g, const float* x, float* y, int32_t* indices);
// gx (overwritten) = scatter-add of gy through indices; -1 entries are skipped.
void max_pool2d_backward(const PoolGeometry& g, const float* gy, const int32_t* indices,
                         float* gx);

// PyTorch's divisor: with count_include_pad, the window cells up to the far padding edge
// (never the cells past it that ceil mode adds); else the real input cells only.
void avg_pool2d_forward(const PoolGeometry& g, bool count_include_pad, const float* x, float* y);
void avg_pool2d_backward(const PoolGeometry& g, bool count_include_pad, const float* gy,
                         float* gx);

// Bin i covers [floor(i*In/Out), ceil((i+1)*In/Out)).
void adaptive_avg_pool2d_forward(const AdaptivePoolGeometry& g, const float* x, float* y);
void adaptive_avg_pool2d_backward(const AdaptivePoolGeometry& g, const float* gy, float* gx);

}  // namespace receptive
