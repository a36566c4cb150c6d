// Dispatch and choice of the direct weight-gradient kernel (direct_wgrad.h).
#include "direct_wgrad.h"

#include "receptive/runtime.h"

namespace receptive {
namespace conv_detail {

bool direct_wgrad_applies(const ConvGeometry& g) {
  (void)g;
#if defined(__x86_64__)
  return active_isa() == Isa::Avx512 || active_isa() == Isa::Avx2;
#else
  return false;
#endif
}

bool direct_wgrad_preferred(const ConvGeometry& g) {
  if (!direct_wgrad_applies(g)) return false;
  const int64_t Cg = g.C / g.groups, Kg = g.K / g.groups;
  if (active_isa() == Isa::Avx2) {
    // AVX2's tile is 6 taps x 16 channels. Measured against the GEMM paths (one core, batch
    // 8 unless said): 1.2-2.7x on few input channels (LeNet conv1 C1 and conv2 C6 at batch
    // 64, the stem, AlexNet conv1) and on 5x5 filters (AlexNet conv2, GoogLeNet's 5x5
    // branches: 1.3x, 14x14 and 7x7 included); even on C3-C16 3x3/5x5 at 28x28 and up. It
    // loses on C32 and more with 3x3 or 1x9 filters, where the GEMMs run near peak: 3x3 s2
    // C128 and dilated C64 0.94x, the 9-tap 1-D layer 0.83x, C256 3x3 0.5x.
    const int64_t Kgp = (Kg + 15) / 16 * 16;
    const int64_t partial = g.groups * Cg * g.R * g.S * Kgp;
    return g.S >= 3 && (Cg <= 8 || g.R * g.S >= 25) && partial <= (int64_t(1) << 19);
  }
  // AVX-512. Measured against the GEMM paths (2 threads, batch 8; Winograd's 3x3 layers are
  // taken before this is asked): 1.1-1.5x on the stem, AlexNet conv1/conv2, 5x5 and
  // dilated 3x3 layers, 3x3 s2 C128 56x56, C64-128 3x3 on 28x28 and up, the 9-tap 1-D
  // layer. It loses where
  // - a tile has few taps (1x1, Sx1 filters: 4 taps, 8 accumulators);
  // - the channel blocks of 32 are mostly padding (K = 16: 0.7x);
  // - the partial gradient passes L2 (C256 3x3: 2.4 MB, 0.55-0.9x), since every work item
  //   adds into all of it;
  // - output rows are short (C128 14x14 and 7x7: 0.95x).
  const int64_t Kgp = (Kg + 31) / 32 * 32;
  const int64_t partial = g.groups * Cg * g.R * g.S * Kgp;
  return g.S >= 3 && 4 * Kg >= 3 * Kgp && partial <= (int64_t(1) << 19) && g.out_w() >= 16;
}

void direct_wgrad(const ConvGeometry& g, const float* x, const float* gy, float* gw) {
#if defined(__x86_64__)
  if (active_isa() == Isa::Avx512)
    dw_avx512::backward_weight(g, x, gy, gw);
  else
    dw_avx2::backward_weight(g, x, gy, gw);
#else
  (void)g, (void)x, (void)gy, (void)gw;
#endif
}

}  // namespace conv_detail
}  // namespace receptive
