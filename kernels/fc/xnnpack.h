// Fully-connected forward through XNNPACK's operator API.
//
// XNNPACK packs the weights when the operator is created, so create it once per set of weights
// (again after the weights change: UpdateWeights), then Setup against caller-owned buffers and
// Run as often as the buffers stay the same. Layouts are those of fc.h.
#ifndef PERSEPHONEE_KERNELS_FC_XNNPACK_H_
#define PERSEPHONEE_KERNELS_FC_XNNPACK_H_

#include <pthreadpool.h>
#include <xnnpack.h>

#include <cstddef>
#include <limits>

#include "base/status.h"

namespace persephonee {

/// One XNNPACK fully-connected operator (xnn_create_fully_connected_nc_f32) and its bindings.
class XnnFullyConnected {
 public:
  /// Creates the operator: y = clamp(x · Wᵀ + b, output_min, output_max); [0, +inf) fuses a
  /// ReLU. `weights` is [out][in]; `bias` is [out] or nullptr. Both are copied (packed), so the
  /// caller may free or change them afterwards. Fails with kInvalidArgument on a zero dimension,
  /// null weights or an empty / NaN output range, kInternal when XNNPACK cannot start or create.
  static StatusOr<XnnFullyConnected> Create(
      size_t in, size_t out, const float* weights, const float* bias,
      float output_min = -std::numeric_limits<float>::infinity(),
      float output_max = std::numeric_limits<float>::infinity());

  XnnFullyConnected(XnnFullyConnected&& other) noexcept;
  XnnFullyConnected& operator=(XnnFullyConnected&& other) noexcept;
  XnnFullyConnected(const XnnFullyConnected&) = delete;
  XnnFullyConnected& operator=(const XnnFullyConnected&) = delete;
  ~XnnFullyConnected();

  /// Re-creates the operator with new weights (and bias), keeping sizes and output range. The
  /// previous Setup is forgotten. On failure the operator is left as it was.
  Status UpdateWeights(const float* weights, const float* bias);

  /// Binds x[batch][in] and y[batch][out] (caller-owned, must outlive the Runs that use them).
  Status Setup(size_t batch, const float* x, float* y, pthreadpool_t pool);

  /// Computes y for the buffers of the last Setup; kFailedPrecondition if there was none.
  Status Run(pthreadpool_t pool);

  size_t in() const { return in_; }
  size_t out() const { return out_; }

 private:
  XnnFullyConnected(size_t in, size_t out, float output_min, float output_max, xnn_operator_t op)
      : in_(in), out_(out), output_min_(output_min), output_max_(output_max), op_(op) {}

  size_t in_ = 0;
  size_t out_ = 0;
  float output_min_ = 0.0f;
  float output_max_ = 0.0f;
  xnn_operator_t op_ = nullptr;
  bool set_up_ = false;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_FC_XNNPACK_H_
