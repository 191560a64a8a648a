// Elementwise: bias add, ReLU, ReLU6 and residual add, forward and backward.
//
// Layout: float32; a bias is added over the last (channel) dimension of a [rows][channels]
// tensor, so an NHWC activation is rows = batch * height * width. Everything else sees a flat
// array of `n` elements. Any n, rows or channels (tails are handled inside the kernels).
//
// Aliasing: the forward kernels may run in place (output == input; for the residual add output
// == a or == b), and ReLU/ReLU6 backward may write grad_input over grad_output, so none of those
// pointers are `restrict` (ggml's allocator warns about in-place kernels that use it). Partial
// overlap is not allowed.
//
// Semantics (PyTorch's):
//   relu(x)  = max(x, 0); relu6(x) = min(max(x, 0), 6); NaN propagates.
//   The ReLU/ReLU6 backward reads the forward OUTPUT y, not its input, so that the forward may
//   run in place: grad_input = grad_output where 0 < y (ReLU) or 0 < y < 6 (ReLU6), and 0
//   elsewhere; that is, the gradient is 0 at the kinks x = 0 and x = 6 (PyTorch's
//   threshold_backward and hardtanh_backward) and where y is NaN.
//   bias add backward: grad_bias[c] = sum over rows of grad_output[r][c] (overwritten); the
//   input's gradient is grad_output itself, so no kernel is needed for it.
//   residual add backward: both inputs receive grad_output, either copied (overwriting) or
//   accumulated (+=, for an input that also feeds another branch, as a residual block's input).
//
// Implementations: __scalar (plain loops; the oracle) and __neon (aarch64; 16 floats per
// iteration, then 4, then 1-3 through lane loads and stores). Micro-kernels: no allocation, no
// error returns, debug asserts only. The threaded entry points at the bottom run a chosen
// implementation over fixed tiles on a pthreadpool.
#ifndef PERSEPHONEE_KERNELS_ELEMENTWISE_ELEMENTWISE_H_
#define PERSEPHONEE_KERNELS_ELEMENTWISE_ELEMENTWISE_H_

#include <pthreadpool.h>

#include <cstddef>

namespace persephonee {

// ---------------------------------------------------------------------------------------------
// Scalar oracle.

/// output[r][c] = input[r][c] + bias[c]; output may equal input.
void f32_bias_add_fwd__scalar(size_t rows, size_t channels, const float* input, const float* bias,
                              float* output);
/// grad_bias[c] = sum over r of grad_output[r][c], summed in row order.
void f32_bias_add_bwd__scalar(size_t rows, size_t channels, const float* grad_output,
                              float* grad_bias);
/// output = relu(input); output may equal input.
void f32_relu_fwd__scalar(size_t n, const float* input, float* output);
/// grad_input = output > 0 ? grad_output : 0, where `output` is the forward's output;
/// grad_input may equal grad_output.
void f32_relu_bwd__scalar(size_t n, const float* output, const float* grad_output,
                          float* grad_input);
/// output = relu6(input); output may equal input.
void f32_relu6_fwd__scalar(size_t n, const float* input, float* output);
/// grad_input = 0 < output < 6 ? grad_output : 0; grad_input may equal grad_output.
void f32_relu6_bwd__scalar(size_t n, const float* output, const float* grad_output,
                           float* grad_input);
/// output = a + b; output may equal a or b.
void f32_add_fwd__scalar(size_t n, const float* a, const float* b, float* output);
/// grad_a and grad_b (each nullable: an input that needs no gradient) receive grad_output:
/// copied when !accumulate, added to what they hold when accumulate. grad_a and grad_b must be
/// distinct from each other and from grad_output.
void f32_add_bwd__scalar(size_t n, const float* grad_output, float* grad_a, float* grad_b,
                         bool accumulate);

#if defined(__aarch64__)
// ---------------------------------------------------------------------------------------------
// NEON (aarch64 only): the same contracts as the scalar functions above.

void f32_bias_add_fwd__neon(size_t rows, size_t channels, const float* input, const float* bias,
                            float* output);
/// Sums in row order per channel, like the oracle (blocks of 8 rows per pass over the channels).
void f32_bias_add_bwd__neon(size_t rows, size_t channels, const float* grad_output,
                            float* grad_bias);
void f32_relu_fwd__neon(size_t n, const float* input, float* output);
void f32_relu_bwd__neon(size_t n, const float* output, const float* grad_output, float* grad_input);
void f32_relu6_fwd__neon(size_t n, const float* input, float* output);
void f32_relu6_bwd__neon(size_t n, const float* output, const float* grad_output,
                         float* grad_input);
void f32_add_fwd__neon(size_t n, const float* a, const float* b, float* output);
void f32_add_bwd__neon(size_t n, const float* grad_output, float* grad_a, float* grad_b,
                       bool accumulate);
#endif  // defined(__aarch64__)

// ---------------------------------------------------------------------------------------------
// The implementation chosen once from cpuinfo (config.cc).

using BiasAddFwdFn = void (*)(size_t rows, size_t channels, const float* input, const float* bias,
                              float* output);
using BiasAddBwdFn = void (*)(size_t rows, size_t channels, const float* grad_output,
                              float* grad_bias);
using UnaryFwdFn = void (*)(size_t n, const float* input, float* output);
using UnaryBwdFn = void (*)(size_t n, const float* output, const float* grad_output,
                            float* grad_input);
using AddFwdFn = void (*)(size_t n, const float* a, const float* b, float* output);
using AddBwdFn = void (*)(size_t n, const float* grad_output, float* grad_a, float* grad_b,
                          bool accumulate);

/// One implementation of every elementwise kernel.
struct ElementwiseConfig {
  const char* name = "";  ///< "scalar" or "neon".
  BiasAddFwdFn bias_add_fwd = nullptr;
  BiasAddBwdFn bias_add_bwd = nullptr;
  UnaryFwdFn relu_fwd = nullptr;
  UnaryBwdFn relu_bwd = nullptr;
  UnaryFwdFn relu6_fwd = nullptr;
  UnaryBwdFn relu6_bwd = nullptr;
  AddFwdFn add_fwd = nullptr;
  AddBwdFn add_bwd = nullptr;
};

/// NEON on aarch64 when cpuinfo confirms it, scalar otherwise; chosen at the first call.
const ElementwiseConfig& elementwise_config();

// ---------------------------------------------------------------------------------------------
// Threaded entry points (threaded.cc): the same contracts (aliasing included) as the kernels
// above, run on `pool` (nullptr or one thread: one call over everything on the calling thread)
// with `config`'s kernels. The work is cut into tiles computed from the sizes alone: flat
// arrays into kElementwiseTile elements, the bias add forward into whole rows, the bias add
// backward into kBiasChannelTile channels, each channel still summed over every row in row
// order. Results are bitwise identical for any thread count and equal to the kernels' own.

/// Elements per task of the flat kernels (a multiple of every vector block): 64 KiB of each
/// array, several microseconds of work, so that smaller arrays run on the calling thread (waking
/// the pool costs microseconds).
constexpr size_t kElementwiseTile = 16384;
/// Channels per task of the bias add backward (a multiple of every vector block).
constexpr size_t kBiasChannelTile = 64;
/// Rows per task of the bias add forward: about kElementwiseTile elements, at least one row.
size_t BiasAddRowTile(size_t channels);

void f32_bias_add_fwd(size_t rows, size_t channels, const float* input, const float* bias,
                      float* output, pthreadpool_t pool,
                      const ElementwiseConfig& config = elementwise_config());
/// Tasks of kBiasChannelTile channels zero their sums and add each row with config.add_fwd,
/// in row order: the order, and so the bits, of config.bias_add_bwd.
void f32_bias_add_bwd(size_t rows, size_t channels, const float* grad_output, float* grad_bias,
                      pthreadpool_t pool, const ElementwiseConfig& config = elementwise_config());
void f32_relu_fwd(size_t n, const float* input, float* output, pthreadpool_t pool,
                  const ElementwiseConfig& config = elementwise_config());
void f32_relu_bwd(size_t n, const float* output, const float* grad_output, float* grad_input,
                  pthreadpool_t pool, const ElementwiseConfig& config = elementwise_config());
void f32_relu6_fwd(size_t n, const float* input, float* output, pthreadpool_t pool,
                   const ElementwiseConfig& config = elementwise_config());
void f32_relu6_bwd(size_t n, const float* output, const float* grad_output, float* grad_input,
                   pthreadpool_t pool, const ElementwiseConfig& config = elementwise_config());
void f32_add_fwd(size_t n, const float* a, const float* b, float* output, pthreadpool_t pool,
                 const ElementwiseConfig& config = elementwise_config());
void f32_add_bwd(size_t n, const float* grad_output, float* grad_a, float* grad_b, bool accumulate,
                 pthreadpool_t pool, const ElementwiseConfig& config = elementwise_config());

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_ELEMENTWISE_ELEMENTWISE_H_
