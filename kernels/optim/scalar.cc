// Scalar optimiser steps: the oracle the other implementations are tested against. Written in
// PyTorch's order of operations (see optim.h); float arithmetic.
#include <cassert>
#include <cmath>

#include "kernels/optim/optim.h"

namespace persephonee {

AdamStepScalars MakeAdamStepScalars(const AdamParams& params, int64_t step) {
  assert(step >= 1);
  const double t = static_cast<double>(step);
  const double bias1 = 1.0 - std::pow(static_cast<double>(params.beta1), t);
  const double bias2 = 1.0 - std::pow(static_cast<double>(params.beta2), t);
  AdamStepScalars s;
  s.step_size = static_cast<float>(static_cast<double>(params.lr) / bias1);
  s.inv_bias_sqrt2 = static_cast<float>(1.0 / std::sqrt(bias2));
  s.one_minus_beta1 = static_cast<float>(1.0 - static_cast<double>(params.beta1));
  s.one_minus_beta2 = static_cast<float>(1.0 - static_cast<double>(params.beta2));
  return s;
}

void f32_sgd__scalar(size_t n, const SgdParams& params, int64_t step, float* __restrict weights,
                     const float* __restrict grads, float* __restrict momentum_buf) {
  assert(step >= 1);
  assert(params.momentum == 0.0f || momentum_buf != nullptr);
  const bool first = step == 1;
  const float lr = params.lr;
  const float wd = params.weight_decay;
  const float mu = params.momentum;
  const float keep = 1.0f - params.dampening;
  for (size_t i = 0; i < n; ++i) {
    float d = grads[i];
    if (wd != 0.0f) d = d + wd * weights[i];
    if (mu != 0.0f) {
      const float buf = first ? d : mu * momentum_buf[i] + keep * d;
      momentum_buf[i] = buf;
      d = params.nesterov ? d + mu * buf : buf;
    }
    weights[i] = weights[i] - lr * d;
  }
}

void f32_adam__scalar(size_t n, const AdamParams& params, int64_t step, float* __restrict weights,
                      const float* __restrict grads, float* __restrict exp_avg,
                      float* __restrict exp_avg_sq) {
  assert(step >= 1);
  const bool first = step == 1;
  const AdamStepScalars s = MakeAdamStepScalars(params, step);
  const float wd = params.weight_decay;
  for (size_t i = 0; i < n; ++i) {
    float g = grads[i];
    if (wd != 0.0f) g = g + wd * weights[i];
    const float m =
        first ? s.one_minus_beta1 * g : params.beta1 * exp_avg[i] + s.one_minus_beta1 * g;
    const float v = first ? s.one_minus_beta2 * (g * g)
                          : params.beta2 * exp_avg_sq[i] + s.one_minus_beta2 * (g * g);
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    const float denom = std::sqrt(v) * s.inv_bias_sqrt2 + params.eps;
    weights[i] = weights[i] - s.step_size * (m / denom);
  }
}

}  // namespace persephonee
