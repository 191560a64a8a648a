// NEON loss kernels (aarch64). Vectorised over classes: 8 per iteration in two accumulators
// (two independent dependency chains hide the FMA latency of the exp polynomial), then 4, then
// the last 1-3 as a masked vector, so the tail goes through the same exp as the body. Rows of
// a head's logits (10 to 1000 classes) stay in L1 across the three passes.
#include <arm_neon.h>

#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/loss/compensated_sum.h"
#include "kernels/loss/loss.h"
#include "kernels/loss/neon_math.h"

namespace persephonee {

using loss_internal::CompensatedSum;
using loss_neon::LaneMask;
using loss_neon::LoadTail;
using loss_neon::StoreTail;
using loss_neon::VexpNonPositive;
using loss_neon::VlogPositive;

namespace {

float RowMax(size_t classes, const float* z) {
  float32x4_t m0 = vdupq_n_f32(-std::numeric_limits<float>::infinity());
  float32x4_t m1 = m0;
  size_t c = 0;
  for (; c + 8 <= classes; c += 8) {
    m0 = vmaxq_f32(m0, vld1q_f32(z + c));
    m1 = vmaxq_f32(m1, vld1q_f32(z + c + 4));
  }
  if (c + 4 <= classes) {
    m0 = vmaxq_f32(m0, vld1q_f32(z + c));
    c += 4;
  }
  float m = vmaxvq_f32(vmaxq_f32(m0, m1));
  for (; c < classes; ++c) m = z[c] > m ? z[c] : m;
  return m;
}

// Σ_c exp((z_c − m) · inv_t), writing each term into e[c] when e is not null.
float SumExp(size_t classes, const float* z, float m, float inv_t, float* e) {
  const float32x4_t vm = vdupq_n_f32(m);
  const float32x4_t vt = vdupq_n_f32(inv_t);
  float32x4_t s0 = vdupq_n_f32(0.0f);
  float32x4_t s1 = s0;
  size_t c = 0;
  for (; c + 8 <= classes; c += 8) {
    const float32x4_t e0 = VexpNonPositive(vmulq_f32(vsubq_f32(vld1q_f32(z + c), vm), vt));
    const float32x4_t e1 = VexpNonPositive(vmulq_f32(vsubq_f32(vld1q_f32(z + c + 4), vm), vt));
    s0 = vaddq_f32(s0, e0);
    s1 = vaddq_f32(s1, e1);
    if (e != nullptr) {
      vst1q_f32(e + c, e0);
      vst1q_f32(e + c + 4, e1);
    }
  }
  if (c + 4 <= classes) {
    const float32x4_t e0 = VexpNonPositive(vmulq_f32(vsubq_f32(vld1q_f32(z + c), vm), vt));
    s0 = vaddq_f32(s0, e0);
    if (e != nullptr) vst1q_f32(e + c, e0);
    c += 4;
  }
  if (c < classes) {
    const size_t n = classes - c;
    // Padding lanes hold m (a = 0, finite) and are cleared after the exp.
    float32x4_t e0 = VexpNonPositive(vmulq_f32(vsubq_f32(LoadTail(z + c, n, m), vm), vt));
    e0 = vbslq_f32(LaneMask(n), e0, vdupq_n_f32(0.0f));
    s0 = vaddq_f32(s0, e0);
    if (e != nullptr) StoreTail(e + c, n, e0);
  }
  return vaddvq_f32(vaddq_f32(s0, s1));
}

// x[c] *= k for c in [0, classes).
void Scale(size_t classes, float k, float* x) {
  size_t c = 0;
  for (; c + 4 <= classes; c += 4) vst1q_f32(x + c, vmulq_n_f32(vld1q_f32(x + c), k));
  for (; c < classes; ++c) x[c] *= k;
}

// Distillation's last pass over one row: returns Σ_{q_c > 0} q_c (log q_c − log p_c), with
// log p_c = (z_c − m) · inv_t − lse; when g is not null it holds e_c on entry and leaves with
// g_c = e_c · gp − gw · q_c.
float KlRow(size_t classes, const float* z, const float* q, float m, float inv_t, float lse,
            float gp, float gw, float* g) {
  const float32x4_t vm = vdupq_n_f32(m);
  const float32x4_t vt = vdupq_n_f32(inv_t);
  const float32x4_t vlse = vdupq_n_f32(lse);
  const float32x4_t zero = vdupq_n_f32(0.0f);
  float32x4_t acc = zero;
  size_t c = 0;
  // One chunk of 4 lanes; `valid` clears padding lanes (q is padded with 0, so q > 0 does it).
  auto chunk = [&](float32x4_t vz, float32x4_t vq) {
    const float32x4_t log_p = vsubq_f32(vmulq_f32(vsubq_f32(vz, vm), vt), vlse);
    // Lanes with q = 0 go through the log with q = 1 and are cleared: 0 · log 0 = 0.
    const uint32x4_t positive = vcgtq_f32(vq, zero);
    const float32x4_t log_q = VlogPositive(vbslq_f32(positive, vq, vdupq_n_f32(1.0f)));
    const float32x4_t term = vmulq_f32(vq, vsubq_f32(log_q, log_p));
    acc = vaddq_f32(acc, vbslq_f32(positive, term, zero));
  };
  for (; c + 4 <= classes; c += 4) {
    const float32x4_t vq = vld1q_f32(q + c);
    chunk(vld1q_f32(z + c), vq);
    if (g != nullptr) {
      const float32x4_t ge = vmulq_n_f32(vld1q_f32(g + c), gp);
      vst1q_f32(g + c, vfmsq_f32(ge, vq, vdupq_n_f32(gw)));
    }
  }
  if (c < classes) {
    const size_t n = classes - c;
    const float32x4_t vq = LoadTail(q + c, n, 0.0f);
    chunk(LoadTail(z + c, n, m), vq);
    if (g != nullptr) {
      const float32x4_t ge = vmulq_n_f32(LoadTail(g + c, n, 0.0f), gp);
      StoreTail(g + c, n, vfmsq_f32(ge, vq, vdupq_n_f32(gw)));
    }
  }
  return vaddvq_f32(acc);
}

// Σ_c q_c.
float SumRow(size_t classes, const float* q) {
  float32x4_t s0 = vdupq_n_f32(0.0f);
  float32x4_t s1 = s0;
  size_t c = 0;
  for (; c + 8 <= classes; c += 8) {
    s0 = vaddq_f32(s0, vld1q_f32(q + c));
    s1 = vaddq_f32(s1, vld1q_f32(q + c + 4));
  }
  float s = vaddvq_f32(vaddq_f32(s0, s1));
  for (; c < classes; ++c) s += q[c];
  return s;
}

}  // namespace

void f32_softmax__neon(size_t batch, size_t classes, const float* __restrict logits,
                       float temperature, float* __restrict probs) {
  assert(classes >= 1 && temperature > 0.0f);
  const float inv_t = 1.0f / temperature;
  for (size_t b = 0; b < batch; ++b) {
    const float* z = logits + b * classes;
    float* p = probs + b * classes;
    const float s = SumExp(classes, z, RowMax(classes, z), inv_t, p);
    Scale(classes, 1.0f / s, p);
  }
}

float f32_softmax_xent__neon(size_t batch, size_t classes, const float* __restrict logits,
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
      Scale(classes, gw / s, g);
      g[y] -= gw;
    }
  }
  return total.value();
}

float f32_softmax_kldiv__neon(size_t batch, size_t classes, const float* __restrict logits,
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
    const float gw = grad_scale * w * temperature;
    const float gp = g != nullptr ? gw * SumRow(classes, q) / s : 0.0f;
    const float kl = KlRow(classes, z, q, m, inv_t, std::log(s), gp, gw, g);
    const float loss = w * (temperature * temperature) * kl;
    if (losses != nullptr) losses[b] = loss;
    total.Add(loss);
  }
  return total.value();
}

void f32_softmax_confidence__neon(size_t batch, size_t classes, const float* __restrict logits,
                                  float* __restrict max_prob, float* __restrict entropy,
                                  int32_t* __restrict argmax) {
  assert(classes >= 1);
  static const uint32_t kIota[4] = {0, 1, 2, 3};
  for (size_t b = 0; b < batch; ++b) {
    const float* z = logits + b * classes;
    // Argmax: each lane keeps its first maximum (strict >); of the lanes holding the row's
    // maximum the smallest index wins; the scalar tail only replaces on strictly greater.
    float m = z[0];
    size_t best = 0;
    size_t c = 0;
    if (classes >= 4) {
      float32x4_t vmax = vld1q_f32(z);
      uint32x4_t vidx = vld1q_u32(kIota);
      uint32x4_t cur = vaddq_u32(vidx, vdupq_n_u32(4));
      for (c = 4; c + 4 <= classes; c += 4) {
        const float32x4_t v = vld1q_f32(z + c);
        const uint32x4_t gt = vcgtq_f32(v, vmax);
        vmax = vbslq_f32(gt, v, vmax);
        vidx = vbslq_u32(gt, cur, vidx);
        cur = vaddq_u32(cur, vdupq_n_u32(4));
      }
      m = vmaxvq_f32(vmax);
      const uint32x4_t at_max = vceqq_f32(vmax, vdupq_n_f32(m));
      best = vminvq_u32(vbslq_u32(at_max, vidx, vdupq_n_u32(0xffffffffu)));
    }
    for (; c < classes; ++c) {
      if (z[c] > m) {
        m = z[c];
        best = c;
      }
    }
    // Σ e_c and Σ e_c · a_c with a_c = z_c − m <= 0 (terms of one sign, nothing cancels).
    const float32x4_t vm = vdupq_n_f32(m);
    float32x4_t s = vdupq_n_f32(0.0f);
    float32x4_t sa = s;
    for (c = 0; c + 4 <= classes; c += 4) {
      const float32x4_t a = vsubq_f32(vld1q_f32(z + c), vm);
      const float32x4_t e = VexpNonPositive(a);
      s = vaddq_f32(s, e);
      sa = vfmaq_f32(sa, e, a);
    }
    if (c < classes) {
      const size_t n = classes - c;
      const float32x4_t a = vsubq_f32(LoadTail(z + c, n, m), vm);
      const float32x4_t e = vbslq_f32(LaneMask(n), VexpNonPositive(a), vdupq_n_f32(0.0f));
      s = vaddq_f32(s, e);
      sa = vfmaq_f32(sa, e, a);
    }
    const float sum = vaddvq_f32(s);
    if (max_prob != nullptr) max_prob[b] = 1.0f / sum;
    if (entropy != nullptr) entropy[b] = std::log(sum) - vaddvq_f32(sa) / sum;
    if (argmax != nullptr) argmax[b] = static_cast<int32_t>(best);
  }
}

void f32_vexp__neon(size_t n, const float* x, float* y) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, VexpNonPositive(vld1q_f32(x + i)));
  if (i < n) StoreTail(y + i, n - i, VexpNonPositive(LoadTail(x + i, n - i, 0.0f)));
}

void f32_vlog__neon(size_t n, const float* x, float* y) {
  size_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, VlogPositive(vld1q_f32(x + i)));
  if (i < n) StoreTail(y + i, n - i, VlogPositive(LoadTail(x + i, n - i, 1.0f)));
}

}  // namespace persephonee
