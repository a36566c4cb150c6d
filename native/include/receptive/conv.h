// 2-D convolution (cross-correlation) kernels, NCHW, float32. Plain C++: no N-API here.
// The caller (addon.cc) has validated the geometry and buffer lengths; these functions
// trust their arguments.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

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

// The algorithm the forward kernels pick for a geometry (reported by `receptive info`,
// tests and benches). The backward kernels use the GEMM paths (or depthwise-direct).
enum class ConvAlgorithm { Im2colGemm, Gemm1x1, DepthwiseDirect, Winograd, DirectSmall };
ConvAlgorithm conv2d_algorithm(const ConvGeometry& g);
const char* conv_algorithm_name(ConvAlgorithm a);

// Which forward algorithms conv2d_algorithm may choose. Auto decides by shape; the others
// force an algorithm wherever it applies (elsewhere the auto choice stands), so that
// tests can run every path. Initialised from RECEPTIVE_CONV_ALGO=auto|gemm|winograd|direct.
enum class ConvPolicy { Auto, Gemm, Winograd, DirectSmall };
void set_conv_policy(ConvPolicy p);
ConvPolicy conv_policy();
// Parses "auto", "gemm", "winograd", "direct"; false for anything else.
bool parse_conv_policy(const char* name, ConvPolicy* out);
const char* conv_policy_name(ConvPolicy p);

// One destination of a split output: its `channels` output channels of image n start at
// y + n * image_stride (>= channels * OH * OW; the floats between images are not touched).
struct ConvOutputPart {
  float* y = nullptr;
  int64_t channels = 0;
  int64_t image_stride = 0;
};
// At most this many parts.
constexpr int kMaxConvOutputParts = 8;

// The convolution's output stage, applied while the output block is still in cache:
// y = relu?(conv(x, w) + bias[k] + residual).
struct ConvEpilogue {
  const float* bias = nullptr;      // [K], or null
  const float* residual = nullptr;  // [N, K, OH, OW], or null; must not alias y
  bool relu = false;
  // Floats from one image of y to the next; 0: K * OH * OW (y contiguous). Wider: y is the
  // first of K channels in a larger tensor (a concatenation), and the floats between the
  // images are not touched. Only without a residual.
  int64_t y_image_stride = 0;
  int64_t y_stride(const ConvGeometry& g) const {
    return y_image_stride ? y_image_stride : g.K * g.out_h() * g.out_w();
  }
  // Or the output channels split in order among part_count destinations (see
  // conv2d_forward_split; the GEMM paths only, then y is unused).
  const ConvOutputPart* parts = nullptr;
  int part_count = 0;
};

// One layer's weights made ready once for many forward calls (inference): scaled per
// output channel (BatchNorm folding: w'[k] = w[k] * scale[k]), with the bias kept, and
// laid out for the algorithm chosen for the geometry given to prepare() (packed GEMM
// panels, Winograd-transformed tiles, or plain). Valid for any geometry with the same
// filter, groups, strides and dilations; only N, H, W and the paddings may change.
// Computing from several threads at once is fine; prepare() is not.
class ConvWeights {
 public:
  ConvWeights();
  ~ConvWeights();
  ConvWeights(const ConvWeights&) = delete;
  ConvWeights& operator=(const ConvWeights&) = delete;
  // w [K, C/groups, R, S]; scale [K] or null (1); bias [K] or null (0).
  void prepare(const ConvGeometry& g, const float* w, const float* scale, const float* bias);
  bool compatible(const ConvGeometry& g) const;
  ConvAlgorithm algorithm() const { return algorithm_; }
  // The kernel behind algorithm(): its name, or "pixel-rows" for the 1x1 layout of small
  // planes (conv/pixel_rows.h).
  const char* kernel() const;
  // Bytes held.
  size_t bytes() const;
  struct Impl;

 private:
  friend void conv2d_forward(const ConvGeometry& g, const float* x, const ConvWeights& w,
                             const float* residual, bool relu, float* y, int64_t y_image_stride);
  friend void conv2d_forward_split(const ConvGeometry& g, const float* x, const ConvWeights& w,
                                   bool relu, const ConvOutputPart* parts, int count);
  ConvGeometry g_{};
  ConvAlgorithm algorithm_ = ConvAlgorithm::Im2colGemm;
  std::unique_ptr<Impl> impl_;
};

// y[N, K, OH, OW] = conv(x, w) + bias (bias may be null).
void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    float* y);
// y = epilogue(conv(x, w)).
void conv2d_forward(const ConvGeometry& g, const float* x, const float* w,
                    const ConvEpilogue& ep, float* y);
// y = relu?(conv(x, w') + bias' + residual) with prepared weights (w.compatible(g)).
// residual == y adds in place: y = relu?(y + conv(x, w') + bias') (a residual block's
// shortcut accumulated into its own buffer); any other overlap is not allowed.
// y_image_stride: see ConvEpilogue (0: contiguous); not with a residual.
void conv2d_forward(const ConvGeometry& g, const float* x, const ConvWeights& w,
                    const float* residual, bool relu, float* y, int64_t y_image_stride = 0);
// Sibling layers (convolutions of one input with the same filter size, stride, padding and
// dilation) as one: w holds their filters one after another, and output channels go to
// parts[0], parts[1], ... in order (their channels add up to K), y = relu?(conv + bias').
// The GEMM paths (groups == 1) write each part in place from one product, so that the
// input is read once for all of them; the other algorithms compute aside and copy.
void conv2d_forward_split(const ConvGeometry& g, const float* x, const ConvWeights& w, bool relu,
                          const ConvOutputPart* parts, int count);
// gx[N, C, H, W] (overwritten) from gy[N, K, OH, OW].
void conv2d_backward_input(const ConvGeometry& g, const float* gy, const float* w, float* gx);
// gw[K, C/groups, R, S] (overwritten) from x and gy.
void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw);
// gb[K] (overwritten) = sum of gy over N, OH, OW.
void conv2d_backward_bias(const ConvGeometry& g, const float* gy, float* gb);

}  // namespace receptive
