// Element-wise forward operators through XNNPACK, for the inference engine: residual add,
// clamp (a standalone ReLU or ReLU6) and softmax. Each is created once and bound to
// caller-owned buffers by Setup(); Run() then only computes.
#ifndef PERSEPHONEE_KERNELS_ELEMENTWISE_XNNPACK_H_
#define PERSEPHONEE_KERNELS_ELEMENTWISE_XNNPACK_H_

#include <pthreadpool.h>

#include <cstddef>
#include <limits>

#include "base/status.h"

struct xnn_operator;  // XNNPACK's operator; see <xnnpack.h>.

namespace persephonee {

/// Owns one XNNPACK operator and remembers whether it has been bound. Move-only.
class XnnOperator {
 public:
  XnnOperator() = default;
  explicit XnnOperator(xnn_operator* op) : op_(op) {}
  XnnOperator(XnnOperator&& other) noexcept;
  XnnOperator& operator=(XnnOperator&& other) noexcept;
  XnnOperator(const XnnOperator&) = delete;
  XnnOperator& operator=(const XnnOperator&) = delete;
  ~XnnOperator();

  xnn_operator* get() const { return op_; }
  /// Records the result of an xnn_setup_* call; `what` names the operator in errors.
  Status MarkSetup(int xnn_status, const char* what);
  /// xnn_run_operator on the bound buffers; kFailedPrecondition before a successful setup.
  Status Run(pthreadpool_t pool, const char* what);

 private:
  xnn_operator* op_ = nullptr;
  bool set_up_ = false;
};

/// out = clamp(a + b, output_min, output_max), element-wise over `elements` floats. `out` may
/// be `a` or `b` (XNNPACK's element-wise kernels read each element before writing it).
class XnnAdd {
 public:
  static StatusOr<XnnAdd> Create(float output_min = -std::numeric_limits<float>::infinity(),
                                 float output_max = std::numeric_limits<float>::infinity());
  Status Setup(size_t elements, const float* a, const float* b, float* out, pthreadpool_t pool);
  Status Run(pthreadpool_t pool) { return op_.Run(pool, "add"); }

 private:
  XnnOperator op_;
};

/// out = clamp(x, output_min, output_max) over `elements` floats: ReLU is [0, inf), ReLU6
/// [0, 6]. `out` may be `x`.
class XnnClamp {
 public:
  static StatusOr<XnnClamp> Create(float output_min, float output_max);
  Status Setup(size_t elements, const float* x, float* out, pthreadpool_t pool);
  Status Run(pthreadpool_t pool) { return op_.Run(pool, "clamp"); }

 private:
  XnnOperator op_;
};

/// Softmax over the last axis: `rows` rows of `channels` floats each.
class XnnSoftmax {
 public:
  static StatusOr<XnnSoftmax> Create(size_t channels);
  Status Setup(size_t rows, const float* x, float* out, pthreadpool_t pool);
  Status Run(pthreadpool_t pool) { return op_.Run(pool, "softmax"); }

 private:
  XnnOperator op_;
  size_t channels_ = 0;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_ELEMENTWISE_XNNPACK_H_
