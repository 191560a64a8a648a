// Checker: collects elementwise comparison failures for one test case and reports the first
// few with the case, the quantity, its indices, both values and the tolerance (so a broken
// kernel prints a handful of precise lines, not thousands). NaN never passes.
#ifndef PERSEPHONEE_TESTS_KERNELS_LOSS_CHECK_H_
#define PERSEPHONEE_TESTS_KERNELS_LOSS_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace persephonee {

class Checker {
 public:
  /// `context` describes the case (shape, parameters, seed); it heads every failure.
  explicit Checker(std::string context) : context_(std::move(context)) {}
  ~Checker();
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  /// |actual − expected| <= tol (and neither is NaN).
  void Near(const char* what, size_t i, size_t j, double actual, double expected, double tol);
  /// actual == expected (as values: +0 equals -0).
  void Exact(const char* what, size_t i, size_t j, float actual, float expected);
  void ExactInt(const char* what, size_t i, size_t j, int64_t actual, int64_t expected);
  /// A condition on the whole case.
  void True(bool condition, const std::string& what);

  size_t failures() const { return failures_; }

 private:
  void Fail(const std::string& message);

  std::string context_;
  size_t failures_ = 0;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_LOSS_CHECK_H_
