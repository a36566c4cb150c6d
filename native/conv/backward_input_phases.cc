// The input gradient of a strided convolution (and so a transposed convolution) by output
// phases ("sub-pixel" decomposition). With stride s, the input rows h = s*u + a of one
// phase a receive gy only through the filter rows r = rho + s*i, rho = (a + pad) mod s, at
// gy row u + q - i, q = floor((a + pad) / s): a stride-1 correlation of gy with the
// T = ceil((R - rho) / s) rows w[rho + s*(T-1-j)] (flipped), top padding T - 1 - q. Per
// phase (a, b) that is a forward convolution of gy (K channels) into C channels, which the
// forward kernels run (direct, GEMM, Winograd); its output goes to rows a + s*u, columns
// b + s*v of gx. No col2im scatter-add, and no multiply-add spent on a zero.
#include "backward_input_phases.h"

#include <algorithm>
#include <vector>

#include "direct_small.h"
#include "receptive/threading.h"

namespace receptive {
namespace conv_detail {

namespace {

// One axis of a phase: input positions a, a + s, ... (out_len of them) from taps rho,
// rho + s, ... (taps of them), reading gy from top padding pad_before.
struct PhaseAxis {
  int64_t rho, taps, out_len, pad_before, pad_after;
};

// False when the phase needs a negative top padding (a padding of more than a filter's
// reach, which the forward geometry does not express).
bool phase_axis(int64_t a, int64_t s, int64_t pad, int64_t R, int64_t in, int64_t out,
                PhaseAxis* p) {
  const int64_t q = ConvGeometry::floor_div(a + pad, s);
  p->rho = a + pad - q * s;
  p->taps = p->rho < R ? (R - p->rho + s - 1) / s : 0;
  p->out_len = a < in ? (in - a + s - 1) / s : 0;
  p->pad_before = p->taps - 1 - q;
  // out_len = out + pad_before + pad_after - taps + 1
  p->pad_after = p->out_len - 1 + p->taps - out - p->pad_before;
  return p->taps == 0 || p->pad_before >= 0;
}

struct Phase {
  int64_t a, b;
  PhaseAxis ph, pw;
  int64_t w_off, y_off;  // into the phase filters; into the phase outputs (per image group)
};

// The phases of g (gx rows a + s*u, columns b + s*v), with their offsets into the phase
// filters and the phase outputs, and the floats of each.
void make_phases(const ConvGeometry& g, std::vector<Phase>* phases, int64_t* w_floats,
                 int64_t* y_plane) {
  phases->clear();
  *w_floats = *y_plane = 0;
  for (int64_t a = 0; a < g.stride_h && a < g.H; a++)
    for (int64_t b = 0; b < g.stride_w && b < g.W; b++) {
      Phase p{a, b, {}, {}, *w_floats, *y_plane};
      phase_axis(a, g.stride_h, g.pad_top, g.R, g.H, g.out_h(), &p.ph);
      phase_axis(b, g.stride_w, g.pad_left, g.S, g.W, g.out_w(), &p.pw);
      *w_floats += g.C * (g.K / g.groups) * p.ph.taps * p.pw.taps;
      *y_plane += p.ph.out_len * p.pw.out_len;
      phases->push_back(p);
    }
}

// Phase p as a forward convolution of gy (K channels) into C channels.
ConvGeometry phase_geometry(const ConvGeometry& g, const Phase& p) {
  ConvGeometry t = g;
  t.C = g.K;
  t.K = g.C;
  t.H = g.out_h();
  t.W = g.out_w();
  t.R = p.ph.taps;
  t.S = p.pw.taps;
  t.stride_h = t.stride_w = 1;
  t.pad_top = p.ph.pad_before;
  t.pad_bottom = p.ph.pad_after;
  t.pad_left = p.pw.pad_before;
  t.pad_right = p.pw.pad_after;
  return t;
}

// The phases in one pass of the direct kernel (DirectPhases, direct_small.h), where the
// forward would run them on that kernel: sh x sw phases (up to 4) of the same output size,
// each with at least one tap, those of more than one tap on the direct kernel (a 1x1
// phase, which the forward gives the GEMM, runs in the pass too unless a policy forces
// another path). Each work item then builds its panel of gy rows once for all phases,
// and the phases write their interleaved rows and columns of gx straight away, with no
// phase outputs to store and interleave afterwards (transposed 4x4 s2 C64 28x28 -> 32 at
// batch 8: 1.40 -> 1.23 ms). False where that does not apply.
bool one_pass_applies(const ConvGeometry& g, const std::vector<Phase>& phases) {
  const size_t count = phases.size();
  if (count == 0 || count > 4 || static_cast<int64_t>(count) != g.stride_h * g.stride_w)
    return false;
  const ConvPolicy policy = conv_policy();
  if (policy != ConvPolicy::Auto && policy != ConvPolicy::DirectSmall) return false;
  for (const Phase& p : phases) {
    if (p.ph.taps == 0 || p.pw.taps == 0 || p.ph.out_len != phases[0].ph.out_len ||
        p.pw.out_len != phases[0].pw.out_len)
      return false;
    if (p.ph.taps * p.pw.taps > 1 &&
        conv2d_algorithm(phase_geometry(g, p)) != ConvAlgorithm::DirectSmall)
      return false;
  }
  return true;
}

bool phases_in_one_pass(const ConvGeometry& g, const std::vector<Phase>& phases,
                        const float* gy, const float* wphases, float* gx) {
  if (!one_pass_applies(g, phases)) return false;
  const size_t count = phases.size();
  const Phase& p0 = phases[0];
  int64_t top = 0, left = 0;
  for (const Phase& p : phases) {
    top = std::max(top, p.ph.pad_before);
    left = std::max(left, p.pw.pad_before);
  }
  // The phases' window with the largest paddings before, and their output size.
  ConvGeometry t = phase_geometry(g, p0);
  t.pad_top = top;
  t.pad_left = left;
  t.pad_bottom = p0.ph.out_len - 1 + p0.ph.taps - t.H - top;
  t.pad_right = p0.pw.out_len - 1 + p0.pw.taps - t.W - left;
  thread_local std::vector<float> packed;
  size_t total = 0, at[4];
  for (size_t j = 0; j < count; j++) {
    at[j] = total;
    total += direct_small_packed_floats(phase_geometry(g, phases[j]));
  }
  packed.resize(total);
  DirectPhases d{};
  d.count = static_cast<int>(count);
  for (size_t j = 0; j < count; j++) {
    const Phase& p = phases[j];
    direct_small_pack(phase_geometry(g, p), wphases + p.w_off, packed.data() + at[j]);
    d.packed[j] = packed.data() + at[j];
    d.taps_h[j] = p.ph.taps;
    d.taps_w[j] = p.pw.taps;
    d.shift_rows[j] = top - p.ph.pad_before;
    d.shift_cols[j] = left - p.pw.pad_before;
    d.out_offset[j] = p.a * g.W + p.b;
  }
  d.image = g.C * g.H * g.W;
  d.plane = g.H * g.W;
  d.row = g.stride_h * g.W;
  d.col = g.stride_w;
  direct_small_forward(t, gy, nullptr, ConvEpilogue{}, gx, &d);
  return true;
}

}  // namespace

bool backward_input_phases_apply(const ConvGeometry& g) {
  if (g.stride_h == 1 && g.stride_w == 1) return false;
  if (g.dilation_h != 1 || g.dilation_w != 1 || g.pad_top < 0 || g.pad_left < 0) return false;
  PhaseAxis p;
  for (int64_t a = 0; a < g.stride_h; a++)
    if (!phase_axis(a, g.stride_h, g.pad_top, g.R, g.H, g.out_h(), &p)) return false;
  for (int64_t b = 0; b < g.stride_w; b++)
    if (!phase_axis(b, g.stride_w, g.pad_left, g.S, g.W, g.out_w(), &p)) return false;
  return true;
}

bool backward_input_phases_preferred(const ConvGeometry& g) {
  if (!backward_input_phases_apply(g)) return false;
  // Measured against GEMM + col2im (2 threads, batch 1 and 8).
  // Phases in separate passes win where each is at least a 2x2 filter, the output channels
  // fit one direct-kernel tile and the phase planes are large (transposed 4x4 s2 into
  // C8-C32 at 56x56-112x112 planes: 1.04-1.6x); they lose on 1x1 and 1xN phases (3x3 s2,
  // 1x1 s2: 0.6-0.9x), few channels (C3: 0.4x) and 7x7 to 14x14 phases (the extra pass
  // through the phase outputs).
  const int64_t Cg = g.C / g.groups;
  const bool wide_planes = g.H / g.stride_h >= 28 && g.W / g.stride_w >= 28;
  if (g.R % g.stride_h == 0 && g.S % g.stride_w == 0 && g.R / g.stride_h >= 2 &&
      g.S / g.stride_w >= 2 && Cg >= 8 && Cg <= 32 && wide_planes)
    return true;
  // In one pass of the direct kernel, 1x1 and 1xN phases included: 3x3 s2 C64 and C128
  // into 28x28 1.4-1.5x at batch 8 (C128 1.16x at batch 1), 5x5 s2 C32 1.7x, C64 112x112
  // 1.5x. Not with big filters (C256 3x3: even at batch 8, 0.6x at batch 1, every work
  // item streams all the phase filters), few channels (the stem: 0.6x), 14x14 phases.
  thread_local std::vector<Phase> phases;  // (reused: no allocation per call)
  int64_t w_floats = 0, y_plane = 0;
  make_phases(g, &phases, &w_floats, &y_plane);
  return Cg >= 16 && g.K / g.groups * Cg * g.R * g.S <= (int64_t(1) << 18) && wide_planes &&
         one_pass_applies(g, phases);
}

void backward_input_phases(const ConvGeometry& g, const float* gy, const float* w, float* gx) {
  const int64_t sh = g.stride_h, sw = g.stride_w;
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups, HW = g.H * g.W;
  const int nt = kernel_threads();
  thread_local std::vector<Phase> phase_list;  // (read in the parallel loops through
  std::vector<Phase>& phases = phase_list;     // this shared reference)
  int64_t w_floats = 0, y_plane = 0;
  make_phases(g, &phases, &w_floats, &y_plane);
  // The phase filters [C, K/groups, T_h, T_w]: w[k, c, rho_h + sh*(T_h-1-j), ...] per group.
  thread_local std::vector<float> wbuf, ybuf;
  wbuf.resize(static_cast<size_t>(w_floats));
  for (const Phase& p : phases) {
    const int64_t th = p.ph.taps, tw = p.pw.taps;
    float* wp = wbuf.data() + p.w_off;
    for (int64_t grp = 0; grp < g.groups; grp++)
      for (int64_t c = 0; c < Cg; c++)
        for (int64_t k = 0; k < Kg; k++) {
          const float* src = w + ((grp * Kg + k) * Cg + c) * g.R * g.S;
          float* dst = wp + ((grp * Cg + c) * Kg + k) * th * tw;
          for (int64_t j = 0; j < th; j++)
            for (int64_t jj = 0; jj < tw; jj++)
              dst[j * tw + jj] =
                  src[(p.ph.rho + sh * (th - 1 - j)) * g.S + p.pw.rho + sw * (tw - 1 - jj)];
        }
  }
  if (phases_in_one_pass(g, phases, gy, wbuf.data(), gx)) return;
  ybuf.resize(static_cast<size_t>(g.N * g.C * y_plane));
  for (const Phase& p : phases) {
    const int64_t plane = p.ph.out_len * p.pw.out_len;
    float* yp = ybuf.data() + p.y_off * g.N * g.C;
    if (p.ph.taps == 0 || p.pw.taps == 0) {
      std::fill(yp, yp + g.N * g.C * plane, 0.f);  // no filter tap reaches these inputs
      continue;
    }
    conv2d_forward(phase_geometry(g, p), gy, wbuf.data() + p.w_off, static_cast<const float*>(nullptr), yp);
  }
  // Each plane of gx from its phases, while it is in cache.
  const int64_t planes = g.N * g.C;
  const float* ys = ybuf.data();  // (the workers' own ybuf is empty: thread_local)
#pragma omp parallel for num_threads(nt) if (nt > 1 && planes * HW >= (1 << 15)) schedule(static)
  for (int64_t pl = 0; pl < planes; pl++) {
    float* dst = gx + pl * HW;
    for (size_t i = 0; i < phases.size(); i++) {
      const Phase& p = phases[i];
      const int64_t oh = p.ph.out_len, ow = p.pw.out_len;
      const float* src = ys + p.y_off * planes + pl * oh * ow;
      float* d = dst + p.a * g.W + p.b;
      // Stride 2 across: the row's two column phases interleaved in one pass (contiguous
      // stores the compiler vectorises, where each phase alone stores every other float).
      const Phase* q = i + 1 < phases.size() ? &phases[i + 1] : nullptr;
      if (sw == 2 && p.b == 0 && q != nullptr && q->a == p.a && q->b == 1 && q->ph.out_len == oh &&
          q->pw.out_len == ow && q->ph.taps == p.ph.taps) {
        const float* src1 = ys + q->y_off * planes + pl * oh * ow;
        for (int64_t u = 0; u < oh; u++) {
          float* row = d + u * sh * g.W;
          const float* s0 = src + u * ow;
          const float* s1 = src1 + u * ow;
          for (int64_t v = 0; v < ow; v++) {
            row[2 * v] = s0[v];
            row[2 * v + 1] = s1[v];
          }
        }
        i++;
        continue;
      }
      for (int64_t u = 0; u < oh; u++)
        for (int64_t v = 0; v < ow; v++) d[u * sh * g.W + v * sw] = src[u * ow + v];
    }
  }
}

}  // namespace conv_detail
}  // namespace receptive
