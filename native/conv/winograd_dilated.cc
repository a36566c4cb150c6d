// Winograd for dilated 3x3 stride-1 convolutions. With dilation d, the outputs whose row is
// a mod dh and column b mod dw read only the input rows r_a mod dh and columns r_b mod dw:
// each of the dh x dw output phases is an undilated 3x3 convolution of a subsampled input
// (a "phase image"), with its own padding. The phases are gathered from x, run through the
// dense Winograd forward with the same transformed filters, and scattered into y with the
// output stage. (im2col + GEMM ran these layers at ~270 GFLOP/s against ~500 for Winograd
// on the phase images.)
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

namespace {

float* phase_buffer(int slot, size_t n) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& b = buffers[slot];
  if (b.size() < n) b.resize(n);
  return b.data();
}

}  // namespace

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

void winograd_forward_dilated(const ConvGeometry& g, const float* x, const WinogradWeights& w,
                              const ConvEpilogue& ep, float* y) {
  const int64_t dh = g.dilation_h, dw = g.dilation_w, OH = g.out_h(), OW = g.out_w();
  const int64_t OHW = OH * OW, HW = g.H * g.W;
  const int nt = kernel_threads();
  // The phases (output rows a mod dh, columns b mod dw) that hold outputs, and where their
  // phase images and outputs start in the two buffers.
  struct Phase {
    int64_t a, b;
    PhaseAxis pa, pb;
    int64_t x_off, y_off;  // per-plane offsets: plane pl of the phase at off * planes + pl * size
  };
  thread_local std::vector<Phase> phase_list;  // (the parallel loops below read it
  std::vector<Phase>& phases = phase_list;     // through this shared reference)
  phases.clear();
  int64_t x_plane = 0, y_plane = 0;
  for (int64_t a = 0; a < dh && a < OH; a++)
    for (int64_t b = 0; b < dw && b < OW; b++) {
      Phase p{a, b, phase_axis(a, dh, g.pad_top, g.H, OH), phase_axis(b, dw, g.pad_left, g.W, OW),
              x_plane, y_plane};
      x_plane += p.pa.in_len * p.pb.in_len;
      y_plane += p.pa.out_len * p.pb.out_len;
      phases.push_back(p);
    }
  const int64_t in_planes = g.N * g.C, out_planes = g.N * g.K;
  float* xp = phase_buffer(0, static_cast<size_t>(in_planes * x_plane));
  float* yp = phase_buffer(1, static_cast<size_t>(out_planes * y_plane));

  // Gather plane by plane (all phases of a plane while it is in cache).
#pragma omp parallel for num_threads(nt) if (nt > 1 && in_planes * HW >= (1 << 15)) schedule(static)
  for (int64_t pl = 0; pl < in_planes; pl++) {
    for (const Phase& p : phases) {
      const int64_t ih = p.pa.in_len, iw = p.pb.in_len;
      if (ih == 0 || iw == 0) continue;  // (its first row may lie past the plane)
      const float* src = x + pl * HW + (p.pa.r + p.pa.skip * dh) * g.W + p.pb.r + p.pb.skip * dw;
      float* dst = xp + p.x_off * in_planes + pl * ih * iw;
      for (int64_t i = 0; i < ih; i++) {
        const float* s = src + i * dh * g.W;
        float* d = dst + i * iw;
        for (int64_t j = 0; j < iw; j++) d[j] = s[j * dw];
      }
    }
  }
  // The output stage's bias and ReLU run in each phase's forward; a residual is added when
  // scattering (before the ReLU, so then the ReLU moves there too).
  ConvEpilogue pep;
  pep.bias = ep.bias;
  pep.relu = ep.relu && ep.residual == nullptr;
  for (const Phase& p : phases) {
    const int64_t out_plane = p.pa.out_len * p.pb.out_len;
    float* yph = yp + p.y_off * out_planes;
    if (p.pa.in_len * p.pb.in_len == 0) {
      // Only padding under every tap: the convolution is 0, the output its stage.
      for (int64_t pl = 0; pl < out_planes; pl++) {
        const float v = ep.bias ? ep.bias[pl % g.K] : 0.f;
        std::fill(yph + pl * out_plane, yph + (pl + 1) * out_plane, pep.relu && v < 0.f ? 0.f : v);
      }
      continue;
    }
    ConvGeometry pg = g;
    pg.H = p.pa.in_len;
    pg.W = p.pb.in_len;
    pg.pad_top = p.pa.pad_before;
    pg.pad_bottom = p.pa.pad_after;
    pg.pad_left = p.pb.pad_before;
    pg.pad_right = p.pb.pad_after;
    pg.dilation_h = pg.dilation_w = 1;
    winograd_forward(pg, xp + p.x_off * in_planes, w, pep, yph);
  }
  // Scatter plane by plane: rows a + dh*u, columns b + dw*v (with the residual and its ReLU).
  const bool res_relu = ep.residual != nullptr && ep.relu;
  const int64_t ys = ep.y_stride(g);
#pragma omp parallel for num_threads(nt) if (nt > 1 && out_planes * OHW >= (1 << 15)) schedule(static)
  for (int64_t pl = 0; pl < out_planes; pl++) {
    for (const Phase& p : phases) {
      const int64_t oh = p.pa.out_len, ow = p.pb.out_len;
      const float* src = yp + p.y_off * out_planes + pl * oh * ow;
      float* dst = y + (pl / g.K) * ys + (pl % g.K) * OHW + p.a * OW + p.b;
      const float* res = ep.residual ? ep.residual + pl * OHW + p.a * OW + p.b : nullptr;
      for (int64_t u = 0; u < oh; u++) {
        const float* s = src + u * ow;
        float* d = dst + u * dh * OW;
        if (res == nullptr) {
          for (int64_t v = 0; v < ow; v++) d[v * dw] = s[v];
        } else {
          const float* r = res + u * dh * OW;
          for (int64_t v = 0; v < ow; v++) {
            const float t = s[v] + r[v * dw];
            d[v * dw] = res_relu && t < 0.f ? 0.f : t;  // NaN stays NaN
          }
        }
      }
    }
  }
}

}  // namespace conv_detail
}  // namespace receptive
