// The 8x8 register transpose of the AVX2 builds of the kernels whose register tiles run
// along output channels (direct small-channel convolution, direct weight gradient), lane
// masks, and a store of a vector's first n lanes. Included only by translation units built
// with AVX2.
#pragma once
#if defined(__AVX2__)
#include <immintrin.h>

#include <cstdint>

namespace receptive {
namespace avx2_rows {

// r[i] <- column i of the 8x8 matrix whose rows were r[0..7].
inline void transpose8(__m256* r) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

// The first n lanes (none for n <= 0, all for n >= 8).
inline __m256i lanes(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Lanes j with a <= j < b.
inline __m256i lane_range(int64_t a, int64_t b) { return _mm256_andnot_si256(lanes(a), lanes(b)); }

// x + i without pointer arithmetic outside the array: for masked loads whose first or
// last lanes lie outside the data (those lanes are never read; as avx512_rows::addr).
inline const float* addr(const float* x, int64_t i) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(x) +
                                        static_cast<uintptr_t>(i * static_cast<int64_t>(sizeof(float))));
}

// p[0..n) = the first n lanes of v (n in [0, 8]), by plain stores of 4, 2 and 1 floats
// rather than a masked store.
inline void store_first(float* p, __m256 v, int64_t n) {
  if (n >= 8) {
    _mm256_storeu_ps(p, v);
    return;
  }
  __m128 h = _mm256_castps256_ps128(v);
  if (n >= 4) {
    _mm_storeu_ps(p, h);
    h = _mm256_extractf128_ps(v, 1);
    p += 4;
    n -= 4;
  }
  if (n >= 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(p), h);
    h = _mm_movehl_ps(h, h);
    p += 2;
    n -= 2;
  }
  if (n >= 1) _mm_store_ss(p, h);
}

}  // namespace avx2_rows
}  // namespace receptive
#endif
