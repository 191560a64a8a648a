// LossTester: a fluent tester for the loss kernels (XNNPACK's microkernel testers are the
// model). Set the batch, classes, temperature, logit range, weights and targets, then
// Test*(fn) runs the implementation and compares every output with the scalar oracle and with
// the double-precision reference (loss_reference.h), within tolerances derived from how float
// error enters each quantity, and checks the contract: zero-weight rows write zeros and read
// no label or target, null outputs leave the returned sum bit-identical, softmax rows sum to 1.
// TestXentGradient / TestKlDivGradient compare the kernel's gradient with central finite
// differences of the double-precision loss. Failures name the case and the element.
#ifndef PERSEPHONEE_TESTS_KERNELS_LOSS_LOSS_TESTER_H_
#define PERSEPHONEE_TESTS_KERNELS_LOSS_LOSS_TESTER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/loss/loss.h"

namespace persephonee {

/// Per-sample weights a test passes.
enum class WeightMode {
  kNone,     ///< nullptr.
  kOnes,     ///< All 1 (must equal kNone).
  kMixed,    ///< Values in (0, 2] with every third sample 0 (the first one is never 0).
  kAllZero,  ///< All 0: nothing contributes.
};

/// Distillation targets a test passes.
enum class TargetMode {
  kTeacher,  ///< softmax(teacher / T) of random teacher logits, rounded to float.
  kOneHot,   ///< A one-hot row: all but one target exactly 0.
  kSparse,   ///< Random probabilities with about half the classes exactly 0.
  kScaled,   ///< kTeacher times 0.7: rows that do not sum to 1 (the gradient must use Σ q).
};

class LossTester {
 public:
  LossTester& batch(size_t v) {
    batch_ = v;
    return *this;
  }
  LossTester& classes(size_t v) {
    classes_ = v;
    return *this;
  }
  LossTester& temperature(float v) {
    temperature_ = v;
    return *this;
  }
  /// Logits are uniform in [-v, v].
  LossTester& logit_scale(float v) {
    logit_scale_ = v;
    return *this;
  }
  LossTester& weights(WeightMode v) {
    weights_ = v;
    return *this;
  }
  LossTester& targets(TargetMode v) {
    targets_ = v;
    return *this;
  }
  LossTester& grad_scale(float v) {
    grad_scale_ = v;
    return *this;
  }
  LossTester& seed(uint32_t v) {
    seed_ = v;
    return *this;
  }
  /// The allowance for sums that lose accuracy with the number of terms, see
  /// loss_reference::Growth (the default); 1 holds an implementation to compensated sums.
  LossTester& growth(double v) {
    growth_ = v;
    return *this;
  }

  void TestSoftmax(SoftmaxFn fn) const;
  void TestXent(SoftmaxXentFn fn) const;
  void TestKlDiv(SoftmaxKlDivFn fn) const;
  void TestConfidence(SoftmaxConfidenceFn fn) const;
  void TestXentGradient(SoftmaxXentFn fn) const;
  void TestKlDivGradient(SoftmaxKlDivFn fn) const;

  /// "batch=.. classes=.. T=.. scale=.. weights=.. targets=.. gs=.. seed=..".
  std::string Describe() const;

 private:
  struct Data {
    std::vector<float> logits;
    std::vector<int32_t> labels;
    std::vector<float> weights;  // Empty for WeightMode::kNone.
    std::vector<float> targets;
    const float* weight_ptr() const { return weights.empty() ? nullptr : weights.data(); }
  };
  Data Make() const;
  double growth() const;

  size_t batch_ = 1;
  size_t classes_ = 1;
  float temperature_ = 1.0f;
  float logit_scale_ = 4.0f;
  WeightMode weights_ = WeightMode::kNone;
  TargetMode targets_ = TargetMode::kTeacher;
  float grad_scale_ = 1.0f;
  uint32_t seed_ = 1;
  double growth_ = 0.0;  // 0: loss_reference::Growth(classes).
};

/// The class counts every implementation is tested on: 1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 100,
/// 1000 (below, at and above the 4- and 8-wide blocks, primes, and real head sizes).
const std::vector<size_t>& LossTestClasses();

/// Runs each function of `impl` through the size matrix (every class count above, batch 1, 3
/// and 7, several temperatures, weights and targets) against the oracle and the reference.
/// `growth` as LossTester::growth (0: the default).
void TestLossSizes(const LossConfig& impl, double growth = 0.0);
/// Finite-difference checks of both gradients: T in {0.5, 1, 2, 4, 10}, weights with zeros.
void TestLossGradients(const LossConfig& impl);
/// Logits of magnitude 1e4 (and 3e4 apart): finite outputs, rows summing to 1, accurate.
void TestLossExtremes(const LossConfig& impl);
/// Exact properties: one-hot distillation at T = 1 equals cross-entropy; a student equal to
/// its teacher has zero loss and gradient; ties give the first argmax; uniform logits give
/// 1/C and log C; one class gives probability 1 and loss 0; the gradient scales linearly.
void TestLossProperties(const LossConfig& impl);

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_LOSS_LOSS_TESTER_H_
