// XnnConv2d: a thin owner of one XNNPACK convolution operator, with XNNPACK's errors as Status.
#include "kernels/conv2d/xnnpack.h"

#include <xnnpack.h>

#include <cmath>
#include <cstdint>
#include <utility>

#include "kernels/cpu.h"

namespace persephonee {
namespace {

// XNNPACK takes its sizes as uint32_t; refuse what would not fit.
bool FitsU32(size_t v) { return v <= UINT32_MAX; }

}  // namespace

StatusOr<XnnConv2d> XnnConv2d::Create(const Conv2dShape& s, const float* weight, const float* bias,
                                      float output_min, float output_max) {
  RETURN_IF_ERROR(s.Validate().WithContext("XnnConv2d"));
  ENSURE(weight != nullptr, "XnnConv2d: weight is null");
  ENSURE(!std::isnan(output_min) && !std::isnan(output_max),
         "XnnConv2d: output range bound is NaN");
  ENSURE(output_min < output_max, "XnnConv2d: output_min ", output_min,
         " must be below output_max ", output_max);
  ENSURE(FitsU32(s.groups), "XnnConv2d: too many groups (", s.groups, ")");
  RETURN_IF_ERROR(EnsureXnnpack());
  xnn_operator_t op = nullptr;
  const xnn_status status = xnn_create_convolution2d_nhwc_f32(
      static_cast<uint32_t>(s.pad_top), static_cast<uint32_t>(s.pad_right),
      static_cast<uint32_t>(s.pad_bottom), static_cast<uint32_t>(s.pad_left),
      static_cast<uint32_t>(s.kernel_h), static_cast<uint32_t>(s.kernel_w),
      static_cast<uint32_t>(s.stride_h), static_cast<uint32_t>(s.stride_w),
      static_cast<uint32_t>(s.dilation_h), static_cast<uint32_t>(s.dilation_w),
      static_cast<uint32_t>(s.groups), s.group_in_c(), s.group_out_c(),
      /*input_channel_stride=*/s.in_c, /*output_channel_stride=*/s.out_c, weight, bias, output_min,
      output_max, /*flags=*/0, &op);
  RETURN_IF_ERROR(XnnStatusToStatus(status, "xnn_create_convolution2d_nhwc_f32"));
  return XnnConv2d(s, op);
}

StatusOr<XnnConv2d> XnnConv2d::Create(const Conv2dShape& s, const float* weight, const float* bias,
                                      ConvActivation activation) {
  const float inf = std::numeric_limits<float>::infinity();
  switch (activation) {
    case ConvActivation::kNone:
      return Create(s, weight, bias, -inf, inf);
    case ConvActivation::kRelu:
      return Create(s, weight, bias, 0.0f, inf);
    case ConvActivation::kRelu6:
      return Create(s, weight, bias, 0.0f, 6.0f);
  }
  return Error(StatusCode::kInvalidArgument, "XnnConv2d: unknown activation ",
               static_cast<int>(activation));
}

XnnConv2d::XnnConv2d(XnnConv2d&& other) noexcept
    : shape_(other.shape_),
      op_(std::exchange(other.op_, nullptr)),
      is_setup_(std::exchange(other.is_setup_, false)) {}

XnnConv2d& XnnConv2d::operator=(XnnConv2d&& other) noexcept {
  if (this != &other) {
    if (op_ != nullptr) xnn_delete_operator(op_);
    shape_ = other.shape_;
    op_ = std::exchange(other.op_, nullptr);
    is_setup_ = std::exchange(other.is_setup_, false);
  }
  return *this;
}

XnnConv2d::~XnnConv2d() {
  if (op_ != nullptr) xnn_delete_operator(op_);
}

Status XnnConv2d::Setup(size_t batch, const float* input, float* output, pthreadpool_t pool) {
  ENSURE_CODE(op_ != nullptr, kFailedPrecondition, "XnnConv2d: operator was moved from");
  ENSURE(batch > 0, "XnnConv2d::Setup: batch must be positive");
  ENSURE(input != nullptr && output != nullptr, "XnnConv2d::Setup: input or output is null");
  is_setup_ = false;
  RETURN_IF_ERROR(XnnStatusToStatus(
      xnn_setup_convolution2d_nhwc_f32(op_, batch, shape_.in_h, shape_.in_w, input, output, pool),
      "xnn_setup_convolution2d_nhwc_f32"));
  is_setup_ = true;
  return Status::Ok();
}

Status XnnConv2d::Run(pthreadpool_t pool) {
  ENSURE_CODE(op_ != nullptr, kFailedPrecondition, "XnnConv2d: operator was moved from");
  ENSURE_CODE(is_setup_, kFailedPrecondition, "XnnConv2d::Run: call Setup() first");
  return XnnStatusToStatus(xnn_run_operator(op_, pool), "xnn_run_operator");
}

Status XnnConv2d::Forward(const float* input, float* output, pthreadpool_t pool) {
  RETURN_IF_ERROR(Setup(shape_.batch, input, output, pool));
  return Run(pool);
}

}  // namespace persephonee
