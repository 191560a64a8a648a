// NEON elementwise kernels (aarch64).
//
// The flat kernels load 16 floats (four q registers: independent operations to cover the
// latency, and loads issued before stores so that in-place calls stay correct), then 4, then the
// last 1-3 through lane loads and stores, using the same vector operation everywhere so that the
// tail behaves exactly as the body (NaN, signed zero). The bias backward keeps a block of
// channels in registers over 8 rows at a time: it streams the gradient in order and sums each
// channel in row order, like the oracle. Its loops over the block's registers carry
// `#pragma GCC unroll 4` so that GCC keeps the sums in registers rather than in memory.
#include <arm_neon.h>

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <type_traits>

#include "kernels/elementwise/elementwise.h"

namespace persephonee {
namespace {

template <bool kTail>
inline float32x4_t Load(const float* p, size_t lanes) {
  if (!kTail) return vld1q_f32(p);
  float32x4_t v = vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
  if (lanes > 1) v = vld1q_lane_f32(p + 1, v, 1);
  if (lanes > 2) v = vld1q_lane_f32(p + 2, v, 2);
  return v;
}

template <bool kTail>
inline void Store(float* p, float32x4_t v, size_t lanes) {
  if (!kTail) return vst1q_f32(p, v);
  vst1q_lane_f32(p, v, 0);
  if (lanes > 1) vst1q_lane_f32(p + 1, v, 1);
  if (lanes > 2) vst1q_lane_f32(p + 2, v, 2);
}

// y[i] = op(a[i], b[i]) for i < n; y may equal a or b.
template <typename Op>
inline void Binary(size_t n, const float* a, const float* b, float* y, Op op) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const float32x4_t a0 = vld1q_f32(a + i), a1 = vld1q_f32(a + i + 4);
    const float32x4_t a2 = vld1q_f32(a + i + 8), a3 = vld1q_f32(a + i + 12);
    const float32x4_t b0 = vld1q_f32(b + i), b1 = vld1q_f32(b + i + 4);
    const float32x4_t b2 = vld1q_f32(b + i + 8), b3 = vld1q_f32(b + i + 12);
    vst1q_f32(y + i, op(a0, b0));
    vst1q_f32(y + i + 4, op(a1, b1));
    vst1q_f32(y + i + 8, op(a2, b2));
    vst1q_f32(y + i + 12, op(a3, b3));
  }
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, op(vld1q_f32(a + i), vld1q_f32(b + i)));
  if (i < n) {
    const size_t lanes = n - i;
    Store<true>(y + i, op(Load<true>(a + i, lanes), Load<true>(b + i, lanes)), lanes);
  }
}

// y[i] = op(x[i]) for i < n; y may equal x.
template <typename Op>
inline void Unary(size_t n, const float* x, float* y, Op op) {
  Binary(n, x, x, y, [op](float32x4_t v, float32x4_t) { return op(v); });
}

// The operations are function objects, not functions: each gets its own instantiation of
// Binary() and is inlined into it (a function pointer would be called once per vector).
struct Relu {
  float32x4_t operator()(float32x4_t x) const { return vmaxq_f32(x, vdupq_n_f32(0.0f)); }
};

struct Relu6 {
  float32x4_t operator()(float32x4_t x) const {
    return vminq_f32(vmaxq_f32(x, vdupq_n_f32(0.0f)), vdupq_n_f32(6.0f));
  }
};

struct Add {
  float32x4_t operator()(float32x4_t a, float32x4_t b) const { return vaddq_f32(a, b); }
};

// g where mask is set, +0 elsewhere.
inline float32x4_t Select(uint32x4_t mask, float32x4_t g) {
  return vreinterpretq_f32_u32(vandq_u32(mask, vreinterpretq_u32_f32(g)));
}

using Regs4 = std::integral_constant<size_t, 4>;
using Regs1 = std::integral_constant<size_t, 1>;

// Calls body(c, regs, tail, lanes) for channel blocks of 16 (regs = 4), then 4 (regs = 1), then
// the last 1-3 channels (regs = 1, tail = true, lanes = C - c).
template <typename Body>
inline void ForChannelBlocks(size_t C, Body&& body) {
  size_t c = 0;
  for (; c + 16 <= C; c += 16) body(c, Regs4(), std::false_type(), size_t{4});
  for (; c + 4 <= C; c += 4) body(c, Regs1(), std::false_type(), size_t{4});
  if (c < C) body(c, Regs1(), std::true_type(), C - c);
}

}  // namespace

void f32_bias_add_fwd__neon(size_t rows, size_t channels, const float* input, const float* bias,
                            float* output) {
  for (size_t r = 0; r < rows; ++r) {
    Binary(channels, input + r * channels, bias, output + r * channels, Add());
  }
}

void f32_bias_add_bwd__neon(size_t rows, size_t channels, const float* grad_output,
                            float* grad_bias) {
  constexpr size_t kRowBlock = 8;  // Amortises the load/store of the sums over 8 rows.
  const size_t C = channels;
  if (C != 0) std::memset(grad_bias, 0, C * sizeof(float));
  for (size_t r0 = 0; r0 < rows; r0 += kRowBlock) {
    const size_t rn = std::min(kRowBlock, rows - r0);
    const float* g = grad_output + r0 * C;
    ForChannelBlocks(C, [&](size_t c, auto regs, auto tail, size_t lanes) {
      constexpr size_t kRegs = decltype(regs)::value;
      constexpr bool kTail = decltype(tail)::value;
      float32x4_t acc[kRegs];
#pragma GCC unroll 4
      for (size_t k = 0; k < kRegs; ++k) acc[k] = Load<kTail>(grad_bias + c + 4 * k, lanes);
      for (size_t r = 0; r < rn; ++r) {
#pragma GCC unroll 4
        for (size_t k = 0; k < kRegs; ++k) {
          acc[k] = vaddq_f32(acc[k], Load<kTail>(g + r * C + c + 4 * k, lanes));
        }
      }
#pragma GCC unroll 4
      for (size_t k = 0; k < kRegs; ++k) Store<kTail>(grad_bias + c + 4 * k, acc[k], lanes);
    });
  }
}

void f32_relu_fwd__neon(size_t n, const float* input, float* output) {
  Unary(n, input, output, Relu());
}

void f32_relu_bwd__neon(size_t n, const float* output, const float* grad_output,
                        float* grad_input) {
  Binary(n, output, grad_output, grad_input,
         [](float32x4_t y, float32x4_t g) { return Select(vcgtq_f32(y, vdupq_n_f32(0.0f)), g); });
}

void f32_relu6_fwd__neon(size_t n, const float* input, float* output) {
  Unary(n, input, output, Relu6());
}

void f32_relu6_bwd__neon(size_t n, const float* output, const float* grad_output,
                         float* grad_input) {
  Binary(n, output, grad_output, grad_input, [](float32x4_t y, float32x4_t g) {
    const uint32x4_t inside =
        vandq_u32(vcgtq_f32(y, vdupq_n_f32(0.0f)), vcltq_f32(y, vdupq_n_f32(6.0f)));
    return Select(inside, g);
  });
}

void f32_add_fwd__neon(size_t n, const float* a, const float* b, float* output) {
  Binary(n, a, b, output, Add());
}

void f32_add_bwd__neon(size_t n, const float* grad_output, float* grad_a, float* grad_b,
                       bool accumulate) {
  assert(grad_a == nullptr || grad_a != grad_b);
  for (float* g : {grad_a, grad_b}) {
    if (g == nullptr) continue;
    assert(g != grad_output);
    if (accumulate) {
      Binary(n, g, grad_output, g, Add());
    } else if (n != 0) {
      std::memcpy(g, grad_output, n * sizeof(float));  // A copy: memcpy is already vectorised.
    }
  }
}

}  // namespace persephonee
