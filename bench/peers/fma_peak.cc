// Peak FP32 rate of this machine, measured with an FMA loop: each thread runs
// independent chains of fused multiply-adds in registers (enough accumulators to
// cover the FMA latency on two pipes), for ymm (AVX2+FMA) and, where the CPU has
// it, zmm (AVX-512F). Prints JSON: {"ymm": {"1": GF/s, "2": GF/s}, "zmm": {...}}.
// Build: g++ -O3 -march=native -fopenmp fma_peak.cc -o fma_peak
// Usage: fma_peak [maxThreads] [seconds per measurement]
#include <immintrin.h>
#include <omp.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

static double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

#define ACC 12

__attribute__((target("avx2,fma"))) static float loop_ymm(long iters, float seed) {
  __m256 a[ACC];
  for (int i = 0; i < ACC; i++) a[i] = _mm256_set1_ps(seed + i);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < ACC; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
  }
  __m256 s = a[0];
  for (int i = 1; i < ACC; i++) s = _mm256_add_ps(s, a[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0];
}

#ifdef __AVX512F__
#define HAVE_ZMM 1
static float loop_zmm(long iters, float seed) {
  __m512 a[ACC];
  for (int i = 0; i < ACC; i++) a[i] = _mm512_set1_ps(seed + i);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < ACC; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
  }
  __m512 s = a[0];
  for (int i = 1; i < ACC; i++) s = _mm512_add_ps(s, a[i]);
  return _mm512_reduce_add_ps(s);
}
#else
#define HAVE_ZMM 0
#endif

// GFLOP/s with `threads` threads, best of several timed rounds.
static double measure(bool zmm, int threads, double seconds) {
  const int lanes = zmm ? 16 : 8;
  long iters = 1 << 10;
  volatile float sink = 0;
  // Calibrate so one round takes about 2 ms: short rounds, best of many, so that on a
  // machine shared with other work some rounds run undisturbed.
  for (;;) {
    double t0 = now();
#if HAVE_ZMM
    if (zmm) sink = sink + loop_zmm(iters, 1.0f); else
#endif
    sink = sink + loop_ymm(iters, 1.0f);
    double dt = now() - t0;
    if (dt > 2e-3 || iters > (1L << 40)) break;
    iters *= 2;
  }
  double best = 0;
  double end = now() + seconds;
  while (now() < end) {
    double t0 = now();
#pragma omp parallel num_threads(threads)
    {
      float r;
#if HAVE_ZMM
      if (zmm) r = loop_zmm(iters, 1.0f + omp_get_thread_num()); else
#endif
      r = loop_ymm(iters, 1.0f + omp_get_thread_num());
      if (r == 12345.f) sink = sink + r;
    }
    double dt = now() - t0;
    double gf = 2.0 * lanes * ACC * (double)iters * threads / dt / 1e9;
    if (gf > best) best = gf;
  }
  (void)sink;
  return best;
}

int main(int argc, char** argv) {
  int maxThreads = argc > 1 ? atoi(argv[1]) : omp_get_num_procs();
  double seconds = argc > 2 ? atof(argv[2]) : 1.0;
  if (maxThreads < 1) maxThreads = 1;
  std::vector<int> counts = {1};
  if (maxThreads > 1) counts.push_back(maxThreads);
  printf("{\"procs\": %d", omp_get_num_procs());
  bool kinds[2] = {false, true};
  for (bool zmm : kinds) {
    if (zmm && (!HAVE_ZMM || !__builtin_cpu_supports("avx512f"))) continue;
    if (!zmm && !__builtin_cpu_supports("fma")) continue;
    printf(", \"%s\": {", zmm ? "zmm" : "ymm");
    for (size_t i = 0; i < counts.size(); i++)
      printf("%s\"%d\": %.1f", i ? ", " : "", counts[i], measure(zmm, counts[i], seconds));
    printf("}");
  }
  printf("}\n");
  return 0;
}
