#include "tests/kernels/optim/optim_reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace persephonee {
namespace optim_reference {
namespace {

Tracked FromFloats(const std::vector<float>& x) {
  Tracked t;
  t.value.assign(x.begin(), x.end());
  t.scale.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) t.scale[i] = std::fabs(t.value[i]);
  return t;
}

Tracked Zeros(size_t n) {
  Tracked t;
  t.value.assign(n, 0.0);
  t.scale.assign(n, 0.0);
  return t;
}

}  // namespace

SgdState StartSgd(const std::vector<float>& weights) {
  SgdState s;
  s.weights = FromFloats(weights);
  s.momentum = Zeros(weights.size());
  return s;
}

AdamState StartAdam(const std::vector<float>& weights) {
  AdamState s;
  s.weights = FromFloats(weights);
  s.exp_avg = Zeros(weights.size());
  s.exp_avg_sq = Zeros(weights.size());
  return s;
}

void SgdStep(const SgdParams& hp, int64_t step, const float* grads, SgdState* state) {
  assert(step >= 1);
  const double lr = hp.lr, wd = hp.weight_decay, mu = hp.momentum, keep = 1.0 - hp.dampening;
  Tracked& p = state->weights;
  Tracked& buf = state->momentum;
  for (size_t i = 0; i < p.value.size(); ++i) {
    double d = grads[i] + wd * p.value[i];
    double d_s = std::fabs(grads[i]) + wd * p.scale[i];
    if (mu != 0.0) {
      if (step == 1) {
        buf.value[i] = d;
        buf.scale[i] = d_s;
      } else {
        buf.value[i] = mu * buf.value[i] + keep * d;
        buf.scale[i] = mu * buf.scale[i] + keep * d_s;
      }
      if (hp.nesterov) {
        d = d + mu * buf.value[i];
        d_s = d_s + mu * buf.scale[i];
      } else {
        d = buf.value[i];
        d_s = buf.scale[i];
      }
    }
    p.value[i] -= lr * d;
    p.scale[i] += lr * d_s;
  }
}

void AdamStep(const AdamParams& hp, int64_t step, const float* grads, AdamState* state) {
  assert(step >= 1);
  const double b1 = hp.beta1, b2 = hp.beta2, wd = hp.weight_decay, eps = hp.eps;
  const double t = static_cast<double>(step);
  const double bias1 = 1.0 - std::pow(b1, t);
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(b2, t));
  const double step_size = hp.lr / bias1;
  Tracked& p = state->weights;
  Tracked& m = state->exp_avg;
  Tracked& v = state->exp_avg_sq;
  for (size_t i = 0; i < p.value.size(); ++i) {
    const double g = grads[i] + wd * p.value[i];
    const double g_s = std::fabs(grads[i]) + wd * p.scale[i];
    m.value[i] = b1 * m.value[i] + (1.0 - b1) * g;
    m.scale[i] = b1 * m.scale[i] + (1.0 - b1) * g_s;
    v.value[i] = b2 * v.value[i] + (1.0 - b2) * g * g;
    v.scale[i] = b2 * v.scale[i] + (1.0 - b2) * g_s * g_s;
    const double denom = std::sqrt(v.value[i]) / bias2_sqrt + eps;
    const double update = step_size * m.value[i] / denom;
    // The update's error: m's, over denom; plus denom's own relative error (which grows as
    // v cancels below its magnitude bound) times the update.
    const double v_ratio =
        v.value[i] > 0.0 ? std::sqrt(v.scale[i] / v.value[i]) : (v.scale[i] > 0.0 ? 1e30 : 1.0);
    const double update_s =
        step_size * m.scale[i] / denom + std::fabs(update) * std::min(v_ratio, 1e6);
    p.value[i] -= update;
    p.scale[i] += update_s;
  }
}

double Tolerance(int64_t steps, double scale) {
  return 4.0 * static_cast<double>(steps) * 0x1p-24 * scale + 1e-30;
}

}  // namespace optim_reference
}  // namespace persephonee
