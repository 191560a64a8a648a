// Fully-connected forward and backward on f32_gemm.
#include "kernels/gemm/gemm.h"

#include <algorithm>
#include <limits>

#include "kernels/fc/fc.h"

namespace persephonee {

void f32_fc_fwd(const FcShape& s, const float* x, const float* weights, const float* bias, float* y,
                pthreadpool_t pool, float output_min, float output_max) {
  if (s.batch == 0 || s.out == 0) return;
  // y starts as the bias on every row, then the product is added: y = b + x · Wᵀ.
  if (bias != nullptr) {
    for (size_t b = 0; b < s.batch; ++b) std::copy_n(bias, s.out, y + b * s.out);
  }
  GemmArgs g;
  g.trans_b = Transpose::kYes;  // W is stored [out][in]: op(B) = Wᵀ.
  g.m = s.batch;
  g.n = s.out;
  g.k = s.in;
  g.a = x;
  g.lda = s.in;
  g.b = weights;
  g.ldb = s.in;
  g.c = y;
  g.ldc = s.out;
  g.accumulate = bias != nullptr;
  f32_gemm(g, pool);
  if (output_min > -std::numeric_limits<float>::infinity() ||
      output_max < std::numeric_limits<float>::infinity()) {
    for (size_t i = 0; i < s.batch * s.out; ++i)
      y[i] = std::min(std::max(y[i], output_min), output_max);
  }
}

void f32_fc_bwd_input(const FcShape& s, const float* grad_output, const float* weights,
                      float* grad_input, pthreadpool_t pool) {
  if (s.batch == 0 || s.in == 0) return;
  GemmArgs g;
  g.m = s.batch;
  g.n = s.in;
  g.k = s.out;
  g.a = grad_output;
  g.lda = s.out;
  g.b = weights;
  g.ldb = s.in;
  g.c = grad_input;
  g.ldc = s.in;
  f32_gemm(g, pool);
}

void f32_fc_bwd_weight(const FcShape& s, const float* x, const float* grad_output,
                       float* grad_weight, float* grad_bias, pthreadpool_t pool) {
  if (s.out == 0) return;
  if (s.in > 0) {
    GemmArgs g;
    g.trans_a = Transpose::kYes;  // dy is stored [batch][out]: op(A) = dyᵀ.
    g.m = s.out;
    g.n = s.in;
    g.k = s.batch;
    g.a = grad_output;
    g.lda = s.out;
    g.b = x;
    g.ldb = s.in;
    g.c = grad_weight;
    g.ldc = s.in;
    f32_gemm(g, pool);
  }
  if (grad_bias != nullptr) {
    // Row by row over the batch: contiguous reads, the same order for any pool.
    std::fill_n(grad_bias, s.out, 0.0f);
    for (size_t b = 0; b < s.batch; ++b) {
      const float* row = grad_output + b * s.out;
      for (size_t o = 0; o < s.out; ++o) grad_bias[o] += row[o];
    }
  }
}

}  // namespace persephonee
