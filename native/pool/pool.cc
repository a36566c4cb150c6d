// Baseline build of the pooling kernels and the dispatch to the ISA the runtime chose.
#define POOL_NS baseline
#include "pool_kernels.inc"

#include "pool_internal.h"
#include "receptive/runtime.h"

namespace receptive {

#if defined(__x86_64__)
#define POOL_DISPATCH(fn, ...)                                   \
  switch (active_isa()) {                                        \
    case Isa::Avx512: return pool_detail::avx512::fn(__VA_ARGS__); \
    case Isa::Avx2: return pool_detail::avx2::fn(__VA_ARGS__);     \
    default: return pool_detail::baseline::fn(__VA_ARGS__);        \
  }
#else
#define POOL_DISPATCH(fn, ...) return pool_detail::baseline::fn(__VA_ARGS__);
#endif

void max_pool2d_forward(const PoolGeometry& g, const float* x, float* y, int32_t* indices) {
  POOL_DISPATCH(max_forward, g, x, y, indices)
}
void max_pool2d_backward(const PoolGeometry& g, const float* gy, const int32_t* indices,
                         float* gx) {
  POOL_DISPATCH(max_backward, g, gy, indices, gx)
}
void avg_pool2d_forward(const PoolGeometry& g, bool count_include_pad, const float* x, float* y) {
  POOL_DISPATCH(avg_forward, g, count_include_pad, x, y)
}
void avg_pool2d_backward(const PoolGeometry& g, bool count_include_pad, const float* gy,
                         float* gx) {
  POOL_DISPATCH(avg_backward, g, count_include_pad, gy, gx)
}
void adaptive_avg_pool2d_forward(const AdaptivePoolGeometry& g, const float* x, float* y) {
  POOL_DISPATCH(adaptive_forward, g, x, y)
}
void adaptive_avg_pool2d_backward(const AdaptivePoolGeometry& g, const float* gy, float* gx) {
  POOL_DISPATCH(adaptive_backward, g, gy, gx)
}

}  // namespace receptive
