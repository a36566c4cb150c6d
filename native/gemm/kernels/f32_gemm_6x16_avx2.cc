// AVX2+FMA micro-kernel: 6x16 tile = 12 ymm accumulators + 2 ymm of B + 1 broadcast of A,
// 15 of the 16 ymm registers. Per k step 2 loads + 6 broadcasts feed 12 FMAs, enough to
// keep two FMA pipes busy on Haswell..Zen 3 (BLIS/OpenBLAS use the same shape).
//
// Edge tiles run the kernel instantiated for fewer rows (1..6) and one or two ymm
// columns; the last column vector goes through vmaskmov. Packing transposes 8x8 blocks in
// registers where the source layout needs it.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

#include "../gemv_inl.h"
#include "../pack_inl.h"
#include "../sgemm_kernels.h"
#include "receptive/avx2_transpose.h"

namespace receptive {
namespace gemm {
namespace {

constexpr int MR = 6;
constexpr int NR = 16;

// Lane i is all-ones when i < n (n clamped to 0..8).
inline __m256i lane_mask(int64_t n) {
  const int c = static_cast<int>(n < 0 ? 0 : (n > 8 ? 8 : n));
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// A is k-major (a(i, p) = a[p*sa + i]) or, with ROW_MAJOR_A, row-major (a[i*sa + p]).
template <int ROWS, int NV, bool ROW_MAJOR_A>
void tile(int64_t k, const float* ap, int64_t sa, const float* bp, int64_t ldbp, float* c,
          int64_t ldc, int64_t n, float alpha, float beta, const float* pf, int64_t pf_ld,
          const TileEpilogue* ep) {
  // A packed B panel is zero-padded to NR columns; an unpacked one (ldbp != NR) ends at n,
  // so its last vector goes through vmaskmov unless it is full.
  const int64_t tail = n - 8 * (NV - 1);
  const bool full = tail == 8;
  const __m256i last = lane_mask(tail);
  const bool masked_b = ldbp != NR && !full;
  __m256 acc[ROWS][NV];
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; i++) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 8 * NV - 1), _MM_HINT_T0);
  }
#pragma GCC unroll 2
  for (int64_t p = 0; p < k; p++) {
    __m256 b[NV];
    if (NV == 2) b[0] = _mm256_loadu_ps(bp);
    b[NV - 1] = masked_b ? _mm256_maskload_ps(bp + 8 * (NV - 1), last)
                         : _mm256_loadu_ps(bp + 8 * (NV - 1));
#pragma GCC unroll 6
    for (int i = 0; i < ROWS; i++) {
      const __m256 a = _mm256_broadcast_ss(ROW_MAJOR_A ? ap + i * sa : ap + i);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++) acc[i][v] = _mm256_fmadd_ps(a, b[v], acc[i][v]);
    }
    ap += ROW_MAJOR_A ? 1 : sa;
    bp += ldbp;
    _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T1);
    pf += pf_ld;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; i++) {
    float* ci = c + i * ldc;
    float* cl = ci + 8 * (NV - 1);
    __m256 r0 = _mm256_mul_ps(va, acc[i][0]);
    __m256 rl = _mm256_mul_ps(va, acc[i][NV - 1]);
    if (beta != 0.f) {
      if (NV == 2) r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0);
      rl = _mm256_fmadd_ps(vb, full ? _mm256_loadu_ps(cl) : _mm256_maskload_ps(cl, last), rl);
    }
    if (ep) {
      // the output stage, in the order of TileEpilogue
      const __m256 vbias = _mm256_set1_ps(ep->bias ? ep->bias[i] : 0.f);
      if (NV == 2) r0 = _mm256_add_ps(r0, vbias);
      rl = _mm256_add_ps(rl, vbias);
      if (ep->residual) {
        const float* ri = ep->residual + i * ep->ldr;
        const float* rli = ri + 8 * (NV - 1);
        if (NV == 2) r0 = _mm256_add_ps(r0, _mm256_loadu_ps(ri));
        rl = _mm256_add_ps(rl, full ? _mm256_loadu_ps(rli) : _mm256_maskload_ps(rli, last));
      }
      if (ep->relu) {
        const __m256 zero = _mm256_setzero_ps();
        if (NV == 2) r0 = _mm256_blendv_ps(r0, zero, _mm256_cmp_ps(r0, zero, _CMP_LT_OQ));
        rl = _mm256_blendv_ps(rl, zero, _mm256_cmp_ps(rl, zero, _CMP_LT_OQ));
      }
    }
    if (NV == 2) _mm256_storeu_ps(ci, r0);
    if (full) _mm256_storeu_ps(cl, rl);
    else avx2_rows::store_first(cl, rl, tail);
  }
}

using TileFn = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t,
                        int64_t, float, float, const float*, int64_t, const TileEpilogue*);

const TileFn kTiles[2][MR][2] = {
    {{&tile<1, 1, false>, &tile<1, 2, false>}, {&tile<2, 1, false>, &tile<2, 2, false>},
     {&tile<3, 1, false>, &tile<3, 2, false>}, {&tile<4, 1, false>, &tile<4, 2, false>},
     {&tile<5, 1, false>, &tile<5, 2, false>}, {&tile<6, 1, false>, &tile<6, 2, false>}},
    {{&tile<1, 1, true>, &tile<1, 2, true>}, {&tile<2, 1, true>, &tile<2, 2, true>},
     {&tile<3, 1, true>, &tile<3, 2, true>}, {&tile<4, 1, true>, &tile<4, 2, true>},
     {&tile<5, 1, true>, &tile<5, 2, true>}, {&tile<6, 1, true>, &tile<6, 2, true>}},
};

void kernel_6x16(int64_t k, const float* a, int64_t rs_a, int64_t cs_a, const float* bp,
                 int64_t ldbp, float* c, int64_t ldc, int64_t m, int64_t n, float alpha,
                 float beta, const float* pf, int64_t pf_ld, const TileEpilogue* ep) {
  const bool row_major = rs_a != 1;
  kTiles[row_major][m - 1][n > 8 ? 1 : 0](k, a, row_major ? rs_a : cs_a, bp, ldbp, c, ldc, n,
                                          alpha, beta, pf, pf_ld, ep);
}

// Destination row q (q < cols) receives src rows [0, rows) at column q, zero past rows;
// its first `keep` lanes are stored. (Plain stores: AVX2's masked store is microcoded on
// AMD's Zen, and it made the transposing packs a third of 64x256x3136 with B transposed.)
inline void transpose_block(const float* src, int64_t ld, int rows, int cols, float* dst,
                            int64_t dst_stride, int keep) {
  __m256 r[8];
  const __m256i cm = lane_mask(cols);
  for (int i = 0; i < 8; i++)
    r[i] = i < rows ? _mm256_maskload_ps(src + i * ld, cm) : _mm256_setzero_ps();
  avx2_rows::transpose8(r);
  for (int q = 0; q < cols; q++) avx2_rows::store_first(dst + q * dst_stride, r[q], keep);
}

void pack_a(bool trans, int64_t m, int64_t k, const float* a, int64_t lda, float* dst) {
  for (int64_t i0 = 0; i0 < m; i0 += MR) {
    const int rows = static_cast<int>(m - i0 < MR ? m - i0 : MR);
    float* d = dst + i0 * k;
    if (trans) {
      const float* s = a + i0;
      const __m256i rm = lane_mask(rows);
      for (int64_t p = 0; p < k; p++)
        avx2_rows::store_first(d + p * MR, _mm256_maskload_ps(s + p * lda, rm), MR);
    } else {
      const float* s = a + i0 * lda;
      for (int64_t p0 = 0; p0 < k; p0 += 8) {
        const int cols = static_cast<int>(k - p0 < 8 ? k - p0 : 8);
        transpose_block(s + p0, lda, rows, cols, d + p0 * MR, MR, MR);
      }
    }
  }
}

// Hint only: prefetches never fault, and the address is formed as an integer so that no
// out-of-range pointer is ever computed.
inline void prefetch_l2(const float* base, int64_t offset) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(base) + static_cast<uintptr_t>(offset) * 4u;
  _mm_prefetch(reinterpret_cast<const char*>(a), _MM_HINT_T1);
}

void pack_b(bool trans, int64_t k, int64_t n, const float* b, int64_t ldb, float* dst,
            int64_t pf) {
  for (int64_t j0 = 0; j0 < n; j0 += NR) {
    const int cols = static_cast<int>(n - j0 < NR ? n - j0 : NR);
    float* d = dst + j0 * k;
    // Columns [n, n + pf) are packed next: fetch their source into L2 meanwhile.
    const int64_t ahead = j0 + NR >= n ? (pf < NR ? pf : NR) : 0;
    if (!trans) {
      const float* s = b + j0;
      if (cols == NR) {
        for (int64_t p = 0; p < k; p++) {
          if (ahead > 0) {
            prefetch_l2(s, p * ldb + cols);
            prefetch_l2(s, p * ldb + cols + ahead - 1);
          }
          _mm256_store_ps(d + p * NR, _mm256_loadu_ps(s + p * ldb));
          _mm256_store_ps(d + p * NR + 8, _mm256_loadu_ps(s + p * ldb + 8));
        }
      } else {
        const __m256i m0 = lane_mask(cols), m1 = lane_mask(cols - 8);
        for (int64_t p = 0; p < k; p++) {
          _mm256_store_ps(d + p * NR, _mm256_maskload_ps(s + p * ldb, m0));
          _mm256_store_ps(d + p * NR + 8, _mm256_maskload_ps(s + p * ldb + 8, m1));
        }
      }
    } else {
      const float* s = b + j0 * ldb;
      const int lo = cols < 8 ? cols : 8, hi = cols - lo;
      for (int64_t p0 = 0; p0 < k; p0 += 8) {
        const int steps = static_cast<int>(k - p0 < 8 ? k - p0 : 8);
        transpose_block(s + p0, ldb, lo, steps, d + p0 * NR, NR, 8);
        if (hi > 0) {
          transpose_block(s + 8 * ldb + p0, ldb, hi, steps, d + p0 * NR + 8, NR, 8);
        } else {
          for (int q = 0; q < steps; q++) _mm256_store_ps(d + (p0 + q) * NR + 8, _mm256_setzero_ps());
        }
      }
    }
  }
}

void packed_gemv(int64_t i0, int64_t i1, int64_t K, int64_t kc, int64_t mpad, const float* packed,
                 const float* xt, int64_t n, float alpha, float beta, float* c, int64_t ldc) {
  packed_gemv_generic<MR>(i0, i1, K, kc, mpad, packed, xt, n, alpha, beta, c, ldc);
}

}  // namespace

const KernelSet& avx2_kernels() {
  static const KernelSet set = {"f32_gemm_6x16_avx2", MR, NR, 2016, 384, 2048,
                                kernel_6x16, pack_a, pack_b,
                                gemv_dot_generic, gemv_axpy_generic,
                                gemm_dot_rows_generic, packed_gemv};
  return set;
}

}  // namespace gemm
}  // namespace receptive
#endif  // __x86_64__
