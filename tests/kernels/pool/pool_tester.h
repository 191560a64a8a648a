// PoolTester and GlobalPoolTester: fluent testers for the pool kernels (XNNPACK's
// MaxPoolingOperatorTester is the model). Set the shape, then
//   TestMaxForward(fwd) / TestAvgForward(fwd)     against the scalar oracle, on continuous
//                                                  inputs, on inputs full of ties, and on all-
//                                                  negative inputs (padding must not act as 0);
//                                                  the argmax must match exactly.
//   TestMaxBackward(bwd) / TestAvgBackward(bwd)   against the scalar oracle.
//   TestXnnMaxForward() / TestXnnAvgForward()     the XNNPACK operators against the oracle, on the
//                                                  shape's batch and on batch + 2 (re-Setup).
//   TestMaxGradients(fwd, bwd) / TestAvgGradients(bwd)
//                                                  a backward against central finite differences,
//                                                  in double precision, of L = Σ w · pool(x) with
//                                                  an independent double-precision forward; max-
//                                                  pool inputs are distinct and at least 1e-2
//                                                  apart, so no step (h = 1e-3) crosses a tie.
//   TestReferenceForward()                         the scalar oracle itself against that double-
//                                                  precision forward (values and argmax).
// Outputs carry guard elements past their end, which must be left untouched. Comparisons allow
// max(1e-5, 1e-6·S)·max(1, sqrt(L)/4), S the magnitude (the same pooling of |x|), L the taps.
// Failures print the element's coordinates and Describe().
#ifndef PERSEPHONEE_TESTS_KERNELS_POOL_POOL_TESTER_H_
#define PERSEPHONEE_TESTS_KERNELS_POOL_POOL_TESTER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/pool/pool.h"

namespace persephonee {

class PoolTester {
 public:
  PoolTester& batch(size_t v) {
    s_.batch = v;
    return *this;
  }
  PoolTester& input_size(size_t h, size_t w) {
    s_.in_h = h;
    s_.in_w = w;
    return *this;
  }
  PoolTester& channels(size_t v) {
    s_.channels = v;
    return *this;
  }
  PoolTester& kernel(size_t h, size_t w) {
    s_.kernel_h = h;
    s_.kernel_w = w;
    return *this;
  }
  PoolTester& stride(size_t h, size_t w) {
    s_.stride_h = h;
    s_.stride_w = w;
    return *this;
  }
  PoolTester& padding(size_t top, size_t left, size_t bottom, size_t right) {
    s_.pad_top = top;
    s_.pad_left = left;
    s_.pad_bottom = bottom;
    s_.pad_right = right;
    return *this;
  }
  PoolTester& padding(size_t p) { return padding(p, p, p, p); }
  PoolTester& count_include_pad(bool v) {
    s_.count_include_pad = v;
    return *this;
  }
  PoolTester& shape(const Pool2dShape& s) {
    s_ = s;
    return *this;
  }
  PoolTester& seed(uint32_t v) {
    seed_ = v;
    return *this;
  }
  const Pool2dShape& shape() const { return s_; }

  void TestMaxForward(MaxPoolFwdFn fwd) const;
  void TestMaxBackward(MaxPoolBwdFn bwd) const;
  void TestAvgForward(AvgPoolFwdFn fwd) const;
  void TestAvgBackward(AvgPoolBwdFn bwd) const;
  void TestXnnMaxForward() const;
  void TestXnnAvgForward() const;
  void TestMaxGradients(MaxPoolFwdFn fwd, MaxPoolBwdFn bwd) const;
  void TestAvgGradients(AvgPoolBwdFn bwd) const;
  void TestReferenceForward() const;

  /// "batch=.. in=HxWxC kernel=.. stride=.. pad=t,l,b,r include_pad=.. out=HxW".
  std::string Describe() const;

 private:
  Pool2dShape s_;
  uint32_t seed_ = 1;
};

class GlobalPoolTester {
 public:
  GlobalPoolTester& batch(size_t v) {
    s_.batch = v;
    return *this;
  }
  GlobalPoolTester& input_size(size_t h, size_t w) {
    s_.in_h = h;
    s_.in_w = w;
    return *this;
  }
  GlobalPoolTester& channels(size_t v) {
    s_.channels = v;
    return *this;
  }
  GlobalPoolTester& seed(uint32_t v) {
    seed_ = v;
    return *this;
  }
  const GlobalPoolShape& shape() const { return s_; }

  /// Against the scalar oracle.
  void TestForward(GlobalAvgPoolFwdFn fwd) const;
  void TestBackward(GlobalAvgPoolBwdFn bwd) const;
  /// XnnGlobalAvgPool against the oracle, on batch and batch + 2.
  void TestXnnForward() const;
  /// A forward against a double-precision mean; a backward against central differences.
  void TestReferenceForward(GlobalAvgPoolFwdFn fwd) const;
  void TestGradients(GlobalAvgPoolBwdFn bwd) const;

  std::string Describe() const;

 private:
  GlobalPoolShape s_;
  uint32_t seed_ = 1;
};

/// The shapes every implementation is swept over: channels below, at and above the vector
/// widths (4, 8, 16) and primes; kernels 2x2, 3x3 and 2x3; strides 1 and 2; no padding,
/// symmetric padding and asymmetric padding; batch 1 and 3; both average-pool divisors; plus
/// corner cases (stride larger than the kernel, a window as large as the input, 1x1 windows,
/// one-row inputs, ResNet-18's 3x3/2 pad 1 on a small plane).
std::vector<Pool2dShape> PoolTestShapes();
/// A smaller sweep for the finite-difference tests (each input element costs two forwards).
std::vector<Pool2dShape> PoolGradientShapes();
/// Global pooling shapes: 1x1, 2x3, 7x7 (ResNet-18, MobileNetV2) and 5x4 planes, the same
/// channel counts, batch 1 and 3.
std::vector<GlobalPoolShape> GlobalPoolTestShapes();

/// Compares got[i] with expected[i] within max(1e-5, 1e-6·magnitude[i])·max(1, sqrt(terms)/4);
/// fails the current test naming `what`, the first mismatches (coordinates from `coords`:
/// "n,h,w,c" for an NHWC tensor of `h` x `w` x `c`) and `describe`.
void ExpectClose(const std::string& what, const std::vector<float>& got,
                 const std::vector<double>& expected, const std::vector<double>& magnitude,
                 double terms, size_t h, size_t w, size_t c, const std::string& describe);

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_POOL_POOL_TESTER_H_
