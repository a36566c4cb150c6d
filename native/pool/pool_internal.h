// The per-ISA sets of pooling kernels (pool_kernels.inc); pool.cc dispatches among them.
#pragma once
#include "receptive/pool.h"

namespace receptive {
namespace pool_detail {
#define RECEPTIVE_POOL_DECLARE(ns)                                                            \
  namespace ns {                                                                              \
  void max_forward(const PoolGeometry& g, const float* x, float* y, int32_t* indices);        \
  void max_backward(const PoolGeometry& g, const float* gy, const int32_t* indices,          \
                    float* gx);                                                               \
  void avg_forward(const PoolGeometry& g, bool count_include_pad, const float* x, float* y);  \
  void avg_backward(const PoolGeometry& g, bool count_include_pad, const float* gy,          \
                    float* gx);                                                               \
  void adaptive_forward(const AdaptivePoolGeometry& g, const float* x, float* y);            \
  void adaptive_backward(const AdaptivePoolGeometry& g, const float* gy, float* gx);         \
  }
RECEPTIVE_POOL_DECLARE(baseline)
RECEPTIVE_POOL_DECLARE(avx2)
RECEPTIVE_POOL_DECLARE(avx512)
#undef RECEPTIVE_POOL_DECLARE
}  // namespace pool_detail
}  // namespace receptive
