// Portable packing loops, included by each kernel file so that they are compiled (and
// auto-vectorized) with that file's ISA flags. Everything here has internal linkage: a
// template instantiated in an AVX-512 file must never be merged by the linker with the
// same instantiation from a baseline file.
#pragma once
#include <cstdint>

#include "sgemm_kernels.h"

namespace receptive {
namespace gemm {
namespace {

// op(A) rows [0, m) into MR-row micro-panels: dst[panel][p*MR + i].
template <int MR>
void pack_a_generic(bool trans, int64_t m, int64_t k, const float* a, int64_t lda, float* dst) {
  for (int64_t i0 = 0; i0 < m; i0 += MR) {
    const int64_t rows = m - i0 < MR ? m - i0 : MR;
    float* d = dst + i0 * k;
    if (trans) {
      const float* s = a + i0;
      if (rows == MR) {
        for (int64_t p = 0; p < k; p++)
          for (int i = 0; i < MR; i++) d[p * MR + i] = s[p * lda + i];
      } else {
        for (int64_t p = 0; p < k; p++) {
          for (int64_t i = 0; i < rows; i++) d[p * MR + i] = s[p * lda + i];
          for (int64_t i = rows; i < MR; i++) d[p * MR + i] = 0.f;
        }
      }
    } else {
      const float* s = a + i0 * lda;
      for (int64_t i = 0; i < rows; i++)
        for (int64_t p = 0; p < k; p++) d[p * MR + i] = s[i * lda + p];
      for (int64_t i = rows; i < MR; i++)
        for (int64_t p = 0; p < k; p++) d[p * MR + i] = 0.f;
    }
  }
}

// op(B) cols [0, n) into NR-column micro-panels: dst[panel][p*NR + j].
template <int NR>
void pack_b_generic(bool trans, int64_t k, int64_t n, const float* b, int64_t ldb, float* dst) {
  for (int64_t j0 = 0; j0 < n; j0 += NR) {
    const int64_t cols = n - j0 < NR ? n - j0 : NR;
    float* d = dst + j0 * k;
    if (!trans) {
      const float* s = b + j0;
      if (cols == NR) {
        for (int64_t p = 0; p < k; p++)
          for (int j = 0; j < NR; j++) d[p * NR + j] = s[p * ldb + j];
      } else {
        for (int64_t p = 0; p < k; p++) {
          for (int64_t j = 0; j < cols; j++) d[p * NR + j] = s[p * ldb + j];
          for (int64_t j = cols; j < NR; j++) d[p * NR + j] = 0.f;
        }
      }
    } else {
      const float* s = b + j0 * ldb;
      for (int64_t j = 0; j < cols; j++)
        for (int64_t p = 0; p < k; p++) d[p * NR + j] = s[j * ldb + p];
      for (int64_t j = cols; j < NR; j++)
        for (int64_t p = 0; p < k; p++) d[p * NR + j] = 0.f;
    }
  }
}

// Writes an m x n corner of a full MR x NR tile held in `acc` (row stride NR) into C:
// the edge path of kernels that compute whole tiles in registers.
template <int NR>
inline void store_edge(const float* acc, float* c, int64_t ldc, int64_t m, int64_t n,
                       float alpha, float beta) {
  for (int64_t i = 0; i < m; i++) {
    float* ci = c + i * ldc;
    const float* ai = acc + i * NR;
    if (beta == 0.f) {
      for (int64_t j = 0; j < n; j++) ci[j] = alpha * ai[j];
    } else {
      for (int64_t j = 0; j < n; j++) ci[j] = alpha * ai[j] + beta * ci[j];
    }
  }
}

// The tile output stage (TileEpilogue) over rows [0, m) x columns [0, n) of c, written
// just before and still in L1.
inline void tile_epilogue_generic(const TileEpilogue& ep, int64_t m, int64_t n, float* c,
                                  int64_t ldc) {
  for (int64_t i = 0; i < m; i++) {
    float* ci = c + i * ldc;
    const float b = ep.bias ? ep.bias[i] : 0.f;
    const float* r = ep.residual ? ep.residual + i * ep.ldr : nullptr;
    for (int64_t j = 0; j < n; j++) {
      float v = ci[j] + b;
      if (r) v = v + r[j];
      if (ep.relu && v < 0.f) v = 0.f;  // NaN stays NaN, as in PyTorch
      ci[j] = v;
    }
  }
}

}  // namespace
}  // namespace gemm
}  // namespace receptive
