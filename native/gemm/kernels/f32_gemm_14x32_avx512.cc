// AVX-512 micro-kernel: 14x32 tile = 28 zmm accumulators + 2 zmm of B + 1 broadcast of A,
// 31 of 32 registers. Per k step 2 loads + 14 broadcasts feed 28 FMAs: on cores with two
// 512-bit FMA pipes (Sapphire Rapids) that is 14 cycles of FMA against 8 of loads, and on
// Zen 4 (512-bit ops split in two 256-bit halves) the same ratio holds.
//
// Edge tiles run the same kernel instantiated for fewer rows (1..14) and one or two zmm
// columns, so a 16-row or 100-column problem wastes no FMAs on padding; the last column
// vector is stored through an opmask. A can also be read unpacked, straight from the
// caller's matrix (row-major: 14 row streams; transposed: like a packed panel with a
// wider stride), which the driver does when each A panel meets only one or two B panels
// and packing it would cost as much as using it.
//
// Packing transposes 16x16 blocks in registers where the source layout needs it (A not
// transposed, B transposed); straight copies otherwise.
#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "../gemv_inl.h"
#include "../pack_inl.h"

// GCC 12 reports the self-initialized "undefined" operand inside its own AVX-512
// shuffle intrinsics as uninitialized (GCC PR 105593); the code here is fine.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include "../sgemm_kernels.h"
#include "receptive/avx512_rows.h"

namespace receptive {
namespace gemm {
namespace {

constexpr int MR = 14;
constexpr int NR = 32;

inline __mmask16 col_mask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : static_cast<__mmask16>((1u << (n > 0 ? n : 0)) - 1u);
}

// Address of A(I, p) for the row-major A mode, a(i, p) = a[i*rs + p], from two bases
// (rows 0.. and 8..) and byte offsets r1 = rs, r3 = 3rs, r5 = 5rs, r7 = 7rs (times 4), so
// that 14 rows need 6 registers instead of 14 pointers.
template <int I>
inline const float* row_ptr(const char* a0, const char* a8, int64_t r1, int64_t r3, int64_t r5,
                            int64_t r7) {
  constexpr bool high = I >= 8 && I != 10 && I != 12;
  const char* base = high ? a8 : a0;
  constexpr int j = high ? I - 8 : I;
  switch (j) {
    case 0: return reinterpret_cast<const float*>(base);
    case 1: return reinterpret_cast<const float*>(base + r1);
    case 2: return reinterpret_cast<const float*>(base + r1 * 2);
    case 3: return reinterpret_cast<const float*>(base + r3);
    case 4: return reinterpret_cast<const float*>(base + r1 * 4);
    case 5: return reinterpret_cast<const float*>(base + r5);
    case 6: return reinterpret_cast<const float*>(base + r3 * 2);
    case 7: return reinterpret_cast<const float*>(base + r7);
    case 10: return reinterpret_cast<const float*>(base + r5 * 2);
    default: return reinterpret_cast<const float*>(base + r3 * 4);  // 12
  }
}

// ROWS x (16*NV) tile; n is the number of valid columns (16*(NV-1) < n <= 16*NV).
// A is k-major (a(i, p) = a[p*sa + i]: packed panels, sa = MR, or a transposed source)
// or, with ROW_MAJOR_A, row-major (a(i, p) = a[i*sa + p]: an unpacked source).
template <int ROWS, int NV, bool ROW_MAJOR_A>
void tile(int64_t k, const float* a, int64_t sa, const float* bp, int64_t ldbp, float* c,
          int64_t ldc, int64_t n, float alpha, float beta, const float* pf, int64_t pf_ld,
          const TileEpilogue* ep) {
  __m512 acc[ROWS][NV];
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; i++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
#pragma GCC unroll 14
  for (int i = 0; i < ROWS; i++) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16 * NV - 1), _MM_HINT_T0);
  }
  // The last B vector is loaded through the column mask: an unpacked B row ends at n.
  const __mmask16 last = col_mask(n - 16 * (NV - 1));
  const int64_t r1 = sa * 4, r3 = 3 * r1, r5 = 5 * r1, r7 = 7 * r1;
  const char* a0 = reinterpret_cast<const char*>(a);
  const char* a8 = a0 + 8 * r1;
  // Two k steps per loop trip: fewer loop-counter uops on the ports the FMAs use
  // (measured ~5% over no unrolling; 4 was no better).
#pragma GCC unroll 2
  for (int64_t p = 0; p < k; p++) {
    __m512 b[NV];
    if (NV == 2) b[0] = _mm512_loadu_ps(bp);
    b[NV - 1] = _mm512_maskz_loadu_ps(last, bp + 16 * (NV - 1));
#define RECEPTIVE_ROW(I)                                                                  \
  if constexpr (I < ROWS) {                                                               \
    const float* ai = ROW_MAJOR_A ? row_ptr<I>(a0, a8, r1, r3, r5, r7) : a + I;           \
    const __m512 av = _mm512_set1_ps(*ai);                                                \
    acc[I][0] = _mm512_fmadd_ps(av, b[0], acc[I][0]);                                     \
    if constexpr (NV == 2) acc[I][NV - 1] = _mm512_fmadd_ps(av, b[NV - 1], acc[I][NV - 1]); \
  }
    RECEPTIVE_ROW(0) RECEPTIVE_ROW(1) RECEPTIVE_ROW(2) RECEPTIVE_ROW(3) RECEPTIVE_ROW(4)
    RECEPTIVE_ROW(5) RECEPTIVE_ROW(6) RECEPTIVE_ROW(7) RECEPTIVE_ROW(8) RECEPTIVE_ROW(9)
    RECEPTIVE_ROW(10) RECEPTIVE_ROW(11) RECEPTIVE_ROW(12) RECEPTIVE_ROW(13)
#undef RECEPTIVE_ROW
    if (ROW_MAJOR_A) {
      a0 += 4;
      a8 += 4;
    } else {
      a += sa;
    }
    bp += ldbp;
    _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T1);
    pf += pf_ld;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (ep != nullptr) {
    // alpha/beta as in the branches below (the same values bit for bit), then the output
    // stage in the order of TileEpilogue, before the one store.
    const __m512 vb = _mm512_set1_ps(beta), zero = _mm512_setzero_ps();
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
      float* ci = c + i * ldc;
      float* cl = ci + 16 * (NV - 1);
      __m512 r0 = zero, rl;
      if (beta == 0.f) {
        if (NV == 2) r0 = _mm512_mul_ps(va, acc[i][0]);
        rl = _mm512_mul_ps(va, acc[i][NV - 1]);
      } else if (beta == 1.f) {
        if (NV == 2) r0 = _mm512_fmadd_ps(va, acc[i][0], _mm512_loadu_ps(ci));
        rl = _mm512_fmadd_ps(va, acc[i][NV - 1], _mm512_maskz_loadu_ps(last, cl));
      } else {
        if (NV == 2) r0 = _mm512_fmadd_ps(va, acc[i][0], _mm512_mul_ps(vb, _mm512_loadu_ps(ci)));
        rl = _mm512_fmadd_ps(va, acc[i][NV - 1], _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(last, cl)));
      }
      const __m512 vbias = _mm512_set1_ps(ep->bias ? ep->bias[i] : 0.f);
      if (NV == 2) r0 = _mm512_add_ps(r0, vbias);
      rl = _mm512_add_ps(rl, vbias);
      if (ep->residual) {
        const float* ri = ep->residual + i * ep->ldr;
        if (NV == 2) r0 = _mm512_add_ps(r0, _mm512_loadu_ps(ri));
        rl = _mm512_add_ps(rl, _mm512_maskz_loadu_ps(last, ri + 16 * (NV - 1)));
      }
      if (ep->relu) {
        if (NV == 2) r0 = _mm512_mask_mov_ps(r0, _mm512_cmp_ps_mask(r0, zero, _CMP_LT_OQ), zero);
        rl = _mm512_mask_mov_ps(rl, _mm512_cmp_ps_mask(rl, zero, _CMP_LT_OQ), zero);
      }
      if (NV == 2) _mm512_storeu_ps(ci, r0);
      _mm512_mask_storeu_ps(cl, last, rl);
    }
    return;
  }
  if (beta == 0.f && alpha == 1.f) {
    // The common case (a plain product): no multiply ahead of the stores, which matters
    // for shallow tiles (K = 64: ~900 cycles of FMAs, ~60 of epilogue).
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
      float* ci = c + i * ldc;
      if (NV == 2) _mm512_storeu_ps(ci, acc[i][0]);
      _mm512_mask_storeu_ps(ci + 16 * (NV - 1), last, acc[i][NV - 1]);
    }
  } else if (beta == 0.f) {
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
      float* ci = c + i * ldc;
      if (NV == 2) _mm512_storeu_ps(ci, _mm512_mul_ps(va, acc[i][0]));
      _mm512_mask_storeu_ps(ci + 16 * (NV - 1), last, _mm512_mul_ps(va, acc[i][NV - 1]));
    }
  } else if (beta == 1.f) {
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
      float* ci = c + i * ldc;
      if (NV == 2) _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, acc[i][0], _mm512_loadu_ps(ci)));
      float* cl = ci + 16 * (NV - 1);
      _mm512_mask_storeu_ps(cl, last,
                            _mm512_fmadd_ps(va, acc[i][NV - 1], _mm512_maskz_loadu_ps(last, cl)));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
    for (int i = 0; i < ROWS; i++) {
      float* ci = c + i * ldc;
      if (NV == 2)
        _mm512_storeu_ps(ci, _mm512_fmadd_ps(va, acc[i][0], _mm512_mul_ps(vb, _mm512_loadu_ps(ci))));
      float* cl = ci + 16 * (NV - 1);
      _mm512_mask_storeu_ps(
          cl, last,
          _mm512_fmadd_ps(va, acc[i][NV - 1], _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(last, cl))));
    }
  }
}

using TileFn = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t,
                        int64_t, float, float, const float*, int64_t, const TileEpilogue*);

template <bool RM>
struct TileTable {
  TileFn fn[MR][2];
};

template <bool RM, int... R>
constexpr TileTable<RM> make_table(std::integer_sequence<int, R...>) {
  return TileTable<RM>{{{&tile<R + 1, 1, RM>, &tile<R + 1, 2, RM>}...}};
}

constexpr TileTable<false> kTilesKMajor = make_table<false>(std::make_integer_sequence<int, MR>());
constexpr TileTable<true> kTilesRowMajor = make_table<true>(std::make_integer_sequence<int, MR>());

void kernel_14x32(int64_t k, const float* a, int64_t rs_a, int64_t cs_a, const float* bp,
                  int64_t ldbp, float* c, int64_t ldc, int64_t m, int64_t n, float alpha,
                  float beta, const float* pf, int64_t pf_ld, const TileEpilogue* ep) {
  const int v = n > 16 ? 1 : 0;
  if (rs_a == 1)
    kTilesKMajor.fn[m - 1][v](k, a, cs_a, bp, ldbp, c, ldc, n, alpha, beta, pf, pf_ld, ep);
  else
    kTilesRowMajor.fn[m - 1][v](k, a, rs_a, bp, ldbp, c, ldc, n, alpha, beta, pf, pf_ld, ep);
}

// Transposes `rows` (<= 16) source rows of `cols` (<= 16) floats at stride ld into
// destination rows of `width` floats (only the first `keep` lanes are stored): the
// destination row q receives src[0..rows)[q], zero past `rows`.
inline void transpose_block(const float* src, int64_t ld, int rows, int cols, float* dst,
                            int64_t dst_stride, __mmask16 keep) {
  __m512 r[16];
  const __mmask16 cm = col_mask(cols);
  for (int i = 0; i < 16; i++)
    r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + i * ld) : _mm512_setzero_ps();
  avx512_rows::transpose16(r);
  for (int q = 0; q < cols; q++) _mm512_mask_storeu_ps(dst + q * dst_stride, keep, r[q]);
}

void pack_a(bool trans, int64_t m, int64_t k, const float* a, int64_t lda, float* dst) {
  constexpr __mmask16 keep = (1u << MR) - 1u;
  for (int64_t i0 = 0; i0 < m; i0 += MR) {
    const int rows = static_cast<int>(m - i0 < MR ? m - i0 : MR);
    float* d = dst + i0 * k;
    if (trans) {
      // op(A)(i, p) = a[p*lda + i]: each k step is a contiguous run of `rows` floats.
      const float* s = a + i0;
      const __mmask16 rm = col_mask(rows);
      for (int64_t p = 0; p < k; p++)
        _mm512_mask_storeu_ps(d + p * MR, keep, _mm512_maskz_loadu_ps(rm, s + p * lda));
    } else {
      const float* s = a + i0 * lda;
      for (int64_t p0 = 0; p0 < k; p0 += 16) {
        const int cols = static_cast<int>(k - p0 < 16 ? k - p0 : 16);
        transpose_block(s + p0, lda, rows, cols, d + p0 * MR, MR, keep);
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
    // Columns [n, n + pf) are packed next (a driver that packs one panel at a time, then
    // computes with it): fetch their source lines into L2 while this panel's products run.
    const int64_t ahead = j0 + NR >= n ? std::min<int64_t>(pf, NR) : 0;
    if (!trans) {
      const float* s = b + j0;
      const __mmask16 m0 = col_mask(cols), m1 = col_mask(cols - 16);
      for (int64_t p = 0; p < k; p++) {
        if (ahead > 0) {
          prefetch_l2(s, p * ldb + cols);
          prefetch_l2(s, p * ldb + cols + ahead - 1);
          if (ahead > 16) prefetch_l2(s, p * ldb + cols + 16);
        }
        _mm512_store_ps(d + p * NR, _mm512_maskz_loadu_ps(m0, s + p * ldb));
        _mm512_store_ps(d + p * NR + 16, _mm512_maskz_loadu_ps(m1, s + p * ldb + 16));
      }
    } else {
      // op(B)(p, j) = b[j*ldb + p]: 16 columns of the panel are 16 source rows.
      const float* s = b + j0 * ldb;
      const int lo = cols < 16 ? cols : 16, hi = cols - lo;
      for (int64_t p0 = 0; p0 < k; p0 += 16) {
        const int steps = static_cast<int>(k - p0 < 16 ? k - p0 : 16);
        for (int64_t r = 0; r < ahead; r++) prefetch_l2(s, (cols + r) * ldb + p0);
        transpose_block(s + p0, ldb, lo, steps, d + p0 * NR, NR, 0xFFFF);
        if (hi > 0) {
          transpose_block(s + 16 * ldb + p0, ldb, hi, steps, d + p0 * NR + 16, NR, 0xFFFF);
        } else {
          for (int q = 0; q < steps; q++) _mm512_store_ps(d + (p0 + q) * NR + 16, _mm512_setzero_ps());
        }
      }
    }
  }
}

// A 14-row panel column is one masked zmm; four k steps in flight hide the FMA latency.
void packed_gemv(int64_t i0, int64_t i1, int64_t K, int64_t kc, int64_t mpad, const float* packed,
                 const float* xt, int64_t n, float alpha, float beta, float* c, int64_t ldc) {
  constexpr __mmask16 rows_mask = (1u << MR) - 1u;
  for (int64_t r0 = i0; r0 < i1; r0 += MR) {
    const int64_t rows = std::min<int64_t>(MR, i1 - r0);
    for (int64_t j = 0; j < n; j++) {
      __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      for (int64_t pc = 0; pc < K; pc += kc) {
        const int64_t kcur = std::min(kc, K - pc);
        const float* panel = packed + pc * mpad + r0 * kcur;
        const float* x = xt + j * K + pc;
        int64_t p = 0;
        for (; p + 4 <= kcur; p += 4) {
          const float* a = panel + p * MR;
          s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(rows_mask, a), _mm512_set1_ps(x[p]), s0);
          s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(rows_mask, a + MR), _mm512_set1_ps(x[p + 1]), s1);
          s2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(rows_mask, a + 2 * MR), _mm512_set1_ps(x[p + 2]), s2);
          s3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(rows_mask, a + 3 * MR), _mm512_set1_ps(x[p + 3]), s3);
        }
        for (; p < kcur; p++)
          s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(rows_mask, panel + p * MR), _mm512_set1_ps(x[p]), s0);
      }
      alignas(64) float acc[16];
      _mm512_store_ps(acc, _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
      for (int64_t r = 0; r < rows; r++) {
        float* cij = c + (r0 + r) * ldc + j;
        *cij = beta == 0.f ? alpha * acc[r] : alpha * acc[r] + beta * *cij;
      }
    }
  }
}

}  // namespace

const KernelSet& avx512_kernels() {
  static const KernelSet set = {"f32_gemm_14x32_avx512", MR, NR, 2016, 256, 2048,
                                kernel_14x32, pack_a, pack_b,
                                gemv_dot_generic, gemv_axpy_generic,
                                gemm_dot_rows_generic, packed_gemv, false};
  return set;
}

}  // namespace gemm
}  // namespace receptive
#endif  // __x86_64__
