// Matrix-vector products (one row or one column of C), included by each kernel file so
// that they are compiled (and vectorized through `omp simd`) with that file's ISA flags.
// The register-tile kernels waste most of their lanes on a 1-wide C (a 14x32 tile with
// one valid column does 1/16 of useful work) and packing a transposed operand for a single
// use triples the memory traffic of a fully connected layer at batch 1, so these read the
// matrix once, in place. Internal linkage, as pack_inl.h.
#pragma once
#include <cstdint>

namespace receptive {
namespace gemm {
namespace {

// y[i * incy] = alpha * <a + i*lda, x> + beta * y[i * incy] for i < m (x: k contiguous
// floats; beta == 0: y is not read). Four rows per pass share each load of x.
inline void gemv_dot_generic(int64_t m, int64_t k, float alpha, const float* a, int64_t lda,
                             const float* x, float beta, float* y, int64_t incy) {
  auto finish = [&](int64_t i, float s) {
    float* yi = y + i * incy;
    *yi = beta == 0.f ? alpha * s : alpha * s + beta * *yi;
  };
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) {
    const float *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (int64_t p = 0; p < k; p++) {
      const float xv = x[p];
      s0 += a0[p] * xv;
      s1 += a1[p] * xv;
      s2 += a2[p] * xv;
      s3 += a3[p] * xv;
    }
    finish(i, s0);
    finish(i + 1, s1);
    finish(i + 2, s2);
    finish(i + 3, s3);
  }
  for (; i < m; i++) {
    const float* ai = a + i * lda;
    float s = 0.f;
#pragma omp simd reduction(+ : s)
    for (int64_t p = 0; p < k; p++) s += ai[p] * x[p];
    finish(i, s);
  }
}

// C[i*ldc + j] = alpha * <a + i*lda, b + j*ldb> + beta * C[i*ldc + j] for i < m (a few rows)
// and j < n: a fully connected layer on a small batch (b: the weights, one row per output),
// each row of b read once from memory while the rows of a stay in cache. Four rows of b
// against four of a per pass: 16 sums in flight, two loads per multiply-add pair.
inline void gemm_dot_rows_generic(int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                                  int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                                  int64_t ldc) {
  auto put = [&](int64_t i, int64_t j, float s) {
    float* cij = c + i * ldc + j;
    *cij = beta == 0.f ? alpha * s : alpha * s + beta * *cij;
  };
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float *b0 = b + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) {
      const float *a0 = a + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
      float s00 = 0.f, s01 = 0.f, s02 = 0.f, s03 = 0.f, s10 = 0.f, s11 = 0.f, s12 = 0.f, s13 = 0.f;
      float s20 = 0.f, s21 = 0.f, s22 = 0.f, s23 = 0.f, s30 = 0.f, s31 = 0.f, s32 = 0.f, s33 = 0.f;
#pragma omp simd reduction(+ : s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33)
      for (int64_t p = 0; p < k; p++) {
        const float x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p];
        const float w0 = b0[p], w1 = b1[p], w2 = b2[p], w3 = b3[p];
        s00 += x0 * w0; s01 += x0 * w1; s02 += x0 * w2; s03 += x0 * w3;
        s10 += x1 * w0; s11 += x1 * w1; s12 += x1 * w2; s13 += x1 * w3;
        s20 += x2 * w0; s21 += x2 * w1; s22 += x2 * w2; s23 += x2 * w3;
        s30 += x3 * w0; s31 += x3 * w1; s32 += x3 * w2; s33 += x3 * w3;
      }
      put(i, j, s00); put(i, j + 1, s01); put(i, j + 2, s02); put(i, j + 3, s03);
      put(i + 1, j, s10); put(i + 1, j + 1, s11); put(i + 1, j + 2, s12); put(i + 1, j + 3, s13);
      put(i + 2, j, s20); put(i + 2, j + 1, s21); put(i + 2, j + 2, s22); put(i + 2, j + 3, s23);
      put(i + 3, j, s30); put(i + 3, j + 1, s31); put(i + 3, j + 2, s32); put(i + 3, j + 3, s33);
    }
    for (; i < m; i++) gemv_dot_generic(4, k, alpha, b0, ldb, a + i * lda, beta, c + i * ldc + j, 1);
  }
  for (; j < n; j++) gemv_dot_generic(m, k, alpha, a, lda, b + j * ldb, beta, c + j, ldc);
}

// y[j] = sum_p x[p] * b[p*ldb + j] + beta * y[j] for j < n (x: k contiguous floats with
// alpha already applied; beta == 0: y is not read). Columns go in blocks that stay in L1
// while four rows of b at a time are added in.
inline void gemv_axpy_generic(int64_t n, int64_t k, const float* x, const float* b, int64_t ldb,
                              float beta, float* y) {
  constexpr int64_t kBlock = 512;
  for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
    const int64_t len = n - j0 < kBlock ? n - j0 : kBlock;
    float* yj = y + j0;
    if (beta == 0.f) {
      for (int64_t j = 0; j < len; j++) yj[j] = 0.f;
    } else if (beta != 1.f) {
      for (int64_t j = 0; j < len; j++) yj[j] *= beta;
    }
    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
      const float *b0 = b + p * ldb + j0, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
      const float x0 = x[p], x1 = x[p + 1], x2 = x[p + 2], x3 = x[p + 3];
#pragma omp simd
      for (int64_t j = 0; j < len; j++) yj[j] += x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j];
    }
    for (; p < k; p++) {
      const float* bp = b + p * ldb + j0;
      const float xv = x[p];
#pragma omp simd
      for (int64_t j = 0; j < len; j++) yj[j] += xv * bp[j];
    }
  }
}

// C[i*ldc + j] = alpha * sum_p A(i, p) * xt[j*K + p] + beta * C[i*ldc + j] for rows
// [i0, i1) (i0 a multiple of MR) and j < n, A pre-packed (see SgemmPackedA: per kc block
// at offset pc*mpad, MR-row micro-panels of kcur*MR floats, a(i, p) at [p*MR + i]).
// One pass over each panel per column of C, MR sums side by side.
template <int MR>
void packed_gemv_generic(int64_t i0, int64_t i1, int64_t K, int64_t kc, int64_t mpad,
                         const float* packed, const float* xt, int64_t n, float alpha,
                         float beta, float* c, int64_t ldc) {
  for (int64_t r0 = i0; r0 < i1; r0 += MR) {
    const int64_t rows = i1 - r0 < MR ? i1 - r0 : MR;
    for (int64_t j = 0; j < n; j++) {
      float acc[MR] = {};
      for (int64_t pc = 0; pc < K; pc += kc) {
        const int64_t kcur = K - pc < kc ? K - pc : kc;
        const float* panel = packed + pc * mpad + r0 * kcur;
        const float* x = xt + j * K + pc;
        for (int64_t p = 0; p < kcur; p++) {
          const float xv = x[p];
#pragma omp simd
          for (int r = 0; r < MR; r++) acc[r] += panel[p * MR + r] * xv;
        }
      }
      for (int64_t r = 0; r < rows; r++) {
        float* cij = c + (r0 + r) * ldc + j;
        *cij = beta == 0.f ? alpha * acc[r] : alpha * acc[r] + beta * *cij;
      }
    }
  }
}

}  // namespace
}  // namespace gemm
}  // namespace receptive
