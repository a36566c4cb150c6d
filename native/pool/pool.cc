// Max, average and adaptive average pooling, one (image, channel) plane per work item.
#include <cstring>

#include "receptive/pool.h"
#include "receptive/threading.h"

namespace receptive {

namespace {

// Threads for a loop over `planes` planes of `work` elements each: small jobs stay on
// the calling thread, where starting a team would cost more than the loop.
int plane_threads(int64_t planes, int64_t work) {
  const int nt = kernel_threads();
  if (nt <= 1 || planes < 2 || planes * work < (1 << 14)) return 1;
  return nt;
}

// Number of taps k in [0, kernel) with lo <= start + k*dilation < hi.
inline int64_t taps_inside(int64_t start, int64_t kernel, int64_t dilation, int64_t lo,
                           int64_t hi) {
  int64_t first = start >= lo ? 0 : (lo - start + dilation - 1) / dilation;
  if (start >= hi) return 0;
  int64_t last = (hi - 1 - start) / dilation;  // largest k with start + k*d <= hi - 1
  if (last > kernel - 1) last = kernel - 1;
  return last >= first ? last - first + 1 : 0;
}

inline int64_t first_tap(int64_t start, int64_t dilation) {
  return start >= 0 ? 0 : (-start + dilation - 1) / dilation;
}

}  // namespace

void max_pool2d_forward(const PoolGeometry& g, const float* x, float* y, int32_t* indices) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  const int64_t planes = g.N * g.C;
  const int nt = plane_threads(planes, OH * OW * g.kernel_h * g.kernel_w);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    const float* xp = x + p * H * W;
    float* yp = y + p * OH * OW;
    int32_t* ip = indices + p * OH * OW;
    for (int64_t oh = 0; oh < OH; oh++) {
      const int64_t hs = oh * g.stride_h - g.pad_h;
      const int64_t r0 = first_tap(hs, g.dilation_h);
      const int64_t rn = taps_inside(hs, g.kernel_h, g.dilation_h, 0, H);
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t ws = ow * g.stride_w - g.pad_w;
        const int64_t s0 = first_tap(ws, g.dilation_w);
        const int64_t sn = taps_inside(ws, g.kernel_w, g.dilation_w, 0, W);
        float best = -__builtin_inff();
        int64_t at = -1;
        for (int64_t r = r0; r < r0 + rn; r++) {
          const int64_t ih = hs + r * g.dilation_h;
          for (int64_t s = s0; s < s0 + sn; s++) {
            const int64_t i = ih * W + ws + s * g.dilation_w;
            const float v = xp[i];
            // The first maximum wins ties; a NaN beats every number (as in PyTorch).
            if (at < 0 || v > best || (v != v && best == best)) {
              best = v;
              at = i;
            }
          }
        }
        yp[oh * OW + ow] = best;
        ip[oh * OW + ow] = static_cast<int32_t>(at);
      }
    }
  }
}

void max_pool2d_backward(const PoolGeometry& g, const float* gy, const int32_t* indices,
                         float* gx) {
  const int64_t HW = g.H * g.W, OHW = g.OH * g.OW;
  const int64_t planes = g.N * g.C;
  const int nt = plane_threads(planes, HW + OHW);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    float* gp = gx + p * HW;
    const float* gyp = gy + p * OHW;
    const int32_t* ip = indices + p * OHW;
    std::memset(gp, 0, sizeof(float) * HW);
    for (int64_t o = 0; o < OHW; o++) {
      const int32_t i = ip[o];
      if (i >= 0) gp[i] += gyp[o];
    }
  }
}

namespace {

// Window geometry along one axis: first real tap, number of real taps, and the divisor
// factor for this axis.
struct Span {
  int64_t first, count, divisor;
};

inline Span span_of(int64_t start, int64_t kernel, int64_t dilation, int64_t n, int64_t pad,
                    bool count_include_pad) {
  Span s;
  s.first = first_tap(start, dilation);
  s.count = taps_inside(start, kernel, dilation, 0, n);
  // PyTorch: the window is cut at the far padding edge before counting.
  s.divisor = count_include_pad ? taps_inside(start, kernel, dilation, -pad, n + pad) : s.count;
  return s;
}

}  // namespace

void avg_pool2d_forward(const PoolGeometry& g, bool count_include_pad, const float* x,
                        float* y) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  const int64_t planes = g.N * g.C;
  const int nt = plane_threads(planes, OH * OW * g.kernel_h * g.kernel_w);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    const float* xp = x + p * H * W;
    float* yp = y + p * OH * OW;
    for (int64_t oh = 0; oh < OH; oh++) {
      const int64_t hs = oh * g.stride_h - g.pad_h;
      const Span sh = span_of(hs, g.kernel_h, g.dilation_h, H, g.pad_h, count_include_pad);
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t ws = ow * g.stride_w - g.pad_w;
        const Span sw = span_of(ws, g.kernel_w, g.dilation_w, W, g.pad_w, count_include_pad);
        float sum = 0.f;
        for (int64_t r = sh.first; r < sh.first + sh.count; r++) {
          const float* row = xp + (hs + r * g.dilation_h) * W + ws;
          for (int64_t s = sw.first; s < sw.first + sw.count; s++) sum += row[s * g.dilation_w];
        }
        const int64_t div = sh.divisor * sw.divisor;
        yp[oh * OW + ow] = div > 0 ? sum / static_cast<float>(div) : 0.f;
      }
    }
  }
}

void avg_pool2d_backward(const PoolGeometry& g, bool count_include_pad, const float* gy,
                         float* gx) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  const int64_t planes = g.N * g.C;
  const int nt = plane_threads(planes, OH * OW * g.kernel_h * g.kernel_w);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    float* gp = gx + p * H * W;
    const float* gyp = gy + p * OH * OW;
    std::memset(gp, 0, sizeof(float) * H * W);
    for (int64_t oh = 0; oh < OH; oh++) {
      const int64_t hs = oh * g.stride_h - g.pad_h;
      const Span sh = span_of(hs, g.kernel_h, g.dilation_h, H, g.pad_h, count_include_pad);
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t ws = ow * g.stride_w - g.pad_w;
        const Span sw = span_of(ws, g.kernel_w, g.dilation_w, W, g.pad_w, count_include_pad);
        const int64_t div = sh.divisor * sw.divisor;
        if (div == 0) continue;
        const float v = gyp[oh * OW + ow] / static_cast<float>(div);
        for (int64_t r = sh.first; r < sh.first + sh.count; r++) {
          float* row = gp + (hs + r * g.dilation_h) * W + ws;
          for (int64_t s = sw.first; s < sw.first + sw.count; s++) row[s * g.dilation_w] += v;
        }
      }
    }
  }
}

namespace {

inline int64_t bin_start(int64_t i, int64_t in, int64_t out) { return (i * in) / out; }
inline int64_t bin_end(int64_t i, int64_t in, int64_t out) {
  return ((i + 1) * in + out - 1) / out;
}

}  // namespace

void adaptive_avg_pool2d_forward(const AdaptivePoolGeometry& g, const float* x, float* y) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  const int64_t planes = g.N * g.C;
  const int nt = plane_threads(planes, H * W + OH * OW);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    const float* xp = x + p * H * W;
    float* yp = y + p * OH * OW;
    for (int64_t oh = 0; oh < OH; oh++) {
      const int64_t h0 = bin_start(oh, H, OH), h1 = bin_end(oh, H, OH);
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t w0 = bin_start(ow, W, OW), w1 = bin_end(ow, W, OW);
        float sum = 0.f;
        for (int64_t h = h0; h < h1; h++)
          for (int64_t w = w0; w < w1; w++) sum += xp[h * W + w];
        yp[oh * OW + ow] = sum / static_cast<float>((h1 - h0) * (w1 - w0));
      }
    }
  }
}

void adaptive_avg_pool2d_backward(const AdaptivePoolGeometry& g, const float* gy, float* gx) {
  const int64_t H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  const int64_t planes = g.N * g.C;
  const int nt = plane_threads(planes, H * W + OH * OW);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t p = 0; p < planes; p++) {
    float* gp = gx + p * H * W;
    const float* gyp = gy + p * OH * OW;
    std::memset(gp, 0, sizeof(float) * H * W);
    for (int64_t oh = 0; oh < OH; oh++) {
      const int64_t h0 = bin_start(oh, H, OH), h1 = bin_end(oh, H, OH);
      for (int64_t ow = 0; ow < OW; ow++) {
        const int64_t w0 = bin_start(ow, W, OW), w1 = bin_end(ow, W, OW);
        const float v = gyp[oh * OW + ow] / static_cast<float>((h1 - h0) * (w1 - w0));
        for (int64_t h = h0; h < h1; h++)
          for (int64_t w = w0; w < w1; w++) gp[h * W + w] += v;
      }
    }
  }
}

}  // namespace receptive
