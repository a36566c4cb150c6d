// Single-precision GEMM, row-major: C = alpha * op(A) * op(B) + beta * C.
#pragma once
#include <cstdint>

namespace receptive {

// op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides in floats.
// beta == 0 means C is write-only (its old contents, NaN included, are ignored).
// Runs on the threads set by set_num_threads(); when called from inside an OpenMP
// parallel region it runs on the calling thread only.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
           float* C, int64_t ldc);

}  // namespace receptive
