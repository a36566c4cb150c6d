// Portable micro-kernel: a 4x8 tile of accumulators written as plain loops, which the
// compiler keeps in registers and vectorizes for the baseline ISA (SSE2 on x86-64, NEON
// on arm64). The reference path that runs everywhere.
#include "../gemv_inl.h"
#include "../pack_inl.h"
#include "../sgemm_kernels.h"

namespace receptive {
namespace gemm {
namespace {

constexpr int MR = 4;
constexpr int NR = 8;

void kernel_4x8(int64_t k, const float* ap, int64_t rs_a, int64_t cs_a, const float* bp,
                int64_t ldbp, float* c, int64_t ldc, int64_t m, int64_t n, float alpha,
                float beta, const float* /*pf*/, int64_t /*pf_ld*/, const TileEpilogue* ep) {
  float acc[MR][NR] = {};
  if (rs_a == 1 && cs_a == MR && m == MR && ldbp == NR) {
    for (int64_t p = 0; p < k; p++) {
      const float* a = ap + p * MR;
      const float* b = bp + p * NR;
      for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
    }
  } else {
    // Unpacked B (ldbp != NR) has only n valid columns.
    const int64_t cols = ldbp == NR ? NR : n;
    for (int64_t p = 0; p < k; p++) {
      const float* b = bp + p * ldbp;
      for (int64_t i = 0; i < m; i++) {
        const float a = ap[i * rs_a + p * cs_a];
        for (int64_t j = 0; j < cols; j++) acc[i][j] += a * b[j];
      }
    }
  }
  store_edge<NR>(&acc[0][0], c, ldc, m, n, alpha, beta);
  if (ep) tile_epilogue_generic(*ep, m, n, c, ldc);
}

void pack_a(bool trans, int64_t m, int64_t k, const float* a, int64_t lda, float* dst) {
  pack_a_generic<MR>(trans, m, k, a, lda, dst);
}

void pack_b(bool trans, int64_t k, int64_t n, const float* b, int64_t ldb, float* dst,
            int64_t /*pf*/) {
  pack_b_generic<NR>(trans, k, n, b, ldb, dst);
}

void packed_gemv(int64_t i0, int64_t i1, int64_t K, int64_t kc, int64_t mpad, const float* packed,
                 const float* xt, int64_t n, float alpha, float beta, float* c, int64_t ldc) {
  packed_gemv_generic<MR>(i0, i1, K, kc, mpad, packed, xt, n, alpha, beta, c, ldc);
}

}  // namespace

const KernelSet& scalar_kernels() {
  static const KernelSet set = {"f32_gemm_4x8_scalar", MR, NR, 128, 256, 2048,
                                kernel_4x8, pack_a, pack_b,
                                gemv_dot_generic, gemv_axpy_generic,
                                gemm_dot_rows_generic, packed_gemv, false};
  return set;
}

}  // namespace gemm
}  // namespace receptive
