#include "im2col.h"

#define COL_NS baseline
#include "col2im_kernels.inc"

#include "receptive/runtime.h"

#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace receptive {
namespace conv_detail {

namespace {

// dst[i] = src[2 * i] for i < n. Whole vectors where it can (two loads and a shuffle per four
// values): the scalar loop held too few loads in flight to cover memory for strided layers
// whose input is not in cache (1x1 s2 C256 56x56, 8 images, one core: 4.2 ms of im2col, a
// fifth of the convolution). Reads src[0 .. 2n - 1) only.
inline void copy_even(const float* src, int64_t n, float* dst) {
  int64_t i = 0;
#if defined(__SSE2__)
  for (; i + 4 < n; i += 4) {  // (i + 4 < n: the pair's last load stays before src[2n - 1])
    const __m128 a = _mm_loadu_ps(src + 2 * i), b = _mm_loadu_ps(src + 2 * i + 4);
    _mm_storeu_ps(dst + i, _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)));
  }
#endif
  for (; i < n; i++) dst[i] = src[2 * i];
}

}  // namespace

void im2col_rows(const ConvGeometry& g, int64_t Cg, const float* x, int64_t oh0, int64_t oh1,
                 float* col, int64_t ld, int threads) {
  const int64_t H = g.H, W = g.W, R = g.R, S = g.S, OW = g.out_w();
  const int64_t sh = g.stride_h, sw = g.stride_w, dh = g.dilation_h, dw = g.dilation_w;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
  for (int64_t c = 0; c < Cg; c++) {
    const float* xc = x + c * H * W;
    for (int64_t r = 0; r < R; r++) {
      for (int64_t s = 0; s < S; s++) {
        float* dst = col + ((c * R + r) * S + s) * ld;
        const int64_t iw0 = s * dw - g.pad_left;
        int64_t lo, hi;
        valid_range(iw0, sw, W, OW, &lo, &hi);
        const int64_t ih0 = oh0 * sh + r * dh - g.pad_top, ih1 = (oh1 - 1) * sh + r * dh - g.pad_top;
        if (sw == 1 && sh == 1 && iw0 == 0 && OW == W && ih0 >= 0 && ih1 < H) {
          // Whole rows, consecutive in the plane: the band is one block (1x1 layers whose
          // images sit side by side, 7x7 planes: a copy per row was 8% of the layer).
          std::memcpy(dst, xc + ih0 * W, sizeof(float) * (oh1 - oh0) * OW);
          continue;
        }
        for (int64_t oh = oh0; oh < oh1; oh++, dst += OW) {
          const int64_t ih = oh * sh + r * dh - g.pad_top;
          if (ih < 0 || ih >= H) {
            std::memset(dst, 0, sizeof(float) * OW);
            continue;
          }
          const float* src = xc + ih * W + iw0;
          for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0.f;
          if (sw == 1) {
            std::memcpy(dst + lo, src + lo, sizeof(float) * (hi - lo));
          } else if (sw == 2) {
            copy_even(src + 2 * lo, hi - lo, dst + lo);
          } else {
            for (int64_t ow = lo; ow < hi; ow++) dst[ow] = src[ow * sw];
          }
          for (int64_t ow = hi; ow < OW; ow++) dst[ow] = 0.f;
        }
      }
    }
  }
}

void col2im_rows(const ConvGeometry& g, int64_t Cg, const float* col, int64_t oh0, int64_t oh1,
                 float* gx, int64_t ld, int threads) {
#if defined(__x86_64__)
  // Only the strided scatter gains from the wider builds (3x3 s2 C128: +14%); unit-stride
  // rows measured 3-5% faster in the baseline build (AlexNet conv2, ResNet C256, dilated;
  // LeNet conv2's 10-column rows 5-10%).
  if (g.stride_w > 1) switch (active_isa()) {
    case Isa::Avx512: return avx512::col2im_rows(g, Cg, col, oh0, oh1, gx, ld, threads);
    case Isa::Avx2: return avx2::col2im_rows(g, Cg, col, oh0, oh1, gx, ld, threads);
    default: break;
  }
#endif
  baseline::col2im_rows(g, Cg, col, oh0, oh1, gx, ld, threads);
}

}  // namespace conv_detail
}  // namespace receptive
