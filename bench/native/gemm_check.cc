// Correctness harness for receptive::sgemm: every ISA the CPU can run (force_isa), against
// a double-precision naive GEMM, over random shapes (M, N, K in 1..70), the tile and
// cache-block boundaries of each ISA's kernel (taken from the kernel table itself), all
// four transpose combinations, alpha/beta (beta = 0 with a NaN-filled C), row strides
// wider than the rows (the gap must stay untouched), 1..3 threads, and calls from inside
// an OpenMP parallel region. Exit status 0 when everything matches.
//
//   bench/native/build.sh [--sanitize] && bench/native/build/gemm_check [--quick]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <omp.h>

#include "gemm/sgemm_kernels.h"
#include "receptive/gemm.h"
#include "receptive/runtime.h"

using receptive::Isa;

namespace {

constexpr float kSentinel = -12345.f;

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
  int64_t pad_a, pad_b, pad_c;  // extra floats per row beyond the logical width
  bool prepacked = false;       // through SgemmPackedA (packed for `pack_isa`)
};

std::string describe(const Case& c) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%s%c%c M=%lld N=%lld K=%lld alpha=%g beta=%g pads=%lld/%lld/%lld",
                c.prepacked ? "packed " : "", c.ta ? 'T' : 'N', c.tb ? 'T' : 'N', (long long)c.M, (long long)c.N,
                (long long)c.K, c.alpha, c.beta, (long long)c.pad_a, (long long)c.pad_b,
                (long long)c.pad_c);
  return buf;
}

struct Checker {
  std::mt19937_64 rng{12345};
  long cases = 0, failures = 0;
  int pack_then_isa = -1;  // for prepacked cases: ISA forced between pack and compute
  // 0: plain; 1: bias + residual; 2: bias + ReLU; 3: residual + ReLU. With an output stage
  // the product is also computed without it and the stage applied afterwards in float:
  // the fused result must equal that bit for bit.
  int epilogue = 0;

  float uniform() { return std::uniform_real_distribution<float>(-1.f, 1.f)(rng); }

  // Runs one case on the current ISA/thread setting; returns true when it matches.
  bool run(const Case& c, const char* tag) {
    // Stored shapes: A is M x K (or K x M when transposed), B is K x N (or N x K).
    const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
    const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
    const int64_t lda = a_cols + c.pad_a, ldb = b_cols + c.pad_b, ldc = c.N + c.pad_c;
    std::vector<float> A(static_cast<size_t>(std::max<int64_t>(a_rows * lda, 1)));
    std::vector<float> B(static_cast<size_t>(std::max<int64_t>(b_rows * ldb, 1)));
    std::vector<float> C(static_cast<size_t>(c.M * ldc));
    for (float& v : A) v = uniform();
    for (float& v : B) v = uniform();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int64_t i = 0; i < c.M; i++)
      for (int64_t j = 0; j < ldc; j++)
        C[i * ldc + j] = j >= c.N ? kSentinel : (c.beta == 0.f ? nan : uniform());
    const std::vector<float> C0 = C;

    std::vector<float> bias(static_cast<size_t>(c.M)), res(static_cast<size_t>(c.M * (c.N + 3)));
    for (float& v : bias) v = uniform();
    for (float& v : res) v = uniform();
    receptive::GemmEpilogue ep;
    ep.bias = epilogue == 1 || epilogue == 2 ? bias.data() : nullptr;
    ep.residual = epilogue == 1 || epilogue == 3 ? res.data() : nullptr;
    ep.ld_residual = c.N + 3;
    ep.relu = epilogue >= 2;
    auto product = [&](std::vector<float>& out, const receptive::GemmEpilogue* e) {
      if (c.prepacked) {
        receptive::SgemmPackedA packed(c.ta, c.M, c.K, A.data(), lda);
        // Computing after another ISA got forced must still use the packing's kernels.
        const Isa before = receptive::active_isa();
        if (pack_then_isa >= 0) receptive::force_isa(static_cast<Isa>(pack_then_isa));
        receptive::sgemm(packed, c.tb, c.N, c.alpha, B.data(), ldb, c.beta, out.data(), ldc, e);
        receptive::force_isa(before);
        return packed.rows() == c.M && packed.depth() == c.K;
      }
      receptive::sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta,
                       out.data(), ldc, e);
      return true;
    };
    if (!product(C, nullptr)) return fail(c, tag, 0, 0, 0, 0, "packed dims");
    cases++;
    if (epilogue != 0) {
      std::vector<float> fused = C0;
      product(fused, &ep);
      for (int64_t i = 0; i < c.M; i++)
        for (int64_t j = 0; j < ldc; j++) {
          float want = C[i * ldc + j];
          if (j < c.N) {
            want = want + (ep.bias ? ep.bias[i] : 0.f);
            if (ep.residual) want = want + ep.residual[i * ep.ld_residual + j];
            if (ep.relu && want < 0.f) want = 0.f;
          }
          const float got = fused[i * ldc + j];
          if (std::memcmp(&got, &want, sizeof got) != 0)
            return fail(c, tag, i, j, got, want, "fused output stage differs from a separate pass");
        }
    }

    for (int64_t i = 0; i < c.M; i++) {
      for (int64_t j = 0; j < ldc; j++) {
        const float got = C[i * ldc + j];
        if (j >= c.N) {
          if (got != kSentinel) return fail(c, tag, i, j, got, kSentinel, "row gap written");
          continue;
        }
        double sum = 0, mag = 0;
        for (int64_t p = 0; p < c.K; p++) {
          const double a = c.ta ? A[p * lda + i] : A[i * lda + p];
          const double b = c.tb ? B[j * ldb + p] : B[p * ldb + j];
          sum += a * b;
          mag += std::fabs(a * b);
        }
        double ref = double(c.alpha) * sum;
        double scale = std::fabs(double(c.alpha)) * mag;
        if (c.beta != 0.f) {
          ref += double(c.beta) * C0[i * ldc + j];
          scale += std::fabs(double(c.beta) * C0[i * ldc + j]);
        }
        const double tol = 1e-5 * double(std::max<int64_t>(c.K, 1)) * scale + 1e-30;
        if (!(std::fabs(got - ref) <= tol)) return fail(c, tag, i, j, got, ref, "value");
      }
    }
    return true;
  }

  bool fail(const Case& c, const char* tag, int64_t i, int64_t j, double got, double want,
            const char* what) {
    failures++;
    if (failures <= 20)
      std::printf("FAIL [%s] %s: %s at (%lld,%lld): got %.9g want %.9g\n", tag,
                  describe(c).c_str(), what, (long long)i, (long long)j, got, want);
    return false;
  }
};

const float kAlphas[] = {1.f, -0.5f, 2.25f};
const float kBetas[] = {0.f, 1.f, 0.7f, -1.5f};

void check_isa(Checker& ck, Isa isa, bool quick) {
  receptive::force_isa(isa);
  const receptive::gemm::KernelSet* ks = nullptr;
  switch (isa) {
    case Isa::Scalar: ks = &receptive::gemm::scalar_kernels(); break;
#if defined(__x86_64__)
    case Isa::Avx2: ks = &receptive::gemm::avx2_kernels(); break;
    case Isa::Avx512: ks = &receptive::gemm::avx512_kernels(); break;
#else
    default: return;
#endif
  }
  const long before_cases = ck.cases, before_fail = ck.failures;
  std::uniform_int_distribution<int64_t> dim(1, 70), pad(0, 5), coin(0, 1);
  std::uniform_int_distribution<int> pick_a(0, 2), pick_b(0, 3);

  for (int threads : {1, 2, 3}) {
    receptive::set_num_threads(threads);
    char tag[64];
    std::snprintf(tag, sizeof tag, "%s t=%d", ks->name, threads);
    // Random shapes.
    const int random_cases = quick ? 150 : 600;
    for (int r = 0; r < random_cases; r++) {
      Case c{coin(ck.rng) == 1, coin(ck.rng) == 1, dim(ck.rng), dim(ck.rng), dim(ck.rng),
             kAlphas[pick_a(ck.rng)], kBetas[pick_b(ck.rng)], pad(ck.rng), pad(ck.rng),
             pad(ck.rng)};
      ck.run(c, tag);
    }
    // Tile boundaries, every transpose combination.
    const int64_t mr = ks->mr, nr = ks->nr;
    for (int64_t M : {int64_t(1), mr - 1, mr, mr + 1, 2 * mr + 1, 3 * mr})
      for (int64_t N : {int64_t(1), nr - 1, nr, nr + 1, 2 * nr - 1, 3 * nr + 2})
        for (int64_t K : {int64_t(1), int64_t(2), int64_t(7)})
          for (int t = 0; t < 4; t++) {
            if (M < 1 || N < 1) continue;
            Case c{(t & 1) != 0, (t & 2) != 0, M, N, K, kAlphas[t % 3], kBetas[t], t, 3 - t, t};
            ck.run(c, tag);
          }
    // Cache-block boundaries: several kc blocks (beta applied once), several mc / nc blocks.
    const int64_t kc = ks->kc, mc = ks->mc;
    for (int64_t K : {kc - 1, kc, kc + 1, 2 * kc + 3})
      for (int t = 0; t < 4; t++) {
        Case c{(t & 1) != 0, (t & 2) != 0, mr + 3, nr + 5, K, 1.f, kBetas[t], 1, 2, 3};
        ck.run(c, tag);
      }
    for (int t = 0; t < 4; t++) {
      Case c{(t & 1) != 0, (t & 2) != 0, mc + mr + 1, 2 * nr + 1, 33, -0.5f, kBetas[t], 0, 1, 0};
      ck.run(c, tag);
    }
    if (!quick) {
      // Larger random shapes: several blocks, unpacked/packed switches, thread grids.
      std::uniform_int_distribution<int64_t> big(1, 300);
      for (int r = 0; r < 10; r++) {
        Case c{coin(ck.rng) == 1, coin(ck.rng) == 1, big(ck.rng), big(ck.rng), big(ck.rng),
               kAlphas[pick_a(ck.rng)], kBetas[pick_b(ck.rng)], pad(ck.rng), pad(ck.rng),
               pad(ck.rng)};
        ck.run(c, tag);
      }
      for (int t = 0; t < 4; t++) {
        Case c{(t & 1) != 0, (t & 2) != 0, 5, ks->nc + nr + 3, 9, 1.f, kBetas[t], 2, 0, 1};
        ck.run(c, tag);
        Case d{(t & 1) != 0, (t & 2) != 0, 2 * mc + 7, 3 * nr + 1, kc + 17, 1.f, kBetas[t], 0, 0, 4};
        ck.run(d, tag);
      }
    }
    // Driver paths of big enough problems to be split across threads (rows split at any
    // row, columns at vector boundaries), skinny ones (B read in place one panel at a
    // time with the next one prefetched; A read in place with K unblocked, or blocked when
    // the packed B block would not fit half of L2), and the conv/FC shapes the bench uses.
    {
      std::uniform_int_distribution<int64_t> mid(20, 260), deep(40, 400);
      for (int r = 0; r < (quick ? 6 : 24); r++) {
        Case c{coin(ck.rng) == 1, coin(ck.rng) == 1, mid(ck.rng), mid(ck.rng), deep(ck.rng),
               kAlphas[pick_a(ck.rng)], kBetas[pick_b(ck.rng)], pad(ck.rng), pad(ck.rng),
               pad(ck.rng), r % 4 == 3};
        ck.run(c, tag);
      }
      const Case skinny[] = {
          {false, false, 64, 3136 / 4 + 7, 576, 1.f, 0.f, 0, 0, 0},
          {false, false, 64, 3136 / 4 + 7, 64, 1.f, 0.7f, 3, 1, 2},
          {false, true, 1000 / 4 + 1, 32, 2048, 1.f, 0.f, 0, 0, 0},
          {false, false, 1000 / 4 + 1, 17, 2048, -0.5f, 1.f, 1, 2, 3},
          {false, false, 150, 200, 2100, 1.f, 0.7f, 0, 3, 1},
          {false, true, 150, 40, 4500, 1.f, -1.5f, 1, 0, 2},
          {false, false, 256 / 2, 196, 2304 / 4 + 5, 1.f, 0.f, 0, 0, 0},
          {false, false, 16, 100, 150, 1.f, 0.f, 0, 0, 0},
          {true, false, 13, 333, 77, 2.25f, -1.5f, 2, 2, 2},
          {false, false, 3, 1000, 300, 1.f, 1.f, 0, 5, 0},
          {false, false, 141, 65, 129, 1.f, 0.f, 0, 0, 0, true},
      };
      for (const Case& c : skinny) ck.run(c, tag);
      // Matrix-vector shapes (M == 1 or N == 1; a pre-packed A against 1-4 columns), big
      // enough to be split across threads, every transpose, padded leading dimensions.
      for (int t = 0; t < 4; t++) {
        const bool ta = (t & 1) != 0, tb = (t & 2) != 0;
        const float alpha = kAlphas[t % 3], beta = kBetas[t];
        ck.run(Case{ta, tb, 1, 3000 + t, 700, alpha, beta, t, 1, 2}, tag);
        ck.run(Case{ta, tb, 3000 + t, 1, 700, alpha, beta, 2, t, 1}, tag);
        ck.run(Case{ta, tb, 1, 1, 3000, alpha, beta, 1, t, 0}, tag);
        ck.run(Case{ta, tb, 500 + t, 1 + t, 2 * kc + 3, alpha, beta, 1, 2, t, true}, tag);
        // a few rows against a large B (a fully connected layer on a small batch); up to
        // 32 rows when B passes 16 MiB
        ck.run(Case{ta, tb, 3 + 4 * t, 1030 + t, 300, alpha, beta, t, 1, 2}, tag);
        if (t == 2) ck.run(Case{ta, tb, 27, 4200, 1000, alpha, beta, 1, 0, 3}, tag);
      }
    }
    // Pre-packed A, sometimes computed after another ISA was forced.
    for (int r = 0; r < (quick ? 40 : 150); r++) {
      Case c{coin(ck.rng) == 1, coin(ck.rng) == 1, dim(ck.rng) * 2, dim(ck.rng), dim(ck.rng) * 5,
             kAlphas[pick_a(ck.rng)], kBetas[pick_b(ck.rng)], pad(ck.rng), pad(ck.rng),
             pad(ck.rng), true};
      ck.pack_then_isa = r % 3 == 0 ? 0 : -1;
      ck.run(c, tag);
    }
    for (int64_t K : {int64_t(1), kc + 1, 2 * kc + 3}) {
      Case c{false, false, 2 * mr + 1, nr + 1, K, 1.f, 0.f, 1, 0, 1, true};
      ck.run(c, tag);
    }
    ck.pack_then_isa = -1;
    // Output stages fused into the kernels, through every driver path: register tiles at
    // the edges, several K blocks (the stage runs once, on the last), unpacked A or B,
    // matrix-vector forms, pre-packed A, K = 0.
    for (int e = 1; e <= 3; e++) {
      ck.epilogue = e;
      for (int r = 0; r < (quick ? 20 : 60); r++) {
        Case c{coin(ck.rng) == 1, coin(ck.rng) == 1, dim(ck.rng) * 3, dim(ck.rng) * 2, dim(ck.rng) * 4,
               kAlphas[pick_a(ck.rng)], kBetas[pick_b(ck.rng)], pad(ck.rng), pad(ck.rng),
               pad(ck.rng), r % 3 == 0};
        ck.run(c, tag);
      }
      for (const Case& c : {Case{false, false, 64, 3136 / 4 + 7, 2 * kc + 5, 1.f, 0.f, 0, 0, 0, true},
                            Case{false, true, 300, 40, 200, 1.f, 1.f, 0, 0, 0},
                            Case{false, false, 1, 300, 50, 1.f, 0.f, 0, 0, 1},
                            Case{false, true, 500, 3, 700, 1.f, 0.f, 0, 0, 2, true},
                            Case{true, true, 13, 1030, 300, 1.f, 0.7f, 1, 0, 2},
                            Case{false, false, 9, 7, 0, 1.f, 0.7f, 0, 0, 2}})
        ck.run(c, tag);
    }
    ck.epilogue = 0;
    // Degenerate: K = 0 and alpha = 0 only scale C.
    for (float beta : kBetas) {
      ck.run(Case{false, false, 7, 9, 0, 1.f, beta, 0, 0, 2}, tag);
      ck.run(Case{true, true, 7, 9, 5, 0.f, beta, 0, 0, 2}, tag);
      ck.run(Case{false, false, 7, 9, 0, 1.f, beta, 0, 0, 2, true}, tag);
    }
  }

  // From inside a parallel region: each thread its own problem, run on the caller.
  receptive::set_num_threads(2);
  {
    char tag[64];
    std::snprintf(tag, sizeof tag, "%s nested", ks->name);
    const int nt = 4;
    std::vector<Checker> locals(nt);
    for (int t = 0; t < nt; t++) locals[t].rng.seed(777 + t);
#pragma omp parallel for num_threads(nt) schedule(static, 1)
    for (int t = 0; t < nt; t++) {
      for (int r = 0; r < 20; r++) {
        Checker& l = locals[t];
        std::uniform_int_distribution<int64_t> big(1, 150);
        Case c{r % 2 == 1, r % 3 == 1, big(l.rng), big(l.rng), big(l.rng), 1.f,
               kBetas[r % 4], 1, 0, 2};
        l.run(c, tag);
      }
    }
    for (auto& l : locals) {
      ck.cases += l.cases;
      ck.failures += l.failures;
    }
  }
  std::printf("%-24s %6ld cases, %ld failures\n", ks->name, ck.cases - before_cases,
              ck.failures - before_fail);
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  std::printf("cpu features:");
  for (const auto& f : receptive::cpu_features()) std::printf(" %s", f.c_str());
  std::printf("\nbest isa: %s, active: %s, physical cores: %d, threads: %d\n",
              receptive::isa_name(receptive::best_isa()),
              receptive::isa_name(receptive::active_isa()), receptive::physical_cores(),
              receptive::get_num_threads());
  if (*receptive::isa_env_error()) std::printf("RECEPTIVE_ISA: %s\n", receptive::isa_env_error());

  Checker ck;
  // Runtime API checks.
  Isa parsed;
  if (!receptive::parse_isa("avx2", &parsed) || parsed != Isa::Avx2 ||
      receptive::parse_isa("sse", &parsed)) {
    std::printf("FAIL parse_isa\n");
    ck.failures++;
  }
  try {
    receptive::set_num_threads(0);
    std::printf("FAIL set_num_threads(0) did not throw\n");
    ck.failures++;
  } catch (const std::invalid_argument&) {
  }
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512}) {
    if (static_cast<int>(isa) > static_cast<int>(receptive::best_isa())) {
      try {
        receptive::force_isa(isa);
        std::printf("FAIL force_isa(%s) did not throw\n", receptive::isa_name(isa));
        ck.failures++;
      } catch (const std::invalid_argument&) {
        std::printf("%-24s skipped (not supported here)\n", receptive::isa_name(isa));
      }
      continue;
    }
    check_isa(ck, isa, quick);
  }
  std::printf("%s: %ld cases, %ld failures\n", ck.failures ? "FAILED" : "OK", ck.cases,
              ck.failures);
  return ck.failures ? 1 : 0;
}
