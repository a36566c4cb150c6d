// Element-wise ReLU, forward and backward: the training path's element-wise passes over
// every conv output, memory-bound loops the compiler vectorises (a JS loop took ~1.7 ns an
// element, with every other element's branch mispredicted before that).
#pragma once
#include <cstdint>

namespace receptive {

// y[i] = x[i] > 0 ? x[i] : (x[i] is NaN ? x[i] : +0): PyTorch's relu, NaN kept. y may be x.
void relu_forward(const float* x, float* y, int64_t n);
// gx[i] = y[i] > 0 ? gy[i] : 0, from the forward's output y. gx may be gy.
void relu_backward(const float* y, const float* gy, float* gx, int64_t n);

}  // namespace receptive
