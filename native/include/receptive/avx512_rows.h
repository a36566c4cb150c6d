// AVX-512 helpers for row kernels that walk 16 output columns at a time (pooling and
// depthwise convolution), and the 16x16 transpose of the kernels whose register tiles run
// along output channels (direct small-channel, pixel-rows convolution, GEMM packing).
// Included only by the translation units built with AVX-512.
#pragma once
#if defined(__AVX512F__)
#include <immintrin.h>

#include <cstdint>

namespace receptive {
namespace avx512_rows {

// The first n lanes (n clamped to [0, 16]).
inline __mmask16 lanes(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : static_cast<__mmask16>((1u << (n > 0 ? n : 0)) - 1);
}

// Lanes [a, b).
inline __mmask16 lane_range(int64_t a, int64_t b) {
  return static_cast<__mmask16>(lanes(b) & ~lanes(a));
}

// Lanes j in [a, b) get p[j*SW] (SW = 1 or 2), the others 0. Nothing outside
// p[a*SW] .. p[(b-1)*SW] is read (masked lanes never fault), so p may point before the
// start of the row.
template <int SW>
inline __m512 load_range(const float* p, int64_t a, int64_t b) {
  static_assert(SW == 1 || SW == 2, "stride 1 or 2");
  if (SW == 1) return _mm512_maskz_loadu_ps(lane_range(a, b), p);
  const int64_t f0 = 2 * a, f1 = 2 * b - 1;  // floats [f0, f1)
  const __m512 lo = _mm512_maskz_loadu_ps(lane_range(f0, f1), p);
  const __m512 hi = _mm512_maskz_loadu_ps(lane_range(f0 - 16, f1 - 16), p + 16);
  const __m512i even =
      _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  return _mm512_permutex2var_ps(lo, even, hi);
}

// x + i without pointer arithmetic outside the array: for masked loads whose first or
// last lanes lie outside the data (those lanes are never read).
inline const float* addr(const float* x, int64_t i) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(x) +
                                        static_cast<uintptr_t>(i * static_cast<int64_t>(sizeof(float))));
}

// Lane j of the result is lane j + Q of the 48 lanes prev:cur:next (|Q| <= 16): the
// columns Q to the right of cur's, from one valignd of two neighbouring chunks. (The
// maskz form: GCC 12 warns that the plain one's undefined source may be uninitialised.)
template <int Q>
inline __m512 lane_shift(__m512 prev, __m512 cur, __m512 next) {
  if constexpr (Q == 0) return cur;
  else if constexpr (Q < 0)
    return _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(
        static_cast<__mmask16>(0xFFFF), _mm512_castps_si512(cur), _mm512_castps_si512(prev), 16 + Q));
  else
    return _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(
        static_cast<__mmask16>(0xFFFF), _mm512_castps_si512(next), _mm512_castps_si512(cur), Q));
}

// For a tap whose valid output columns are [lo, hi), the lanes of the chunk starting at
// column c0 with n columns that it reaches, as a lane range [*a, *b) (empty: *a >= *b).
inline void chunk_range(int64_t lo, int64_t hi, int64_t c0, int64_t n, int64_t* a, int64_t* b) {
  *a = (lo > c0 ? lo : c0) - c0;
  *b = (hi < c0 + n ? hi : c0 + n) - c0;
}

// r[i] <- column i of the 16x16 matrix whose rows were r[0..15].
inline void transpose16(__m512* r) {
  constexpr __mmask16 kAll = 0xFFFF;
  constexpr __mmask8 kAll8 = 0xFF;
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_maskz_unpacklo_ps(kAll, r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_maskz_unpackhi_ps(kAll, r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(kAll8, a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(kAll8, a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_maskz_unpacklo_pd(kAll8, b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_maskz_unpackhi_pd(kAll8, b, d));
  }
  for (int h = 0; h < 2; h++)
    for (int i = 0; i < 4; i++) {
      t[8 * h + i] = _mm512_maskz_shuffle_f32x4(kAll, r[8 * h + i], r[8 * h + 4 + i], 0x88);
      t[8 * h + 4 + i] = _mm512_maskz_shuffle_f32x4(kAll, r[8 * h + i], r[8 * h + 4 + i], 0xdd);
    }
  for (int i = 0; i < 8; i++) {
    r[i] = _mm512_maskz_shuffle_f32x4(kAll, t[i], t[8 + i], 0x88);
    r[8 + i] = _mm512_maskz_shuffle_f32x4(kAll, t[i], t[8 + i], 0xdd);
  }
}

}  // namespace avx512_rows
}  // namespace receptive
#endif
