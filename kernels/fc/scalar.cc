// Reference fully-connected kernels: plain loops, the oracles for every other implementation.
#include <algorithm>

#include "kernels/fc/fc.h"

namespace persephonee {

void f32_fc_fwd__scalar(const FcShape& s, const float* x, const float* weights, const float* bias,
                        float* y, float output_min, float output_max) {
  for (size_t b = 0; b < s.batch; ++b) {
    for (size_t o = 0; o < s.out; ++o) {
      float acc = 0.0f;
      for (size_t i = 0; i < s.in; ++i) acc += x[b * s.in + i] * weights[o * s.in + i];
      if (bias != nullptr) acc += bias[o];
      y[b * s.out + o] = std::min(std::max(acc, output_min), output_max);
    }
  }
}

void f32_fc_bwd_input__scalar(const FcShape& s, const float* grad_output, const float* weights,
                              float* grad_input) {
  for (size_t b = 0; b < s.batch; ++b) {
    for (size_t i = 0; i < s.in; ++i) {
      float acc = 0.0f;
      for (size_t o = 0; o < s.out; ++o) acc += grad_output[b * s.out + o] * weights[o * s.in + i];
      grad_input[b * s.in + i] = acc;
    }
  }
}

void f32_fc_bwd_weight__scalar(const FcShape& s, const float* x, const float* grad_output,
                               float* grad_weight, float* grad_bias) {
  for (size_t o = 0; o < s.out; ++o) {
    for (size_t i = 0; i < s.in; ++i) {
      float acc = 0.0f;
      for (size_t b = 0; b < s.batch; ++b) acc += grad_output[b * s.out + o] * x[b * s.in + i];
      grad_weight[o * s.in + i] = acc;
    }
    if (grad_bias != nullptr) {
      float acc = 0.0f;
      for (size_t b = 0; b < s.batch; ++b) acc += grad_output[b * s.out + o];
      grad_bias[o] = acc;
    }
  }
}

}  // namespace persephonee
