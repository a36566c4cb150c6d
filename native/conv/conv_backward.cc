// Convolution backward through GEMM (to the input: W^T x gy then col2im; to the weight:
// gy x col^T summed over images and bands; to the bias: a reduction), on the plan the
// forward uses (conv_plan.h).
#include <cstdlib>
#include <cstring>
#include <vector>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "backward_input_phases.h"
#include "conv_plan.h"
#include "depthwise.h"
#include "direct_wgrad.h"
#include "im2col.h"
#include "receptive/conv.h"
#include "receptive/gemm.h"
#include "receptive/threading.h"
#include "winograd_wgrad.h"

namespace receptive {

using conv_detail::col2im_rows;
using conv_detail::im2col_rows;
using namespace conv_detail;  // the plan (conv_plan.h)

namespace {

// At stride 1 the input gradient is a forward convolution of gy (K channels, OH x OW)
// with the filters flipped in r and s and transposed per group ([C, K/groups, R, S]),
// padded so that its output is H x W: top/left d*(k-1) - pad (needs pad <= d*(k-1)),
// bottom/right H - OH + pad_top (may be negative). Returns false where that does not
// apply.
bool transposed_geometry(const ConvGeometry& g, ConvGeometry* t) {
  if (g.stride_h != 1 || g.stride_w != 1) return false;
  if (g.pad_top > g.dilation_h * (g.R - 1) || g.pad_left > g.dilation_w * (g.S - 1)) return false;
  *t = g;
  t->C = g.K;
  t->K = g.C;
  t->H = g.out_h();
  t->W = g.out_w();
  t->pad_top = g.dilation_h * (g.R - 1) - g.pad_top;
  t->pad_left = g.dilation_w * (g.S - 1) - g.pad_left;
  t->pad_bottom = g.H - t->H + g.pad_top;
  t->pad_right = g.W - t->W + g.pad_left;
  return t->out_h() == g.H && t->out_w() == g.W;
}

// RECEPTIVE_CONV_BWD_INPUT=forward|gemm forces a path where both apply (tests, benches):
// forward = the forward kernels (stride 1: on the flipped filters; strided: by output
// phases, backward_input_phases.cc), gemm = GEMM + col2im.
int bwd_input_force() {
  static const int force = [] {
    const char* e = std::getenv("RECEPTIVE_CONV_BWD_INPUT");
    if (!e) return 0;
    if (std::strcmp(e, "forward") == 0) return 1;
    if (std::strcmp(e, "gemm") == 0) return 2;
    return 0;
  }();
  return force;
}

// The backward input through the forward kernels, where they have a faster algorithm
// than GEMM + col2im for the transposed geometry (Winograd, the direct small-channel
// kernels): fewer multiplications, and no col2im scatter.
bool backward_input_by_forward(const ConvGeometry& g, const float* gy, const float* w,
                               float* gx) {
  ConvGeometry t;
  if (!transposed_geometry(g, &t)) return false;
  const int force = bwd_input_force();
  if (force == 2) return false;
  if (force != 1) {
    // Wherever the forward picks Winograd for the transposed geometry (measured on 2
    // threads against GEMM + col2im: ResNet C256 14x14 at batch 8 7.3 -> 4.2 ms, C512 7x7
    // 9.4 -> 7.1 ms, C128 28x28 6.7 -> 3.4 ms; batch 1 and 2 too).
    const ConvAlgorithm a = conv2d_algorithm(t);
    if (a != ConvAlgorithm::Winograd && a != ConvAlgorithm::DirectSmall) return false;
  }
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups, RS = g.R * g.S;
  // Not thread_scratch: the forward kernels use those slots on this thread.
  thread_local std::vector<float> wt;
  wt.resize(static_cast<size_t>(g.C * Kg * RS));
  for (int64_t grp = 0; grp < g.groups; grp++)
    for (int64_t k = 0; k < Kg; k++)
      for (int64_t c = 0; c < Cg; c++) {
        const float* src = w + ((grp * Kg + k) * Cg + c) * RS;
        float* dst = wt.data() + ((grp * Cg + c) * Kg + k) * RS;
        for (int64_t i = 0; i < RS; i++) dst[i] = src[RS - 1 - i];
      }
  conv2d_forward(t, gy, wt.data(), static_cast<const float*>(nullptr), gx);
  return true;
}

}  // namespace

void conv2d_backward_input(const ConvGeometry& g, const float* gy, const float* w, float* gx) {
  if (conv2d_algorithm(g) == ConvAlgorithm::DepthwiseDirect) {
    conv_detail::depthwise_backward_input(g, gy, w, gx);
    return;
  }
  if (backward_input_by_forward(g, gy, w, gx)) return;
  const int force = bwd_input_force();
  if (force == 1 ? backward_input_phases_apply(g)
                 : force == 0 && backward_input_phases_preferred(g)) {
    conv_detail::backward_input_phases(g, gy, w, gx);
    return;
  }
  const int nt = kernel_threads();
  const Plan p = make_plan(g, nt);
  const int64_t HW = g.H * g.W, OHW = p.OHW;
  // Bands of one (image, group) add into overlapping input rows, so they stay together.
  const int64_t items = p.blocks * g.groups;
  // W^T of a group meets blocks * bands column blocks: pack it once.
  const SgemmPackedA* packs =
      p.blocks * (p.direct ? 1 : p.bands) > 1 ? pack_weights(g, p, true, w) : nullptr;

  run_items(items, nt, [&](int64_t item, int inner_threads) {
    const Item it = decode(g, p, item, false);
    const float* wg = w + it.grp * p.Kg * p.CRS;
    // col (CRS x cols, row stride ldc) = W^T x gy block (Kg x cols, row stride ldb)
    auto gemm = [&](const float* b, int64_t ldb, int64_t cols, float* c, int64_t ldc) {
      if (packs)
        sgemm(packs[it.grp], false, cols, 1.f, b, ldb, 0.f, c, ldc);
      else
        sgemm(true, false, p.CRS, cols, p.Kg, 1.f, wg, p.CRS, b, ldb, 0.f, c, ldc);
    };
    if (p.nb > 1) {
      const int64_t ld = it.count * OHW;
      float* gyb = thread_scratch(1, p.Kg * ld);
      gather_planes(gy, g.K, it.grp * p.Kg, p.Kg, OHW, it.n0, it.count, gyb);
      float* col = thread_scratch(0, p.CRS * ld);
      gemm(gyb, ld, ld, col, ld);
      for (int64_t j = 0; j < it.count; j++) {
        float* gxj = gx + ((it.n0 + j) * g.C + it.grp * p.Cg) * HW;
        std::memset(gxj, 0, sizeof(float) * p.Cg * HW);
        col2im_rows(g, p.Cg, col + j * OHW, 0, p.OH, gxj, ld, inner_threads);
      }
      return;
    }
    const float* gyg = gy + (it.n0 * g.K + it.grp * p.Kg) * OHW;
    float* gxg = gx + (it.n0 * g.C + it.grp * p.Cg) * HW;
    if (p.direct) {
      // gx[:, :OH*W] = W^T gy; rows cut off by a negative bottom padding get no gradient.
      gemm(gyg, OHW, OHW, gxg, HW);
      if (OHW < HW)
        for (int64_t c = 0; c < p.Cg; c++)
          std::memset(gxg + c * HW + OHW, 0, sizeof(float) * (HW - OHW));
      return;
    }
    std::memset(gxg, 0, sizeof(float) * p.Cg * HW);
    for (int64_t band = 0; band < p.bands; band++) {
      const int64_t oh0 = band * p.band_rows;
      const int64_t oh1 = oh0 + p.band_rows < p.OH ? oh0 + p.band_rows : p.OH;
      const int64_t cols = (oh1 - oh0) * p.OW;
      float* col = thread_scratch(0, p.CRS * cols);
      gemm(gyg + oh0 * p.OW, OHW, cols, col, cols);
      col2im_rows(g, p.Cg, col, oh0, oh1, gxg, cols, inner_threads);
    }
  });
}

namespace {

// The weight gradient through im2col bands: gy block (Kg x cols) x col^T, summed over
// images and bands.
void backward_weight_im2col(const ConvGeometry& g, const float* x, const float* gy, float* gw) {
  const int nt = kernel_threads();
  const Plan p = make_plan(g, nt);
  const int64_t HW = g.H * g.W, OHW = p.OHW;
  const int64_t wsize = g.K * p.CRS;
  const int64_t items = p.blocks * g.groups * p.bands;

  // Adds the item's gy block (Kg x cols) x col^T (cols x CRS) into dst[K, CRS].
  auto run = [&](int64_t item, int inner_threads, float* dst) {
    const Item it = decode(g, p, item, true);
    float* dg = dst + it.grp * p.Kg * p.CRS;
    if (p.nb > 1) {
      const int64_t ld = it.count * OHW;
      float* gyb = thread_scratch(1, p.Kg * ld);
      gather_planes(gy, g.K, it.grp * p.Kg, p.Kg, OHW, it.n0, it.count, gyb);
      float* col = thread_scratch(0, p.CRS * ld);
      for (int64_t j = 0; j < it.count; j++)
        im2col_rows(g, p.Cg, x + ((it.n0 + j) * g.C + it.grp * p.Cg) * HW, 0, p.OH,
                    col + j * OHW, ld, inner_threads);
      sgemm(false, true, p.Kg, p.CRS, ld, 1.f, gyb, ld, col, ld, 1.f, dg, p.CRS);
      return;
    }
    const int64_t cols = (it.oh1 - it.oh0) * p.OW;
    const float* xg = x + (it.n0 * g.C + it.grp * p.Cg) * HW;
    const float* gyg = gy + (it.n0 * g.K + it.grp * p.Kg) * OHW + it.oh0 * p.OW;
    if (p.direct) {
      sgemm(false, true, p.Kg, p.CRS, cols, 1.f, gyg, OHW, xg + it.oh0 * p.OW, HW, 1.f, dg,
            p.CRS);
    } else {
      float* col = thread_scratch(0, p.CRS * cols);
      im2col_rows(g, p.Cg, xg, it.oh0, it.oh1, col, cols, inner_threads);
      sgemm(false, true, p.Kg, p.CRS, cols, 1.f, gyg, OHW, col, cols, 1.f, dg, p.CRS);
    }
  };

  if (nt > 1 && items >= nt && wsize * nt <= kPartialBudget) {
    // Each thread sums its items into a private copy of gw; the copies are added at the end.
    std::vector<float>* parts = thread_partials(nt, static_cast<size_t>(wsize));
#pragma omp parallel num_threads(nt)
    {
      float* mine = parts[thread_index()].data();
      std::memset(mine, 0, sizeof(float) * wsize);
#pragma omp for schedule(dynamic)
      for (int64_t it = 0; it < items; it++) run(it, 1, mine);
#pragma omp for schedule(static)
      for (int64_t i = 0; i < wsize; i++) {
        float s = 0.f;
        for (int u = 0; u < nt; u++) s += parts[u][i];
        gw[i] = s;
      }
    }
  } else {
    std::memset(gw, 0, sizeof(float) * wsize);
    for (int64_t it = 0; it < items; it++) run(it, nt, gw);
  }
}

// The weight gradient as implicit GEMMs over bands of output rows, with no im2col matrix.
// The band's input rows are transposed once into T[row][iw][c] (zeros in the padding,
// rows of Wz = Wq*sw columns). Output position p = row*Wq + ow of the band then reads
// tap (r, s, c), for stride 1 in h and w, at T[p*C + r*dh*Wz*C + s*C + c]: per filter row
// r a matrix of S*C columns with row stride C (rows overlap), which the GEMM reads in
// place as its B operand. Other strides go through Z[row][iw][r][c] (T's rows for every
// filter row), read at Z[p*sw*R*C + s*dw*R*C + r*C + c]. Positions ow in [OW, Wq) of each
// row wrap into the next row; gy is 0 there, so they add nothing. gw (Kg x taps) = gy x B,
// summed per thread into private partials, then reordered to [K, C, R, S].
struct RowPitchPlan {
  int64_t OH, OW, Cg, Kg, RC, SRC;
  int64_t Wq, Wz;        // padded row pitch in output columns / input columns
  bool t_path;           // stride 1, no w dilation: GEMMs on T per filter row
  int64_t n_gemm;        // columns of one GEMM: S*C (T path), R*S*C or R*C (Z path)
  int64_t rows, bands;   // output rows per band
  int64_t t_rows;        // input rows a band may touch
  int64_t tail;          // zero floats after the last row (wrapped reads)
  int64_t buf_floats;    // T (+ Z) incl. the tail
};

RowPitchPlan row_pitch_plan(const ConvGeometry& g, int nt) {
  RowPitchPlan q;
  q.OH = g.out_h();
  q.OW = g.out_w();
  q.Cg = g.C / g.groups;
  q.Kg = g.K / g.groups;
  q.RC = g.R * q.Cg;
  q.SRC = g.S * q.RC;
  const int64_t need = (q.OW - 1) * g.stride_w + (g.S - 1) * g.dilation_w + 1;
  q.Wq = (need + g.stride_w - 1) / g.stride_w;
  q.Wz = q.Wq * g.stride_w;
  q.t_path = g.stride_h == 1 && g.stride_w == 1 && g.dilation_w == 1;
  q.n_gemm = q.t_path ? g.S * q.Cg : (g.dilation_w == 1 ? q.SRC : q.RC);
  // The B operand (P x n_gemm) within half of L2, so the GEMM reads it in place.
  int64_t rows = kColumnBudget / (q.n_gemm * q.Wq);
  if (rows < 1) rows = 1;
  if (rows > q.OH) rows = q.OH;
  int64_t bands = (q.OH + rows - 1) / rows;
  // Enough items for the threads to share (two each, for the balance).
  const int64_t per = g.N * g.groups;
  const int64_t want = (2 * nt + per - 1) / per;
  if (bands < want) bands = want < q.OH ? want : q.OH;
  q.rows = (q.OH + bands - 1) / bands;
  q.bands = (q.OH + q.rows - 1) / q.rows;
  q.t_rows = (q.rows - 1) * g.stride_h + (g.R - 1) * g.dilation_h + 1;
  int64_t tail = (g.S - 1) * g.dilation_w + 1 - g.stride_w;
  if (tail < 0) tail = 0;
  const int64_t t_floats = q.t_rows * q.Wz * q.Cg;
  if (q.t_path) {
    q.tail = tail * q.Cg;
    q.buf_floats = t_floats + q.tail;
  } else {
    q.tail = tail * q.RC;
    q.buf_floats = q.rows * q.Wz * q.RC + q.tail + t_floats;
  }
  return q;
}

// dst[iw*C + c] = src[c*plane + iw - pl] for iw in [0, Wz) (0 outside [0, W)).
void transpose_row(const float* src, int64_t plane, int64_t C, int64_t W, int64_t pl, int64_t Wz,
                   float* dst) {
  int64_t lo = pl < 0 ? 0 : pl;
  int64_t hi = pl + W < Wz ? pl + W : Wz;
  if (lo > Wz) lo = Wz;
  if (hi < lo) hi = lo;
  std::memset(dst, 0, sizeof(float) * lo * C);
  std::memset(dst + hi * C, 0, sizeof(float) * (Wz - hi) * C);
  int64_t c = 0;
#if defined(__SSE2__)
  for (; c + 4 <= C; c += 4) {
    const float* s0 = src + c * plane - pl;
    const float* s1 = s0 + plane;
    const float* s2 = s1 + plane;
    const float* s3 = s2 + plane;
    int64_t iw = lo;
    for (; iw + 4 <= hi; iw += 4) {
      __m128 a = _mm_loadu_ps(s0 + iw), b = _mm_loadu_ps(s1 + iw);
      __m128 e = _mm_loadu_ps(s2 + iw), f = _mm_loadu_ps(s3 + iw);
      _MM_TRANSPOSE4_PS(a, b, e, f);
      float* d = dst + iw * C + c;
      _mm_storeu_ps(d, a);
      _mm_storeu_ps(d + C, b);
      _mm_storeu_ps(d + 2 * C, e);
      _mm_storeu_ps(d + 3 * C, f);
    }
    for (; iw < hi; iw++) {
      float* d = dst + iw * C + c;
      d[0] = s0[iw];
      d[1] = s1[iw];
      d[2] = s2[iw];
      d[3] = s3[iw];
    }
  }
#endif
  for (; c < C; c++) {
    const float* s = src + c * plane - pl;
    for (int64_t iw = lo; iw < hi; iw++) dst[iw * C + c] = s[iw];
  }
}

// dst[iw*ld + c] = src[iw*C + c] for iw < n, c < C.
template <int C>
void copy_runs(const float* __restrict src, int64_t n, int64_t ld, float* __restrict dst) {
  for (int64_t iw = 0; iw < n; iw++)
    for (int c = 0; c < C; c++) dst[iw * ld + c] = src[iw * C + c];
}

// The band's operand for output rows [oh0, oh1) of one image's group (xg: its Cg
// planes): T (t_path) or Z in buf, followed by the zero tail. Returns the operand.
const float* build_operand(const ConvGeometry& g, const RowPitchPlan& q, const float* xg,
                           int64_t oh0, int64_t oh1, float* buf) {
  const int64_t C = q.Cg, R = g.R, RC = q.RC, Wz = q.Wz, HW = g.H * g.W;
  const int64_t ih0 = oh0 * g.stride_h - g.pad_top;
  const int64_t rows_in = (oh1 - 1 - oh0) * g.stride_h + (R - 1) * g.dilation_h + 1;
  if (q.t_path) {
    for (int64_t li = 0; li < rows_in; li++) {
      const int64_t ih = ih0 + li;
      float* trow = buf + li * Wz * C;
      if (ih < 0 || ih >= g.H)
        std::memset(trow, 0, sizeof(float) * Wz * C);
      else
        transpose_row(xg + ih * g.W, HW, C, g.W, g.pad_left, Wz, trow);
    }
    std::memset(buf + rows_in * Wz * C, 0, sizeof(float) * q.tail);
    return buf;
  }
  float* z = buf;
  const int64_t z_floats = (oh1 - oh0) * Wz * RC;
  std::memset(z + z_floats, 0, sizeof(float) * q.tail);
  float* t = buf + q.rows * Wz * RC + q.tail;
  // Transposed input rows, built on first use (strided convolutions skip some rows).
  thread_local std::vector<char> built;
  built.assign(static_cast<size_t>(rows_in), 0);
  for (int64_t oh = oh0; oh < oh1; oh++) {
    float* zrow = z + (oh - oh0) * Wz * RC;
    for (int64_t r = 0; r < R; r++) {
      const int64_t ih = oh * g.stride_h + r * g.dilation_h - g.pad_top;
      float* zr = zrow + r * C;
      if (ih < 0 || ih >= g.H) {
        for (int64_t iw = 0; iw < Wz; iw++) std::memset(zr + iw * RC, 0, sizeof(float) * C);
        continue;
      }
      const int64_t li = ih - ih0;
      float* trow = t + li * Wz * C;
      if (!built[li]) {
        transpose_row(xg + ih * g.W, HW, C, g.W, g.pad_left, Wz, trow);
        built[li] = 1;
      }
      switch (C) {
        case 1: copy_runs<1>(trow, Wz, RC, zr); break;
        case 2: copy_runs<2>(trow, Wz, RC, zr); break;
        case 3: copy_runs<3>(trow, Wz, RC, zr); break;
        case 4: copy_runs<4>(trow, Wz, RC, zr); break;
        case 6: copy_runs<6>(trow, Wz, RC, zr); break;
        case 8: copy_runs<8>(trow, Wz, RC, zr); break;
        default:
          for (int64_t iw = 0; iw < Wz; iw++) {
            float* __restrict d = zr + iw * RC;
            const float* __restrict s = trow + iw * C;
            for (int64_t c = 0; c < C; c++) d[c] = s[c];
          }
      }
    }
  }
  return z;
}

void backward_weight_row_pitch(const ConvGeometry& g, const float* x, const float* gy,
                               float* gw) {
  const int nt = kernel_threads();
  const RowPitchPlan q = row_pitch_plan(g, nt);
  const int64_t HW = g.H * g.W, OHW = q.OH * q.OW;
  const int64_t R = g.R, S = g.S, C = q.Cg, Kg = q.Kg, SRC = q.SRC, RC = q.RC;
  const int64_t wsize = g.K * SRC;
  const int64_t items = g.N * g.groups * q.bands;

  std::vector<float>* parts = thread_partials(nt, static_cast<size_t>(wsize));

  auto run = [&](int64_t item, float* part) {
    const int64_t band = item % q.bands;
    const int64_t grp = (item / q.bands) % g.groups;
    const int64_t n = item / (q.bands * g.groups);
    const int64_t oh0 = band * q.rows;
    const int64_t oh1 = oh0 + q.rows < q.OH ? oh0 + q.rows : q.OH;
    const int64_t P = (oh1 - oh0) * q.Wq;
    float* buf = thread_scratch(0, static_cast<size_t>(q.buf_floats));
    const float* b = build_operand(g, q, x + (n * g.C + grp * C) * HW, oh0, oh1, buf);
    // gy of the band (Kg x P) with Wq - OW zero columns per output row, packed once for
    // the band's GEMMs (R of them on the T path, S with w dilation).
    float* gyx = thread_scratch(1, static_cast<size_t>(Kg * P));
    const float* gyg = gy + (n * g.K + grp * Kg) * OHW;
    const int64_t OW = q.OW, Wq = q.Wq;
    for (int64_t k = 0; k < Kg; k++) {
      for (int64_t oh = oh0; oh < oh1; oh++) {
        // Plain loops: rows are tens of floats, shorter than a library call pays for.
        float* __restrict d = gyx + k * P + (oh - oh0) * Wq;
        const float* __restrict src = gyg + k * OHW + oh * OW;
        for (int64_t i = 0; i < OW; i++) d[i] = src[i];
        for (int64_t i = OW; i < Wq; i++) d[i] = 0.f;
      }
    }
    thread_local SgemmPackedA pa;
    pa.pack(false, Kg, P, gyx, P);
    float* dst = part + grp * Kg * SRC;
    if (q.t_path) {
      // Columns of filter row r: (s, c) at r*S*C + s*C + c.
      for (int64_t r = 0; r < R; r++)
        sgemm(pa, false, S * C, 1.f, b + r * g.dilation_h * q.Wz * C, C, 1.f, dst + r * S * C,
              SRC);
    } else if (g.dilation_w == 1) {
      // Columns (s, r, c) at s*R*C + r*C + c.
      sgemm(pa, false, SRC, 1.f, b, g.stride_w * RC, 1.f, dst, SRC);
    } else {
      for (int64_t s = 0; s < S; s++)
        sgemm(pa, false, RC, 1.f, b + s * g.dilation_w * RC, g.stride_w * RC, 1.f,
              dst + s * RC, SRC);
    }
  };

  // Where tap (r, s, c) sits in a partial's row.
  const int64_t js = q.t_path ? C : RC, jr = q.t_path ? S * C : C;
  if (items < nt) {
    // Too few items to share (one image, one band): they run in turn, each GEMM on every
    // thread.
    float* mine = parts[0].data();
    std::memset(mine, 0, sizeof(float) * wsize);
    for (int64_t it = 0; it < items; it++) run(it, mine);
    for (int64_t k = 0; k < g.K; k++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t r = 0; r < R; r++)
          for (int64_t s = 0; s < S; s++)
            gw[k * SRC + (c * R + r) * S + s] = mine[k * SRC + s * js + r * jr + c];
    return;
  }
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    float* mine = parts[thread_index()].data();
    std::memset(mine, 0, sizeof(float) * wsize);
#pragma omp for schedule(dynamic)
    for (int64_t it = 0; it < items; it++) run(it, mine);
#pragma omp for schedule(static)
    for (int64_t k = 0; k < g.K; k++) {
      float* out = gw + k * SRC;
      const int64_t row = k * SRC;
      for (int64_t c = 0; c < C; c++)
        for (int64_t r = 0; r < R; r++)
          for (int64_t s = 0; s < S; s++) {
            const int64_t src = row + s * js + r * jr + c;
            float v = 0.f;
            for (int u = 0; u < nt; u++) v += parts[u][src];
            out[(c * R + r) * S + s] = v;
          }
    }
  }
}

// Whether the row-pitch GEMMs beat im2col for this geometry: they spend (Wq/OW - 1) of
// the multiply-adds on the wrapped columns but save the im2col copy and the transposing
// packs, which cost about as much as 32 multiply-adds per column entry (measured: AlexNet
// conv2, 27 + 4 columns a row, is even; ResNet C256 14², 14 + 2, stays on im2col).
// RECEPTIVE_CONV_BWD_WEIGHT=rowpitch|im2col|winograd|direct forces a path (tests, benches;
// winograd and direct where they apply).
int bwd_weight_force() {
  static const int force = [] {
    const char* e = std::getenv("RECEPTIVE_CONV_BWD_WEIGHT");
    if (!e) return 0;
    if (std::strcmp(e, "rowpitch") == 0) return 1;
    if (std::strcmp(e, "im2col") == 0) return 2;
    if (std::strcmp(e, "winograd") == 0) return 3;
    if (std::strcmp(e, "direct") == 0) return 4;
    return 0;
  }();
  return force;
}

bool use_row_pitch(const ConvGeometry& g, int nt) {
  const int force = bwd_weight_force();
  if (force == 1 || force == 2) return force == 1;
  if (is_direct_1x1(g)) return false;
  const RowPitchPlan q = row_pitch_plan(g, nt);
  // GEMMs narrower than a vector tile waste most of the micro-kernel.
  if (q.n_gemm < 16) return false;
  const double kg = static_cast<double>(q.Kg);
  const double row_pitch = kg * q.Wq / q.OW;
  const double im2col = kg + 32.0;
  return row_pitch < im2col;
}

}  // namespace

void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw) {
  if (conv2d_algorithm(g) == ConvAlgorithm::DepthwiseDirect) {
    conv_detail::depthwise_backward_weight(g, x, gy, gw);
    return;
  }
  const int nt = kernel_threads();
  const int force = bwd_weight_force();
  const bool winograd = force == 3 ? conv_detail::winograd_wgrad_applies(g, nt)
                                    : force == 0 && conv_detail::winograd_wgrad_preferred(g, nt);
  const bool direct = force == 4 ? conv_detail::direct_wgrad_applies(g)
                                 : force == 0 && conv_detail::direct_wgrad_preferred(g);
  // Where both would run: Winograd on undilated 3x3 layers (fewer multiplications: C64
  // 56x56 1.15x), the direct kernel on dilated ones (C64 56x56 d2: 1.2x).
  const bool dilated = g.dilation_h > 1 || g.dilation_w > 1;
  if (direct && (!winograd || dilated)) {
    conv_detail::direct_wgrad(g, x, gy, gw);
    return;
  }
  if (winograd) {
    conv_detail::winograd_backward_weight(g, x, gy, gw);
    return;
  }
  if (use_row_pitch(g, nt))
    backward_weight_row_pitch(g, x, gy, gw);
  else
    backward_weight_im2col(g, x, gy, gw);
}

void conv2d_backward_bias(const ConvGeometry& g, const float* gy, float* gb) {
  const int64_t OHW = g.out_h() * g.out_w();
  const int nt = kernel_threads();
  const bool par = nt > 1 && g.K > 1 && g.N * g.K * OHW >= (1 << 15);
#pragma omp parallel for num_threads(nt) if (par) schedule(static)
  for (int64_t k = 0; k < g.K; k++) {
    double acc = 0.0;
    for (int64_t n = 0; n < g.N; n++) {
      const float* plane = gy + (n * g.K + k) * OHW;
      float s = 0.f;
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < OHW; i++) s += plane[i];
      acc += s;
    }
    gb[k] = static_cast<float>(acc);
  }
}

}  // namespace receptive
