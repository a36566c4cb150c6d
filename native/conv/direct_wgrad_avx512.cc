// The AVX-512 direct weight-gradient kernel (direct_wgrad.h).
#if defined(__x86_64__)
#include <immintrin.h>

#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "direct_wgrad.h"
#include "input_panel.h"
#include "receptive/avx512_rows.h"
#include "receptive/threading.h"

namespace receptive {
namespace conv_detail {
namespace dw_avx512 {
namespace {

constexpr int64_t KB = 32;      // output channels per block: two vectors of gy
constexpr int kMaxTaps = 14;    // taps per register tile: 28 accumulators
constexpr int kMaxRows = 4;     // tap rows per tile (each keeps a row offset in a register)
constexpr int64_t kBandPixels = 192;      // output pixels per band: gy's block in L1
constexpr int64_t kPanelBudget = 1 << 16;  // floats (256 KiB) of input rows per band

struct TileArgs {
  const float* x;         // panel cell of the tile's first tap for the band's pixel (0, 0)
  const int64_t* roff;    // per tap row j: its panel offset from x
  const int64_t* poff;    // per tap row j: index of its first tap in part
  int64_t dw;             // panel floats between taps along s (the dilation)
  int64_t sw;             // panel floats between output columns (the stride)
  int64_t row_step;       // panel floats between output rows
  int64_t rows, OW;       // the band's output rows and columns
  const float* gyt;       // the band's gy for the channel block: [pixel][32]
  float* part;            // partial sums [tap][ldk], at the channel block
  int64_t ldk;
};

// part[tap (j, m)][0..32) += sum over the band's pixels of gy[pixel][0..32) * x(tap, pixel)
// for tap rows j < ROWS and taps m < MC along s.
template <int ROWS, int MC, int DW>
void tile(const TileArgs& a) {
  __m512 acc[ROWS * MC][2];
#pragma GCC unroll 14
  for (int t = 0; t < ROWS * MC; t++) acc[t][0] = acc[t][1] = _mm512_setzero_ps();
  int64_t ro[ROWS];
#pragma GCC unroll 4
  for (int j = 0; j < ROWS; j++) ro[j] = a.roff[j];
  const int64_t dw = DW ? DW : a.dw, sw = a.sw;
  const float* g = a.gyt;
  for (int64_t oh = 0; oh < a.rows; oh++) {
    const float* xp = a.x + oh * a.row_step;
    for (int64_t ow = 0; ow < a.OW; ow++, xp += sw, g += KB) {
      const __m512 g0 = _mm512_loadu_ps(g), g1 = _mm512_loadu_ps(g + 16);
#pragma GCC unroll 4
      for (int j = 0; j < ROWS; j++) {
        const float* xr = xp + ro[j];
        // One register per tap row, the taps at displacements from it (left alone, GCC
        // keeps a pointer per tap and spills them).
        asm("" : "+r"(xr));
#pragma GCC unroll 14
        for (int m = 0; m < MC; m++) {
          const __m512 b = _mm512_set1_ps(xr[m * dw]);
          acc[j * MC + m][0] = _mm512_fmadd_ps(b, g0, acc[j * MC + m][0]);
          acc[j * MC + m][1] = _mm512_fmadd_ps(b, g1, acc[j * MC + m][1]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int j = 0; j < ROWS; j++)
#pragma GCC unroll 14
    for (int m = 0; m < MC; m++) {
      float* p = a.part + (a.poff[j] + m) * a.ldk;
      _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), acc[j * MC + m][0]));
      _mm512_storeu_ps(p + 16, _mm512_add_ps(_mm512_loadu_ps(p + 16), acc[j * MC + m][1]));
    }
}

using TileFn = void (*)(const TileArgs&);

// Tiles by tap count along s (1..kMaxTaps/ROWS) for ROWS tap rows; entries past the
// register budget repeat the widest that fits (never picked).
template <int ROWS, int DW, size_t... I>
constexpr std::array<TileFn, kMaxTaps> make_row(std::index_sequence<I...>) {
  return {{&tile<ROWS,
                 (static_cast<int>(I) + 1) * ROWS <= kMaxTaps ? static_cast<int>(I) + 1
                                                               : kMaxTaps / ROWS,
                 DW>...}};
}

template <int DW>
struct Tiles {
  static constexpr std::array<std::array<TileFn, kMaxTaps>, kMaxRows> table = {
      {make_row<1, DW>(std::make_index_sequence<kMaxTaps>()),
       make_row<2, DW>(std::make_index_sequence<kMaxTaps>()),
       make_row<3, DW>(std::make_index_sequence<kMaxTaps>()),
       make_row<4, DW>(std::make_index_sequence<kMaxTaps>())}};
};

// gyt[(kb * P + p) * 32 + j] = gy[(k0 + j) * OHW + p] for channel k0 = 32 kb < Kg (0 past
// Kg), pixels p < P of the band (gy at its first pixel): 16x16 register transposes.
void transpose_gy(const float* gy, int64_t OHW, int64_t Kg, int64_t P, float* gyt) {
  __m512 r[16];
  const int64_t kblocks = (Kg + KB - 1) / KB;
  for (int64_t kb = 0; kb < kblocks; kb++)
    for (int64_t h = 0; h < 2; h++) {
      const int64_t k0 = kb * KB + 16 * h;
      for (int64_t p0 = 0; p0 < P; p0 += 16) {
        const __mmask16 mp = avx512_rows::lanes(P - p0);
        for (int64_t i = 0; i < 16; i++)
          r[i] = k0 + i < Kg ? _mm512_maskz_loadu_ps(mp, gy + (k0 + i) * OHW + p0)
                             : _mm512_setzero_ps();
        avx512_rows::transpose16(r);
        const int64_t pn = P - p0 < 16 ? P - p0 : 16;
        for (int64_t i = 0; i < pn; i++)
          _mm512_storeu_ps(gyt + (kb * P + p0 + i) * KB + 16 * h, r[i]);
      }
    }
}

}  // namespace

void backward_weight(const ConvGeometry& g, const float* x, const float* gy, float* gw) {
  const int64_t OH = g.out_h(), OW = g.out_w(), OHW = OH * OW, HW = g.H * g.W;
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups, R = g.R, S = g.S;
  const int64_t sh = g.stride_h, sw = g.stride_w, dh = g.dilation_h, dw = g.dilation_w;
  const int64_t CRS = Cg * R * S, kblocks = (Kg + KB - 1) / KB, ldk = kblocks * KB;
  const int64_t Wp = (OW - 1) * sw + (S - 1) * dw + 1;

  // Bands of output rows: about kBandPixels pixels, input rows within the panel budget.
  int64_t band = kBandPixels / OW;
  if (band < 1) band = 1;
  if (band > OH) band = OH;
  while (band > 1 && Cg * ((band - 1) * sh + (R - 1) * dh + 1) * Wp > kPanelBudget) band--;
  const int64_t bands = (OH + band - 1) / band;
  const int64_t max_rows = (band - 1) * sh + (R - 1) * dh + 1, plane = max_rows * Wp;

  // Tap tiles: rows (c, r) of S taps, in groups of up to kMaxRows rows; S in chunks of at
  // most kMaxTaps taps, nearly equal.
  const int64_t schunks = (S + kMaxTaps - 1) / kMaxTaps;
  const int64_t mc_max = (S + schunks - 1) / schunks;
  const int64_t rows_per_tile = std::min<int64_t>(kMaxRows, kMaxTaps / mc_max);
  const int64_t tap_rows = Cg * R;
  std::vector<int64_t> roff(static_cast<size_t>(tap_rows)), poff(static_cast<size_t>(tap_rows));
  for (int64_t c = 0; c < Cg; c++)
    for (int64_t r = 0; r < R; r++) {
      roff[c * R + r] = c * plane + r * dh * Wp;
      poff[c * R + r] = (c * R + r) * S;
    }
  const auto& table = dw == 1 ? Tiles<1>::table : Tiles<0>::table;

  const int nt = kernel_threads_for(double(g.N) * double(g.K) * double(OHW) * double(CRS));
  const int64_t items = g.N * g.groups * bands;
  const size_t part_floats = static_cast<size_t>(g.groups * CRS * ldk);
  std::vector<float>* parts = thread_partials(nt, part_floats);

  auto run = [&](int64_t item, float* part) {
    const int64_t b = item % bands, grp = (item / bands) % g.groups;
    const int64_t n = item / (bands * g.groups);
    const int64_t oh0 = b * band, oh1 = oh0 + band < OH ? oh0 + band : OH;
    const int64_t rows = (oh1 - oh0 - 1) * sh + (R - 1) * dh + 1, P = (oh1 - oh0) * OW;

    // The panel: the item's input rows of the group's channels (input_panel.h).
    float* panel = thread_scratch(0, static_cast<size_t>(Cg * plane));
    copy_input_panel(x + (n * g.C + grp * Cg) * HW, Cg, g.H, g.W, oh0 * sh - g.pad_top, rows,
                     g.pad_left, Wp, plane, panel);
    float* gyt = thread_scratch(1, static_cast<size_t>(kblocks * P * KB));
    transpose_gy(gy + (n * g.K + grp * Kg) * OHW + oh0 * OW, OHW, Kg, P, gyt);

    TileArgs a;
    a.dw = dw;
    a.sw = sw;
    a.row_step = sh * Wp;
    a.rows = oh1 - oh0;
    a.OW = OW;
    a.ldk = ldk;
    for (int64_t kb = 0; kb < kblocks; kb++) {
      a.gyt = gyt + kb * P * KB;
      a.part = part + grp * CRS * ldk + kb * KB;
      for (int64_t t0 = 0; t0 < tap_rows; t0 += rows_per_tile) {
        const int64_t nr = tap_rows - t0 < rows_per_tile ? tap_rows - t0 : rows_per_tile;
        a.roff = roff.data() + t0;
        for (int64_t s0 = 0, sc = 0; sc < schunks; sc++) {
          const int64_t mc = S / schunks + (sc < S % schunks ? 1 : 0);
          int64_t po[kMaxRows];
          for (int64_t j = 0; j < nr; j++) po[j] = poff[t0 + j] + s0;
          a.poff = po;
          a.x = panel + s0 * dw;
          table[nr - 1][mc - 1](a);
          s0 += mc;
        }
      }
    }
  };

#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    float* mine = parts[thread_index()].data();
    std::memset(mine, 0, sizeof(float) * part_floats);
#pragma omp for schedule(dynamic)
    for (int64_t it = 0; it < items; it++) run(it, mine);
    // gw[grp*Kg + k][tap] = the threads' partials [grp][tap][k], added.
#pragma omp for schedule(static)
    for (int64_t k = 0; k < g.K; k++) {
      const int64_t grp = k / Kg, kk = k % Kg;
      for (int64_t t = 0; t < CRS; t++) {
        const int64_t src = (grp * CRS + t) * ldk + kk;
        float v = 0.f;
        for (int u = 0; u < nt; u++) v += parts[u][src];
        gw[k * CRS + t] = v;
      }
    }
  }
}

}  // namespace dw_avx512
}  // namespace conv_detail
}  // namespace receptive
#endif
