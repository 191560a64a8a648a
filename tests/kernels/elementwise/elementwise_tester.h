// ElementwiseTester: a fluent tester for the elementwise kernels (XNNPACK's VUnaryMicrokernel-
// Tester is the model). Set the size (n for flat kernels, rows x channels for the bias), whether
// to run in place, then
//   Test{BiasAdd,Unary,Add}{Forward,Backward}(fn)   against the scalar oracle;
//   Test{BiasAdd,Relu,Add}Gradients(...)           a backward against central differences, in
//                                                  double precision, of L = Σ w · f(inputs);
//                                                  ReLU/ReLU6 sample points stay at least 0.05
//                                                  away from the kinks at 0 and 6 (step 1e-3);
//   TestSpecialValues(fwd, bwd)                     NaN, ±0, ±inf and the kinks themselves.
// Outputs carry guard elements past their end, which must be left untouched, and start as NaN,
// so an element never written fails. Comparisons allow max(1e-5, 1e-6·S)·max(1, sqrt(L)/4), S the
// sum of the magnitudes of the L terms; failures print the index and Describe().
#ifndef PERSEPHONEE_TESTS_KERNELS_ELEMENTWISE_ELEMENTWISE_TESTER_H_
#define PERSEPHONEE_TESTS_KERNELS_ELEMENTWISE_ELEMENTWISE_TESTER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/elementwise/elementwise.h"

namespace persephonee {

/// Which activation a unary test is about.
enum class Activation { kRelu, kRelu6 };

class ElementwiseTester {
 public:
  /// Element count of the flat kernels.
  ElementwiseTester& n(size_t v) {
    n_ = v;
    return *this;
  }
  /// Bias add: rows x channels.
  ElementwiseTester& rows(size_t v) {
    rows_ = v;
    return *this;
  }
  ElementwiseTester& channels(size_t v) {
    channels_ = v;
    return *this;
  }
  ElementwiseTester& seed(uint32_t v) {
    seed_ = v;
    return *this;
  }

  /// Out of place and in place (output == input).
  void TestBiasAddForward(BiasAddFwdFn fwd) const;
  void TestBiasAddBackward(BiasAddBwdFn bwd) const;
  /// `fwd` against the scalar kernel of `activation`, out of place and in place; inputs include
  /// values exactly at the kinks and beyond 6.
  void TestUnaryForward(Activation activation, UnaryFwdFn fwd) const;
  /// `bwd` against the scalar kernel, on outputs that include the kinks exactly; out of place
  /// and in place (grad_input == grad_output).
  void TestUnaryBackward(Activation activation, UnaryBwdFn bwd) const;
  /// Out of place, output == a, output == b.
  void TestAddForward(AddFwdFn fwd) const;
  /// Copy and accumulate, with each of grad_a / grad_b null in turn.
  void TestAddBackward(AddBwdFn bwd) const;

  void TestBiasAddGradients(BiasAddBwdFn bwd) const;
  void TestReluGradients(Activation activation, UnaryFwdFn fwd, UnaryBwdFn bwd) const;
  /// Both modes; accumulate must add the finite differences to what the buffers held.
  void TestAddGradients(AddBwdFn bwd) const;

  /// NaN propagates through the forward and gets gradient 0; -inf -> 0; +inf -> +inf or 6;
  /// gradient 0 at the kinks (y == 0, and y == 6 for ReLU6), grad_output just inside them.
  static void TestSpecialValues(Activation activation, UnaryFwdFn fwd, UnaryBwdFn bwd);

  /// "n=.." or "rows=.. channels=..".
  std::string Describe() const;

 private:
  size_t n_ = 1;
  size_t rows_ = 1;
  size_t channels_ = 1;
  uint32_t seed_ = 1;
};

/// Flat sizes below, at and above 4 and 16 floats, primes, and a few long ones.
std::vector<size_t> ElementwiseTestSizes();

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_ELEMENTWISE_ELEMENTWISE_TESTER_H_
