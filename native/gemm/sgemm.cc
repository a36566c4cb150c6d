// Packed, cache-blocked SGEMM driver in the BLIS/GotoBLAS shape:
//
//   for ic over M in mc blocks            (A block mc x kc lives in L3)
//     for pc over K in kc blocks          pack A block -> Ap (MR-row micro-panels)
//       for jc over N in nc blocks        pack B block -> Bp (NR-column micro-panels, L2)
//         for ir over mc in MR steps      A micro-panel (MR x kc) stays in L1
//           for jr over nc in NR steps    micro-kernel: MR x NR tile of C in registers,
//                                         B micro-panels stream from L2
//
// Transposes are absorbed by the packing routines, so the micro-kernel sees one layout.
// Packing pays off only when a panel is reused, so skinny blocks skip it (plan_block):
//  - few B panels (N <= 256): the kernels read a row-major A straight from the caller's
//    matrix, and K is not blocked (each A row streams once, C is written once);
//  - few A panels (M <= 140): the kernels read a non-transposed B in place, one B
//    micro-panel (nc = NR) against every A panel of the block, and prefetch the next B
//    panel into L2 while they compute. Packing B there was a pass through L3 that
//    overlapped nothing: a quarter of the time of 64x3136x576. (A panel whose rows crowd
//    a few of L1's sets is copied on its own first: plan_block's copy_b.)
// The first kc block applies the caller's beta, later ones accumulate (beta = 1), so
// beta == 0 never reads C. Threads split C into a grid of rectangles (tm x tn, chosen
// per shape from each thread's plan: split N when M is small and the other way round);
// each thread runs the whole loop nest on its rectangle with its own packing buffers,
// which avoids barriers. The price is that a big A (or B) gets packed once per thread
// column (row), small next to the FLOPs for every shape big enough to be split; skinny
// rectangles read the shared operand in place and pack nothing twice.
// C may be split into row blocks at separate addresses (GemmEpilogue::rows: sibling
// convolutions computed as one product); the register tiles address C row by row, and a tile
// that straddles two blocks runs as two kernel calls.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <vector>

#include "receptive/gemm.h"
#include "receptive/runtime.h"
#include "receptive/threading.h"
#include "pack_inl.h"
#include "sgemm_kernels.h"
#ifdef _OPENMP
#include <omp.h>
#endif

namespace receptive {

namespace {

using gemm::KernelSet;
using gemm::TileEpilogue;

// Packing buffers, one pair per thread, 64-byte aligned, grown on demand and kept.
class PackBuffer {
 public:
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { release(); }
  float* get(size_t n) {
    if (n > cap_) {
      release();
      size_t want = std::max(n, cap_ + cap_ / 2);
      data_ = static_cast<float*>(::operator new(want * sizeof(float), std::align_val_t(64)));
      cap_ = want;
    }
    return data_;
  }

 private:
  void release() {
    if (data_ != nullptr) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
    cap_ = 0;
  }
  float* data_ = nullptr;
  size_t cap_ = 0;
};

struct ThreadBuffers {
  PackBuffer a, b;
};

ThreadBuffers& thread_buffers() {
  thread_local ThreadBuffers buffers;
  return buffers;
}

const KernelSet& kernels_for(Isa isa) {
#if defined(__x86_64__)
  switch (isa) {
    case Isa::Avx512: return gemm::avx512_kernels();
    case Isa::Avx2: return gemm::avx2_kernels();
    case Isa::Scalar: break;
  }
#else
  (void)isa;
#endif
  return gemm::scalar_kernels();
}

gemm::Blocking g_override{0, 0, 0, 0, 0};

struct Problem {
  bool ta, tb;
  int64_t K;
  float alpha;
  const float* A;
  int64_t lda;
  const float* B;
  int64_t ldb;
  float beta;
  float* C;
  int64_t ldc;
  const GemmEpilogue* ep;  // null: none
  const GemmRowBlocks* rows;  // null: C is one matrix

  // Address of C(row, col).
  float* c_at(int64_t row, int64_t col) const {
    if (rows == nullptr) return C + row * ldc + col;
    int b = rows->count - 1;
    while (b > 0 && rows->first[b] > row) b--;
    return rows->c[b] + (row - rows->first[b]) * ldc + col;
  }
  // Rows from `row` on that lie in row's block, at most n.
  int64_t rows_in_block(int64_t row, int64_t n) const {
    if (rows == nullptr) return n;
    for (int b = 1; b < rows->count; b++)
      if (rows->first[b] > row) return std::min(n, rows->first[b] - row);
    return n;
  }
};

// The output stage of C rows [i0, i1) x columns [j0, j1), for the paths that run no
// register tiles (matrix-vector products, K = 0).
void epilogue_rect(const Problem& p, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const GemmEpilogue* ep = p.ep;
  if (ep == nullptr || i1 <= i0 || j1 <= j0) return;
  for (int64_t i = i0, n; i < i1; i += n) {
    n = p.rows_in_block(i, i1 - i);
    const TileEpilogue tep{ep->bias ? ep->bias + i : nullptr,
                           ep->residual ? ep->residual + i * ep->ld_residual + j0 : nullptr,
                           ep->ld_residual, ep->relu};
    gemm::tile_epilogue_generic(tep, n, j1 - j0, p.c_at(i, j0), p.ldc);
  }
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// Block size <= cap that splits n into equal-ish blocks (no thin last block), rounded up
// to a multiple of `unit`.
int64_t balanced_block(int64_t n, int64_t cap, int64_t unit) {
  if (n <= cap) return round_up(n, unit);
  int64_t blocks = ceil_div(n, cap);
  return std::min(round_up(ceil_div(n, blocks), unit), round_up(cap, unit));
}

// kc: the kernel's choice, capped so that an A micro-panel takes at most half of L1,
// then evened out over K.
int64_t choose_kc(const KernelSet& ks, int64_t K) {
  int64_t cap = g_override.kc ? g_override.kc
                              : std::min<int64_t>(ks.kc, l1d_cache_bytes() / 2 / (4 * ks.mr));
  return balanced_block(K, std::max<int64_t>(cap, 64), 1);
}

// A packed ahead of time: for each kc block of K (offset pc * mpad), the MR-row
// micro-panels of all M rows (panel at row i: offset i * kcur within the block).
struct PrepackedA {
  const float* data;
  int64_t mpad, kc;
};

// A micro-panel is read straight from the caller's A, without packing, when the
// thread's columns fit in this many B micro-panels: each A value then feeds only a
// few FMAs and transposing it into a panel would cost about as much as using it.
constexpr int64_t kUnpackedAMaxPanels = 8;
// B is read in place, one micro-panel at a time against every A micro-panel of the block,
// when the thread's rows span at most this many A micro-panels: each B value then feeds
// few FMAs, and packing it (a pass through L3 that overlaps nothing) cost up to a quarter
// of the time for M = 64 (measured), while reading it in place lets the kernels prefetch
// the next panel during the products.
constexpr int64_t kUnpackedBMaxPanels = 10;
// Beyond that, up to this many rows (rounded up to whole panels: 24 of AVX2's 6 rows) when
// the rows of B spread over the L1 sets (b_rows_spread): ResNet's 1x1 C256 -> 64 as 11
// panels of 6 rows, 13.5 -> 10.4 ms at batch 8 on one core with B (ldb 3136) in place.
constexpr int64_t kUnpackedBMaxRows = 140;

// How many of L1's 64 sets rows ldb floats apart start in: a power-of-two row stride puts
// a whole B panel in one or a few sets.
int64_t l1_sets_reached(int64_t ldb) {
  if (ldb % 16 != 0) return 64;  // rows not line-aligned: they walk the sets
  int64_t lines = ldb / 16, common = 1;
  while (common < 64 && lines % (2 * common) == 0) common *= 2;  // gcd(lines, 64)
  return 64 / common;
}

// Whether B's rows land on at least 16 of L1's sets, so that reading it in place does not
// thrash (64x1024x3136 on AVX2: 57 -> 45 GFLOP/s).
bool b_rows_spread(int64_t ldb) { return l1_sets_reached(ldb) >= 16; }

struct Plan {
  bool unpacked_a, unpacked_b, copy_b;
  int64_t kc;
};

// How one thread runs its M x N rectangle: which operands it packs, and the depth of a
// K block.
Plan plan_block(const KernelSet& ks, const Problem& p, const PrepackedA* pre, int64_t M,
                int64_t N) {
  const int64_t mr = ks.mr, nr = ks.nr, K = p.K;
  const int64_t ua = g_override.unpacked_a_panels ? g_override.unpacked_a_panels
                                                  : kUnpackedAMaxPanels;
  const int64_t ub = g_override.unpacked_b_panels ? g_override.unpacked_b_panels
                                                  : kUnpackedBMaxPanels;
  Plan pl;
  // (Only a row-major A: a transposed one read in place costs a new line and often a TLB
  // miss per k step, while packing it is a plain copy. Likewise only a non-transposed B.)
  pl.unpacked_a = pre == nullptr && !p.ta && N <= ua * nr;
  const int64_t a_panels = ceil_div(M, mr);
  pl.unpacked_b = !p.tb && p.ldb != nr &&
                  (a_panels <= ub || (g_override.unpacked_b_panels == 0 &&
                                      a_panels * mr <= kUnpackedBMaxRows && b_rows_spread(p.ldb)));
  if (pre) {
    pl.kc = pre->kc;
  } else if (g_override.kc) {
    pl.kc = balanced_block(K, g_override.kc, 1);
  } else if (pl.unpacked_a && !pl.unpacked_b && N <= 2 * nr) {
    // An A tile meets one or two B panels, so nothing of A is worth keeping in L1 and K
    // need not be blocked for it: one pass writes C once and lets each A row stream
    // (blocking 1000x32x2048 by 256 was 20% slower). Only the packed B block (kc x N)
    // must stay within half of L2. With more B panels the A tile is reused from L1 and K
    // is blocked as usual (256x196x2304 was 3% slower unblocked).
    const int64_t b_bytes = 4 * round_up(N, nr);
    pl.kc = balanced_block(K, std::max<int64_t>(ks.kc, l2_cache_bytes() / 2 / b_bytes), 1);
  } else if (pl.unpacked_a) {
    // Both in place: the B panel is what every A tile reuses, so it should stay in L1
    // (kc = K was 20% slower on 128x196x2304).
    pl.kc = balanced_block(K, std::max<int64_t>(ks.kc, l1d_cache_bytes() / (4 * nr)), 1);
  } else {
    pl.kc = choose_kc(ks, K);
  }
  // A B panel read in place whose kc rows (nr / 16 lines each) fill more than 3/4 of the L1
  // lines its stride reaches (8 ways per set) is evicted while the A panels run over it: it
  // is copied first, from L2 where the previous panel's prefetch put it (64x3136x576 on
  // AVX2, rows 4 lines apart: +6% on one core).
  pl.copy_b = pl.unpacked_b && a_panels >= 3 &&
              4 * pl.kc * (nr / 16) > 3 * 8 * l1_sets_reached(p.ldb);
  return pl;
}

// Prefetch stream for the kernel calls against B panel [jc, jc + ncur) (read in place): the
// next panel's lines (one or two per row, `next` floats from the end of this one) are
// fetched during the `calls` calls for this panel's A micro-panels, call i being the i-th.
// With enough calls and a kernel that takes the sparse stream, call i fetches one line of
// kcur / 8 of the rows, one every 8 k steps. Otherwise call i fetches the i-th line of
// every row, one per k step: 256 fetches from memory in one call, more than the L1 can
// have in flight, held up the kernel (AVX2, ResNet's 1x1 C256 -> 64 at batch 8, B in
// place, interleaved: one core 12.6 -> 10.3 ms in a noisy hour, -2..5% in a quiet one; two
// threads -3..14%).
inline void next_panel_prefetch(const KernelSet& ks, const Problem& p, const float* bsrc,
                                int64_t ncur, int64_t next, int64_t kcur, int64_t calls,
                                int64_t i, const float** pf, int64_t* pf_ld) {
  if (next <= 0) return;
  const float* start = bsrc + ncur;
  // Floats before the first line boundary of `start` (floats are 4-byte aligned).
  const int64_t mis = static_cast<int64_t>((reinterpret_cast<uintptr_t>(start) & 63u) / 4u);
  const int64_t lines = (mis + next + 15) / 16;
  constexpr int64_t chunks = gemm::kSparsePrefetchSteps;  // of rows, one call each
  if (ks.sparse_prefetch && calls >= chunks * lines) {
    const int64_t line = i / chunks, chunk = i % chunks;
    if (line >= lines) return;
    const int64_t rows = ceil_div(kcur, chunks);  // the kernel's fetches in kcur steps
    const int64_t r0 = std::min(chunk * rows, kcur - rows);  // (the last chunks overlap)
    *pf = start + (line == 0 ? 0 : 16 * line - mis) + r0 * p.ldb;
    *pf_ld = -p.ldb;
    return;
  }
  const int64_t off = i == 0 ? 0 : 16 * i - mis;
  if (off >= next) return;
  *pf = start + off;
  *pf_ld = p.ldb;
}

// C[m0:m1, n0:n1] of the problem, on the calling thread (m0 a multiple of mr when A is
// pre-packed).
void gemm_block(const KernelSet& ks, const Problem& p, const PrepackedA* pre, int64_t m0,
                int64_t m1, int64_t n0, int64_t n1) {
  const int64_t M = m1 - m0, N = n1 - n0, K = p.K;
  if (M <= 0 || N <= 0) return;
  const int64_t mr = ks.mr, nr = ks.nr;
  const Plan pl = plan_block(ks, p, pre, M, N);
  const bool unpacked_a = pl.unpacked_a, unpacked_b = pl.unpacked_b;
  const int64_t kc = pl.kc;
  // nc: the packed B block (kc x nc) takes about half of L2; B read in place goes one
  // micro-panel at a time (the A block, a few panels, stays in L1/L2 meanwhile).
  int64_t nc_cap = g_override.nc ? g_override.nc
                                 : std::min<int64_t>(ks.nc, l2_cache_bytes() / 2 / (4 * kc));
  nc_cap = std::max<int64_t>(nc_cap / nr * nr, 4 * nr);
  const int64_t mc = balanced_block(M, g_override.mc ? g_override.mc : ks.mc, mr);
  const int64_t nc = unpacked_b ? nr : balanced_block(N, nc_cap, nr);
  ThreadBuffers& buf = thread_buffers();
  float* ap = pre || unpacked_a ? nullptr : buf.a.get(static_cast<size_t>(mc * kc));
  float* bp = unpacked_b && !pl.copy_b ? nullptr : buf.b.get(static_cast<size_t>(nc * kc));

  for (int64_t ic = 0; ic < M; ic += mc) {
    const int64_t mcur = std::min(mc, M - ic);
    for (int64_t pc = 0; pc < K; pc += kc) {
      const int64_t kcur = std::min(kc, K - pc);
      // A(ir + i, p) of this block = apanels[ir * a_panel + i * rs + p * cs].
      const float* apanels;
      int64_t rs = 1, cs = mr, a_panel = kcur;
      if (pre) {
        apanels = pre->data + pc * pre->mpad + (m0 + ic) * kcur;
      } else {
        const float* asrc = p.ta ? p.A + pc * p.lda + (m0 + ic) : p.A + (m0 + ic) * p.lda + pc;
        if (unpacked_a) {
          apanels = asrc;
          rs = p.lda;
          cs = 1;
          a_panel = p.lda;
        } else {
          ks.pack_a(p.ta, mcur, kcur, asrc, p.lda, ap);
          apanels = ap;
        }
      }
      const float beta = pc == 0 ? p.beta : 1.f;
      const bool last_k = p.ep != nullptr && pc + kcur == K;  // the output stage runs once
      for (int64_t jc = 0; jc < N; jc += nc) {
        const int64_t ncur = std::min(nc, N - jc);
        const float* bsrc = p.tb ? p.B + (n0 + jc) * p.ldb + pc : p.B + pc * p.ldb + (n0 + jc);
        // B(p, jr + j) of this block = bpanels[jr * b_panel + p * ldbp + j].
        const float* bpanels = bsrc;
        int64_t ldbp = p.ldb, b_panel = 1;
        if (!unpacked_b || pl.copy_b) {
          // (a copied panel: the prefetch below still reads the source, for the next one)
          ks.pack_b(p.tb, kcur, ncur, bsrc, p.ldb, bp, unpacked_b ? 0 : N - jc - ncur);
          bpanels = bp;
          ldbp = nr;
          b_panel = kcur;
        }
        for (int64_t ir = 0, m, i = 0; ir < mcur; ir += m, i++) {
          m = std::min(mr, mcur - ir);
          // Unpacked A has no panel grid: even out the last two row tiles (16 rows run as
          // 8 + 8, not 14 + 2, whose 2-row tile would be bound by its loads).
          const int64_t rest = mcur - ir - m;
          if (unpacked_a && rest > 0 && 2 * rest < mr) m = (m + rest + 1) / 2;
          const float* a = apanels + ir * a_panel;
          const int64_t row = m0 + ic + ir;
          const float* pf = bpanels;
          int64_t pf_ld = 0;
          // A pre-packed A (weights) is cold on its first B panel: its next micro-panel comes
          // first, then the next B panel on the later passes (ResNet-50 batch 1, B read in
          // place: 23.1 -> 22.7 ms).
          const bool cold_a = pre != nullptr && jc == 0;
          if (unpacked_b && !(cold_a && ir + m < mcur)) {
            next_panel_prefetch(ks, p, bsrc, ncur, std::min(nr, N - jc - ncur), kcur,
                                ceil_div(mcur, mr), i, &pf, &pf_ld);
          } else if (!unpacked_a && ir + m < mcur) {
            // Packed A (pre-packed weights: cold, read from memory): while this tile's first
            // panel runs, bring the next tile's A panel (mr x kcur, contiguous) into L2,
            // mr floats per k step.
            pf = a + mr * kcur;
            pf_ld = mr;
          }
          for (int64_t jr = 0; jr < ncur; jr += nr) {
            const int64_t n = std::min(nr, ncur - jr), col = n0 + jc + jr;
            // (One kernel call, or one per block of C's rows the tile spans.)
            for (int64_t q = 0, mq; q < m; q += mq) {
              mq = p.rows_in_block(row + q, m - q);
              TileEpilogue tep;
              if (last_k) {
                tep = {p.ep->bias ? p.ep->bias + row + q : nullptr,
                       p.ep->residual ? p.ep->residual + (row + q) * p.ep->ld_residual + col : nullptr,
                       p.ep->ld_residual, p.ep->relu};
              }
              ks.kernel(kcur, a + q * rs, rs, cs, bpanels + jr * b_panel, ldbp, p.c_at(row + q, col),
                        p.ldc, mq, n, p.alpha, beta, pf, pf_ld, last_k ? &tep : nullptr);
              pf_ld = 0;  // the next tile's panel is on its way; later calls prefetch nothing
            }
          }
        }
      }
    }
  }
}

// C = beta * C (beta == 0: C = 0 without reading it), for K == 0 or alpha == 0.
void scale_c(const Problem& p, int64_t M, int64_t N, float beta) {
  for (int64_t i = 0; i < M; i++) {
    float* c = p.c_at(i, 0);
    if (beta == 0.f) {
      std::fill(c, c + N, 0.f);
    } else if (beta != 1.f) {
      for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
  }
}

struct Grid {
  int tm, tn;
  int64_t row_unit, col_unit;  // thread rectangles start at multiples of these
};

// Split [0, units) into `parts` nearly equal ranges; returns the unit range of `part`.
inline void split_range(int64_t units, int parts, int part, int64_t* u0, int64_t* u1) {
  const int64_t base = units / parts, extra = units % parts;
  *u0 = part * base + std::min<int64_t>(part, extra);
  *u1 = *u0 + base + (part < extra ? 1 : 0);
}

// Thread grid for an M x N problem: the factorization tm * tn <= threads whose busiest
// thread has the least work, counting its tiles (a partial tile costs nearly a full one
// in stores and loop overhead) plus the packing it does for its own rectangle (see
// plan_block: a skinny rectangle reads one operand in place; otherwise every thread packs
// the A rows and B columns it uses). Packing a float costs a fraction of a cycle, more
// when it goes through a transpose (row-major A, transposed B) than when it is a straight
// copy; a pre-packed A costs nothing. Rows are split at any row (at panel boundaries for
// a pre-packed A), columns at vector boundaries, so 256 rows go 128 + 128, not 140 + 116.
Grid choose_grid(const KernelSet& ks, int64_t M, int64_t N, int threads, const Problem& p,
                 const PrepackedA* pre) {
  const int64_t mr = ks.mr, nr = ks.nr;
  const int64_t row_unit = pre ? mr : 1, col_unit = nr / 2;
  const int64_t units_m = ceil_div(M, row_unit), units_n = ceil_div(N, col_unit);
  // In FMA-equivalents per packed float (one FMA lane is 1/32 of a cycle on AVX-512).
  const double a_cost = p.ta ? 4.0 : 12.0;
  const double b_cost = p.tb ? 12.0 : 4.0;
  Grid best{1, 1, row_unit, col_unit};
  double best_cost = -1;
  for (int tm = 1; tm <= threads; tm++) {
    const int tn = threads / tm;
    if (tm > units_m || tn > units_n) continue;
    const int64_t rows = std::min(M, ceil_div(units_m, tm) * row_unit);
    const int64_t cols = std::min(N, ceil_div(units_n, tn) * col_unit);
    const Plan pl = plan_block(ks, p, pre, rows, cols);
    const double tile_rows = static_cast<double>(rows + 2 * ceil_div(rows, mr));
    const double tile_cols = static_cast<double>(round_up(cols, col_unit) + 4 * ceil_div(cols, nr));
    double cost = tile_rows * tile_cols;
    if (!pre && !pl.unpacked_a) cost += a_cost * static_cast<double>(rows);
    if (!pl.unpacked_b) cost += b_cost * static_cast<double>(cols);
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best = {tm, tn, row_unit, col_unit};
    }
  }
  return best;
}


// The rectangle of thread t (of g.tm * g.tn) in an M x N problem.
void run_part(const KernelSet& ks, const Problem& p, const PrepackedA* pre, int64_t M,
              int64_t N, const Grid& g, int t) {
  if (t >= g.tm * g.tn) return;
  const int ti = t / g.tn, tj = t % g.tn;
  int64_t r0, r1, c0, c1;
  split_range(ceil_div(M, g.row_unit), g.tm, ti, &r0, &r1);
  split_range(ceil_div(N, g.col_unit), g.tn, tj, &c0, &c1);
  gemm_block(ks, p, pre, r0 * g.row_unit, std::min(M, r1 * g.row_unit), c0 * g.col_unit,
             std::min(N, c1 * g.col_unit));
}

// Threads for a problem of M x N x K multiply-adds (see kernel_threads_for).
int threads_for(int64_t M, int64_t N, int64_t K) {
  return kernel_threads_for(static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K));
}

// f(u0, u1) on each thread's share of [0, units) (one call when threads == 1).
template <class F>
void split_over_threads(int64_t units, int threads, F&& f) {
  threads = static_cast<int>(std::min<int64_t>(threads, units));
  if (threads <= 1) {
    f(int64_t{0}, units);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  {
    int64_t u0, u1;
    split_range(units, omp_get_num_threads(), omp_get_thread_num(), &u0, &u1);
    f(u0, u1);
  }
#endif
}

// ---- matrix-vector problems: one row or one column of C --------------------------------

// C = alpha op(A) op(B) + beta C with M == 1 or N == 1: the matrix operand is read once, in
// place (no packing), by the dot form where its rows run along K and by the axpy form
// where they run along C. Threads split C.
void run_gemv(const KernelSet& ks, const Problem& p, int64_t M, int64_t N) {
  const int64_t K = p.K;
  const int threads = threads_for(M, N, K);
  ThreadBuffers& buf = thread_buffers();
  constexpr int64_t kLine = 16;  // axpy shares split at cache lines of C
  if (N == 1) {
    if (!p.ta) {
      // C(i, 0) = <row i of A, column 0 of op(B)>
      const float* x = p.B;
      if (!p.tb && p.ldb != 1) {
        float* t = buf.a.get(static_cast<size_t>(K));
        for (int64_t q = 0; q < K; q++) t[q] = p.B[q * p.ldb];
        x = t;
      }
      split_over_threads(M, threads, [&](int64_t i0, int64_t i1) {
        ks.gemv_dot(i1 - i0, K, p.alpha, p.A + i0 * p.lda, p.lda, x, p.beta, p.C + i0 * p.ldc,
                    p.ldc);
        epilogue_rect(p, i0, i1, 0, 1);
      });
      return;
    }
    // op(A)(i, q) = A[q*lda + i]: C's column is a combination of A's rows.
    float* xa = buf.a.get(static_cast<size_t>(K));
    for (int64_t q = 0; q < K; q++) xa[q] = p.alpha * (p.tb ? p.B[q] : p.B[q * p.ldb]);
    float* y = p.ldc == 1 ? p.C : buf.b.get(static_cast<size_t>(M));
    const float beta = p.ldc == 1 ? p.beta : 0.f;
    split_over_threads(ceil_div(M, kLine), threads, [&](int64_t u0, int64_t u1) {
      const int64_t i0 = u0 * kLine, i1 = std::min(M, u1 * kLine);
      ks.gemv_axpy(i1 - i0, K, xa, p.A + i0, p.lda, beta, y + i0);
    });
    if (y != p.C)
      for (int64_t i = 0; i < M; i++) {
        float* c = p.C + i * p.ldc;
        *c = p.beta == 0.f ? y[i] : y[i] + p.beta * *c;
      }
    epilogue_rect(p, 0, M, 0, 1);
    return;
  }
  // M == 1: x(q) = op(A)(0, q).
  const float* x = p.A;
  if (p.ta && p.lda != 1) {
    float* t = buf.a.get(static_cast<size_t>(K));
    for (int64_t q = 0; q < K; q++) t[q] = p.A[q * p.lda];
    x = t;
  }
  if (p.tb) {
    // op(B)(q, j) = B[j*ldb + q]: C(0, j) = <row j of B, x> (a fully connected layer).
    split_over_threads(N, threads, [&](int64_t j0, int64_t j1) {
      ks.gemv_dot(j1 - j0, K, p.alpha, p.B + j0 * p.ldb, p.ldb, x, p.beta, p.C + j0, 1);
      epilogue_rect(p, 0, 1, j0, j1);
    });
    return;
  }
  float* xa = buf.b.get(static_cast<size_t>(K));
  for (int64_t q = 0; q < K; q++) xa[q] = p.alpha * x[q];
  split_over_threads(ceil_div(N, kLine), threads, [&](int64_t u0, int64_t u1) {
    const int64_t j0 = u0 * kLine, j1 = std::min(N, u1 * kLine);
    ks.gemv_axpy(j1 - j0, K, xa, p.B + j0, p.ldb, p.beta, p.C + j0);
    epilogue_rect(p, 0, 1, j0, j1);
  });
}

// A few rows of A against a large transposed B (a fully connected layer on a small batch: B
// holds the weights, one row per output) runs as dot products that read each row of B
// once, in place: packing B for the register tiles tripled the memory traffic of the
// weights (AlexNet's 9216 -> 4096 at batch 8: 46 -> 81 GFLOP/s). Small or shallow B stays
// with the tiles, which are faster in cache (16x100x150: 86 against 45).
// Up to 32 rows only when B is far from any cache (AlexNet's 16-38 M weights: its batch 32
// 147 -> 141 ms), since in cache the tiles are faster from 24 rows (32x512x512: 245 against
// 166 GFLOP/s).
constexpr int64_t kDotRowsMaxM = 16, kDotRowsMaxMLargeB = 32;
constexpr int64_t kDotRowsMinK = 256;
constexpr int64_t kDotRowsMinB = int64_t(1) << 18;       // floats of B (1 MiB)
constexpr int64_t kDotRowsLargeB = int64_t(1) << 22;     // 16 MiB

void run_dot_rows(const KernelSet& ks, const Problem& p, int64_t M, int64_t N) {
  const int64_t K = p.K;
  const float* a = p.A;
  int64_t lda = p.lda;
  if (p.ta) {  // rows of op(A) made contiguous (M x K, small)
    float* t = thread_buffers().a.get(static_cast<size_t>(M * K));
    for (int64_t q = 0; q < K; q++)
      for (int64_t i = 0; i < M; i++) t[i * K + q] = p.A[q * p.lda + i];
    a = t;
    lda = K;
  }
  constexpr int64_t kRows = 4;  // rows of B per unit of work
  split_over_threads(ceil_div(N, kRows), threads_for(M, N, K), [&](int64_t u0, int64_t u1) {
    const int64_t j0 = u0 * kRows, j1 = std::min(N, u1 * kRows);
    ks.gemm_dot_rows(M, j1 - j0, K, p.alpha, a, lda, p.B + j0 * p.ldb, p.ldb, p.beta, p.C + j0,
                     p.ldc);
    epilogue_rect(p, 0, M, j0, j1);
  });
}

// A pre-packed A against at most this many columns of C runs as matrix-vector products
// over the panels: the register tiles would compute 16 columns to keep 1-4.
constexpr int64_t kPackedGemvMaxCols = 4;

void run_packed_gemv(const KernelSet& ks, const Problem& p, const PrepackedA& pre, int64_t M,
                     int64_t N) {
  const int64_t K = p.K;
  // xt[j*K + q] = op(B)(q, j): each column contiguous.
  const float* xt = p.B;
  if (!(p.tb && (p.ldb == K || N == 1))) {
    float* t = thread_buffers().a.get(static_cast<size_t>(N * K));
    for (int64_t j = 0; j < N; j++)
      for (int64_t q = 0; q < K; q++) t[j * K + q] = p.tb ? p.B[j * p.ldb + q] : p.B[q * p.ldb + j];
    xt = t;
  }
  const int64_t mr = ks.mr;
  split_over_threads(ceil_div(M, mr), threads_for(M, N, K), [&](int64_t u0, int64_t u1) {
    ks.packed_gemv(u0 * mr, std::min(M, u1 * mr), K, pre.kc, pre.mpad, pre.data, xt, N,
                   p.alpha, p.beta, p.C, p.ldc);
    epilogue_rect(p, u0 * mr, std::min(M, u1 * mr), 0, N);
  });
}

// Runs the problem on the threads_for it.
void run(const KernelSet& ks, const Problem& p, const PrepackedA* pre, int64_t M, int64_t N) {
  const int64_t K = p.K;
  // (C in row blocks: only the register tiles address it by row.)
  if (p.rows == nullptr && pre == nullptr && (M == 1 || N == 1)) {
    run_gemv(ks, p, M, N);
    return;
  }
  if (p.rows == nullptr && pre == nullptr && p.tb && K >= kDotRowsMinK &&
      ((M <= kDotRowsMaxM && N * K >= kDotRowsMinB) ||
       (M <= kDotRowsMaxMLargeB && N * K >= kDotRowsLargeB))) {
    run_dot_rows(ks, p, M, N);
    return;
  }
  if (pre != nullptr && N <= kPackedGemvMaxCols) {
    if (p.rows == nullptr) {
      run_packed_gemv(ks, p, *pre, M, N);
      return;
    }
    // C in row blocks: the same products (the same sums, bit for bit) into a contiguous
    // M x N aside, then each row to its block.
    thread_local std::vector<float> aside;
    aside.resize(static_cast<size_t>(M * N));
    Problem q = p;
    q.C = aside.data();
    q.ldc = N;
    q.rows = nullptr;
    if (p.beta != 0.f)
      for (int64_t i = 0; i < M; i++) std::copy(p.c_at(i, 0), p.c_at(i, 0) + N, q.C + i * N);
    run_packed_gemv(ks, q, *pre, M, N);
    for (int64_t i = 0; i < M; i++) std::copy(q.C + i * N, q.C + (i + 1) * N, p.c_at(i, 0));
    return;
  }
  const int threads = threads_for(M, N, K);
  const Grid grid = threads > 1 ? choose_grid(ks, M, N, threads, p, pre) : Grid{1, 1, 1, 1};
  if (grid.tm * grid.tn == 1) {
    gemm_block(ks, p, pre, 0, M, 0, N);
    return;
  }
#ifdef _OPENMP
#pragma omp parallel num_threads(grid.tm * grid.tn)
  {
    // The runtime may give fewer threads than asked; re-grid for what we got.
    const int got = omp_get_num_threads();
    const Grid g = got == grid.tm * grid.tn ? grid : choose_grid(ks, M, N, got, p, pre);
    run_part(ks, p, pre, M, N, g, omp_get_thread_num());
  }
#endif
}

// ep's row blocks, checked: 1..kMax blocks from row 0 on, in order; none with a residual.
const GemmRowBlocks* row_blocks(const GemmEpilogue* ep) {
  if (ep == nullptr || ep->rows == nullptr) return nullptr;
  const GemmRowBlocks& r = *ep->rows;
  if (r.count < 1 || r.count > GemmRowBlocks::kMax || r.first[0] != 0)
    throw std::invalid_argument("sgemm: row blocks must be 1 to 8, the first at row 0");
  for (int b = 1; b < r.count; b++)
    if (r.first[b] < r.first[b - 1]) throw std::invalid_argument("sgemm: row blocks out of order");
  if (ep->residual != nullptr) throw std::invalid_argument("sgemm: no residual with row blocks");
  return ep->rows;
}

}  // namespace

void gemm::set_blocking_override(const Blocking& b) { g_override = b; }

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
           const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C,
           int64_t ldc, const GemmEpilogue* ep) {
  if (M <= 0 || N <= 0) return;
  const Problem p{trans_a, trans_b, K, alpha, A, lda, B, ldb, beta, C, ldc, ep, row_blocks(ep)};
  if (K <= 0 || alpha == 0.f) {
    scale_c(p, M, N, beta);
    epilogue_rect(p, 0, M, 0, N);
    return;
  }
  const KernelSet& ks = kernels_for(active_isa());
  run(ks, p, nullptr, M, N);
}

void SgemmPackedA::reset(int64_t M, int64_t K) {
  const Isa isa = active_isa();
  const KernelSet& ks = kernels_for(isa);
  M_ = M > 0 ? M : 0;
  K_ = K > 0 ? K : 0;
  isa_ = static_cast<int>(isa);
  kc_ = K_ > 0 ? choose_kc(ks, K_) : 0;
  mpad_ = round_up(M_, ks.mr);
  data_.assign(static_cast<size_t>(mpad_ * K_), 0.f);
}

int64_t SgemmPackedA::row_block() const { return kernels_for(static_cast<Isa>(isa_)).mr; }

void SgemmPackedA::pack_rows(int64_t r0, int64_t n, const float* A, int64_t lda) {
  const KernelSet& ks = kernels_for(static_cast<Isa>(isa_));
  if (r0 < 0 || n < 0 || r0 % ks.mr != 0 || r0 + n > M_ || (n % ks.mr != 0 && r0 + n != M_))
    throw std::invalid_argument("SgemmPackedA::pack_rows: rows outside the matrix or off the row blocks");
  if (n == 0) return;
  // Block pc holds the micro-panels of all rows, row i's panel at offset i * kcur.
  for (int64_t pc = 0; pc < K_; pc += kc_) {
    const int64_t kcur = std::min(kc_, K_ - pc);
    ks.pack_a(false, n, kcur, A + pc, lda, data_.data() + pc * mpad_ + r0 * kcur);
  }
}

void SgemmPackedA::pack(bool trans_a, int64_t M, int64_t K, const float* A, int64_t lda) {
  reset(M, K);
  const KernelSet& ks = kernels_for(static_cast<Isa>(isa_));
  for (int64_t pc = 0; pc < K_; pc += kc_) {
    const int64_t kcur = std::min(kc_, K_ - pc);
    const float* src = trans_a ? A + pc * lda : A + pc;
    ks.pack_a(trans_a, M_, kcur, src, lda, data_.data() + pc * mpad_);
  }
}

void sgemm(const SgemmPackedA& A, bool trans_b, int64_t N, float alpha, const float* B,
           int64_t ldb, float beta, float* C, int64_t ldc, const GemmEpilogue* ep) {
  const int64_t M = A.rows(), K = A.depth();
  if (M <= 0 || N <= 0) return;
  const Problem p{false, trans_b, K, alpha, nullptr, 0, B, ldb, beta, C, ldc, ep, row_blocks(ep)};
  if (K <= 0 || alpha == 0.f) {
    scale_c(p, M, N, beta);
    epilogue_rect(p, 0, M, 0, N);
    return;
  }
  // The kernels the panels were packed for (the CPU ran them then, so it still can).
  const KernelSet& ks = kernels_for(static_cast<Isa>(A.isa_));
  const PrepackedA pre{A.data_.data(), A.mpad_, A.kc_};
  run(ks, p, &pre, M, N);
}

}  // namespace receptive
