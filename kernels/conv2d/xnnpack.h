// XnnConv2d: forward convolution through XNNPACK's convolution operator.
//
// Lifecycle as XNNPACK has it: Create() once (XNNPACK packs the weights and bias then; the
// caller's weight buffers are not read afterwards), Setup() against caller-owned input and
// output buffers, Run() as often as the buffers hold new data. Depthwise convolutions are groups
// with one input and one output channel each; XNNPACK recognises them and uses its dwconv
// kernels. ReLU and ReLU6 are fused through the output range. Layouts as in conv2d.h.
#ifndef PERSEPHONEE_KERNELS_CONV2D_XNNPACK_H_
#define PERSEPHONEE_KERNELS_CONV2D_XNNPACK_H_

#include <pthreadpool.h>

#include <cstddef>
#include <limits>

#include "base/status.h"
#include "kernels/conv2d/conv2d.h"

struct xnn_operator;  // XNNPACK's operator; see <xnnpack.h>.

namespace persephonee {

/// An activation fused into the convolution's output.
enum class ConvActivation {
  kNone,   ///< Output unclamped.
  kRelu,   ///< max(0, y).
  kRelu6,  ///< min(max(0, y), 6).
};

/// A convolution forward pass through XNNPACK. Move-only; deletes its operator.
class XnnConv2d {
 public:
  /// Creates the operator for `shape` (its batch is the default for Forward()). `weight` is OHWI,
  /// `bias` may be null. Outputs are clamped to [output_min, output_max]; NaN bounds or
  /// output_min >= output_max are refused. Initialises XNNPACK if needed.
  static StatusOr<XnnConv2d> Create(const Conv2dShape& shape, const float* weight,
                                    const float* bias,
                                    float output_min = -std::numeric_limits<float>::infinity(),
                                    float output_max = std::numeric_limits<float>::infinity());
  /// Create() with the output range of `activation`.
  static StatusOr<XnnConv2d> Create(const Conv2dShape& shape, const float* weight,
                                    const float* bias, ConvActivation activation);

  XnnConv2d(XnnConv2d&& other) noexcept;
  XnnConv2d& operator=(XnnConv2d&& other) noexcept;
  XnnConv2d(const XnnConv2d&) = delete;
  XnnConv2d& operator=(const XnnConv2d&) = delete;
  ~XnnConv2d();

  /// Binds `batch` images of `input` (NHWC, the shape's in_h/in_w/in_c) and `output` (NHWC,
  /// out_h/out_w/out_c). The buffers must stay valid until the next Setup(). `pool` may be null.
  Status Setup(size_t batch, const float* input, float* output, pthreadpool_t pool);
  /// Runs the operator on the buffers of the last Setup(); kFailedPrecondition without one.
  Status Run(pthreadpool_t pool);
  /// Setup(shape().batch, input, output, pool) followed by Run(pool).
  Status Forward(const float* input, float* output, pthreadpool_t pool);

  const Conv2dShape& shape() const { return shape_; }

 private:
  XnnConv2d(const Conv2dShape& shape, xnn_operator* op) : shape_(shape), op_(op) {}

  Conv2dShape shape_;
  xnn_operator* op_ = nullptr;
  bool is_setup_ = false;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_CONV2D_XNNPACK_H_
