// Conv2d: 2-D convolution forward and backward, and its depthwise fast path.
//
// Layouts (float32 throughout):
//   activations   NHWC  [batch][h][w][c]
//   weights       OHWI  [out_c][kernel_h][kernel_w][in_c / groups]   (XNNPACK's layout)
//   bias          [out_c], nullable
//   dwconv weights HWC  [kernel_h][kernel_w][channels]   (packed; see f32_dwconv2d_pack_weights)
//
// output[n][oh][ow][g*Cog + co] = bias[.] + sum over kh, kw, ci of
//     input[n][oh*stride_h - pad_top + kh*dilation_h][ow*stride_w - pad_left + kw*dilation_w]
//          [g*Cig + ci] * weight[g*Cog + co][kh][kw][ci]
// where Cig = in_c / groups, Cog = out_c / groups, and taps outside the input read zero.
//
// Implementations:
//   __scalar   direct loops for any shape; the oracle every other implementation is tested against.
//   __gemm     im2col + f32_gemm forward, f32_gemm + col2im backward-input, im2colᵀ · dY
//              backward-weight; 1x1 stride-1 unpadded convolutions skip im2col/col2im.
//   f32_dwconv2d_*  depthwise (groups == in_c == out_c): scalar for any kernel, and NEON for
//              3x3 stride 1 and stride 2 (aarch64), vectorised over channels.
//   XnnConv2d  (xnnpack.h) forward through XNNPACK's convolution operator.
//
// Backward kernels overwrite their outputs and reduce over the whole batch they are given.
#ifndef PERSEPHONEE_KERNELS_CONV2D_CONV2D_H_
#define PERSEPHONEE_KERNELS_CONV2D_CONV2D_H_

#include <pthreadpool.h>

#include <cstddef>

#include "base/status.h"

namespace persephonee {

/// The shape of one convolution. Padding may be asymmetric.
struct Conv2dShape {
  size_t batch = 1;
  size_t in_h = 1;
  size_t in_w = 1;
  size_t in_c = 1;
  size_t out_c = 1;
  size_t kernel_h = 1;
  size_t kernel_w = 1;
  size_t stride_h = 1;
  size_t stride_w = 1;
  size_t dilation_h = 1;
  size_t dilation_w = 1;
  size_t pad_top = 0;
  size_t pad_left = 0;
  size_t pad_bottom = 0;
  size_t pad_right = 0;
  size_t groups = 1;

  /// Extent of the dilated kernel: dilation * (kernel - 1) + 1.
  size_t effective_kernel_h() const { return dilation_h * (kernel_h - 1) + 1; }
  size_t effective_kernel_w() const { return dilation_w * (kernel_w - 1) + 1; }
  /// Output height and width; only meaningful once Validate() succeeded.
  size_t out_h() const {
    return (in_h + pad_top + pad_bottom - effective_kernel_h()) / stride_h + 1;
  }
  size_t out_w() const {
    return (in_w + pad_left + pad_right - effective_kernel_w()) / stride_w + 1;
  }
  /// Channels per group.
  size_t group_in_c() const { return in_c / groups; }
  size_t group_out_c() const { return out_c / groups; }

  /// Element counts of the tensors.
  size_t input_size() const { return batch * in_h * in_w * in_c; }
  size_t output_size() const { return batch * out_h() * out_w() * out_c; }
  size_t weight_size() const { return out_c * kernel_h * kernel_w * group_in_c(); }

  /// groups == in_c == out_c: one filter per channel (channel multiplier 1).
  bool is_depthwise() const { return groups == in_c && out_c == in_c; }
  /// 1x1, stride 1, unpadded: the convolution is a plain GEMM over pixels (no im2col).
  bool is_pointwise() const;

  /// Multiply-adds of the forward pass (each is 2 FLOPs).
  double macs() const;

  /// Checks every field: positive sizes, channels divisible by groups, a kernel that fits the
  /// padded input, sizes that fit in memory. The message names the field at fault.
  Status Validate() const;
  /// Validate() and is_depthwise().
  Status ValidateDepthwise() const;
};

// ---------------------------------------------------------------------------------------------
// Scalar oracle: direct loops, any shape. Single-threaded, float accumulators.

/// output = conv(input, weight) + bias. `bias` may be null.
void f32_conv2d_fwd__scalar(const Conv2dShape& shape, const float* input, const float* weight,
                            const float* bias, float* output);

/// grad_input = dL/d input, given grad_output = dL/d output.
void f32_conv2d_bwd_input__scalar(const Conv2dShape& shape, const float* grad_output,
                                  const float* weight, float* grad_input);

/// grad_weight = dL/d weight (OHWI) and, when `grad_bias` is not null, grad_bias = dL/d bias,
/// both summed over the batch.
void f32_conv2d_bwd_weight__scalar(const Conv2dShape& shape, const float* input,
                                   const float* grad_output, float* grad_weight, float* grad_bias);

// ---------------------------------------------------------------------------------------------
// GEMM-based: im2col / col2im around f32_gemm. The caller provides the scratch buffer.

/// Bytes of scratch the __gemm functions need for `shape` (the same for all three passes; 0 for
/// pointwise convolutions). The buffer must be aligned to at least alignof(float).
size_t f32_conv2d_gemm_workspace_size(const Conv2dShape& shape);

/// Forward through im2col + f32_gemm. `workspace` holds f32_conv2d_gemm_workspace_size() bytes
/// (may be null when that is 0). `pool` may be null; results are bitwise equal for any threads.
void f32_conv2d_fwd__gemm(const Conv2dShape& shape, const float* input, const float* weight,
                          const float* bias, float* output, void* workspace, pthreadpool_t pool);

/// Backward-input: per image and group, dcol = dY · W (f32_gemm), then col2im gathers dcol into
/// grad_input (each input element written once, so threads need no atomics).
void f32_conv2d_bwd_input__gemm(const Conv2dShape& shape, const float* grad_output,
                                const float* weight, float* grad_input, void* workspace,
                                pthreadpool_t pool);

/// Backward-weight: grad_weight = Σ_images dYᵀ · im2col(X) (f32_gemm, accumulating image by
/// image); grad_bias (nullable) = Σ dY.
void f32_conv2d_bwd_weight__gemm(const Conv2dShape& shape, const float* input,
                                 const float* grad_output, float* grad_weight, float* grad_bias,
                                 void* workspace, pthreadpool_t pool);

// ---------------------------------------------------------------------------------------------
// Depthwise (shape.is_depthwise()). Weights and weight gradients use the packed HWC layout
// [kernel_h][kernel_w][channels], so that a vector of channels is contiguous for every tap.
// All take a `pool` (nullable); work is split over rows (forward, backward-input) or channel
// blocks (backward-weight), never over a reduction, so any thread count gives the same bits.

/// Packs OHWI depthwise weights ([channels][kh][kw][1]) into HWC ([kh][kw][channels]).
void f32_dwconv2d_pack_weights(size_t channels, size_t kernel_h, size_t kernel_w,
                               const float* weight_ohwi, float* weight_hwc);
/// The inverse of f32_dwconv2d_pack_weights (e.g. to return a weight gradient in OHWI).
void f32_dwconv2d_unpack_weights(size_t channels, size_t kernel_h, size_t kernel_w,
                                 const float* weight_hwc, float* weight_ohwi);

/// Forward, backward-input and backward-weight (+ bias when `grad_bias` is not null) for any
/// kernel, stride, padding and dilation.
void f32_dwconv2d_fwd__scalar(const Conv2dShape& shape, const float* input, const float* weight_hwc,
                              const float* bias, float* output, pthreadpool_t pool);
void f32_dwconv2d_bwd_input__scalar(const Conv2dShape& shape, const float* grad_output,
                                    const float* weight_hwc, float* grad_input, pthreadpool_t pool);
void f32_dwconv2d_bwd_weight__scalar(const Conv2dShape& shape, const float* input,
                                     const float* grad_output, float* grad_weight_hwc,
                                     float* grad_bias, pthreadpool_t pool);

#if defined(__aarch64__)
/// NEON, aarch64 only. Preconditions (debug-asserted): depthwise, kernel 3x3, dilation 1, stride
/// 1 (…3x3s1…) or 2 (…3x3s2…) in both directions. Any padding (MobileNetV2 uses 1); any channel
/// count (blocks of 4 channels, one q register; the last 1-3 channels handled inside). Weights
/// HWC (f32_dwconv2d_pack_weights), because a block of channels must be contiguous per tap.
void f32_dwconv2d_fwd_3x3s1__neon(const Conv2dShape& shape, const float* input,
                                  const float* weight_hwc, const float* bias, float* output,
                                  pthreadpool_t pool);
void f32_dwconv2d_fwd_3x3s2__neon(const Conv2dShape& shape, const float* input,
                                  const float* weight_hwc, const float* bias, float* output,
                                  pthreadpool_t pool);
void f32_dwconv2d_bwd_input_3x3s1__neon(const Conv2dShape& shape, const float* grad_output,
                                        const float* weight_hwc, float* grad_input,
                                        pthreadpool_t pool);
void f32_dwconv2d_bwd_input_3x3s2__neon(const Conv2dShape& shape, const float* grad_output,
                                        const float* weight_hwc, float* grad_input,
                                        pthreadpool_t pool);
void f32_dwconv2d_bwd_weight_3x3s1__neon(const Conv2dShape& shape, const float* input,
                                         const float* grad_output, float* grad_weight_hwc,
                                         float* grad_bias, pthreadpool_t pool);
void f32_dwconv2d_bwd_weight_3x3s2__neon(const Conv2dShape& shape, const float* input,
                                         const float* grad_output, float* grad_weight_hwc,
                                         float* grad_bias, pthreadpool_t pool);
#endif  // defined(__aarch64__)

// ---------------------------------------------------------------------------------------------
// The implementation chosen once from cpuinfo (config.cc).

using Conv2dFwdFn = void (*)(const Conv2dShape&, const float* input, const float* weight,
                             const float* bias, float* output, void* workspace, pthreadpool_t);
using Conv2dBwdInputFn = void (*)(const Conv2dShape&, const float* grad_output, const float* weight,
                                  float* grad_input, void* workspace, pthreadpool_t);
using Conv2dBwdWeightFn = void (*)(const Conv2dShape&, const float* input, const float* grad_output,
                                   float* grad_weight, float* grad_bias, void* workspace,
                                   pthreadpool_t);
using Dwconv2dFwdFn = void (*)(const Conv2dShape&, const float* input, const float* weight_hwc,
                               const float* bias, float* output, pthreadpool_t);
using Dwconv2dBwdInputFn = void (*)(const Conv2dShape&, const float* grad_output,
                                    const float* weight_hwc, float* grad_input, pthreadpool_t);
using Dwconv2dBwdWeightFn = void (*)(const Conv2dShape&, const float* input,
                                     const float* grad_output, float* grad_weight_hwc,
                                     float* grad_bias, pthreadpool_t);

/// Depthwise kernels for one case (3x3 stride 1, 3x3 stride 2, or any shape).
struct Dwconv2dKernels {
  Dwconv2dFwdFn fwd = nullptr;
  Dwconv2dBwdInputFn bwd_input = nullptr;
  Dwconv2dBwdWeightFn bwd_weight = nullptr;
};

/// Function pointers for the general convolution and the depthwise fast path.
struct Conv2dConfig {
  const char* conv_name = "";  ///< The general convolution's implementation ("gemm").
  Conv2dFwdFn fwd = nullptr;
  Conv2dBwdInputFn bwd_input = nullptr;
  Conv2dBwdWeightFn bwd_weight = nullptr;
  const char* dwconv_name = "";  ///< The 3x3 depthwise implementation ("neon" or "scalar").
  Dwconv2dKernels dw_3x3s1;      ///< Depthwise 3x3, stride 1, dilation 1.
  Dwconv2dKernels dw_3x3s2;      ///< Depthwise 3x3, stride 2, dilation 1.
  Dwconv2dKernels dw_any;        ///< Every other depthwise shape.
};

/// The configuration for this machine, chosen at first call (thread-safe).
const Conv2dConfig& conv2d_config();

/// The depthwise kernels `conv2d_config()` uses for `shape` (which must be depthwise).
const Dwconv2dKernels& dwconv2d_kernels_for(const Conv2dShape& shape);

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_CONV2D_CONV2D_H_
