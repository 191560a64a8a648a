// Pool2dShape and GlobalPoolShape validation, run at every API boundary before a pool kernel.
#include <cstddef>
#include <cstdint>

#include "kernels/pool/pool.h"

namespace persephonee {
namespace {

// Tensors larger than this many elements (8 GiB of floats) are refused, which also keeps every
// index computation far from size_t overflow.
constexpr double kMaxElements = 2147483648.0;

}  // namespace

Status Pool2dShape::Validate() const {
  ENSURE(batch > 0, "pool2d: batch must be positive");
  ENSURE(in_h > 0 && in_w > 0, "pool2d: input height and width must be positive, got ", in_h, "x",
         in_w);
  ENSURE(channels > 0, "pool2d: channels must be positive");
  ENSURE(kernel_h > 0 && kernel_w > 0, "pool2d: kernel must be positive, got ", kernel_h, "x",
         kernel_w);
  ENSURE(stride_h > 0 && stride_w > 0, "pool2d: stride must be positive, got ", stride_h, "x",
         stride_w);
  const size_t dims[] = {in_h,     in_w,    kernel_h, kernel_w,   stride_h,
                         stride_w, pad_top, pad_left, pad_bottom, pad_right};
  for (size_t d : dims) ENSURE(d < (size_t{1} << 20), "pool2d: a size, pad or stride >= 2^20");
  ENSURE(static_cast<double>(in_h) * in_w <= static_cast<double>(INT32_MAX), "pool2d: input plane ",
         in_h, "x", in_w, " has too many pixels for int32 argmax indices");
  ENSURE(in_h + pad_top + pad_bottom >= kernel_h, "pool2d: kernel height ", kernel_h,
         " does not fit input height ", in_h, " + padding ", pad_top, "+", pad_bottom);
  ENSURE(in_w + pad_left + pad_right >= kernel_w, "pool2d: kernel width ", kernel_w,
         " does not fit input width ", in_w, " + padding ", pad_left, "+", pad_right);
  // Every window must hold an input element. With pad_top < kernel_h the first window ends at
  // row kernel_h - 1 - pad_top >= 0; with pad_bottom < kernel_h the last one starts at
  // (out_h - 1) * stride_h - pad_top <= in_h + pad_bottom - kernel_h < in_h; the windows between
  // either start inside the input or reach past its first row. The same holds for columns.
  ENSURE(pad_top < kernel_h && pad_bottom < kernel_h, "pool2d: padding ", pad_top, "+", pad_bottom,
         " must be smaller than the kernel height ", kernel_h);
  ENSURE(pad_left < kernel_w && pad_right < kernel_w, "pool2d: padding ", pad_left, "+", pad_right,
         " must be smaller than the kernel width ", kernel_w);
  const double in_elems = static_cast<double>(batch) * in_h * in_w * channels;
  const double out_elems = static_cast<double>(batch) * out_h() * out_w() * channels;
  ENSURE(in_elems <= kMaxElements, "pool2d: input has too many elements (", in_elems, ")");
  ENSURE(out_elems <= kMaxElements, "pool2d: output has too many elements (", out_elems, ")");
  return Status::Ok();
}

Status GlobalPoolShape::Validate() const {
  ENSURE(batch > 0, "global_pool: batch must be positive");
  ENSURE(in_h > 0 && in_w > 0, "global_pool: input height and width must be positive, got ", in_h,
         "x", in_w);
  ENSURE(channels > 0, "global_pool: channels must be positive");
  const double in_elems = static_cast<double>(batch) * in_h * in_w * channels;
  ENSURE(in_elems <= kMaxElements, "global_pool: input has too many elements (", in_elems, ")");
  return Status::Ok();
}

}  // namespace persephonee
