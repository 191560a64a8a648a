// NEON optimiser steps (aarch64). The update is elementwise and memory-bound (SGD moves 20
// bytes per parameter, Adam 28), so the kernel streams 8 elements per iteration as two
// independent 4-lane bodies; the last 1-7 go through the same body on a padded copy, so every
// element is computed by the same instructions wherever it sits.
#include <arm_neon.h>

#include <cassert>
#include <cstring>

#include "kernels/optim/optim.h"

namespace persephonee {
namespace {

struct SgdVectors {
  float32x4_t lr, wd, mu, keep;
  bool decay, momentum, nesterov, first;
};

inline void Sgd4(const SgdVectors& k, float* w, const float* g, float* buf) {
  const float32x4_t p = vld1q_f32(w);
  float32x4_t d = vld1q_f32(g);
  if (k.decay) d = vfmaq_f32(d, p, k.wd);
  if (k.momentum) {
    const float32x4_t b = k.first ? d : vfmaq_f32(vmulq_f32(k.keep, d), k.mu, vld1q_f32(buf));
    vst1q_f32(buf, b);
    d = k.nesterov ? vfmaq_f32(d, k.mu, b) : b;
  }
  vst1q_f32(w, vfmsq_f32(p, k.lr, d));
}

struct AdamVectors {
  float32x4_t wd, beta1, beta2, omb1, omb2, eps, inv_bias2, step_size;
  bool decay, first;
};

inline void Adam4(const AdamVectors& k, float* w, const float* grad, float* m_buf, float* v_buf) {
  const float32x4_t p = vld1q_f32(w);
  float32x4_t g = vld1q_f32(grad);
  if (k.decay) g = vfmaq_f32(g, p, k.wd);
  float32x4_t m = vmulq_f32(k.omb1, g);
  float32x4_t v = vmulq_f32(k.omb2, vmulq_f32(g, g));
  if (!k.first) {
    m = vfmaq_f32(m, k.beta1, vld1q_f32(m_buf));
    v = vfmaq_f32(v, k.beta2, vld1q_f32(v_buf));
  }
  vst1q_f32(m_buf, m);
  vst1q_f32(v_buf, v);
  const float32x4_t denom = vfmaq_f32(k.eps, vsqrtq_f32(v), k.inv_bias2);
  vst1q_f32(w, vfmsq_f32(p, k.step_size, vdivq_f32(m, denom)));
}

// Copies n < 8 elements of the weights `a`, gradients `b` and (when `read_state`) the non-null
// state arrays `c`, `d` into zero-padded blocks of 8, runs `body` on them (two 4-lane halves)
// and copies the written arrays back. On a first step the state is written, never read.
template <typename Body>
void PaddedTail(size_t n, float* a, const float* b, float* c, float* d, bool read_state,
                Body body) {
  float ta[8] = {0}, tb[8] = {0}, tc[8] = {0}, td[8] = {0};
  std::memcpy(ta, a, n * sizeof(float));
  std::memcpy(tb, b, n * sizeof(float));
  if (read_state && c != nullptr) std::memcpy(tc, c, n * sizeof(float));
  if (read_state && d != nullptr) std::memcpy(td, d, n * sizeof(float));
  body(ta, tb, tc, td);
  body(ta + 4, tb + 4, tc + 4, td + 4);
  std::memcpy(a, ta, n * sizeof(float));
  if (c != nullptr) std::memcpy(c, tc, n * sizeof(float));
  if (d != nullptr) std::memcpy(d, td, n * sizeof(float));
}

}  // namespace

void f32_sgd__neon(size_t n, const SgdParams& params, int64_t step, float* __restrict weights,
                   const float* __restrict grads, float* __restrict momentum_buf) {
  assert(step >= 1);
  assert(params.momentum == 0.0f || momentum_buf != nullptr);
  SgdVectors k;
  k.lr = vdupq_n_f32(params.lr);
  k.wd = vdupq_n_f32(params.weight_decay);
  k.mu = vdupq_n_f32(params.momentum);
  k.keep = vdupq_n_f32(1.0f - params.dampening);
  k.decay = params.weight_decay != 0.0f;
  k.momentum = params.momentum != 0.0f;
  k.nesterov = params.nesterov;
  k.first = step == 1;
  float* buf = k.momentum ? momentum_buf : nullptr;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    Sgd4(k, weights + i, grads + i, buf != nullptr ? buf + i : nullptr);
    Sgd4(k, weights + i + 4, grads + i + 4, buf != nullptr ? buf + i + 4 : nullptr);
  }
  if (i < n) {
    PaddedTail(n - i, weights + i, grads + i, buf != nullptr ? buf + i : nullptr, nullptr, !k.first,
               [&](float* w, const float* g, float* b, float*) { Sgd4(k, w, g, b); });
  }
}

void f32_adam__neon(size_t n, const AdamParams& params, int64_t step, float* __restrict weights,
                    const float* __restrict grads, float* __restrict exp_avg,
                    float* __restrict exp_avg_sq) {
  assert(step >= 1);
  const AdamStepScalars s = MakeAdamStepScalars(params, step);
  AdamVectors k;
  k.wd = vdupq_n_f32(params.weight_decay);
  k.beta1 = vdupq_n_f32(params.beta1);
  k.beta2 = vdupq_n_f32(params.beta2);
  k.omb1 = vdupq_n_f32(s.one_minus_beta1);
  k.omb2 = vdupq_n_f32(s.one_minus_beta2);
  k.eps = vdupq_n_f32(params.eps);
  k.inv_bias2 = vdupq_n_f32(s.inv_bias_sqrt2);
  k.step_size = vdupq_n_f32(s.step_size);
  k.decay = params.weight_decay != 0.0f;
  k.first = step == 1;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    Adam4(k, weights + i, grads + i, exp_avg + i, exp_avg_sq + i);
    Adam4(k, weights + i + 4, grads + i + 4, exp_avg + i + 4, exp_avg_sq + i + 4);
  }
  if (i < n) {
    PaddedTail(n - i, weights + i, grads + i, exp_avg + i, exp_avg_sq + i, !k.first,
               [&](float* w, const float* g, float* m, float* v) { Adam4(k, w, g, m, v); });
  }
}

}  // namespace persephonee
