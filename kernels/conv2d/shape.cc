// Conv2dShape: derived sizes and the validation every API boundary runs before a kernel.
#include <cstddef>

#include "kernels/conv2d/conv2d.h"

namespace persephonee {
namespace {

// Tensors larger than this many elements (8 GiB of floats) are refused, which also keeps every
// index computation far from size_t overflow.
constexpr double kMaxElements = 2147483648.0;

}  // namespace

bool Conv2dShape::is_pointwise() const {
  return kernel_h == 1 && kernel_w == 1 && stride_h == 1 && stride_w == 1 && pad_top == 0 &&
         pad_left == 0 && pad_bottom == 0 && pad_right == 0;
}

double Conv2dShape::macs() const {
  return static_cast<double>(batch) * out_h() * out_w() * out_c * kernel_h * kernel_w *
         group_in_c();
}

Status Conv2dShape::Validate() const {
  ENSURE(batch > 0, "conv2d: batch must be positive");
  ENSURE(in_h > 0 && in_w > 0, "conv2d: input height and width must be positive, got ", in_h, "x",
         in_w);
  ENSURE(in_c > 0, "conv2d: in_c must be positive");
  ENSURE(out_c > 0, "conv2d: out_c must be positive");
  ENSURE(kernel_h > 0 && kernel_w > 0, "conv2d: kernel must be positive, got ", kernel_h, "x",
         kernel_w);
  ENSURE(stride_h > 0 && stride_w > 0, "conv2d: stride must be positive, got ", stride_h, "x",
         stride_w);
  ENSURE(dilation_h > 0 && dilation_w > 0, "conv2d: dilation must be positive, got ", dilation_h,
         "x", dilation_w);
  ENSURE(groups > 0, "conv2d: groups must be positive");
  ENSURE(in_c % groups == 0, "conv2d: in_c ", in_c, " is not divisible by groups ", groups);
  ENSURE(out_c % groups == 0, "conv2d: out_c ", out_c, " is not divisible by groups ", groups);
  const double dims[] = {static_cast<double>(in_h),       static_cast<double>(in_w),
                         static_cast<double>(kernel_h),   static_cast<double>(kernel_w),
                         static_cast<double>(dilation_h), static_cast<double>(dilation_w),
                         static_cast<double>(pad_top),    static_cast<double>(pad_bottom),
                         static_cast<double>(pad_left),   static_cast<double>(pad_right),
                         static_cast<double>(stride_h),   static_cast<double>(stride_w)};
  for (double d : dims) ENSURE(d < 1048576.0, "conv2d: a spatial size, pad or stride >= 2^20");
  ENSURE(in_h + pad_top + pad_bottom >= effective_kernel_h(), "conv2d: kernel height ", kernel_h,
         " (dilation ", dilation_h, ") does not fit input height ", in_h, " + padding ", pad_top,
         "+", pad_bottom);
  ENSURE(in_w + pad_left + pad_right >= effective_kernel_w(), "conv2d: kernel width ", kernel_w,
         " (dilation ", dilation_w, ") does not fit input width ", in_w, " + padding ", pad_left,
         "+", pad_right);
  const double in_elems = static_cast<double>(batch) * in_h * in_w * in_c;
  const double out_elems = static_cast<double>(batch) * out_h() * out_w() * out_c;
  const double w_elems = static_cast<double>(out_c) * kernel_h * kernel_w * group_in_c();
  const double col_elems =
      static_cast<double>(out_h()) * out_w() * kernel_h * kernel_w * group_in_c();
  ENSURE(in_elems <= kMaxElements, "conv2d: input has too many elements (", in_elems, ")");
  ENSURE(out_elems <= kMaxElements, "conv2d: output has too many elements (", out_elems, ")");
  ENSURE(w_elems <= kMaxElements, "conv2d: weight has too many elements (", w_elems, ")");
  ENSURE(col_elems <= kMaxElements, "conv2d: im2col buffer would be too large (", col_elems,
         " elements)");
  return Status::Ok();
}

Status Conv2dShape::ValidateDepthwise() const {
  RETURN_IF_ERROR(Validate());
  ENSURE(is_depthwise(), "dwconv2d: needs groups == in_c == out_c, got groups ", groups, ", in_c ",
         in_c, ", out_c ", out_c);
  return Status::Ok();
}

}  // namespace persephonee
