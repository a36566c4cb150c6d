// AVX-512 micro-kernel: 14x32 tile = 28 zmm accumulators + 2 zmm of B, the A values come
// in as embedded broadcasts (vfmadd231ps zmm, zmm, [mem]{1to16}), so 30 of 32 registers
// are live and each k step is 2 loads + 14 broadcast loads for 28 FMAs. Edge columns use
// opmasks (no scalar tail); edge rows are skipped at the store.
#if defined(__x86_64__)
#include <immintrin.h>

#include "../pack_inl.h"
#include "../sgemm_kernels.h"

namespace receptive {
namespace gemm {
namespace {

constexpr int MR = 14;
constexpr int NR = 32;

inline __mmask16 col_mask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : static_cast<__mmask16>((1u << (n > 0 ? n : 0)) - 1u);
}

void kernel_14x32(int64_t k, const float* ap, const float* bp, float* c, int64_t ldc,
                  int64_t m, int64_t n, float alpha, float beta) {
  __m512 acc[MR][2];
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) {
    acc[i][0] = _mm512_setzero_ps();
    acc[i][1] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < m; i++) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
  for (int64_t p = 0; p < k; p++) {
    const __m512 b0 = _mm512_load_ps(bp);
    const __m512 b1 = _mm512_load_ps(bp + 16);
    _mm_prefetch(reinterpret_cast<const char*>(bp + 4 * NR), _MM_HINT_T0);
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      const __m512 a = _mm512_set1_ps(ap[i]);
      acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
    }
    ap += MR;
    bp += NR;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  const __mmask16 m0 = col_mask(n), m1 = col_mask(n - 16);
  if (beta == 0.f) {
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      if (i < m) {
        _mm512_mask_storeu_ps(c + i * ldc, m0, _mm512_mul_ps(va, acc[i][0]));
        _mm512_mask_storeu_ps(c + i * ldc + 16, m1, _mm512_mul_ps(va, acc[i][1]));
      }
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      if (i < m) {
        float* ci = c + i * ldc;
        const __m512 o0 = _mm512_maskz_loadu_ps(m0, ci);
        const __m512 o1 = _mm512_maskz_loadu_ps(m1, ci + 16);
        _mm512_mask_storeu_ps(ci, m0, _mm512_fmadd_ps(va, acc[i][0], _mm512_mul_ps(vb, o0)));
        _mm512_mask_storeu_ps(ci + 16, m1, _mm512_fmadd_ps(va, acc[i][1], _mm512_mul_ps(vb, o1)));
      }
    }
  }
}

void pack_a(bool trans, int64_t m, int64_t k, const float* a, int64_t lda, float* dst) {
  pack_a_generic<MR>(trans, m, k, a, lda, dst);
}

void pack_b(bool trans, int64_t k, int64_t n, const float* b, int64_t ldb, float* dst) {
  pack_b_generic<NR>(trans, k, n, b, ldb, dst);
}

}  // namespace

const KernelSet& avx512_kernels() {
  static const KernelSet set = {"f32_gemm_14x32_avx512", MR, NR, 168, 384, 4096,
                                kernel_14x32, pack_a, pack_b};
  return set;
}

}  // namespace gemm
}  // namespace receptive
#endif  // __x86_64__
