// Convolution forward through GEMM, the forward algorithm choice, and prepared weights.
// Per image and group, the input is unrolled (im2col) into a (Cg*R*S) x (rows*OW) matrix
// for a band of output rows, so the workspace stays bounded for big inputs; then
// Y = W x col, and the output stage (bias, residual, ReLU) runs on the band while it is in
// cache. Small outputs (7x7, 14x14) put several images side by side in one wider column
// matrix instead, so that the GEMM is not starved of columns. 1x1 stride-1 unpadded
// convolutions use the input itself as the GEMM operand. Convolutions with one input
// channel per group go to the direct depthwise kernels.
//
// Parallelism: the work items (image block, group, band) run on separate threads with a
// single-threaded sgemm each when there are at least as many items as threads;
// otherwise the items run in turn and sgemm (and im2col) use all the threads.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "conv_plan.h"
#include "depthwise.h"
#include "direct_small.h"
#include "epilogue.h"
#include "im2col.h"
#include "pixel_rows.h"
#include "receptive/conv.h"
#include "receptive/gemm.h"
#include "receptive/threading.h"
#include "winograd.h"

namespace receptive {

using conv_detail::im2col_rows;
using namespace conv_detail;  // the plan (conv_plan.h)

// ---- algorithm policy ----------------------------------------------------------------

namespace {

ConvPolicy policy_from_env() {
  ConvPolicy p = ConvPolicy::Auto;
  const char* env = std::getenv("RECEPTIVE_CONV_ALGO");
  if (env != nullptr && *env != '\0' && !parse_conv_policy(env, &p)) p = ConvPolicy::Auto;
  return p;
}

std::atomic<int>& policy_slot() {
  static std::atomic<int> slot{static_cast<int>(policy_from_env())};
  return slot;
}

}  // namespace

void set_conv_policy(ConvPolicy p) { policy_slot().store(static_cast<int>(p)); }
ConvPolicy conv_policy() { return static_cast<ConvPolicy>(policy_slot().load()); }

bool parse_conv_policy(const char* name, ConvPolicy* out) {
  const std::string s = name ? name : "";
  if (s == "auto") *out = ConvPolicy::Auto;
  else if (s == "gemm") *out = ConvPolicy::Gemm;
  else if (s == "winograd") *out = ConvPolicy::Winograd;
  else if (s == "direct") *out = ConvPolicy::DirectSmall;
  else return false;
  return true;
}

const char* conv_policy_name(ConvPolicy p) {
  switch (p) {
    case ConvPolicy::Gemm: return "gemm";
    case ConvPolicy::Winograd: return "winograd";
    case ConvPolicy::DirectSmall: return "direct";
    default: return "auto";
  }
}

ConvAlgorithm conv2d_algorithm(const ConvGeometry& g) {
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  if (Cg == 1 && Kg <= 4) return ConvAlgorithm::DepthwiseDirect;
  // dispatch: Winograd and DirectSmall choices go here (policy, then shape).
  {
    const ConvPolicy pol = conv_policy();
    if (pol == ConvPolicy::DirectSmall && direct_small_applies(g))
      return ConvAlgorithm::DirectSmall;
    if (pol == ConvPolicy::Auto && direct_small_preferred(g)) return ConvAlgorithm::DirectSmall;
    if (pol == ConvPolicy::Winograd && winograd_applies(g)) return ConvAlgorithm::Winograd;
    if (pol == ConvPolicy::Auto && winograd_preferred(g)) return ConvAlgorithm::Winograd;
  }
  if (is_direct_1x1(g)) return ConvAlgorithm::Gemm1x1;
  return ConvAlgorithm::Im2colGemm;
}

const char* conv_algorithm_name(ConvAlgorithm a) {
  switch (a) {
    case ConvAlgorithm::DepthwiseDirect: return "depthwise-direct";
    case ConvAlgorithm::Gemm1x1: return "gemm-1x1";
    case ConvAlgorithm::Winograd: return "winograd";
    case ConvAlgorithm::DirectSmall: return "direct-small";
    default: return "im2col-gemm";
  }
}

// ---- output stage for kernels without a fused one ---------------------------------------

namespace conv_detail {

void apply_epilogue_planes(const ConvGeometry& g, const ConvEpilogue& ep, bool bias_done,
                           float* y) {
  const float* bias = bias_done ? nullptr : ep.bias;
  if (!bias && !ep.residual && !ep.relu) return;
  const int64_t OHW = g.out_h() * g.out_w(), planes = g.N * g.K;
  const int nt = kernel_threads();
  const bool par = nt > 1 && planes * OHW >= (1 << 15);
#pragma omp parallel for num_threads(nt) if (par) schedule(static)
  for (int64_t pl = 0; pl < planes; pl++) {
    const int64_t k = pl % g.K;
    apply_epilogue(bias ? bias + k : nullptr, ep.residual ? ep.residual + pl * OHW : nullptr,
                   OHW, ep.relu, 1, y + pl * OHW, OHW, OHW);
  }
}

}  // namespace conv_detail

// ---- GEMM paths ----------------------------------------------------------------------

namespace {

// A filter that covers the whole unpadded input (LeNet's C5, a classifier written as a
// convolution): one output per image and channel, so the convolution is the product
// Y^T (K x N) = W (K x CRS) x X^T, X = the images as rows of CRS values.
bool covers_whole_input(const ConvGeometry& g) {
  return g.groups == 1 && g.R == g.H && g.S == g.W && g.pad_top == 0 && g.pad_bottom == 0 &&
         g.pad_left == 0 && g.pad_right == 0 && g.dilation_h == 1 && g.dilation_w == 1;
}

void forward_whole_input(const ConvGeometry& g, const float* x, const float* w,
                         const SgemmPackedA* packs, const ConvEpilogue& ep, float* y) {
  const int64_t CRS = g.C * g.R * g.S;
  float* yt = thread_scratch(1, g.K * g.N);
  const float* res = ep.residual;  // (y itself when accumulating: read before written)
  if (packs)
    sgemm(packs[0], true, g.N, 1.f, x, CRS, 0.f, yt, g.N);
  else
    sgemm(false, true, g.K, g.N, CRS, 1.f, w, CRS, x, CRS, 0.f, yt, g.N);
  // y and the residual are [N, K] (1x1 planes): transpose with the output stage
  const int64_t ys = ep.y_stride(g);
  for (int64_t n = 0; n < g.N; n++)
    for (int64_t k = 0; k < g.K; k++) {
      float v = yt[k * g.N + n] + (ep.bias ? ep.bias[k] : 0.f) + (res ? res[n * g.K + k] : 0.f);
      if (ep.relu && v < 0.f) v = 0.f;
      y[n * ys + k] = v;
    }
}

// The GEMM-based forward with per-group weights w (raw, [K, CRS]) or packs (prepared;
// then w is unused). `accumulate`: y holds the residual, and the GEMM adds onto it.
void forward_gemm(const ConvGeometry& g, const float* x, const float* w,
                  const SgemmPackedA* packs, const ConvEpilogue& ep, float* y,
                  bool accumulate = false) {
  if (covers_whole_input(g)) {
    ConvEpilogue e = ep;
    if (accumulate) e.residual = y;  // element-wise: each residual value is read before its y
    forward_whole_input(g, x, w, packs, e, y);
    return;
  }
  const int nt = kernel_threads();
  const Plan p = make_plan(g, nt);
  const int64_t HW = g.H * g.W, OHW = p.OHW, ys = ep.y_stride(g);
  const int64_t items = p.blocks * g.groups * p.bands;
  // The weights of a group meet blocks * bands column blocks: pack them once.
  if (!packs && p.blocks * p.bands > 1) packs = pack_weights(g, p, false, w);

  run_items(items, nt, [&](int64_t item, int inner_threads) {
    const Item it = decode(g, p, item, true);
    const float* wg = w ? w + it.grp * p.Kg * p.CRS : nullptr;
    const float* bg = ep.bias ? ep.bias + it.grp * p.Kg : nullptr;
    auto gemm = [&](const float* b, int64_t ldb, int64_t cols, float* c, int64_t ldc,
                    float beta, const GemmEpilogue* gep) {
      if (packs)
        sgemm(packs[it.grp], false, cols, 1.f, b, ldb, beta, c, ldc, gep);
      else
        sgemm(false, false, p.Kg, cols, p.CRS, 1.f, wg, p.CRS, b, ldb, beta, c, ldc, gep);
    };
    const float beta = accumulate ? 1.f : 0.f;
    if (p.nb > 1) {
      // Several whole images side by side, then each image's rows to its place in y.
      const int64_t ld = it.count * OHW;
      float* col = thread_scratch(0, p.CRS * ld);
      for (int64_t j = 0; j < it.count; j++)
        im2col_rows(g, p.Cg, x + ((it.n0 + j) * g.C + it.grp * p.Cg) * HW, 0, p.OH,
                    col + j * OHW, ld, inner_threads);
      float* out = thread_scratch(1, p.Kg * ld);
      gemm(col, ld, ld, out, ld, 0.f, nullptr);
      for (int64_t j = 0; j < it.count; j++) {
        if (ep.parts) {  // (groups == 1, no residual, no accumulation)
          int64_t k0 = 0;
          for (int s = 0; s < ep.part_count; k0 += ep.parts[s].channels, s++) {
            const ConvOutputPart& part = ep.parts[s];
            float* yp = part.y + (it.n0 + j) * part.image_stride;
            for (int64_t k = 0; k < part.channels; k++)
              std::memcpy(yp + k * OHW, out + (k0 + k) * ld + j * OHW, sizeof(float) * OHW);
            apply_epilogue(bg ? bg + k0 : nullptr, nullptr, OHW, ep.relu, part.channels, yp, OHW, OHW);
          }
          continue;
        }
        const int64_t off = ((it.n0 + j) * g.K + it.grp * p.Kg) * OHW;  // in the residual
        float* yj = y + (it.n0 + j) * ys + it.grp * p.Kg * OHW;
        for (int64_t k = 0; k < p.Kg; k++) {
          const float* src = out + k * ld + j * OHW;
          float* dst = yj + k * OHW;
          if (accumulate)
            for (int64_t i = 0; i < OHW; i++) dst[i] += src[i];
          else
            std::memcpy(dst, src, sizeof(float) * OHW);
        }
        apply_epilogue(bg, ep.residual ? ep.residual + off : nullptr, OHW, ep.relu, p.Kg, yj,
                       OHW, OHW);
      }
      return;
    }
    const int64_t cols = (it.oh1 - it.oh0) * p.OW;
    const float* xg = x + (it.n0 * g.C + it.grp * p.Cg) * HW;
    const int64_t off = (it.n0 * g.K + it.grp * p.Kg) * OHW + it.oh0 * p.OW;  // in the residual
    // (y is null with a split output: the row blocks below address it instead)
    float* yg = ep.parts ? nullptr : y + it.n0 * ys + it.grp * p.Kg * OHW + it.oh0 * p.OW;
    // The output stage runs in the GEMM's micro-kernels, on each tile in registers.
    GemmEpilogue gep;
    gep.bias = bg;
    gep.residual = ep.residual ? ep.residual + off : nullptr;
    gep.ld_residual = OHW;
    gep.relu = ep.relu;
    GemmRowBlocks blocks;  // split output: each part's rows of this item in place
    if (ep.parts) {
      blocks.count = ep.part_count;
      int64_t k0 = 0;
      for (int s = 0; s < ep.part_count; k0 += ep.parts[s].channels, s++) {
        blocks.first[s] = k0;
        blocks.c[s] = ep.parts[s].y + it.n0 * ep.parts[s].image_stride + it.oh0 * p.OW;
      }
      gep.rows = &blocks;
    }
    const GemmEpilogue* stage = bg || gep.residual || ep.relu || ep.parts ? &gep : nullptr;
    if (p.direct) {
      gemm(xg + it.oh0 * p.OW, HW, cols, yg, OHW, beta, stage);
    } else {
      float* col = thread_scratch(0, p.CRS * cols);
      im2col_rows(g, p.Cg, xg, it.oh0, it.oh1, col, cols, inner_threads);
      gemm(col, cols, cols, yg, OHW, beta, stage);
    }
  });
}

void forward_depthwise(const ConvGeometry& g, const float* x, const float* w,
                       const ConvEpilogue& ep, float* y) {
  conv_detail::depthwise_forward(g, x, w, ep.bias, y);
  apply_epilogue_planes(g, ep, true, y);
}

}  // namespace

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w,
                    const ConvEpilogue& ep, float* y) {
  switch (conv2d_algorithm(g)) {
    case ConvAlgorithm::DepthwiseDirect: forward_depthwise(g, x, w, ep, y); return;
    case ConvAlgorithm::DirectSmall: direct_small_forward_plain(g, x, w, ep, y); return;
    case ConvAlgorithm::Winograd: winograd_forward_plain(g, x, w, ep, y); return;
    default: forward_gemm(g, x, w, nullptr, ep, y); return;
  }
}

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    float* y) {
  ConvEpilogue ep;
  ep.bias = bias;
  conv2d_forward(g, x, w, ep, y);
}

// ---- prepared weights ----------------------------------------------------------------

struct ConvWeights::Impl {
  std::vector<SgemmPackedA> packs;  // GEMM paths: one per group
  std::vector<float> pixel_rows;    // GEMM-path layers into small planes: pixel_rows.h
  std::vector<float> plain;         // the scaled weights, for the direct kernels
  std::vector<float> bias;          // [K], empty when none
  conv_detail::WinogradWeights winograd;  // Winograd: transformed filters (no GEMM packs)
};

ConvWeights::ConvWeights() : impl_(new Impl) {}
ConvWeights::~ConvWeights() = default;

void ConvWeights::prepare(const ConvGeometry& g, const float* w, const float* scale,
                          const float* bias) {
  const int64_t Kg = g.K / g.groups, CRS = (g.C / g.groups) * g.R * g.S;
  std::vector<float> scaled;
  const float* ws = w;
  if (scale) {
    scaled.resize(static_cast<size_t>(g.K * CRS));
    for (int64_t k = 0; k < g.K; k++)
      for (int64_t i = 0; i < CRS; i++) scaled[k * CRS + i] = w[k * CRS + i] * scale[k];
    ws = scaled.data();
  }
  std::unique_ptr<Impl> next(new Impl);
  ConvAlgorithm alg = conv2d_algorithm(g);
  // Winograd's filter transform is paid once here, not per call: it wins on smaller outputs.
  if (alg == ConvAlgorithm::Im2colGemm && conv_policy() == ConvPolicy::Auto &&
      winograd_preferred_prepared(g))
    alg = ConvAlgorithm::Winograd;
  switch (alg) {
    case ConvAlgorithm::DepthwiseDirect:
      next->plain.assign(ws, ws + g.K * CRS);
      break;
    case ConvAlgorithm::DirectSmall:
      next->plain.resize(direct_small_packed_floats(g));
      direct_small_pack(g, ws, next->plain.data());
      break;
    case ConvAlgorithm::Winograd:
      next->winograd.prepare(g, ws, winograd_tile(g));
      break;
    case ConvAlgorithm::Gemm1x1:
    case ConvAlgorithm::Im2colGemm:
      if (pixel_rows_preferred(g)) {  // (never one output pixel: that is one GEMM)
        next->pixel_rows.resize(pixel_rows_packed_floats(g));
        pixel_rows_pack(g, ws, next->pixel_rows.data());
        break;
      }
      [[fallthrough]];
    default:
      next->packs.resize(static_cast<size_t>(g.groups));
      for (int64_t grp = 0; grp < g.groups; grp++)
        next->packs[grp].pack(false, Kg, CRS, ws + grp * Kg * CRS, CRS);
      break;
  }
  if (bias) next->bias.assign(bias, bias + g.K);
  g_ = g;
  algorithm_ = alg;
  impl_ = std::move(next);
}

const char* ConvWeights::kernel() const {
  if (impl_ && !impl_->pixel_rows.empty()) return "pixel-rows";
  return conv_algorithm_name(algorithm_);
}

bool ConvWeights::compatible(const ConvGeometry& g) const {
  return impl_ && g.C == g_.C && g.K == g_.K && g.R == g_.R && g.S == g_.S &&
         g.groups == g_.groups && g.stride_h == g_.stride_h && g.stride_w == g_.stride_w &&
         g.dilation_h == g_.dilation_h && g.dilation_w == g_.dilation_w;
}

size_t ConvWeights::bytes() const {
  if (!impl_) return 0;
  size_t n = (impl_->plain.size() + impl_->bias.size() + impl_->pixel_rows.size()) * sizeof(float);
  for (const SgemmPackedA& p : impl_->packs) n += p.bytes();
  n += impl_->winograd.bytes();
  return n;
}

void conv2d_forward(const ConvGeometry& g, const float* x, const ConvWeights& w,
                    const float* residual, bool relu, float* y, int64_t y_image_stride) {
  if (!w.compatible(g)) throw std::invalid_argument("prepared weights do not fit this geometry");
  ConvEpilogue ep;
  ep.bias = w.impl_->bias.empty() ? nullptr : w.impl_->bias.data();
  ep.residual = residual;
  ep.relu = relu;
  const int64_t out_image = g.K * g.out_h() * g.out_w();
  if (y_image_stride != 0 && y_image_stride != out_image) {
    if (y_image_stride < out_image) throw std::invalid_argument("y's images would overlap");
    if (residual != nullptr) throw std::invalid_argument("a residual needs a contiguous y");
    ep.y_image_stride = y_image_stride;
    if (w.algorithm() == ConvAlgorithm::DepthwiseDirect) {
      // (no strided output in this kernel: computed aside, then copied to its images)
      thread_local std::vector<float> aside;
      aside.resize(static_cast<size_t>(g.N * out_image));
      ep.y_image_stride = 0;
      forward_depthwise(g, x, w.impl_->plain.data(), ep, aside.data());
      for (int64_t n = 0; n < g.N; n++)
        std::memcpy(y + n * y_image_stride, aside.data() + n * out_image, sizeof(float) * out_image);
      return;
    }
  }
  if (!w.impl_->pixel_rows.empty()) {
    // (its output stage reads each residual value just before writing that y)
    const bool accumulate = residual != nullptr && residual == y;
    if (accumulate) ep.residual = nullptr;
    pixel_rows_forward(g, x, w.impl_->pixel_rows.data(), ep, accumulate, y);
    return;
  }
  std::vector<float> shortcut;
  if (residual != nullptr && residual == y) {
    ep.residual = nullptr;
    if (w.algorithm() == ConvAlgorithm::Im2colGemm || w.algorithm() == ConvAlgorithm::Gemm1x1) {
      forward_gemm(g, x, nullptr, w.impl_->packs.data(), ep, y, true);  // GEMM with beta = 1
      return;
    }
    if (w.algorithm() == ConvAlgorithm::Winograd) {
      ep.residual = y;  // its output stage reads each residual value just before its y
      winograd_forward(g, x, w.impl_->winograd, ep, y);
      return;
    }
    // the other kernels write y before they read the residual: keep it aside
    shortcut.assign(y, y + g.N * g.K * g.out_h() * g.out_w());
    ep.residual = shortcut.data();
  }
  switch (w.algorithm()) {
    case ConvAlgorithm::DepthwiseDirect:
      forward_depthwise(g, x, w.impl_->plain.data(), ep, y);
      return;
    case ConvAlgorithm::DirectSmall:
      direct_small_forward(g, x, w.impl_->plain.data(), ep, y);
      return;
    case ConvAlgorithm::Winograd:
      winograd_forward(g, x, w.impl_->winograd, ep, y);
      return;
    default:
      forward_gemm(g, x, nullptr, w.impl_->packs.data(), ep, y);
      return;
  }
}

void conv2d_forward_split(const ConvGeometry& g, const float* x, const ConvWeights& w, bool relu,
                          const ConvOutputPart* parts, int count) {
  if (!w.compatible(g)) throw std::invalid_argument("prepared weights do not fit this geometry");
  if (count < 1 || count > kMaxConvOutputParts)
    throw std::invalid_argument("a split output needs 1 to 8 parts");
  const int64_t OHW = g.out_h() * g.out_w();
  int64_t channels = 0;
  for (int s = 0; s < count; s++) {
    if (parts[s].channels < 1 || parts[s].image_stride < parts[s].channels * OHW)
      throw std::invalid_argument("a part's channels or image stride are too small");
    channels += parts[s].channels;
  }
  if (channels != g.K) throw std::invalid_argument("the parts' channels do not add up to K");
  const bool gemm = w.algorithm() == ConvAlgorithm::Im2colGemm || w.algorithm() == ConvAlgorithm::Gemm1x1;
  if (gemm && g.groups == 1 && !covers_whole_input(g)) {
    ConvEpilogue ep;
    ep.bias = w.impl_->bias.empty() ? nullptr : w.impl_->bias.data();
    ep.relu = relu;
    ep.parts = parts;
    ep.part_count = count;
    if (!w.impl_->pixel_rows.empty())
      pixel_rows_forward(g, x, w.impl_->pixel_rows.data(), ep, false, nullptr);
    else
      forward_gemm(g, x, nullptr, w.impl_->packs.data(), ep, nullptr);
    return;
  }
  // Computed aside, then each part's channels copied to its images.
  thread_local std::vector<float> aside;
  aside.resize(static_cast<size_t>(g.N * g.K * OHW));
  conv2d_forward(g, x, w, nullptr, relu, aside.data());
  for (int64_t n = 0; n < g.N; n++) {
    int64_t k0 = 0;
    for (int s = 0; s < count; k0 += parts[s].channels, s++)
      std::memcpy(parts[s].y + n * parts[s].image_stride, aside.data() + (n * g.K + k0) * OHW,
                  sizeof(float) * parts[s].channels * OHW);
  }
}

}  // namespace receptive
