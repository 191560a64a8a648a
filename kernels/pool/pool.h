// Pool: max pooling (with argmax), average pooling and global average pooling, forward and
// backward.
//
// Layouts (float32 throughout, NHWC):
//   input / grad_input     [batch][in_h][in_w][channels]
//   output / grad_output   [batch][out_h][out_w][channels]
//   argmax                 [batch][out_h][out_w][channels], int32: ih * in_w + iw, an index into
//                          the input plane of the same image and channel (as PyTorch's
//                          return_indices), so the max-pool backward is exact.
//   global pool output     [batch][channels]
//
// Window of output (oh, ow): input rows oh*stride_h - pad_top + [0, kernel_h) and columns
// ow*stride_w - pad_left + [0, kernel_w); out_h = (in_h + pad_top + pad_bottom - kernel_h) /
// stride_h + 1 (floor, PyTorch's ceil_mode=False). Padded taps are never read:
//   max pooling     ignores them (as padding with -inf). Ties go to the first maximum in the
//                   window's row-major order (PyTorch's choice): a later tap wins only if it is
//                   strictly greater, so a NaN never replaces an earlier value.
//   average pooling divides by kernel_h * kernel_w when count_include_pad (the default, PyTorch's
//                   count_include_pad=True: padded taps count as zeros), otherwise by the number
//                   of taps inside the input (TensorFlow's and XNNPACK's convention).
// Validate() requires every pad to be smaller than the kernel, so every window holds at least one
// input element (PyTorch requires pad <= kernel / 2, which implies this).
//
// Implementations: __scalar (plain loops; the oracle), __neon (aarch64; vectorised over channels
// in blocks of 16 and 4, the last 1-3 channels inside), and the XNNPACK forward operators in
// xnnpack.h (inference only: they produce no argmax). The max- and average-pool backward of the
// NEON code gathers (each grad_input element sums the windows that cover it) instead of
// scattering, so it writes every element once and needs no zeroing pass.
//
// Backward kernels overwrite grad_input. These are single-threaded micro-kernels: no allocation,
// no error returns, debug asserts only; callers run Validate() first. The threaded entry points
// at the bottom run a chosen implementation over tiles of whole images on a pthreadpool.
#ifndef PERSEPHONEE_KERNELS_POOL_POOL_H_
#define PERSEPHONEE_KERNELS_POOL_POOL_H_

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

#include "base/status.h"

namespace persephonee {

/// The shape of one 2-D pooling (max or average). Padding may be asymmetric.
struct Pool2dShape {
  size_t batch = 1;
  size_t in_h = 1;
  size_t in_w = 1;
  size_t channels = 1;
  size_t kernel_h = 1;
  size_t kernel_w = 1;
  size_t stride_h = 1;
  size_t stride_w = 1;
  size_t pad_top = 0;
  size_t pad_left = 0;
  size_t pad_bottom = 0;
  size_t pad_right = 0;
  /// Average pooling only: whether padded taps count in the divisor (see the file comment).
  bool count_include_pad = true;

  /// Output height and width; only meaningful once Validate() succeeded.
  size_t out_h() const { return (in_h + pad_top + pad_bottom - kernel_h) / stride_h + 1; }
  size_t out_w() const { return (in_w + pad_left + pad_right - kernel_w) / stride_w + 1; }
  /// Element counts of input and output (argmax has output_size() entries).
  size_t input_size() const { return batch * in_h * in_w * channels; }
  size_t output_size() const { return batch * out_h() * out_w() * channels; }
  bool has_padding() const { return pad_top + pad_left + pad_bottom + pad_right != 0; }

  /// Checks every field: positive sizes, a kernel that fits the padded input, pads smaller than
  /// the kernel, an input plane whose indices fit in int32. The message names the field.
  Status Validate() const;
};

/// The shape of a global average pooling: the mean over all in_h * in_w pixels of each image.
struct GlobalPoolShape {
  size_t batch = 1;
  size_t in_h = 1;
  size_t in_w = 1;
  size_t channels = 1;

  size_t pixels() const { return in_h * in_w; }
  size_t input_size() const { return batch * pixels() * channels; }
  size_t output_size() const { return batch * channels; }

  /// Positive sizes that fit in memory.
  Status Validate() const;
};

// ---------------------------------------------------------------------------------------------
// Scalar oracle.

/// output = max over each window; `argmax` (nullable: pass null when no backward will run)
/// receives the input-plane index of the first maximum.
void f32_maxpool_fwd__scalar(const Pool2dShape& shape, const float* input, float* output,
                             int32_t* argmax);
/// grad_input = 0, then grad_input[n][argmax][c] += grad_output[n][oh][ow][c] for every output.
void f32_maxpool_bwd__scalar(const Pool2dShape& shape, const float* grad_output,
                             const int32_t* argmax, float* grad_input);
/// output = sum over each window / divisor (see count_include_pad).
void f32_avgpool_fwd__scalar(const Pool2dShape& shape, const float* input, float* output);
/// grad_input = the adjoint of the forward: each output's gradient / divisor, added to every
/// input tap of its window.
void f32_avgpool_bwd__scalar(const Pool2dShape& shape, const float* grad_output, float* grad_input);
/// output[n][c] = mean over pixels of input[n][p][c].
void f32_gavgpool_fwd__scalar(const GlobalPoolShape& shape, const float* input, float* output);
/// grad_input[n][p][c] = grad_output[n][c] / pixels.
void f32_gavgpool_bwd__scalar(const GlobalPoolShape& shape, const float* grad_output,
                              float* grad_input);

#if defined(__aarch64__)
// ---------------------------------------------------------------------------------------------
// NEON (aarch64 only): the same contracts as the scalar functions above.

void f32_maxpool_fwd__neon(const Pool2dShape& shape, const float* input, float* output,
                           int32_t* argmax);
void f32_maxpool_bwd__neon(const Pool2dShape& shape, const float* grad_output,
                           const int32_t* argmax, float* grad_input);
void f32_avgpool_fwd__neon(const Pool2dShape& shape, const float* input, float* output);
void f32_avgpool_bwd__neon(const Pool2dShape& shape, const float* grad_output, float* grad_input);
void f32_gavgpool_fwd__neon(const GlobalPoolShape& shape, const float* input, float* output);
void f32_gavgpool_bwd__neon(const GlobalPoolShape& shape, const float* grad_output,
                            float* grad_input);
#endif  // defined(__aarch64__)

// ---------------------------------------------------------------------------------------------
// The implementation chosen once from cpuinfo (config.cc).

using MaxPoolFwdFn = void (*)(const Pool2dShape&, const float* input, float* output,
                              int32_t* argmax);
using MaxPoolBwdFn = void (*)(const Pool2dShape&, const float* grad_output, const int32_t* argmax,
                              float* grad_input);
using AvgPoolFwdFn = void (*)(const Pool2dShape&, const float* input, float* output);
using AvgPoolBwdFn = void (*)(const Pool2dShape&, const float* grad_output, float* grad_input);
using GlobalAvgPoolFwdFn = void (*)(const GlobalPoolShape&, const float* input, float* output);
using GlobalAvgPoolBwdFn = void (*)(const GlobalPoolShape&, const float* grad_output,
                                    float* grad_input);

/// One implementation of every pooling kernel.
struct PoolConfig {
  const char* name = "";  ///< "scalar" or "neon".
  MaxPoolFwdFn maxpool_fwd = nullptr;
  MaxPoolBwdFn maxpool_bwd = nullptr;
  AvgPoolFwdFn avgpool_fwd = nullptr;
  AvgPoolBwdFn avgpool_bwd = nullptr;
  GlobalAvgPoolFwdFn gavgpool_fwd = nullptr;
  GlobalAvgPoolBwdFn gavgpool_bwd = nullptr;
};

/// NEON on aarch64 when cpuinfo confirms it, scalar otherwise; chosen at the first call.
const PoolConfig& pool_config();

// ---------------------------------------------------------------------------------------------
// Threaded entry points (threaded.cc). The batch is cut into tiles of whole images, the tile
// computed from the shape alone (PoolBatchTile), and `config`'s kernel runs once per tile on
// `pool` (nullptr or one thread: one call over the whole batch on the calling thread). Every
// image is computed by the same kernel code whatever tile it lands in, so the results are
// bitwise identical for any thread count and equal to the kernel's over the whole batch.
// Images are the only unit: a batch of one runs on one thread. Callers run Validate() first.

/// Images per task for `floats_per_image` floats read and written per image (at least 1).
size_t PoolBatchTile(size_t floats_per_image);

void f32_maxpool_fwd(const Pool2dShape& shape, const float* input, float* output, int32_t* argmax,
                     pthreadpool_t pool, const PoolConfig& config = pool_config());
void f32_maxpool_bwd(const Pool2dShape& shape, const float* grad_output, const int32_t* argmax,
                     float* grad_input, pthreadpool_t pool,
                     const PoolConfig& config = pool_config());
void f32_avgpool_fwd(const Pool2dShape& shape, const float* input, float* output,
                     pthreadpool_t pool, const PoolConfig& config = pool_config());
void f32_avgpool_bwd(const Pool2dShape& shape, const float* grad_output, float* grad_input,
                     pthreadpool_t pool, const PoolConfig& config = pool_config());
void f32_gavgpool_fwd(const GlobalPoolShape& shape, const float* input, float* output,
                      pthreadpool_t pool, const PoolConfig& config = pool_config());
void f32_gavgpool_bwd(const GlobalPoolShape& shape, const float* grad_output, float* grad_input,
                      pthreadpool_t pool, const PoolConfig& config = pool_config());

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_POOL_POOL_H_
