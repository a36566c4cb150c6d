// 2-D convolution (cross-correlation) kernels, NCHW, float32. Plain C++: no N-API here.
// The caller (addon.cc) has validated the geometry and buffer lengths; these functions
// trust their arguments.
#pragma once
#include <cstdint>

namespace receptive {

// Mirrors ConvGeometry in lib/backend/backend.ts. Weight is [K, C/groups, R, S].
// pad_top/pad_left >= 0; pad_bottom/pad_right may be negative (transposed convolution's
// output padding maps onto them) as long as the output is at least 1x1.
struct ConvGeometry {
  int64_t N, C, H, W;
  int64_t K, R, S;
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_bottom, pad_left, pad_right;
  int64_t dilation_h, dilation_w;
  int64_t groups;

  int64_t out_h() const {
    return floor_div(H + pad_top + pad_bottom - dilation_h * (R - 1) - 1, stride_h) + 1;
  }
  int64_t out_w() const {
    return floor_div(W + pad_left + pad_right - dilation_w * (S - 1) - 1, stride_w) + 1;
  }
  static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
  }
};

// The algorithm the kernels pick for a geometry, for diagnostics (`receptive info`,
// tests, benches).
enum class ConvAlgorithm { Im2colGemm, Gemm1x1, DepthwiseDirect };
ConvAlgorithm conv2d_algorithm(const ConvGeometry& g);
const char* conv_algorithm_name(ConvAlgorithm a);

// y[N, K, OH, OW] = conv(x, w) + bias (bias may be null).
void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    float* y);
// gx[N, C, H, W] (overwritten) from gy[N, K, OH, OW].
void conv2d_backward_input(const ConvGeometry& g, const float* gy, const float* w, float* gx);
// gw[K, C/groups, R, S] (overwritten) from x and gy.
void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw);
// gb[K] (overwritten) = sum of gy over N, OH, OW.
void conv2d_backward_bias(const ConvGeometry& g, const float* gy, float* gb);

}  // namespace receptive
