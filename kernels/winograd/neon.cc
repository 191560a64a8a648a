// NEON Winograd transforms: 4 channels per q register (channels are contiguous in NHWC), the
// last 1-3 channels through the scalar transforms. The arithmetic is transform.h's, on
// float32x4_t.
#include <arm_neon.h>

#include <cstddef>

#include "kernels/winograd/transform.h"
#include "kernels/winograd/winograd.h"

namespace persephonee {
namespace {

template <size_t T>
void Input(size_t channels, const float* const* patch, float* v, size_t v_stride) {
  float32x4_t d[T * T], out[T * T];
  size_t c = 0;
  for (; c + 4 <= channels; c += 4) {
#pragma GCC unroll 36
    for (size_t k = 0; k < T * T; ++k) d[k] = vld1q_f32(patch[k] + c);
    winograd::InputTile<T>(d, out);
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) vst1q_f32(v + p * v_stride + c, out[p]);
  }
  if (c < channels) {
    const float* tail[T * T];
#pragma GCC unroll 36
    for (size_t k = 0; k < T * T; ++k) tail[k] = patch[k] + c;
    if (T == 4) {
      f32_winograd_input_f2__scalar(channels - c, tail, v + c, v_stride);
    } else {
      f32_winograd_input_f4__scalar(channels - c, tail, v + c, v_stride);
    }
  }
}

template <size_t T>
void Output(size_t channels, const float* mt, size_t m_stride, const float* bias, float out_min,
            float out_max, float* const* out) {
  constexpr size_t kM = T - 2;
  const float32x4_t lo = vdupq_n_f32(out_min);
  const float32x4_t hi = vdupq_n_f32(out_max);
  float32x4_t x[T * T], y[kM * kM];
  size_t c = 0;
  for (; c + 4 <= channels; c += 4) {
#pragma GCC unroll 36
    for (size_t p = 0; p < T * T; ++p) x[p] = vld1q_f32(mt + p * m_stride + c);
    winograd::OutputTile<T>(x, y);
    const float32x4_t b = vld1q_f32(bias + c);
#pragma GCC unroll 36
    for (size_t k = 0; k < kM * kM; ++k) {
      vst1q_f32(out[k] + c, vminq_f32(vmaxq_f32(vaddq_f32(y[k], b), lo), hi));
    }
  }
  if (c < channels) {
    float* tail[kM * kM];
#pragma GCC unroll 36
    for (size_t k = 0; k < kM * kM; ++k) tail[k] = out[k] + c;
    if (T == 4) {
      f32_winograd_output_f2__scalar(channels - c, mt + c, m_stride, bias + c, out_min, out_max,
                                     tail);
    } else {
      f32_winograd_output_f4__scalar(channels - c, mt + c, m_stride, bias + c, out_min, out_max,
                                     tail);
    }
  }
}

}  // namespace

void f32_winograd_input_f2__neon(size_t channels, const float* const* patch, float* v,
                                 size_t v_stride) {
  Input<4>(channels, patch, v, v_stride);
}

void f32_winograd_output_f2__neon(size_t channels, const float* mt, size_t m_stride,
                                  const float* bias, float out_min, float out_max,
                                  float* const* out) {
  Output<4>(channels, mt, m_stride, bias, out_min, out_max, out);
}

void f32_winograd_input_f4__neon(size_t channels, const float* const* patch, float* v,
                                 size_t v_stride) {
  Input<6>(channels, patch, v, v_stride);
}

void f32_winograd_output_f4__neon(size_t channels, const float* mt, size_t m_stride,
                                  const float* bias, float out_min, float out_max,
                                  float* const* out) {
  Output<6>(channels, mt, m_stride, bias, out_min, out_max, out);
}

}  // namespace persephonee
