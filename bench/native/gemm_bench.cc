// GEMM throughput of receptive::sgemm (C = op(A)*op(B), row-major, beta = 0) in GFLOP/s at
// 1 and 2 threads over square, conv-like and skinny shapes (the project bench's GEMM
// cases), next to the machine's FMA peak measured with a register-only FMA loop. Each
// number is the median (and best) of timed rounds after a warm-up; each round repeats the
// call until it lasts ~1 ms. --vs also times oneDNN's dnnl_sgemm (when build.sh found
// libdnnl) in alternating rounds: on a shared machine only a comparison made within one
// run, at the same load, means anything.
//
//   bench/native/build.sh && bench/native/build/gemm_bench [--isa avx2] [--threads 1,2]
//       [--shape MxNxK[nt|tn|tt]]... [--ta] [--tb] [--seconds S] [--blocking mc,kc,nc]
//       [--packed] [--vs] [--no-peak]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <ctime>
#include <functional>
#include <vector>

#include <omp.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "gemm/sgemm_kernels.h"
#include "receptive/gemm.h"
#include "receptive/runtime.h"
#ifdef HAVE_DNNL
#include <dnnl.h>
#endif

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- FMA peak: 12 independent accumulator chains per thread, registers only. ----
constexpr int kChains = 12;

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float fma_loop_ymm(long iters, float seed) {
  __m256 a[kChains];
  for (int i = 0; i < kChains; i++) a[i] = _mm256_set1_ps(seed + i);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  __m256 s = a[0];
  for (int i = 1; i < kChains; i++) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

__attribute__((target("avx512f"))) float fma_loop_zmm(long iters, float seed) {
  __m512 a[kChains];
  for (int i = 0; i < kChains; i++) a[i] = _mm512_set1_ps(seed + i);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < kChains; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
  }
  __m512 s = a[0];
  for (int i = 1; i < kChains; i++) s = _mm512_add_ps(s, a[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0];
}
#endif

// Best GFLOP/s over a few rounds of `iters` iterations on `threads` threads.
double fma_peak(bool zmm, int threads) {
#if defined(__x86_64__)
  const long iters = 20'000'000;
  const int lanes = zmm ? 16 : 8;
  double best = 0;
  volatile float sink = 0;
  for (int round = 0; round < 5; round++) {
    double t0 = now();
    float r = 0;
#pragma omp parallel num_threads(threads) reduction(+ : r)
    r += zmm ? fma_loop_zmm(iters, 1.f + omp_get_thread_num())
             : fma_loop_ymm(iters, 1.f + omp_get_thread_num());
    double dt = now() - t0;
    sink = sink + r;
    best = std::max(best, 2.0 * lanes * kChains * double(iters) * threads / dt * 1e-9);
  }
  return best;
#else
  (void)zmm;
  (void)threads;
  return 0;
#endif
}

// CPU seconds of the whole process (all threads). On a machine shared with other jobs,
// flops / (cpu seconds / threads) estimates the rate the code would reach with the cores
// to itself (preemption excluded; the cache refills after it are not).
double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

struct Shape {
  int64_t M, N, K;
  bool ta = false, tb = false;  // per-shape transposes ("1000x32x2048nt"), or'ed with --ta/--tb
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

bool g_packed = false;  // --packed: A pre-packed once (SgemmPackedA), outside the timing
bool g_vs = false;      // --vs: time oneDNN's dnnl_sgemm on the same data, interleaved

struct Rate {
  double median = 0, best = 0, cpu = 0;
};

// GFLOP/s of C = op(A)*op(B) for one shape on `threads` threads: median and best of timed
// rounds after a warm-up; each round repeats the call until it lasts ~1 ms. With --vs the
// rounds alternate between receptive and oneDNN, so both see the same machine load.
void bench_shape(Rate* ours, Rate* peer, const Shape& s, int threads, double seconds) {
  receptive::set_num_threads(threads);
  omp_set_num_threads(threads);
  const bool ta = s.ta, tb = s.tb;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> A(size_t(s.M * s.K)), B(size_t(s.K * s.N)), C(size_t(s.M * s.N));
  for (float& v : A) v = u(rng);
  for (float& v : B) v = u(rng);
  const int64_t lda = ta ? s.M : s.K, ldb = tb ? s.K : s.N;
  receptive::SgemmPackedA packed;
  if (g_packed) packed.pack(ta, s.M, s.K, A.data(), lda);
  std::function<void()> calls[2];
  calls[0] = [&] {
    if (g_packed) {
      receptive::sgemm(packed, tb, s.N, 1.f, B.data(), ldb, 0.f, C.data(), s.N);
      return;
    }
    receptive::sgemm(ta, tb, s.M, s.N, s.K, 1.f, A.data(), lda, B.data(), ldb, 0.f, C.data(),
                     s.N);
  };
#ifdef HAVE_DNNL
  calls[1] = [&] {
    dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', s.M, s.N, s.K, 1.f, A.data(), lda, B.data(),
               ldb, 0.f, C.data(), s.N);
  };
#endif
  const int n_impl = g_vs && calls[1] ? 2 : 1;
  const double flops = 2.0 * double(s.M) * double(s.N) * double(s.K);
  long reps[2] = {1, 1};
  for (int i = 0; i < n_impl; i++) {
    // Warm-up (buffers grown, threads started, caches filled, oneDNN's JIT) and
    // calibration: rounds of ~1 ms, as the peers harness does (on a shared machine
    // longer rounds would nearly all include a preemption).
    calls[i]();
    const double t0 = now();
    calls[i]();
    reps[i] = std::max(1L, long(0.001 / std::max(now() - t0, 1e-7)));
  }
  std::vector<double> rates[2], cpu_rates[2];
  const double end = now() + seconds * n_impl;
  while (rates[0].size() < 5 || (now() < end && rates[0].size() < 2000)) {
    for (int i = 0; i < n_impl; i++) {
      const double c0 = cpu_now(), t0 = now();
      for (long r = 0; r < reps[i]; r++) calls[i]();
      const double dt = now() - t0, dc = cpu_now() - c0;
      rates[i].push_back(flops * double(reps[i]) / dt * 1e-9);
      cpu_rates[i].push_back(flops * double(reps[i]) / (dc / threads) * 1e-9);
    }
  }
  Rate* out[2] = {ours, peer};
  for (int i = 0; i < n_impl; i++) {
    out[i]->best = *std::max_element(rates[i].begin(), rates[i].end());
    out[i]->cpu = median(cpu_rates[i]);
    out[i]->median = median(rates[i]);
  }
}

bool parse_shape(const char* s, Shape* out) {
  long long m, n, k;
  char t[3] = {0, 0, 0};
  const int got = std::sscanf(s, "%lldx%lldx%lld%2[nt]", &m, &n, &k, t);
  if (got < 3 || m < 1 || n < 1 || k < 1) return false;
  *out = {m, n, k, t[0] == 't', t[1] == 't'};
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Shape> shapes;
  std::vector<int> thread_counts = {1, 2};
  double seconds = 0.3;
  bool ta = false, tb = false, peak = true;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--isa" && i + 1 < argc) {
      receptive::Isa isa;
      if (!receptive::parse_isa(argv[++i], &isa)) {
        std::fprintf(stderr, "unknown isa %s\n", argv[i]);
        return 2;
      }
      receptive::force_isa(isa);
    } else if (a == "--threads" && i + 1 < argc) {
      thread_counts.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ","))
        thread_counts.push_back(std::atoi(p));
    } else if (a == "--shape" && i + 1 < argc) {
      Shape s;
      if (!parse_shape(argv[++i], &s)) {
        std::fprintf(stderr, "bad shape %s (want MxNxK)\n", argv[i]);
        return 2;
      }
      shapes.push_back(s);
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
    } else if (a == "--blocking" && i + 1 < argc) {
      receptive::gemm::Blocking b{0, 0, 0, 0, 0};
      if (std::sscanf(argv[++i], "%d,%d,%d,%d,%d", &b.mc, &b.kc, &b.nc, &b.unpacked_a_panels,
                      &b.unpacked_b_panels) < 3) {
        std::fprintf(stderr, "bad blocking %s (want mc,kc,nc[,unpacked_a_panels[,unpacked_b_panels]]; 0 keeps the default)\n", argv[i]);
        return 2;
      }
      receptive::gemm::set_blocking_override(b);
    } else if (a == "--ta") {
      ta = true;
    } else if (a == "--tb") {
      tb = true;
    } else if (a == "--packed") {
      g_packed = true;
    } else if (a == "--vs") {
      g_vs = true;
    } else if (a == "--no-peak") {
      peak = false;
    } else {
      std::fprintf(stderr, "usage: %s [--isa I] [--threads 1,2] [--shape MxNxK]... [--ta] [--tb] "
                   "[--seconds S] [--blocking mc,kc,nc[,ua[,ub]]] [--packed] [--vs] [--no-peak]\n", argv[0]);
      return 2;
    }
  }
  if (shapes.empty())
    shapes = {{64, 64, 64},        {256, 256, 256},  {512, 512, 512},
              {1024, 1024, 1024},  {2048, 2048, 2048}, {64, 3136, 576},
              {256, 196, 2304},    {64, 3136, 64},   {1000, 32, 2048, false, true},
              {16, 100, 150}};
  for (Shape& s : shapes) {
    s.ta = s.ta || ta;
    s.tb = s.tb || tb;
  }
#ifndef HAVE_DNNL
  if (g_vs) std::printf("--vs: built without oneDNN (dnnl.h missing), timing receptive only\n");
  g_vs = false;
#endif

  std::printf("isa %s, physical cores %d%s\n", receptive::isa_name(receptive::active_isa()),
              receptive::physical_cores(), g_packed ? ", A pre-packed" : "");
  if (peak) {
#if defined(__x86_64__)
    const bool zmm = receptive::best_isa() == receptive::Isa::Avx512;
    for (int t : thread_counts)
      std::printf("FMA peak (%s, %d thread%s): %.1f GFLOP/s\n", zmm ? "zmm" : "ymm", t,
                  t == 1 ? "" : "s", fma_peak(zmm, t));
#endif
  }
  std::printf("%-20s", "MxNxK");
  for (int t : thread_counts) {
    std::printf("  t=%d median (best) [cpu-time]", t);
    if (g_vs) std::printf("  onednn med (best)   ratio(best)");
  }
  std::printf("\n");
  for (const Shape& s : shapes) {
    char name[64];
    std::snprintf(name, sizeof name, "%lldx%lldx%lld%s", (long long)s.M, (long long)s.N,
                  (long long)s.K, s.ta || s.tb ? (s.ta ? (s.tb ? "tt" : "tn") : "nt") : "");
    std::printf("%-20s", name);
    std::fflush(stdout);
    for (int t : thread_counts) {
      Rate ours, peer;
      bench_shape(&ours, &peer, s, t, seconds);
      // Other threads' CPU time is only accounted at scheduler ticks, so the CPU-time
      // estimate is meaningful for one thread only.
      if (t == 1) std::printf("  %10.1f (%6.1f) [%6.1f]", ours.median, ours.best, ours.cpu);
      else std::printf("  %10.1f (%6.1f) [%6s]", ours.median, ours.best, "-");
      if (g_vs)
        std::printf("  %9.1f (%6.1f)   %5.2fx", peer.median, peer.best, ours.best / peer.best);
      std::fflush(stdout);
    }
    std::printf("\n");
  }
  return 0;
}
