// AVX-512F Winograd transforms: 16 channels per zmm register (channels are contiguous in NHWC),
// the last 1-15 channels through masked loads and stores, so any channel count is one code path.
// The arithmetic is transform.h's, on __m512. Half the instructions of the AVX2 transforms for the
// same channels; only this file is built with -mavx512f.
#include <immintrin.h>

#include <cstddef>

#include "kernels/winograd/transform.h"
#include "kernels/winograd/winograd.h"

namespace persephonee {
namespace {

// Lanes [0, n) set, n < 16.
inline __mmask16 TailMask(size_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

// min(max(x, lo), hi). The zero-masked forms with a full mask: GCC 12's plain _mm512_max_ps
// starts from an undefined vector and trips -Wmaybe-uninitialized once inlined.
inline __m512 Clamp(__m512 x, __m512 lo, __m512 hi) {
  return _mm512_maskz_min_ps(0xFFFF, _mm512_maskz_max_ps(0xFFFF, x, lo), hi);
}

template <size_t T>
void Input(size_t channels, const float* const* patch, float* v, size_t v_stride) {
  __m512 d[T * T], out[T * T];
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
#pragma GCC unroll 36
    for (size_t k = 0; k < T * T; ++k) d[k] = _mm512_loadu_ps(patch[k] + c);
    winograd::InputTile<T>(d, out);
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) _mm512_storeu_ps(v + p * v_stride + c, out[p]);
  }
  if (c < channels) {
    const __mmask16 mask = TailMask(channels - c);
#pragma GCC unroll 36
    for (size_t k = 0; k < T * T; ++k) d[k] = _mm512_maskz_loadu_ps(mask, patch[k] + c);
    winograd::InputTile<T>(d, out);
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) _mm512_mask_storeu_ps(v + p * v_stride + c, mask, out[p]);
  }
}

template <size_t T>
void Output(size_t channels, const float* mt, size_t m_stride, const float* bias, float out_min,
            float out_max, float* const* out) {
  constexpr size_t kM = T - 2;
  const __m512 lo = _mm512_set1_ps(out_min);
  const __m512 hi = _mm512_set1_ps(out_max);
  __m512 x[T * T], y[kM * kM];
  size_t c = 0;
  for (; c + 16 <= channels; c += 16) {
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) x[p] = _mm512_loadu_ps(mt + p * m_stride + c);
    winograd::OutputTile<T>(x, y);
    const __m512 b = _mm512_loadu_ps(bias + c);
#pragma GCC unroll 36
    for (size_t k = 0; k < kM * kM; ++k) {
      _mm512_storeu_ps(out[k] + c, Clamp(y[k] + b, lo, hi));
    }
  }
  if (c < channels) {
    const __mmask16 mask = TailMask(channels - c);
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) x[p] = _mm512_maskz_loadu_ps(mask, mt + p * m_stride + c);
    winograd::OutputTile<T>(x, y);
    const __m512 b = _mm512_maskz_loadu_ps(mask, bias + c);
#pragma GCC unroll 36
    for (size_t k = 0; k < kM * kM; ++k) {
      _mm512_mask_storeu_ps(out[k] + c, mask, Clamp(y[k] + b, lo, hi));
    }
  }
}

}  // namespace

void f32_winograd_input_f2__avx512(size_t channels, const float* const* patch, float* v,
                                   size_t v_stride) {
  Input<4>(channels, patch, v, v_stride);
}

void f32_winograd_output_f2__avx512(size_t channels, const float* mt, size_t m_stride,
                                    const float* bias, float out_min, float out_max,
                                    float* const* out) {
  Output<4>(channels, mt, m_stride, bias, out_min, out_max, out);
}

void f32_winograd_input_f4__avx512(size_t channels, const float* const* patch, float* v,
                                   size_t v_stride) {
  Input<6>(channels, patch, v, v_stride);
}

void f32_winograd_output_f4__avx512(size_t channels, const float* mt, size_t m_stride,
                                    const float* bias, float out_min, float out_max,
                                    float* const* out) {
  Output<6>(channels, mt, m_stride, bias, out_min, out_max, out);
}

}  // namespace persephonee
