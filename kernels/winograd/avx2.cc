// AVX2 Winograd transforms: 8 channels per ymm register (channels are contiguous in NHWC), the
// last 1-7 channels through masked loads and stores, so any channel count is one code path. The
// arithmetic is transform.h's, on __m256.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/winograd/transform.h"
#include "kernels/winograd/winograd.h"

namespace persephonee {
namespace {

// Lanes [0, n) set, n <= 8: a window into 8 ones followed by 8 zeros.
inline __m256i TailMask(size_t n) {
  static const int32_t kMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kMask + 8 - n));
}

template <size_t T>
void Input(size_t channels, const float* const* patch, float* v, size_t v_stride) {
  __m256 d[T * T], out[T * T];
  size_t c = 0;
  for (; c + 8 <= channels; c += 8) {
#pragma GCC unroll 36
    for (size_t k = 0; k < T * T; ++k) d[k] = _mm256_loadu_ps(patch[k] + c);
    winograd::InputTile<T>(d, out);
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) _mm256_storeu_ps(v + p * v_stride + c, out[p]);
  }
  if (c < channels) {
    const __m256i mask = TailMask(channels - c);
#pragma GCC unroll 36
    for (size_t k = 0; k < T * T; ++k) d[k] = _mm256_maskload_ps(patch[k] + c, mask);
    winograd::InputTile<T>(d, out);
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) _mm256_maskstore_ps(v + p * v_stride + c, mask, out[p]);
  }
}

template <size_t T>
void Output(size_t channels, const float* mt, size_t m_stride, const float* bias, float out_min,
            float out_max, float* const* out) {
  constexpr size_t kM = T - 2;
  const __m256 lo = _mm256_set1_ps(out_min);
  const __m256 hi = _mm256_set1_ps(out_max);
  __m256 x[T * T], y[kM * kM];
  size_t c = 0;
  for (; c + 8 <= channels; c += 8) {
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) x[p] = _mm256_loadu_ps(mt + p * m_stride + c);
    winograd::OutputTile<T>(x, y);
    const __m256 b = _mm256_loadu_ps(bias + c);
#pragma GCC unroll 36
    for (size_t k = 0; k < kM * kM; ++k) {
      _mm256_storeu_ps(out[k] + c, _mm256_min_ps(_mm256_max_ps(y[k] + b, lo), hi));
    }
  }
  if (c < channels) {
    const __m256i mask = TailMask(channels - c);
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) x[p] = _mm256_maskload_ps(mt + p * m_stride + c, mask);
    winograd::OutputTile<T>(x, y);
    const __m256 b = _mm256_maskload_ps(bias + c, mask);
#pragma GCC unroll 36
    for (size_t k = 0; k < kM * kM; ++k) {
      _mm256_maskstore_ps(out[k] + c, mask, _mm256_min_ps(_mm256_max_ps(y[k] + b, lo), hi));
    }
  }
}

}  // namespace

void f32_winograd_input_f2__avx2(size_t channels, const float* const* patch, float* v,
                                 size_t v_stride) {
  Input<4>(channels, patch, v, v_stride);
}

void f32_winograd_output_f2__avx2(size_t channels, const float* mt, size_t m_stride,
                                  const float* bias, float out_min, float out_max,
                                  float* const* out) {
  Output<4>(channels, mt, m_stride, bias, out_min, out_max, out);
}

void f32_winograd_input_f4__avx2(size_t channels, const float* const* patch, float* v,
                                 size_t v_stride) {
  Input<6>(channels, patch, v, v_stride);
}

void f32_winograd_output_f4__avx2(size_t channels, const float* mt, size_t m_stride,
                                  const float* bias, float out_min, float out_max,
                                  float* const* out) {
  Output<6>(channels, mt, m_stride, bias, out_min, out_max, out);
}

}  // namespace persephonee
