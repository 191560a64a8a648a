// Owners of XNNPACK's pooling operators, with XNNPACK's errors as Status.
#include "kernels/pool/xnnpack.h"

#include <xnnpack.h>

#include <cstdint>
#include <limits>
#include <utility>

#include "kernels/cpu.h"
#include "kernels/pool/window.h"

namespace persephonee {
namespace pool_internal {

void XnnOperatorDeleter::operator()(xnn_operator* op) const {
  if (op != nullptr) xnn_delete_operator(op);
}

}  // namespace pool_internal

namespace {

using pool_internal::Range;
using pool_internal::WindowInputs;
using pool_internal::XnnOperatorPtr;

constexpr float kInf = std::numeric_limits<float>::infinity();

// Checks what XNNPACK's 2-D pooling operators need beyond Validate().
Status CheckPool2d(const Pool2dShape& s, const char* who) {
  RETURN_IF_ERROR(s.Validate().WithContext(who));
  ENSURE_CODE(s.kernel_h * s.kernel_w > 1, kUnimplemented, who,
              ": XNNPACK pooling needs a window of at least 2 elements, got 1x1");
  return EnsureXnnpack();
}

Status CheckSetup(const xnn_operator* op, size_t batch, const float* input, const float* output,
                  const char* who) {
  ENSURE_CODE(op != nullptr, kFailedPrecondition, who, ": operator was moved from");
  ENSURE(batch > 0, who, "::Setup: batch must be positive");
  ENSURE(input != nullptr && output != nullptr, who, "::Setup: input or output is null");
  return Status::Ok();
}

Status CheckRun(const xnn_operator* op, bool is_setup, const char* who) {
  ENSURE_CODE(op != nullptr, kFailedPrecondition, who, ": operator was moved from");
  ENSURE_CODE(is_setup, kFailedPrecondition, who, "::Run: call Setup() first");
  return Status::Ok();
}

}  // namespace

// --- XnnMaxPool2d ------------------------------------------------------------------------------

StatusOr<XnnMaxPool2d> XnnMaxPool2d::Create(const Pool2dShape& s) {
  RETURN_IF_ERROR(CheckPool2d(s, "XnnMaxPool2d"));
  xnn_operator_t op = nullptr;
  RETURN_IF_ERROR(XnnStatusToStatus(
      xnn_create_max_pooling2d_nhwc_f32(
          static_cast<uint32_t>(s.pad_top), static_cast<uint32_t>(s.pad_right),
          static_cast<uint32_t>(s.pad_bottom), static_cast<uint32_t>(s.pad_left),
          static_cast<uint32_t>(s.kernel_h), static_cast<uint32_t>(s.kernel_w),
          static_cast<uint32_t>(s.stride_h), static_cast<uint32_t>(s.stride_w),
          /*dilation_height=*/1, /*dilation_width=*/1, s.channels,
          /*input_pixel_stride=*/s.channels, /*output_pixel_stride=*/s.channels, -kInf, kInf,
          /*flags=*/0, &op),
      "xnn_create_max_pooling2d_nhwc_f32"));
  return XnnMaxPool2d(s, XnnOperatorPtr(op));
}

Status XnnMaxPool2d::Setup(size_t batch, const float* input, float* output, pthreadpool_t pool) {
  RETURN_IF_ERROR(CheckSetup(op_.get(), batch, input, output, "XnnMaxPool2d"));
  is_setup_ = false;
  RETURN_IF_ERROR(
      XnnStatusToStatus(xnn_setup_max_pooling2d_nhwc_f32(op_.get(), batch, shape_.in_h, shape_.in_w,
                                                         input, output, pool),
                        "xnn_setup_max_pooling2d_nhwc_f32"));
  is_setup_ = true;
  return Status::Ok();
}

Status XnnMaxPool2d::Run(pthreadpool_t pool) {
  RETURN_IF_ERROR(CheckRun(op_.get(), is_setup_, "XnnMaxPool2d"));
  return XnnStatusToStatus(xnn_run_operator(op_.get(), pool), "xnn_run_operator");
}

Status XnnMaxPool2d::Forward(const float* input, float* output, pthreadpool_t pool) {
  RETURN_IF_ERROR(Setup(shape_.batch, input, output, pool));
  return Run(pool);
}

// --- XnnAvgPool2d ------------------------------------------------------------------------------

StatusOr<XnnAvgPool2d> XnnAvgPool2d::Create(const Pool2dShape& s) {
  RETURN_IF_ERROR(CheckPool2d(s, "XnnAvgPool2d"));
  // XNNPACK divides by the taps inside the input; PyTorch's convention divides by the whole
  // window, so the windows that touch the padding are scaled by valid / area after the run.
  std::vector<Rescale> rescale;
  if (s.count_include_pad && s.has_padding()) {
    const size_t area = s.kernel_h * s.kernel_w;
    for (size_t oh = 0; oh < s.out_h(); ++oh) {
      const Range rows = WindowInputs(oh, s.stride_h, s.pad_top, s.kernel_h, s.in_h);
      for (size_t ow = 0; ow < s.out_w(); ++ow) {
        const Range cols = WindowInputs(ow, s.stride_w, s.pad_left, s.kernel_w, s.in_w);
        const size_t valid = (rows.end - rows.begin) * (cols.end - cols.begin);
        if (valid != area) {
          rescale.push_back(
              Rescale{oh * s.out_w() + ow, static_cast<float>(valid) / static_cast<float>(area)});
        }
      }
    }
  }
  xnn_operator_t op = nullptr;
  RETURN_IF_ERROR(XnnStatusToStatus(
      xnn_create_average_pooling2d_nhwc_f32(
          static_cast<uint32_t>(s.pad_top), static_cast<uint32_t>(s.pad_right),
          static_cast<uint32_t>(s.pad_bottom), static_cast<uint32_t>(s.pad_left),
          static_cast<uint32_t>(s.kernel_h), static_cast<uint32_t>(s.kernel_w),
          static_cast<uint32_t>(s.stride_h), static_cast<uint32_t>(s.stride_w), s.channels,
          /*input_pixel_stride=*/s.channels, /*output_pixel_stride=*/s.channels, -kInf, kInf,
          /*flags=*/0, &op),
      "xnn_create_average_pooling2d_nhwc_f32"));
  return XnnAvgPool2d(s, XnnOperatorPtr(op), std::move(rescale));
}

Status XnnAvgPool2d::Setup(size_t batch, const float* input, float* output, pthreadpool_t pool) {
  RETURN_IF_ERROR(CheckSetup(op_.get(), batch, input, output, "XnnAvgPool2d"));
  is_setup_ = false;
  RETURN_IF_ERROR(
      XnnStatusToStatus(xnn_setup_average_pooling2d_nhwc_f32(op_.get(), batch, shape_.in_h,
                                                             shape_.in_w, input, output, pool),
                        "xnn_setup_average_pooling2d_nhwc_f32"));
  batch_ = batch;
  output_ = output;
  is_setup_ = true;
  return Status::Ok();
}

Status XnnAvgPool2d::Run(pthreadpool_t pool) {
  RETURN_IF_ERROR(CheckRun(op_.get(), is_setup_, "XnnAvgPool2d"));
  RETURN_IF_ERROR(XnnStatusToStatus(xnn_run_operator(op_.get(), pool), "xnn_run_operator"));
  const size_t C = shape_.channels, plane = shape_.out_h() * shape_.out_w();
  for (size_t n = 0; n < batch_; ++n) {
    for (const Rescale& r : rescale_) {
      float* y = output_ + (n * plane + r.pixel) * C;
      for (size_t c = 0; c < C; ++c) y[c] *= r.factor;
    }
  }
  return Status::Ok();
}

Status XnnAvgPool2d::Forward(const float* input, float* output, pthreadpool_t pool) {
  RETURN_IF_ERROR(Setup(shape_.batch, input, output, pool));
  return Run(pool);
}

// --- XnnGlobalAvgPool --------------------------------------------------------------------------

StatusOr<XnnGlobalAvgPool> XnnGlobalAvgPool::Create(const GlobalPoolShape& s) {
  RETURN_IF_ERROR(s.Validate().WithContext("XnnGlobalAvgPool"));
  RETURN_IF_ERROR(EnsureXnnpack());
  xnn_operator_t op = nullptr;
  RETURN_IF_ERROR(XnnStatusToStatus(
      xnn_create_global_average_pooling_nwc_f32(s.channels, /*input_stride=*/s.channels,
                                                /*output_stride=*/s.channels, -kInf, kInf,
                                                /*flags=*/0, &op),
      "xnn_create_global_average_pooling_nwc_f32"));
  return XnnGlobalAvgPool(s, XnnOperatorPtr(op));
}

Status XnnGlobalAvgPool::Setup(size_t batch, const float* input, float* output,
                               pthreadpool_t pool) {
  RETURN_IF_ERROR(CheckSetup(op_.get(), batch, input, output, "XnnGlobalAvgPool"));
  is_setup_ = false;
  RETURN_IF_ERROR(XnnStatusToStatus(xnn_setup_global_average_pooling_nwc_f32(
                                        op_.get(), batch, shape_.pixels(), input, output, pool),
                                    "xnn_setup_global_average_pooling_nwc_f32"));
  is_setup_ = true;
  return Status::Ok();
}

Status XnnGlobalAvgPool::Run(pthreadpool_t pool) {
  RETURN_IF_ERROR(CheckRun(op_.get(), is_setup_, "XnnGlobalAvgPool"));
  return XnnStatusToStatus(xnn_run_operator(op_.get(), pool), "xnn_run_operator");
}

Status XnnGlobalAvgPool::Forward(const float* input, float* output, pthreadpool_t pool) {
  RETURN_IF_ERROR(Setup(shape_.batch, input, output, pool));
  return Run(pool);
}

}  // namespace persephonee
