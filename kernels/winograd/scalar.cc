// Scalar Winograd transforms, one channel at a time: the oracle the vector transforms are tested
// against (the arithmetic itself is shared, transform.h).
#include <algorithm>
#include <cstddef>

#include "kernels/winograd/transform.h"
#include "kernels/winograd/winograd.h"

namespace persephonee {
namespace {

template <size_t T>
void Input(size_t channels, const float* const* patch, float* v, size_t v_stride) {
  for (size_t c = 0; c < channels; ++c) {
    float d[T * T], out[T * T];
    for (size_t k = 0; k < T * T; ++k) d[k] = patch[k][c];
    winograd::InputTile<T>(d, out);
    for (size_t p = 0; p < T * T; ++p) v[p * v_stride + c] = out[p];
  }
}

template <size_t T>
void Output(size_t channels, const float* mt, size_t m_stride, const float* bias, float out_min,
            float out_max, float* const* out) {
  constexpr size_t kM = T - 2;
  for (size_t c = 0; c < channels; ++c) {
    float x[T * T], y[kM * kM];
    for (size_t p = 0; p < T * T; ++p) x[p] = mt[p * m_stride + c];
    winograd::OutputTile<T>(x, y);
    for (size_t k = 0; k < kM * kM; ++k) {
      out[k][c] = std::min(std::max(y[k] + bias[c], out_min), out_max);
    }
  }
}

}  // namespace

void f32_winograd_input_f2__scalar(size_t channels, const float* const* patch, float* v,
                                   size_t v_stride) {
  Input<4>(channels, patch, v, v_stride);
}

void f32_winograd_output_f2__scalar(size_t channels, const float* mt, size_t m_stride,
                                    const float* bias, float out_min, float out_max,
                                    float* const* out) {
  Output<4>(channels, mt, m_stride, bias, out_min, out_max, out);
}

void f32_winograd_input_f4__scalar(size_t channels, const float* const* patch, float* v,
                                   size_t v_stride) {
  Input<6>(channels, patch, v, v_stride);
}

void f32_winograd_output_f4__scalar(size_t channels, const float* mt, size_t m_stride,
                                    const float* bias, float out_min, float out_max,
                                    float* const* out) {
  Output<6>(channels, mt, m_stride, bias, out_min, out_max, out);
}

}  // namespace persephonee
