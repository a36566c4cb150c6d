// Baseline build of the depthwise kernels and the dispatch to the ISA the runtime chose.
#define DW_NS baseline
#include "depthwise_kernels.inc"

#include "receptive/runtime.h"

namespace receptive {
namespace conv_detail {

#if defined(__x86_64__)
#define DW_DISPATCH(fn, ...)                                   \
  switch (active_isa()) {                                      \
    case Isa::Avx512: return avx512::fn(__VA_ARGS__);          \
    case Isa::Avx2: return avx2::fn(__VA_ARGS__);              \
    default: return baseline::fn(__VA_ARGS__);                 \
  }
#else
#define DW_DISPATCH(fn, ...) return baseline::fn(__VA_ARGS__);
#endif

void depthwise_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                       float* y) {
  DW_DISPATCH(forward, g, x, w, bias, y)
}

void depthwise_backward_input(const ConvGeometry& g, const float* gy, const float* w,
                              float* gx) {
  DW_DISPATCH(backward_input, g, gy, w, gx)
}

void depthwise_backward_weight(const ConvGeometry& g, const float* x, const float* gy,
                               float* gw) {
  DW_DISPATCH(backward_weight, g, x, gy, gw)
}

}  // namespace conv_detail
}  // namespace receptive
