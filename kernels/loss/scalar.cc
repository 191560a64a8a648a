// Scalar loss kernels: the oracle every other implementation is tested against.
//
// Each row takes three passes: the maximum; the exponentials of the shifted logits and their
// sum (stored in the output row when there is one, so they are computed once); then the
// normalisation, loss and gradient. Arithmetic is float throughout, with care where float
// loses accuracy:
//   - every sum over classes or over the batch is Kahan-compensated, so its error does not
//     grow with the number of terms (the other implementations are compared with this one);
//   - sums are arranged so their terms share a sign (the entropy is log S − Σ e·a / S with
//     a <= 0, the cross-entropy lse − (z_y − max) with both parts >= 0), so nothing cancels
//     except where the quantity itself is a small difference (KL when student ≈ teacher).
#include <cassert>
#include <cmath>
#include <cstring>

#include "kernels/loss/compensated_sum.h"
#include "kernels/loss/loss.h"

namespace persephonee {
namespace {

using loss_internal::CompensatedSum;

float RowMax(size_t classes, const float* z) {
  float m = z[0];
  for (size_t c = 1; c < classes; ++c) m = z[c] > m ? z[c] : m;
  return m;
}

// Σ_c exp((z_c − m) · inv_t); writes each term into `e` when it is not null.
float SumExp(size_t classes, const float* z, float m, float inv_t, float* e) {
  CompensatedSum sum;
  for (size_t c = 0; c < classes; ++c) {
    const float ec = std::exp((z[c] - m) * inv_t);
    if (e != nullptr) e[c] = ec;
    sum.Add(ec);
  }
  return sum.value();
}

}  // namespace

void f32_softmax__scalar(size_t batch, size_t classes, const float* __restrict logits,
                         float temperature, float* __restrict probs) {
  assert(classes >= 1 && temperature > 0.0f);
  const float inv_t = 1.0f / temperature;
  for (size_t b = 0; b < batch; ++b) {
    const float* z = logits + b * classes;
    float* p = probs + b * classes;
    const float inv_s = 1.0f / SumExp(classes, z, RowMax(classes, z), inv_t, p);
    for (size_t c = 0; c < classes; ++c) p[c] *= inv_s;
  }
}

float f32_softmax_xent__scalar(size_t batch, size_t classes, const float* __restrict logits,
                               const int32_t* __restrict labels, const float* __restrict weights,
                               float grad_scale, float* __restrict losses, float* __restrict grad) {
  assert(classes >= 1);
  CompensatedSum total;
  for (size_t b = 0; b < batch; ++b) {
    const float* z = logits + b * classes;
    float* g = grad != nullptr ? grad + b * classes : nullptr;
    const float w = weights != nullptr ? weights[b] : 1.0f;
    if (w == 0.0f) {
      if (losses != nullptr) losses[b] = 0.0f;
      if (g != nullptr) std::memset(g, 0, classes * sizeof(float));
      continue;
    }
    const int32_t y = labels[b];
    assert(y >= 0 && static_cast<size_t>(y) < classes);
    const float m = RowMax(classes, z);
    const float s = SumExp(classes, z, m, 1.0f, g);
    const float loss = w * (std::log(s) - (z[y] - m));
    if (losses != nullptr) losses[b] = loss;
    total.Add(loss);
    if (g != nullptr) {
      const float gw = grad_scale * w;
      const float gp = gw / s;
      for (size_t c = 0; c < classes; ++c) g[c] *= gp;
      g[y] -= gw;
    }
  }
  return total.value();
}

float f32_softmax_kldiv__scalar(size_t batch, size_t classes, const float* __restrict logits,
                                const float* __restrict targets, float temperature,
                                const float* __restrict weights, float grad_scale,
                                float* __restrict losses, float* __restrict grad) {
  assert(classes >= 1 && temperature > 0.0f);
  const float inv_t = 1.0f / temperature;
  CompensatedSum total;
  for (size_t b = 0; b < batch; ++b) {
    const float* z = logits + b * classes;
    const float* q = targets + b * classes;
    float* g = grad != nullptr ? grad + b * classes : nullptr;
    const float w = weights != nullptr ? weights[b] : 1.0f;
    if (w == 0.0f) {
      if (losses != nullptr) losses[b] = 0.0f;
      if (g != nullptr) std::memset(g, 0, classes * sizeof(float));
      continue;
    }
    const float m = RowMax(classes, z);
    const float s = SumExp(classes, z, m, inv_t, g);
    const float lse = std::log(s);
    CompensatedSum kl, sum_q;
    for (size_t c = 0; c < classes; ++c) {
      sum_q.Add(q[c]);
      if (q[c] > 0.0f) {
        const float log_p = (z[c] - m) * inv_t - lse;
        kl.Add(q[c] * (std::log(q[c]) - log_p));
      }
    }
    const float loss = w * (temperature * temperature) * kl.value();
    if (losses != nullptr) losses[b] = loss;
    total.Add(loss);
    if (g != nullptr) {
      const float gw = grad_scale * w * temperature;
      const float gp = gw * sum_q.value() / s;
      for (size_t c = 0; c < classes; ++c) g[c] = g[c] * gp - gw * q[c];
    }
  }
  return total.value();
}

void f32_softmax_confidence__scalar(size_t batch, size_t classes, const float* __restrict logits,
                                    float* __restrict max_prob, float* __restrict entropy,
                                    int32_t* __restrict argmax) {
  assert(classes >= 1);
  for (size_t b = 0; b < batch; ++b) {
    const float* z = logits + b * classes;
    size_t best = 0;
    for (size_t c = 1; c < classes; ++c) best = z[c] > z[best] ? c : best;
    const float m = z[best];
    CompensatedSum s, sa;  // Σ e_c and Σ e_c · a_c, with a_c = z_c − m <= 0.
    for (size_t c = 0; c < classes; ++c) {
      const float a = z[c] - m;
      const float e = std::exp(a);
      s.Add(e);
      sa.Add(e * a);
    }
    if (max_prob != nullptr) max_prob[b] = 1.0f / s.value();
    if (entropy != nullptr) entropy[b] = std::log(s.value()) - sa.value() / s.value();
    if (argmax != nullptr) argmax[b] = static_cast<int32_t>(best);
  }
}

}  // namespace persephonee
