// Forward pooling through XNNPACK's NHWC f32 operators, for inference (the frozen backbone).
//
// Lifecycle as XNNPACK has it: Create() once for a shape, Setup() against caller-owned input and
// output buffers (any batch), Run() as often as the buffers hold new data, on a pthreadpool
// (nullptr = the calling thread). Errors, XNNPACK's included, come back as Status. Layouts and
// semantics as in pool.h, with two differences:
//   - XnnMaxPool2d produces no argmax, so training uses the kernels of pool.h instead.
//   - XNNPACK's average pooling divides by the number of taps inside the input. For a shape with
//     padding and count_include_pad (PyTorch's default), XnnAvgPool2d::Run() rescales the
//     outputs whose windows touch the padding by valid_taps / (kernel_h * kernel_w) afterwards,
//     so both conventions give the results of f32_avgpool_fwd__scalar.
// XNNPACK refuses 1x1 windows (they are a strided copy); Create() reports kUnimplemented.
#ifndef PERSEPHONEE_KERNELS_POOL_XNNPACK_H_
#define PERSEPHONEE_KERNELS_POOL_XNNPACK_H_

#include <pthreadpool.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "base/status.h"
#include "kernels/pool/pool.h"

struct xnn_operator;  // XNNPACK's operator; see <xnnpack.h>.

namespace persephonee {

namespace pool_internal {
/// Deletes an XNNPACK operator (null is fine).
struct XnnOperatorDeleter {
  void operator()(xnn_operator* op) const;
};
using XnnOperatorPtr = std::unique_ptr<xnn_operator, XnnOperatorDeleter>;
}  // namespace pool_internal

/// Max pooling forward through xnn_create_max_pooling2d_nhwc_f32. Move-only.
class XnnMaxPool2d {
 public:
  /// Validates `shape` (its batch is the default for Forward()), initialises XNNPACK if needed
  /// and creates the operator.
  static StatusOr<XnnMaxPool2d> Create(const Pool2dShape& shape);

  /// Binds `batch` images of `input` (NHWC, the shape's in_h/in_w/channels) and `output` (NHWC,
  /// out_h/out_w/channels). The buffers must stay valid until the next Setup().
  Status Setup(size_t batch, const float* input, float* output, pthreadpool_t pool);
  /// Runs on the buffers of the last successful Setup(); kFailedPrecondition without one.
  Status Run(pthreadpool_t pool);
  /// Setup(shape().batch, input, output, pool) followed by Run(pool).
  Status Forward(const float* input, float* output, pthreadpool_t pool);

  const Pool2dShape& shape() const { return shape_; }

 private:
  XnnMaxPool2d(const Pool2dShape& shape, pool_internal::XnnOperatorPtr op)
      : shape_(shape), op_(std::move(op)) {}

  Pool2dShape shape_;
  pool_internal::XnnOperatorPtr op_;
  bool is_setup_ = false;
};

/// Average pooling forward through xnn_create_average_pooling2d_nhwc_f32 (see the file comment
/// for count_include_pad). Move-only.
class XnnAvgPool2d {
 public:
  /// As XnnMaxPool2d::Create.
  static StatusOr<XnnAvgPool2d> Create(const Pool2dShape& shape);

  /// As XnnMaxPool2d::Setup.
  Status Setup(size_t batch, const float* input, float* output, pthreadpool_t pool);
  /// Runs XNNPACK, then rescales the padded windows' outputs when count_include_pad asks for it.
  Status Run(pthreadpool_t pool);
  /// Setup(shape().batch, input, output, pool) followed by Run(pool).
  Status Forward(const float* input, float* output, pthreadpool_t pool);

  const Pool2dShape& shape() const { return shape_; }

 private:
  /// An output pixel (oh * out_w + ow) whose XNNPACK value must be multiplied by `factor`.
  struct Rescale {
    size_t pixel;
    float factor;
  };

  XnnAvgPool2d(const Pool2dShape& shape, pool_internal::XnnOperatorPtr op,
               std::vector<Rescale> rescale)
      : shape_(shape), op_(std::move(op)), rescale_(std::move(rescale)) {}

  Pool2dShape shape_;
  pool_internal::XnnOperatorPtr op_;
  std::vector<Rescale> rescale_;
  bool is_setup_ = false;
  size_t batch_ = 0;
  float* output_ = nullptr;
};

/// Global average pooling forward through xnn_create_global_average_pooling_nwc_f32 (each
/// image's in_h * in_w pixels are XNNPACK's "width"). Move-only.
class XnnGlobalAvgPool {
 public:
  /// Validates `shape` (its batch is the default for Forward()) and creates the operator.
  static StatusOr<XnnGlobalAvgPool> Create(const GlobalPoolShape& shape);

  /// Binds `batch` images of `input` ([batch][in_h * in_w][channels]) and `output`
  /// ([batch][channels]). The buffers must stay valid until the next Setup().
  Status Setup(size_t batch, const float* input, float* output, pthreadpool_t pool);
  /// Runs on the buffers of the last successful Setup(); kFailedPrecondition without one.
  Status Run(pthreadpool_t pool);
  /// Setup(shape().batch, input, output, pool) followed by Run(pool).
  Status Forward(const float* input, float* output, pthreadpool_t pool);

  const GlobalPoolShape& shape() const { return shape_; }

 private:
  XnnGlobalAvgPool(const GlobalPoolShape& shape, pool_internal::XnnOperatorPtr op)
      : shape_(shape), op_(std::move(op)) {}

  GlobalPoolShape shape_;
  pool_internal::XnnOperatorPtr op_;
  bool is_setup_ = false;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_POOL_XNNPACK_H_
