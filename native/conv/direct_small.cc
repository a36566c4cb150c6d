// Baseline build of the direct small-channel convolution, the weight packing, the choice
// heuristics and the dispatch to the ISA the runtime chose.
#define DS_NS ds_baseline
#include "direct_small_kernels.inc"

#include <vector>

#include "receptive/runtime.h"
#include "winograd.h"

namespace receptive {
namespace conv_detail {

bool direct_small_applies(const ConvGeometry& g) {
  // Any geometry: the panel holds at least one output row's input rows, whatever the size.
  (void)g;
  return true;
}

bool direct_small_preferred(const ConvGeometry& g) {
  if (active_isa() == Isa::Scalar) return false;
  if (g.R == 1 && g.S == 1) return false;  // 1x1: the GEMM reads the input directly
  // One output per image (LeNet's C5): one GEMM over the batch, measured 3.5x the direct
  // kernel, which would fill 1 of its row tile's columns.
  if (g.out_h() * g.out_w() == 1) return false;
  const int64_t Cg = g.C / g.groups;
  if (Cg <= 8) return true;
  // Output rows narrower than one 14-column register tile (ResNet's 3x3 s2 into 7x7): the
  // GEMM over the batch's columns measured 1.0-1.4x faster (C512 14x14 -> 7x7: 9.4 -> 7.3 ms
  // at batch 8, 1.55 -> 1.08 ms at batch 1).
  if (g.out_w() < 14) return false;
  // 3x3 stride 1 with up to 32 input channels (GoogLeNet's reduced branches): Winograd's
  // GEMMs are too short (C16 28x28 -> 32: 0.029 ms direct against 0.052 at batch 1, 0.17
  // against 0.24 at batch 8; C32 14x14 -> 64 likewise). From 48 channels Winograd wins,
  // dilated layers included (C64 56x56 d2 at batch 8: 3.9 ms against 5.8 ms direct).
  if (winograd_applies(g)) return Cg <= 32;
  // More input channels: measured faster than im2col + GEMM (one core, AVX-512: AlexNet
  // conv2 C64 5x5 ~1.3x, ResNet 3x3 s2 C128 ~1.3x) while the filter block of one tile
  // (C*R*S x 32 floats) stays well inside L2.
  return Cg * g.R * g.S <= 8192;
}

size_t direct_small_packed_floats(const ConvGeometry& g) {
  const int64_t Kg = g.K / g.groups, CRS = (g.C / g.groups) * g.R * g.S;
  const int64_t nblk = (Kg + kDirectBlock - 1) / kDirectBlock;
  return static_cast<size_t>(g.groups * nblk * CRS * kDirectBlock);
}

void direct_small_pack(const ConvGeometry& g, const float* w, float* packed) {
  const int64_t Kg = g.K / g.groups, CRS = (g.C / g.groups) * g.R * g.S;
  const int64_t nblk = (Kg + kDirectBlock - 1) / kDirectBlock;
  for (int64_t grp = 0; grp < g.groups; grp++)
    for (int64_t b = 0; b < nblk; b++) {
      float* dst = packed + (grp * nblk + b) * CRS * kDirectBlock;
      for (int64_t i = 0; i < CRS; i++)
        for (int64_t l = 0; l < kDirectBlock; l++) {
          const int64_t k = b * kDirectBlock + l;
          dst[i * kDirectBlock + l] = k < Kg ? w[(grp * Kg + k) * CRS + i] : 0.f;
        }
    }
}

void direct_small_forward(const ConvGeometry& g, const float* x, const float* packed,
                          const ConvEpilogue& ep, float* y, const DirectPhases* phases) {
#if defined(__x86_64__)
  switch (active_isa()) {
    case Isa::Avx512: return ds_avx512::forward(g, x, packed, ep, y, phases);
    case Isa::Avx2: return ds_avx2::forward(g, x, packed, ep, y, phases);
    default: return ds_baseline::forward(g, x, packed, ep, y, phases);
  }
#else
  ds_baseline::forward(g, x, packed, ep, y, phases);
#endif
}

void direct_small_forward_plain(const ConvGeometry& g, const float* x, const float* w,
                                const ConvEpilogue& ep, float* y) {
  // Held by the calling thread (the kernel's own per-thread scratch is used inside its
  // parallel region, by this thread too) and reused: no allocation in steady state.
  thread_local std::vector<float> packed;
  const size_t n = direct_small_packed_floats(g);
  if (packed.size() < n) packed.resize(n);
  direct_small_pack(g, w, packed.data());
  direct_small_forward(g, x, packed.data(), ep, y);
}

}  // namespace conv_detail
}  // namespace receptive
