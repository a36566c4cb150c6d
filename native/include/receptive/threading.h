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

// kernel_threads() for a kernel of `fmas` multiply-adds: each thread gets at least 2^18
// (about 2 us of work); below that, waking another thread costs more than it saves.
// (Measured on the shared 2-core machine: splitting 64x64x64 or 16x100x150 over two
// threads gained ~10% when the machine was idle and lost 100x when it was loaded, because
// a 3 us problem waits a whole scheduler tick for a preempted worker; LeNet-5's direct
// convolutions at batch 1 ran faster on one thread.)
inline int kernel_threads_for(double fmas) {
  const int nt = kernel_threads();
  const double by_work = fmas / double(1 << 18);
  return by_work >= nt ? nt : (by_work < 1.0 ? 1 : static_cast<int>(by_work));
}

// The calling thread's index in its OpenMP team (0 outside one).
inline int thread_index() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Per-thread partial sums for a reduction over nt threads: nt buffers of n floats (their
// old contents), held by the calling thread and reused from call to call.
inline std::vector<float>* thread_partials(int nt, size_t n) {
  thread_local std::vector<std::vector<float>> partials;
  if (static_cast<int>(partials.size()) < nt) partials.resize(nt);
  for (int t = 0; t < nt; t++) partials[t].resize(n);
  return partials.data();
}

// Per-thread scratch: slot 0 for im2col columns, slot 1 for anything else a kernel needs
// next to them. Never shrinks.
inline float* thread_scratch(int slot, size_t n) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& b = buffers[slot];
  if (b.size() < n) {
    // Capacity grows by half at least (few reallocations), but only the n floats asked
    // for are touched: pages past them stay unmapped and out of the process's memory.
    if (b.capacity() < n) b.reserve(n > b.capacity() + b.capacity() / 2 ? n : b.capacity() + b.capacity() / 2);
    b.resize(n);
  }
  return b.data();
}

}  // namespace receptive
