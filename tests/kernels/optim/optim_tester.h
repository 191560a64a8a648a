// OptimTester: a fluent tester for the optimiser kernels. Set the element count, the number of
// steps, the first step's number, the gradient and weight ranges, then TestSgd / TestAdam run
// the implementation step by step beside the scalar oracle and the double-precision reference
// (optim_reference.h), comparing weights and state after every step, and check the contract:
// on step 1 the state is written, never read (it starts as NaN); nothing past the arrays is
// written; results do not depend on where an array is split between calls (bit for bit).
#ifndef PERSEPHONEE_TESTS_KERNELS_OPTIM_OPTIM_TESTER_H_
#define PERSEPHONEE_TESTS_KERNELS_OPTIM_OPTIM_TESTER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/optim/optim.h"

namespace persephonee {

class OptimTester {
 public:
  OptimTester& n(size_t v) {
    n_ = v;
    return *this;
  }
  OptimTester& steps(int64_t v) {
    steps_ = v;
    return *this;
  }
  /// The first step's number. Above 1, the state starts from random values (as if earlier
  /// steps had run) and the bias corrections of late steps are exercised.
  OptimTester& start_step(int64_t v) {
    start_step_ = v;
    return *this;
  }
  /// Gradients are uniform in [-v, v].
  OptimTester& grad_scale(float v) {
    grad_scale_ = v;
    return *this;
  }
  OptimTester& seed(uint32_t v) {
    seed_ = v;
    return *this;
  }

  void TestSgd(SgdFn fn, const SgdParams& params) const;
  void TestAdam(AdamFn fn, const AdamParams& params) const;

  /// "n=.. steps=.. start=.. grad_scale=.. seed=..".
  std::string Describe() const;

 private:
  size_t n_ = 1;
  int64_t steps_ = 3;
  int64_t start_step_ = 1;
  float grad_scale_ = 1.0f;
  uint32_t seed_ = 1;
};

/// "lr=.. momentum=.. dampening=.. wd=.. nesterov=..", for messages.
std::string Describe(const SgdParams& p);
/// "lr=.. beta1=.. beta2=.. eps=.. wd=..".
std::string Describe(const AdamParams& p);

/// The element counts every implementation is tested on: 1, 3, 4, 5, 7, 8, 15, 16, 17, 31,
/// 100, 1000.
const std::vector<size_t>& OptimTestSizes();

/// Every size with several SGD and Adam configurations (momentum, dampening, Nesterov, weight
/// decay; Adam's betas, eps, small gradients, late steps).
void TestOptimSizes(const OptimConfig& impl);

/// Exact properties: lr = 0 leaves the weights' bits alone; with eps = 0 Adam's update is
/// invariant (bit for bit) under scaling the gradients by a power of two.
void TestOptimProperties(const OptimConfig& impl);

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_OPTIM_OPTIM_TESTER_H_
