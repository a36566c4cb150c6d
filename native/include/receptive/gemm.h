// Single-precision GEMM, row-major: C = alpha * op(A) * op(B) + beta * C.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace receptive {

// An output stage fused into sgemm: after C = alpha * op(A) * op(B) + beta * C, each
// element becomes C(i, j) + bias[i] + residual[i*ld_residual + j], then max(0, .) with NaN
// kept when relu; each part optional (null). The micro-kernels apply it to each tile while
// it is in registers, in this order, so the result equals a separate pass bit for bit.
// residual must not overlap C.
struct GemmRowBlocks;
struct GemmEpilogue {
  const float* bias = nullptr;
  const float* residual = nullptr;
  int64_t ld_residual = 0;
  bool relu = false;
  // C's rows in separate blocks (the outputs of sibling layers computed as one product), or
  // null: one matrix at C. Not with a residual.
  const GemmRowBlocks* rows = nullptr;
};

// C's rows [first[i], first[i+1]) (the last block to M) start at c[i], ldc apart; sgemm
// ignores its C argument. first[0] == 0, increasing. A register tile that straddles two
// blocks runs as two.
struct GemmRowBlocks {
  static constexpr int kMax = 8;
  int count = 0;
  int64_t first[kMax] = {};
  float* c[kMax] = {};
};

// op(A) is M x K, op(B) is K x N, C is M x N; lda/ldb/ldc are row strides in floats.
// beta == 0 means C is write-only (its old contents, NaN included, are ignored).
// Runs on the threads set by set_num_threads(); when called from inside an OpenMP
// parallel region it runs on the calling thread only. ep: see GemmEpilogue.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
           float* C, int64_t ldc, const GemmEpilogue* ep = nullptr);

// A left operand packed once into the micro-kernel layout, for many products with the
// same A (convolution weights over a batch of images / bands): sgemm(packed, ...) skips
// the per-call packing of A, which matters when N is small next to K. The panels are
// laid out for the kernels of active_isa() at pack() time and keep using those kernels
// even if the ISA is forced differently later. Not thread-safe to pack() while another
// thread computes with the same object; computing from several threads at once is fine.
class SgemmPackedA {
 public:
  SgemmPackedA() = default;
  SgemmPackedA(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda) {
    pack(trans_a, M, K, A, lda);
  }
  // Packs op(A), M x K (trans_a: A is stored K x M), replacing what was held.
  void pack(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda);
  // The same in row blocks, for a caller that produces A a block at a time: reset(M, K)
  // sizes it (rows not yet packed are zeros), then pack_rows(r0, n, A, lda) packs rows
  // [r0, r0 + n) of a non-transposed A from A (row r0 at A), r0 a multiple of
  // row_block() and n one too unless the block ends at M.
  void reset(int64_t M, int64_t K);
  void pack_rows(int64_t r0, int64_t n, const float* A, int64_t lda);
  int64_t row_block() const;
  int64_t rows() const { return M_; }
  int64_t depth() const { return K_; }
  // Bytes held (panels are zero-padded to the kernel's row tile).
  size_t bytes() const { return data_.size() * sizeof(float); }

 private:
  friend void sgemm(const SgemmPackedA& A, bool trans_b, int64_t N, float alpha,
                    const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
                    const GemmEpilogue* ep);
  std::vector<float> data_;
  int64_t M_ = 0, K_ = 0, kc_ = 0, mpad_ = 0;
  int isa_ = 0;
};

// C = alpha * A * op(B) + beta * C with a pre-packed A (M = A.rows(), K = A.depth()); the
// same semantics and threading as the plain sgemm.
void sgemm(const SgemmPackedA& A, bool trans_b, int64_t N, float alpha, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc, const GemmEpilogue* ep = nullptr);

}  // namespace receptive
