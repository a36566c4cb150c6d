// The AVX-512 pixel-rows convolution (pixel_rows.h): a tile of up to 14 pixels x 32 output
// channels, 28 zmm accumulators, summed over the whole reduction (input channels, or im2col
// rows) in registers. Prefetches are hints: past the end of x or the weights they read
// nothing.
#if defined(__x86_64__)
#include <immintrin.h>

#include <array>
#include <cstdint>
#include <utility>

#include "pixel_rows.h"
#include "receptive/avx512_rows.h"
#include "receptive/threading.h"

namespace receptive {
namespace conv_detail {
namespace pr_avx512 {
namespace {

constexpr int MR = static_cast<int>(kPixelRowsPixels);
constexpr int64_t NC = kPixelRowsChannels;
// Weight rows (32 floats, two lines) fetched this many input channels ahead: a channel
// block's first pixel block reads them from L3 (ResNet-50 batch 1, measured while 14x14
// planes took this kernel too: 26.6 -> 24.0 ms).
constexpr int64_t kWeightsAhead = 16;

// acc[i][v] = sum_c x[c*hw + i] * wp[c*32 + 16v .. +16], i < ROWS. Per reduction step: two
// weight vectors and ROWS broadcasts feed 2*ROWS FMAs.
template <int ROWS>
inline void accumulate_tile(int64_t C, const float* x, int64_t hw, const float* wp,
                            __m512 (&acc)[MR][2]) {
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  // The pixel rows of later channels are hw floats apart: bring them in ahead of use.
  const int64_t ahead = 8 * hw;
#pragma GCC unroll 2
  for (int64_t c = 0; c < C; c++) {
    const __m512 b0 = _mm512_loadu_ps(wp), b1 = _mm512_loadu_ps(wp + 16);
    _mm_prefetch(reinterpret_cast<const char*>(x + ahead), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(wp + kWeightsAhead * NC), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(wp + kWeightsAhead * NC + 16), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
      const __m512 a = _mm512_set1_ps(x[i]);
      acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
    }
    x += hw;
    wp += NC;
  }
}

// Where a tile's outputs go: channel k0 + j, pixels [p0, p0 + rows) of image n.
struct TileOut {
  const ConvGeometry* g;
  const ConvEpilogue* ep;
  float* y;
  bool accumulate;
  int64_t n, k0, kn, p0, P;  // kn: valid channels of the block (<= 32)
};

// Transposes the tile to channel rows and stores them through the output stage:
// v = acc (+ the old y when accumulating) + bias + residual, then ReLU (NaN kept).
template <int ROWS>
inline void store_tile(__m512 (&acc)[MR][2], const TileOut& o) {
  const __mmask16 mm = static_cast<__mmask16>((1u << ROWS) - 1u);
  const ConvEpilogue& ep = *o.ep;
  const __m512 zero = _mm512_setzero_ps();
  for (int v = 0; v < 2 && 16 * v < o.kn; v++) {
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) r[i] = i < ROWS ? acc[i][v] : zero;
    avx512_rows::transpose16(r);
    const int64_t jn = o.kn - 16 * v < 16 ? o.kn - 16 * v : 16;
    for (int64_t j = 0; j < jn; j++) {
      const int64_t k = o.k0 + 16 * v + j;
      float* out = pixel_rows_out(*o.g, ep, o.y, o.n, k, o.P) + o.p0;
      __m512 s = r[j];
      if (o.accumulate) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mm, out));
      if (ep.bias) s = _mm512_add_ps(s, _mm512_set1_ps(ep.bias[k]));
      if (ep.residual)
        s = _mm512_add_ps(
            s, _mm512_maskz_loadu_ps(mm, ep.residual + (o.n * o.g->K + k) * o.P + o.p0));
      if (ep.relu) s = _mm512_mask_mov_ps(s, _mm512_cmp_ps_mask(s, zero, _CMP_LT_OQ), zero);
      _mm512_mask_storeu_ps(out, mm, s);
    }
  }
}

template <int ROWS>
void run_tile(int64_t C, const float* x, int64_t hw, const float* wp, const TileOut& o) {
  __m512 acc[MR][2];
  accumulate_tile<ROWS>(C, x, hw, wp, acc);
  store_tile<ROWS>(acc, o);
}

using TileFn = void (*)(int64_t, const float*, int64_t, const float*, const TileOut&);

template <int... R>
constexpr std::array<TileFn, MR> make_table(std::integer_sequence<int, R...>) {
  return {{&run_tile<R + 1>...}};
}
constexpr std::array<TileFn, MR> kTiles = make_table(std::make_integer_sequence<int, MR>());

}  // namespace

void forward(const ConvGeometry& g, const PixelRowsInput& in, const float* packed,
             const ConvEpilogue& ep, bool accumulate, float* y) {
  const int64_t P = g.out_h() * g.out_w(), C = in.depth;
  const int64_t kblocks = (g.K + NC - 1) / NC, pblocks = (in.pn + MR - 1) / MR;
  // Images in groups whose inputs stay in L2 (about 1 MiB) while every channel block's
  // weights pass over them: the weights are read once per group, not once per image.
  const int64_t image_floats = C * in.channel_stride;
  int64_t group = (int64_t(1) << 18) / (image_floats > 0 ? image_floats : 1);
  if (group < 1) group = 1;
  if (group > in.count) group = in.count;
  const int64_t group_units = group * kblocks * pblocks;
  const int64_t units = in.count * kblocks * pblocks;
  const int nt = kernel_threads_for(double(in.count) * double(g.K) * double(C) * double(in.pn));
  auto run = [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; u++) {
      // Pixel blocks innermost, then the group's images, then the channel blocks.
      const int64_t gi = u / group_units, r = u - gi * group_units;
      const int64_t ng = in.count - gi * group < group ? in.count - gi * group : group;
      const int64_t kb = r / (ng * pblocks), rest = r % (ng * pblocks);
      const int64_t i = gi * group + rest / pblocks, pb = rest % pblocks;
      TileOut o{&g, &ep, y, accumulate, in.n0 + i, kb * NC,
                g.K - kb * NC < NC ? g.K - kb * NC : NC, in.p0 + pb * MR, P};
      const int64_t rows = in.pn - pb * MR < MR ? in.pn - pb * MR : MR;
      kTiles[rows - 1](C, in.x + i * in.image_stride + pb * MR, in.channel_stride,
                       packed + kb * C * NC, o);
    }
  };
  if (nt <= 1) {
    run(0, units);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    const int t = thread_index(), got = omp_get_num_threads();
    run(units * t / got, units * (t + 1) / got);
  }
}

}  // namespace pr_avx512
}  // namespace conv_detail
}  // namespace receptive
#endif
