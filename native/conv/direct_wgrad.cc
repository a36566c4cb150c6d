// Dispatch and choice of the direct weight-gradient kernel (direct_wgrad.h).
#include "direct_wgrad.h"

#include "receptive/runtime.h"

namespace receptive {
namespace conv_detail {

bool direct_wgrad_applies(const ConvGeometry& g) {
  (void)g;
#if defined(__x86_64__)
  return active_isa() == Isa::Avx512;
#else
  return false;
#endif
}

bool direct_wgrad_preferred(const ConvGeometry& g) {
  if (!direct_wgrad_applies(g)) return false;
  // Measured against the GEMM paths (2 threads, batch 8; Winograd's 3x3 layers are taken
  // before this is asked): 1.1-1.5x on the stem, AlexNet conv1/conv2, 5x5 and dilated
  // 3x3 layers, 3x3 s2 C128 56x56, C64-128 3x3 on 28x28 and up, the 9-tap 1-D layer.
  // It loses where
  // - a tile has few taps (1x1, Sx1 filters: 4 taps, 8 accumulators);
  // - the channel blocks of 32 are mostly padding (K = 16: 0.7x);
  // - the partial gradient passes L2 (C256 3x3: 2.4 MB, 0.55-0.9x), since every work item
  //   adds into all of it;
  // - output rows are short (C128 14x14 and 7x7: 0.95x).
  const int64_t Kg = g.K / g.groups, Kgp = (Kg + 31) / 32 * 32;
  const int64_t partial = g.groups * (g.C / g.groups) * g.R * g.S * Kgp;
  return g.S >= 3 && 4 * Kg >= 3 * Kgp && partial <= (int64_t(1) << 19) && g.out_w() >= 16;
}

void direct_wgrad(const ConvGeometry& g, const float* x, const float* gy, float* gw) {
#if defined(__x86_64__)
  dw_avx512::backward_weight(g, x, gy, gw);
#else
  (void)g, (void)x, (void)gy, (void)gw;
#endif
}

}  // namespace conv_detail
}  // namespace receptive
