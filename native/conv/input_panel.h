// The zero-padded panel of input rows the direct kernels read (forward: direct_small,
// weight gradient: direct_wgrad), so that their tap loops need no bounds checks for any
// padding, stride or dilation.
#pragma once
#include <cstdint>
#include <cstring>

namespace receptive {
namespace conv_detail {

// Each of the panel's `rows` rows (Wp floats, planes `plane` apart) for c < channels: zeros
// where input row ih0 + i lies outside the image, else fill(dst, that row of channel c)
// (x: the first channel's plane, planes H*W apart).
template <class Fill>
inline void for_each_panel_row(const float* x, int64_t channels, int64_t H, int64_t W,
                               int64_t ih0, int64_t rows, int64_t Wp, int64_t plane,
                               float* panel, Fill fill) {
  for (int64_t c = 0; c < channels; c++) {
    const float* xc = x + c * H * W;
    for (int64_t i = 0; i < rows; i++) {
      float* dst = panel + c * plane + i * Wp;
      const int64_t ih = ih0 + i;
      if (ih < 0 || ih >= H)
        std::memset(dst, 0, sizeof(float) * Wp);
      else
        fill(dst, xc + ih * W);
    }
  }
}

// panel[c*plane + i*Wp + j] = x[c][ih0 + i][j - pad_left] for c < channels, i < rows,
// j < Wp, and 0 where that lies outside the H x W image.
inline void copy_input_panel(const float* x, int64_t channels, int64_t H, int64_t W,
                             int64_t ih0, int64_t rows, int64_t pad_left, int64_t Wp,
                             int64_t plane, float* panel) {
  int64_t c_lo = pad_left < Wp ? pad_left : Wp;  // first panel column inside the image
  int64_t c_hi = pad_left + W < Wp ? pad_left + W : Wp;
  if (c_hi < c_lo) c_hi = c_lo;
  for_each_panel_row(x, channels, H, W, ih0, rows, Wp, plane, panel,
                     [&](float* dst, const float* xr) {
    if (c_lo > 0) std::memset(dst, 0, sizeof(float) * c_lo);
    if (c_hi > c_lo) std::memcpy(dst + c_lo, xr + (c_lo - pad_left), sizeof(float) * (c_hi - c_lo));
    if (Wp > c_hi) std::memset(dst + c_hi, 0, sizeof(float) * (Wp - c_hi));
  });
}

// A row of W values at panel columns pad_left .. pad_left + W - 1 split into its even and odd
// columns (even[u] = column 2u, odd[u] = column 2u + 1), `len` floats each, zeros outside
// the row. Needs pad_left >= 0 and pad_left + W <= 2 * len.
inline void deinterleave_row2(const float* __restrict xr, int64_t W, int64_t pad_left,
                              int64_t len, float* __restrict even, float* __restrict odd) {
  // Columns [pad_left, pad_left + W) hold the row; the rest of both halves are zeros.
  const int64_t lo = pad_left / 2, hi = (pad_left + W + 1) / 2;  // u touched by the row
  std::memset(even, 0, sizeof(float) * static_cast<size_t>(lo));
  std::memset(odd, 0, sizeof(float) * static_cast<size_t>(lo));
  int64_t j = 0;  // next image column
  if (pad_left % 2 != 0 && W > 0) {  // the row starts on an odd panel column
    even[lo] = 0.f;
    odd[lo] = xr[0];
    j = 1;
  }
  // Pairs of image columns (j, j + 1) at panel columns (2u, 2u + 1).
  const int64_t u0 = (pad_left + j) / 2, pairs = (W - j) / 2;
  for (int64_t q = 0; q < pairs; q++) {
    even[u0 + q] = xr[j + 2 * q];
    odd[u0 + q] = xr[j + 2 * q + 1];
  }
  if ((W - j) % 2 != 0) {  // a last column on an even panel column
    even[u0 + pairs] = xr[W - 1];
    odd[u0 + pairs] = 0.f;
  }
  std::memset(even + hi, 0, sizeof(float) * static_cast<size_t>(len - hi));
  std::memset(odd + hi, 0, sizeof(float) * static_cast<size_t>(len - hi));
}

// The same rows with each one split into its `phases` column phases, phase_len floats each:
// panel[c*plane + i*phases*phase_len + p*phase_len + u] = the value copy_input_panel puts
// at column u*phases + p. Output column ow of a layer of stride `phases` then reads tap
// column q at phase q % phases, index ow + q / phases: consecutive output columns from
// consecutive floats (the direct kernel's column tiles load them as whole vectors).
inline void copy_input_panel_phased(const float* x, int64_t channels, int64_t H, int64_t W,
                                    int64_t ih0, int64_t rows, int64_t pad_left,
                                    int64_t phases, int64_t phase_len, int64_t plane,
                                    float* panel) {
  for_each_panel_row(x, channels, H, W, ih0, rows, phases * phase_len, plane, panel,
                     [=](float* dst, const float* xr) {
    if (phases == 2 && W > 0 && pad_left >= 0 && W + pad_left <= 2 * phase_len) {
      // Stride 2 (stems): the row deinterleaved in one pass that the compiler vectorizes;
      // the generic loop below loaded the stride through memory on every column, since its
      // stores might alias it (a twentieth of the 7x7 s2 stem on one core).
      deinterleave_row2(xr, W, pad_left, phase_len, dst, dst + phase_len);
      return;
    }
    for (int64_t p = 0; p < phases; p++) {
      float* d = dst + p * phase_len;
      // u in [u_lo, u_hi) reads column u * phases + p - pad_left of the image; the rest is 0
      const int64_t first = pad_left - p;  // u * phases >= first
      int64_t u_lo = first <= 0 ? 0 : (first + phases - 1) / phases;
      int64_t u_hi = W + first <= 0 ? 0 : (W + first + phases - 1) / phases;
      if (u_lo > phase_len) u_lo = phase_len;
      if (u_hi > phase_len) u_hi = phase_len;
      if (u_hi < u_lo) u_hi = u_lo;
      std::memset(d, 0, sizeof(float) * u_lo);
      const float* src = xr + (u_lo * phases - first);
      for (int64_t u = u_lo; u < u_hi; u++, src += phases) d[u] = *src;
      std::memset(d + u_hi, 0, sizeof(float) * (phase_len - u_hi));
    }
  });
}

}  // namespace conv_detail
}  // namespace receptive
