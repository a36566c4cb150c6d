// AVX2+FMA micro-kernel: 6x16 tile = 12 ymm accumulators + 2 ymm of B + 1 broadcast of A,
// 15 of the 16 ymm registers. Per k step 2 loads + 6 broadcasts feed 12 FMAs, enough to
// keep two FMA pipes busy on Haswell..Zen 3 (BLIS/OpenBLAS use the same shape).
//
// Edge tiles run the kernel instantiated for fewer rows (1..6) and one or two ymm
// columns; the last column vector goes through vmaskmov. Packing transposes 8x8 blocks in
// registers where the source layout needs it.
#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
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

// Hints only: prefetches never fault, and the address is formed as an integer so that no
// out-of-range pointer is ever computed.
inline void prefetch_l2(const float* base, int64_t offset) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(base) + static_cast<uintptr_t>(offset) * 4u;
  _mm_prefetch(reinterpret_cast<const char*>(a), _MM_HINT_T1);
}
inline void prefetch_l1(const float* base, int64_t offset) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(base) + static_cast<uintptr_t>(offset) * 4u;
  _mm_prefetch(reinterpret_cast<const char*>(a), _MM_HINT_T0);
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
  const bool sparse_pf = pf_ld < 0;  // one prefetch every kSparsePrefetchSteps steps
  const int64_t pf_step = sparse_pf ? -pf_ld : pf_ld;
  __m256 acc[ROWS][NV];
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; i++) {
    prefetch_l1(c, i * ldc);
    prefetch_l1(c, i * ldc + n - 1);
  }
  if (ep != nullptr && ep->residual != nullptr) {
    // The residual's lines, read by the output stage after the products: fetched now, so
    // that a short K does not leave the stage waiting on memory (ResNet's 1x1 expansions
    // with the shortcut fused, batch 8, one core, interleaved: C128 -> 512 28x28 -3..5%,
    // C256 -> 1024 14x14 -1..10%, C64 -> 256 56x56 even).
#pragma GCC unroll 6
    for (int i = 0; i < ROWS; i++) {
      prefetch_l1(ep->residual, i * ep->ldr);
      prefetch_l1(ep->residual, i * ep->ldr + n - 1);
    }
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
    if (!sparse_pf || p % kSparsePrefetchSteps == 0) {
      _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T1);
      pf += pf_step;
    }
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

// ---- fully connected layers on a small batch: C = alpha * A * B^T (+ beta * C) ----------
//
// gemm_dot_rows_generic's 4x4 block of sums spilled on AVX2 (16 accumulators in 16
// registers), and it read both operands from L2 on every pass. Here a block of kDotJ rows
// of B (weights) times kDotI rows of A keeps 12 accumulators, 2 A vectors and one B vector
// in registers (8 loads per 12 FMAs), and K runs in chunks of kDotKc floats so that the B
// block's chunk (12 KiB) stays in L1 while every pair of A rows passes over it; the partial
// sums wait between chunks in a small buffer (AlexNet's 9216 -> 4096 at batch 32, two
// threads: 76 -> 104-114 GFLOP/s).
constexpr int kDotI = 2, kDotJ = 6;
constexpr int64_t kDotKc = 512;
constexpr int64_t kDotMinM = 16, kDotMaxM = 32;

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// acc[i][j] (+)= sum over p < kcur of a_i[p] * b_j[p], kcur a multiple of 8 or the tail of K
// (its last kcur % 8 floats through masked loads).
template <int I, int J>
inline void dot_block(int64_t kcur, const float* a, int64_t lda, const float* b, int64_t ldb,
                      __m256 (&acc)[kDotI][kDotJ]) {
  // (Sums in locals: through the reference, GCC kept them in memory across the loop.)
  __m256 r[I][J];
  for (int i = 0; i < I; i++)
    for (int j = 0; j < J; j++) r[i][j] = acc[i][j];
  const int64_t full = kcur & ~int64_t(7);
  for (int64_t p = 0; p < full; p += 8) {
    __m256 av[I];
#pragma GCC unroll 2
    for (int i = 0; i < I; i++) av[i] = _mm256_loadu_ps(a + i * lda + p);
#pragma GCC unroll 6
    for (int j = 0; j < J; j++) {
      const __m256 bv = _mm256_loadu_ps(b + j * ldb + p);
#pragma GCC unroll 2
      for (int i = 0; i < I; i++) r[i][j] = _mm256_fmadd_ps(av[i], bv, r[i][j]);
    }
  }
  if (full < kcur) {
    const __m256i m = lane_mask(kcur - full);
    __m256 av[I];
    for (int i = 0; i < I; i++) av[i] = _mm256_maskload_ps(a + i * lda + full, m);
    for (int j = 0; j < J; j++) {
      const __m256 bv = _mm256_maskload_ps(b + j * ldb + full, m);
      for (int i = 0; i < I; i++) r[i][j] = _mm256_fmadd_ps(av[i], bv, r[i][j]);
    }
  }
  for (int i = 0; i < I; i++)
    for (int j = 0; j < J; j++) acc[i][j] = r[i][j];
}

// Rows [0, m) of A against J rows of B (one block), K in chunks. next: the rows of B the
// caller runs next (kDotJ of them), or null.
template <int J>
void dot_rows_block(int64_t m, int64_t k, float alpha, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                    const float* next) {
  alignas(32) float part[kDotMaxM][kDotJ][8];  // sums between chunks
  // The block's chunk of B, copied: rows of a weight matrix are often a multiple of 4 KiB
  // apart (9216 floats), which puts all of them in the same L1 sets, where the A rows
  // passing by evicted them (9216 -> 4096 at batch 32, one core: 47 -> 58 GFLOP/s).
  alignas(64) float chunk[kDotJ][kDotKc];
  const int64_t passes = (m + kDotI - 1) / kDotI;
  for (int64_t p0 = 0; p0 < k; p0 += kDotKc) {
    const int64_t kcur = k - p0 < kDotKc ? k - p0 : kDotKc;
    const bool first = p0 == 0, last = p0 + kcur >= k;
    for (int j = 0; j < J; j++) std::copy(b + j * ldb + p0, b + j * ldb + p0 + kcur, chunk[j]);
    // The next chunk of B (this block's, or the next block's first) is fetched into L2 a
    // slice per pass of A rows: B streams from memory once, and the copy above would
    // otherwise wait on it.
    const float* nb = last ? next : b + p0 + kcur;
    const int64_t nrows = last ? kDotJ : J;
    const int64_t nk = last ? std::min(k, kDotKc) : std::min(k - p0 - kcur, kDotKc);
    const int64_t row_lines = (nk + 15) / 16;
    const int64_t per_pass = nb ? (nrows * row_lines + passes - 1) / passes : 0;
    int64_t pr = 0, pl = 0;  // next line to fetch: row, line in the row
    for (int64_t i0 = 0; i0 < m; i0 += kDotI) {
      for (int64_t q = 0; q < per_pass && pr < nrows; q++) {
        prefetch_l2(nb, pr * ldb + pl * 16);
        if (++pl == row_lines) pl = 0, pr++;
      }
      const int rows = m - i0 < kDotI ? 1 : kDotI;
      __m256 acc[kDotI][kDotJ];
      for (int i = 0; i < kDotI; i++)
        for (int j = 0; j < kDotJ; j++)
          acc[i][j] = first || i >= rows || j >= J ? _mm256_setzero_ps()
                                                   : _mm256_load_ps(part[i0 + i][j]);
      const float* ap = a + i0 * lda + p0;
      if (rows == kDotI) dot_block<kDotI, J>(kcur, ap, lda, chunk[0], kDotKc, acc);
      else dot_block<1, J>(kcur, ap, lda, chunk[0], kDotKc, acc);
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < J; j++) {
          if (!last) {
            _mm256_store_ps(part[i0 + i][j], acc[i][j]);
            continue;
          }
          float* cij = c + (i0 + i) * ldc + j;
          const float s = hsum(acc[i][j]);
          *cij = beta == 0.f ? alpha * s : alpha * s + beta * *cij;
        }
      }
    }
  }
}

void gemm_dot_rows(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                   const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  // Fewer rows of A: B's stream from memory is the bound, which the generic kernel's long
  // unchunked rows keep going better (batch 8: 9.4 against 10.4-12 ms here).
  if (m < kDotMinM || m > kDotMaxM || k == 0) {
    gemm_dot_rows_generic(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  int64_t j = 0;
  for (; j + kDotJ <= n; j += kDotJ) {
    const float* next = j + 2 * kDotJ <= n ? b + (j + kDotJ) * ldb : nullptr;
    dot_rows_block<kDotJ>(m, k, alpha, a, lda, b + j * ldb, ldb, beta, c + j, ldc, next);
  }
  switch (n - j) {
    case 1: dot_rows_block<1>(m, k, alpha, a, lda, b + j * ldb, ldb, beta, c + j, ldc, nullptr); break;
    case 2: dot_rows_block<2>(m, k, alpha, a, lda, b + j * ldb, ldb, beta, c + j, ldc, nullptr); break;
    case 3: dot_rows_block<3>(m, k, alpha, a, lda, b + j * ldb, ldb, beta, c + j, ldc, nullptr); break;
    case 4: dot_rows_block<4>(m, k, alpha, a, lda, b + j * ldb, ldb, beta, c + j, ldc, nullptr); break;
    case 5: dot_rows_block<5>(m, k, alpha, a, lda, b + j * ldb, ldb, beta, c + j, ldc, nullptr); break;
    default: break;
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
                                gemm_dot_rows, packed_gemv, true};
  return set;
}

}  // namespace gemm
}  // namespace receptive
#endif  // __x86_64__
