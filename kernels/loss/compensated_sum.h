// The Kahan-compensated sum of the loss kernels (internal to kernels/loss).
//
// scalar.cc uses it for every sum over classes and over the batch, neon.cc for the batch
// total, and threaded.cc to add the per-sample losses of a tiled batch: one definition, so the
// threaded total is the same operations in the same order as the kernels' own and keeps their
// bits.
#ifndef PERSEPHONEE_KERNELS_LOSS_COMPENSATED_SUM_H_
#define PERSEPHONEE_KERNELS_LOSS_COMPENSATED_SUM_H_

namespace persephonee {
namespace loss_internal {

/// Kahan-compensated sum: the rounding error of each addition is carried into the next, so the
/// error does not grow with the number of terms.
class CompensatedSum {
 public:
  /// Adds `x` to the sum.
  void Add(float x) {
    const float y = x - carry_;
    const float t = sum_ + y;
    carry_ = (t - sum_) - y;
    sum_ = t;
  }
  /// The sum of every value added so far (0 when none was).
  float value() const { return sum_; }

 private:
  float sum_ = 0.0f;
  float carry_ = 0.0f;
};

}  // namespace loss_internal
}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_LOSS_COMPENSATED_SUM_H_
