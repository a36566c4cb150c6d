// The micro-kernel table the sgemm driver dispatches through; one entry per ISA, each
// defined in native/gemm/kernels/f32_gemm_<tile>_<isa>.cc and compiled with that ISA's
// flags. The driver (sgemm.cc) is baseline code and only calls through these pointers
// after checking active_isa(), so no AVX instruction runs on a CPU without it.
#pragma once
#include <cstdint>

namespace receptive {
namespace gemm {

// C[0:m, 0:n] = alpha * A * B + beta * C for one register tile, m <= mr, n <= nr.
// A(i, p) = a[i*rs_a + p*cs_a]; either rs_a == 1 (k-major: a packed micro-panel has
// cs_a == mr) or cs_a == 1 (row-major, unpacked). Rows past m are not read.
// B(p, j) = b[p*ldb + j]: a packed micro-panel when ldb == nr (columns past n are zero
// and may be read), else an unpacked non-transposed source (columns past n are not read;
// the driver never passes an unpacked B whose ldb equals nr).
// beta == 0: C is not read.
// Prefetch stream: at k step p the kernel may prefetch (into L2; a hint, never a read) the
// line at pf + p*pf_ld, for p < k; the driver points it at the source of the B panel it
// packs next (pf_ld = 0 and pf = b when there is nothing to fetch). A kernel set with
// sparse_prefetch also takes pf_ld < 0: then the line at pf + j*(-pf_ld) at k step
// j*kSparsePrefetchSteps (one prefetch every kSparsePrefetchSteps steps).
// ep (may be null): an output stage applied to the tile after alpha/beta, while it is in
// registers (see TileEpilogue).
struct TileEpilogue;
using MicroKernel = void (*)(int64_t k, const float* a, int64_t rs_a, int64_t cs_a,
                             const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
                             int64_t n, float alpha, float beta, const float* pf,
                             int64_t pf_ld, const TileEpilogue* ep);

// The output stage of one tile (GemmEpilogue at the tile's origin): C(i, j) = relu?(C(i, j) +
// bias[i] + residual[i*ldr + j]), each term optional, in that order (the order of the
// convolution's separate pass, so the results are the same bit for bit); ReLU maps v < 0
// to 0 and keeps NaN.
struct TileEpilogue {
  const float* bias;
  const float* residual;
  int64_t ldr;
  bool relu;
};

// Packs rows [0, m) x cols [0, k) of op(A) into ceil(m/mr) micro-panels of k*mr floats,
// zero-padding the last. op(A)(i, p) = trans ? a[p*lda + i] : a[i*lda + p].
using PackA = void (*)(bool trans, int64_t m, int64_t k, const float* a, int64_t lda,
                       float* dst);
// Packs rows [0, k) x cols [0, n) of op(B) into ceil(n/nr) micro-panels of k*nr floats,
// zero-padding the last. op(B)(p, j) = trans ? b[j*ldb + p] : b[p*ldb + j].
// pf > 0: columns [n, n + pf) of op(B) are packed next; the packer may prefetch (a hint,
// never a read) the source of up to one panel of them.
using PackB = void (*)(bool trans, int64_t k, int64_t n, const float* b, int64_t ldb,
                       float* dst, int64_t pf);

// Matrix-vector forms (see gemv_inl.h). GemvDot: y[i*incy] = alpha * <a + i*lda, x> +
// beta * y[i*incy], i < m. GemvAxpy: y[j] = sum_p x[p] * b[p*ldb + j] + beta * y[j], j < n
// (alpha already in x). PackedGemv: C[i*ldc + j] = alpha * sum_p A(i, p) * xt[j*K + p] +
// beta * C[i*ldc + j] for rows [i0, i1) of a pre-packed A (i0 a multiple of mr), j < n.
// beta == 0: the output is not read.
using GemvDot = void (*)(int64_t m, int64_t k, float alpha, const float* a, int64_t lda,
                         const float* x, float beta, float* y, int64_t incy);
using GemvAxpy = void (*)(int64_t n, int64_t k, const float* x, const float* b, int64_t ldb,
                          float beta, float* y);
// GemmDotRows: C[i*ldc + j] = alpha * <a + i*lda, b + j*ldb> + beta * C[i*ldc + j], i < m
// (a few rows), j < n.
using GemmDotRows = void (*)(int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                             int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                             int64_t ldc);
using PackedGemv = void (*)(int64_t i0, int64_t i1, int64_t K, int64_t kc, int64_t mpad,
                            const float* packed, const float* xt, int64_t n, float alpha,
                            float beta, float* c, int64_t ldc);

// k steps between two prefetches of the sparse stream (pf_ld < 0, above).
constexpr int64_t kSparsePrefetchSteps = 8;

struct KernelSet {
  const char* name;
  int mr, nr;       // register tile
  int mc, kc, nc;   // cache blocks: A block mc x kc (L3), B block kc x nc (L2); an
                    // A micro-panel mr x kc stays in L1. kc and nc are upper bounds that
                    // the driver lowers to fit the L1/L2 sizes of the running CPU. mc is
                    // large (a thread's whole share of M, usually) because B is packed
                    // again for every A block, while a bigger A block costs only memory.
  MicroKernel kernel;
  PackA pack_a;
  PackB pack_b;
  GemvDot gemv_dot;
  GemvAxpy gemv_axpy;
  GemmDotRows gemm_dot_rows;
  PackedGemv packed_gemv;
  bool sparse_prefetch;  // the kernel takes the sparse prefetch stream (pf_ld < 0)
};

struct Blocking {
  int mc, kc, nc;
  int unpacked_a_panels = 0;  // read A unpacked up to this many B panels (-1: never)
  int unpacked_b_panels = 0;  // read B unpacked up to this many A panels (-1: never)
};
// Tuning harnesses only (not thread-safe): replaces the kernel sets' cache blocks; a zero
// field keeps the default.
void set_blocking_override(const Blocking& b);

const KernelSet& scalar_kernels();
#if defined(__x86_64__)
const KernelSet& avx2_kernels();
const KernelSet& avx512_kernels();
#endif

}  // namespace gemm
}  // namespace receptive
