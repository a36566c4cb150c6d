// ReLU forward and backward (see receptive/activation.h): plain loops the compiler turns
// into compares and blends, split over the threads past a size where starting a team pays.
#include "receptive/activation.h"

#include "receptive/threading.h"

namespace receptive {

namespace {

// Elements per thread below which the loop stays on the calling thread.
constexpr int64_t kMinPerThread = int64_t(1) << 15;

template <typename F>
void for_chunks(int64_t n, F f) {
  const int nt = kernel_threads();
  const int64_t chunk = 4096;  // (16 KiB of floats: whole cache lines, whole vectors)
  const int64_t chunks = (n + chunk - 1) / chunk;
  const bool par = nt > 1 && n >= 2 * kMinPerThread;
#pragma omp parallel for num_threads(nt) if (par) schedule(static)
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t i0 = c * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
    f(i0, i1);
  }
}

}  // namespace

void relu_forward(const float* x, float* y, int64_t n) {
  for_chunks(n, [=](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
      const float v = x[i];
      y[i] = v > 0.f ? v : (v != v ? v : 0.f);
    }
  });
}

void relu_backward(const float* y, const float* gy, float* gx, int64_t n) {
  for_chunks(n, [=](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) gx[i] = y[i] > 0.f ? gy[i] : 0.f;
  });
}

}  // namespace receptive
