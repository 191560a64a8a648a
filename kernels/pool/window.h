// Window arithmetic shared by the pool implementations (internal to kernels/pool).
#ifndef PERSEPHONEE_KERNELS_POOL_WINDOW_H_
#define PERSEPHONEE_KERNELS_POOL_WINDOW_H_

#include <algorithm>
#include <cstddef>

namespace persephonee {
namespace pool_internal {

/// The input rows [begin, end) read by output row `o` of a window `kernel` tall moving by
/// `stride` over `in` rows with `pad` rows of padding before them (the same for columns).
struct Range {
  size_t begin;
  size_t end;
};

inline Range WindowInputs(size_t o, size_t stride, size_t pad, size_t kernel, size_t in) {
  const size_t start = o * stride;  // In padded coordinates.
  const size_t begin = start > pad ? start - pad : 0;
  const size_t end = std::min(start + kernel - pad, in);  // start + kernel > pad by Validate().
  return Range{begin, end};
}

/// The output rows [begin, end) whose windows contain input row `i` (empty when the stride
/// skips it), for `out` output rows.
inline Range CoveringOutputs(size_t i, size_t stride, size_t pad, size_t kernel, size_t out) {
  const size_t a = i + pad;  // In padded coordinates.
  const size_t begin = a >= kernel ? (a - kernel) / stride + 1 : 0;
  const size_t end = std::min(a / stride + 1, out);
  return Range{begin, std::max(begin, end)};
}

/// The average-pool divisor of a window whose inputs are `rows` x `cols`.
inline float AvgDivisor(bool count_include_pad, size_t kernel_h, size_t kernel_w, Range rows,
                        Range cols) {
  return count_include_pad ? static_cast<float>(kernel_h * kernel_w)
                           : static_cast<float>((rows.end - rows.begin) * (cols.end - cols.begin));
}

}  // namespace pool_internal
}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_POOL_WINDOW_H_
