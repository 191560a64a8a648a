// Scalar elementwise kernels: plain loops, the oracle the NEON kernels are compared with, and
// the implementation on CPUs without NEON. They are written branch-free (selects, unconditional
// loads) so that GCC can vectorise them (see the BUILD file); that changes no result, since
// nothing here is reassociated.
// Comparisons are written so that NaN propagates through ReLU/ReLU6 (as fmax/fmin on NEON and
// as PyTorch) and gets a zero gradient.
#include <cassert>
#include <cstddef>
#include <cstring>
#include <initializer_list>

#include "kernels/elementwise/elementwise.h"

namespace persephonee {

void f32_bias_add_fwd__scalar(size_t rows, size_t channels, const float* input, const float* bias,
                              float* output) {
  assert(channels == 0 || (input != nullptr && bias != nullptr && output != nullptr));
  for (size_t r = 0; r < rows; ++r) {
    const float* x = input + r * channels;
    float* y = output + r * channels;
    for (size_t c = 0; c < channels; ++c) y[c] = x[c] + bias[c];
  }
}

void f32_bias_add_bwd__scalar(size_t rows, size_t channels, const float* grad_output,
                              float* grad_bias) {
  for (size_t c = 0; c < channels; ++c) grad_bias[c] = 0.0f;
  for (size_t r = 0; r < rows; ++r) {
    const float* g = grad_output + r * channels;
    for (size_t c = 0; c < channels; ++c) grad_bias[c] += g[c];
  }
}

void f32_relu_fwd__scalar(size_t n, const float* input, float* output) {
  for (size_t i = 0; i < n; ++i) {
    const float x = input[i];
    output[i] = x < 0.0f ? 0.0f : x;
  }
}

void f32_relu_bwd__scalar(size_t n, const float* output, const float* grad_output,
                          float* grad_input) {
  for (size_t i = 0; i < n; ++i) {
    const float g = grad_output[i];  // Loaded unconditionally, so the loop can be vectorised.
    grad_input[i] = output[i] > 0.0f ? g : 0.0f;
  }
}

void f32_relu6_fwd__scalar(size_t n, const float* input, float* output) {
  for (size_t i = 0; i < n; ++i) {
    const float x = input[i];
    output[i] = x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
  }
}

void f32_relu6_bwd__scalar(size_t n, const float* output, const float* grad_output,
                           float* grad_input) {
  for (size_t i = 0; i < n; ++i) {
    const float y = output[i], g = grad_output[i];
    grad_input[i] = (y > 0.0f && y < 6.0f) ? g : 0.0f;
  }
}

void f32_add_fwd__scalar(size_t n, const float* a, const float* b, float* output) {
  for (size_t i = 0; i < n; ++i) output[i] = a[i] + b[i];
}

void f32_add_bwd__scalar(size_t n, const float* grad_output, float* grad_a, float* grad_b,
                         bool accumulate) {
  assert(grad_a == nullptr || grad_a != grad_b);
  for (float* g : {grad_a, grad_b}) {
    if (g == nullptr) continue;
    assert(g != grad_output);
    if (accumulate) {
      for (size_t i = 0; i < n; ++i) g[i] += grad_output[i];
    } else if (n != 0) {
      std::memcpy(g, grad_output, n * sizeof(float));
    }
  }
}

}  // namespace persephonee
