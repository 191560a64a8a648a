// Fully-connected layer: y = x · Wᵀ + b, forward and backward.
//
// Layouts (XNNPACK's and PyTorch's): activations x[batch][in], y[batch][out]; weights
// W[out][in]; bias b[out], which may be null (no bias). Everything float32, row-major, dense.
// The non-scalar functions stand on f32_gemm and split their work over `pool` (nullptr: the
// calling thread) by output tiles only, so results are bitwise equal for any thread count.
// Backward functions overwrite their outputs and reduce over the whole batch they are given.
#ifndef PERSEPHONEE_KERNELS_FC_FC_H_
#define PERSEPHONEE_KERNELS_FC_FC_H_

#include <pthreadpool.h>

#include <cstddef>
#include <limits>

namespace persephonee {

/// The dimensions of one fully-connected layer applied to a batch.
struct FcShape {
  size_t batch = 0;
  size_t in = 0;   ///< Input features.
  size_t out = 0;  ///< Output features.
};

/// y = clamp(x · Wᵀ + b, output_min, output_max). The default range applies no clamp; [0, +inf)
/// fuses a ReLU.
/// @param bias  `out` values, or nullptr for none.
void f32_fc_fwd(const FcShape& shape, const float* x, const float* weights, const float* bias,
                float* y, pthreadpool_t pool,
                float output_min = -std::numeric_limits<float>::infinity(),
                float output_max = std::numeric_limits<float>::infinity());

/// dx = dy · W: grad_input[batch][in] from grad_output[batch][out].
void f32_fc_bwd_input(const FcShape& shape, const float* grad_output, const float* weights,
                      float* grad_input, pthreadpool_t pool);

/// dW = dyᵀ · x (grad_weight[out][in]) and db = Σ_batch dy (grad_bias[out]).
/// @param grad_bias  `out` values, or nullptr when the layer has no bias.
void f32_fc_bwd_weight(const FcShape& shape, const float* x, const float* grad_output,
                       float* grad_weight, float* grad_bias, pthreadpool_t pool);

/// Reference implementations: plain loops with a float accumulator per output; the oracles the
/// tests compare against.
void f32_fc_fwd__scalar(const FcShape& shape, const float* x, const float* weights,
                        const float* bias, float* y,
                        float output_min = -std::numeric_limits<float>::infinity(),
                        float output_max = std::numeric_limits<float>::infinity());
void f32_fc_bwd_input__scalar(const FcShape& shape, const float* grad_output, const float* weights,
                              float* grad_input);
void f32_fc_bwd_weight__scalar(const FcShape& shape, const float* x, const float* grad_output,
                               float* grad_weight, float* grad_bias);

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_FC_FC_H_
