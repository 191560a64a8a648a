#include "kernels/fc/xnnpack.h"

#include <cmath>
#include <utility>

#include "kernels/cpu.h"

namespace persephonee {
namespace {

StatusOr<xnn_operator_t> CreateOp(size_t in, size_t out, const float* weights, const float* bias,
                                  float output_min, float output_max) {
  xnn_operator_t op = nullptr;
  const xnn_status status =
      xnn_create_fully_connected_nc_f32(in, out, /*input_stride=*/in, /*output_stride=*/out,
                                        weights, bias, output_min, output_max, /*flags=*/0, &op);
  ENSURE_CODE(status == xnn_status_success, kInternal, "xnn_create_fully_connected_nc_f32(in=", in,
              ", out=", out, ") failed: ", XnnStatusName(status));
  return op;
}

}  // namespace

StatusOr<XnnFullyConnected> XnnFullyConnected::Create(size_t in, size_t out, const float* weights,
                                                      const float* bias, float output_min,
                                                      float output_max) {
  ENSURE(in > 0 && out > 0, "fully-connected: in (", in, ") and out (", out, ") must be positive");
  ENSURE(weights != nullptr, "fully-connected: weights are null");
  ENSURE(!std::isnan(output_min) && !std::isnan(output_max) && output_min < output_max,
         "fully-connected: output range [", output_min, ", ", output_max, "] is empty");
  RETURN_IF_ERROR(EnsureXnnpack());
  ASSIGN_OR_RETURN(xnn_operator_t op, CreateOp(in, out, weights, bias, output_min, output_max));
  return XnnFullyConnected(in, out, output_min, output_max, op);
}

XnnFullyConnected::XnnFullyConnected(XnnFullyConnected&& other) noexcept
    : in_(other.in_),
      out_(other.out_),
      output_min_(other.output_min_),
      output_max_(other.output_max_),
      op_(std::exchange(other.op_, nullptr)),
      set_up_(std::exchange(other.set_up_, false)) {}

XnnFullyConnected& XnnFullyConnected::operator=(XnnFullyConnected&& other) noexcept {
  if (this != &other) {
    if (op_ != nullptr) xnn_delete_operator(op_);
    in_ = other.in_;
    out_ = other.out_;
    output_min_ = other.output_min_;
    output_max_ = other.output_max_;
    op_ = std::exchange(other.op_, nullptr);
    set_up_ = std::exchange(other.set_up_, false);
  }
  return *this;
}

XnnFullyConnected::~XnnFullyConnected() {
  if (op_ != nullptr) xnn_delete_operator(op_);
}

Status XnnFullyConnected::UpdateWeights(const float* weights, const float* bias) {
  ENSURE(weights != nullptr, "fully-connected: weights are null");
  ASSIGN_OR_RETURN(xnn_operator_t op, CreateOp(in_, out_, weights, bias, output_min_, output_max_));
  if (op_ != nullptr) xnn_delete_operator(op_);
  op_ = op;
  set_up_ = false;
  return Status::Ok();
}

Status XnnFullyConnected::Setup(size_t batch, const float* x, float* y, pthreadpool_t pool) {
  ENSURE_CODE(op_ != nullptr, kFailedPrecondition, "fully-connected: operator was moved from");
  ENSURE(batch > 0, "fully-connected: batch must be positive");
  ENSURE(x != nullptr && y != nullptr, "fully-connected: input or output buffer is null");
  set_up_ = false;
  const xnn_status status = xnn_setup_fully_connected_nc_f32(op_, batch, x, y, pool);
  ENSURE_CODE(status == xnn_status_success, kInternal,
              "xnn_setup_fully_connected_nc_f32(batch=", batch,
              ") failed: ", XnnStatusName(status));
  set_up_ = true;
  return Status::Ok();
}

Status XnnFullyConnected::Run(pthreadpool_t pool) {
  ENSURE_CODE(set_up_, kFailedPrecondition, "fully-connected: Run before Setup");
  const xnn_status status = xnn_run_operator(op_, pool);
  ENSURE_CODE(status == xnn_status_success, kInternal,
              "xnn_run_operator(fully-connected) failed: ", XnnStatusName(status));
  return Status::Ok();
}

}  // namespace persephonee
