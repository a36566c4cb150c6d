// Helpers the conv and pool kernels share: how many threads a kernel may start, and
// per-thread scratch buffers that grow once and are then reused (no allocation per call
// in steady state).
#pragma once
#include <cstddef>
#include <vector>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "receptive/runtime.h"

namespace receptive {

// Threads a kernel may use: the configured count, or 1 when already inside a parallel
// region (nested parallelism would oversubscribe the cores).
inline int kernel_threads() {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
  int n = get_num_threads();
  return n < 1 ? 1 : n;
#else
  return 1;
#endif
}

// Per-thread scratch: slot 0 for im2col columns, slot 1 for anything else a kernel needs
// next to them. Grows by at least half; never shrinks.
inline float* thread_scratch(int slot, size_t n) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& b = buffers[slot];
  if (b.size() < n) b.resize(n > b.size() + b.size() / 2 ? n : b.size() + b.size() / 2);
  return b.data();
}

}  // namespace receptive
