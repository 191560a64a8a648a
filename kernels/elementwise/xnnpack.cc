#include "kernels/elementwise/xnnpack.h"

#include <xnnpack.h>

#include <cmath>
#include <utility>

#include "kernels/cpu.h"

namespace persephonee {
namespace {

Status CheckRange(float output_min, float output_max, const char* what) {
  ENSURE(!std::isnan(output_min) && !std::isnan(output_max) && output_min < output_max, what,
         ": output range [", output_min, ", ", output_max, "] is empty or NaN");
  return Status::Ok();
}

Status Created(xnn_status status, const char* what) { return XnnStatusToStatus(status, what); }

}  // namespace

XnnOperator::XnnOperator(XnnOperator&& other) noexcept
    : op_(std::exchange(other.op_, nullptr)), set_up_(std::exchange(other.set_up_, false)) {}

XnnOperator& XnnOperator::operator=(XnnOperator&& other) noexcept {
  if (this != &other) {
    if (op_ != nullptr) xnn_delete_operator(op_);
    op_ = std::exchange(other.op_, nullptr);
    set_up_ = std::exchange(other.set_up_, false);
  }
  return *this;
}

XnnOperator::~XnnOperator() {
  if (op_ != nullptr) xnn_delete_operator(op_);
}

Status XnnOperator::MarkSetup(int xnn_status, const char* what) {
  set_up_ = xnn_status == xnn_status_success;
  return XnnStatusToStatus(xnn_status, what);
}

Status XnnOperator::Run(pthreadpool_t pool, const char* what) {
  ENSURE_CODE(set_up_, kFailedPrecondition, "the ", what, " operator was run before Setup()");
  return XnnStatusToStatus(xnn_run_operator(op_, pool), what);
}

StatusOr<XnnAdd> XnnAdd::Create(float output_min, float output_max) {
  RETURN_IF_ERROR(EnsureXnnpack());
  RETURN_IF_ERROR(CheckRange(output_min, output_max, "add"));
  xnn_operator_t op = nullptr;
  RETURN_IF_ERROR(Created(xnn_create_add_nd_f32(output_min, output_max, 0, &op), "add"));
  XnnAdd add;
  add.op_ = XnnOperator(op);
  return add;
}

Status XnnAdd::Setup(size_t elements, const float* a, const float* b, float* out,
                     pthreadpool_t pool) {
  ENSURE(elements > 0 && a != nullptr && b != nullptr && out != nullptr,
         "add: needs a positive element count and three buffers");
  const size_t shape[1] = {elements};
  return op_.MarkSetup(xnn_setup_add_nd_f32(op_.get(), 1, shape, 1, shape, a, b, out, pool), "add");
}

StatusOr<XnnClamp> XnnClamp::Create(float output_min, float output_max) {
  RETURN_IF_ERROR(EnsureXnnpack());
  RETURN_IF_ERROR(CheckRange(output_min, output_max, "clamp"));
  xnn_operator_t op = nullptr;
  // One channel per "pixel": the operator then covers any element count as its batch.
  RETURN_IF_ERROR(
      Created(xnn_create_clamp_nc_f32(1, 1, 1, output_min, output_max, 0, &op), "clamp"));
  XnnClamp clamp;
  clamp.op_ = XnnOperator(op);
  return clamp;
}

Status XnnClamp::Setup(size_t elements, const float* x, float* out, pthreadpool_t pool) {
  ENSURE(elements > 0 && x != nullptr && out != nullptr,
         "clamp: needs a positive element count and two buffers");
  return op_.MarkSetup(xnn_setup_clamp_nc_f32(op_.get(), elements, x, out, pool), "clamp");
}

StatusOr<XnnSoftmax> XnnSoftmax::Create(size_t channels) {
  RETURN_IF_ERROR(EnsureXnnpack());
  ENSURE(channels > 0, "softmax: needs at least one channel");
  xnn_operator_t op = nullptr;
  RETURN_IF_ERROR(
      Created(xnn_create_softmax_nc_f32(channels, channels, channels, 0, &op), "softmax"));
  XnnSoftmax softmax;
  softmax.op_ = XnnOperator(op);
  softmax.channels_ = channels;
  return softmax;
}

Status XnnSoftmax::Setup(size_t rows, const float* x, float* out, pthreadpool_t pool) {
  ENSURE(rows > 0 && x != nullptr && out != nullptr,
         "softmax: needs a positive row count and two buffers");
  return op_.MarkSetup(xnn_setup_softmax_nc_f32(op_.get(), rows, x, out, pool), "softmax");
}

}  // namespace persephonee
