// Conv2dTester: a fluent tester for convolution implementations (XNNPACK's ConvolutionOperator-
// Tester is the model). Set the shape, then
//   Test{Forward,BackwardInput,BackwardWeight}(fn)      GEMM-signature kernels vs the oracle,
//   TestDw{Forward,BackwardInput,BackwardWeight}(fn)    depthwise kernels (HWC weights) vs the
//                                                       general oracle run with groups = channels,
//   TestXnnForward(activation)                          XnnConv2d vs the oracle (clamped),
//   TestGradients(backward)                             a backward against central finite
//                                                       differences of a double-precision forward.
// Every comparison allows max(1e-5, 1e-6·S)·max(1, sqrt(L)/4), with S the sum of the absolute
// values of the L terms that make the element (computed by running the oracle on |inputs|), and
// prints the element's coordinates and the shape on failure. With threads(n > 1), kernels that
// take a pool are also run on n threads and must give bitwise the same result as on none.
#ifndef PERSEPHONEE_TESTS_KERNELS_CONV2D_CONV2D_TESTER_H_
#define PERSEPHONEE_TESTS_KERNELS_CONV2D_CONV2D_TESTER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/conv2d/conv2d.h"
#include "kernels/conv2d/xnnpack.h"

namespace persephonee {

class Conv2dTester {
 public:
  /// Computes grad_input, grad_weight (OHWI) and grad_bias of a convolution for the tester's
  /// shape; a null output pointer means "not wanted".
  using Backward = std::function<void(const Conv2dShape& shape, const float* input,
                                      const float* weight, const float* grad_output,
                                      float* grad_input, float* grad_weight, float* grad_bias)>;

  Conv2dTester& batch(size_t v) {
    s_.batch = v;
    return *this;
  }
  Conv2dTester& input_size(size_t h, size_t w) {
    s_.in_h = h;
    s_.in_w = w;
    return *this;
  }
  Conv2dTester& channels(size_t in, size_t out) {
    s_.in_c = in;
    s_.out_c = out;
    return *this;
  }
  /// groups = in_c = out_c = c.
  Conv2dTester& depthwise(size_t c) {
    s_.in_c = s_.out_c = s_.groups = c;
    return *this;
  }
  Conv2dTester& kernel(size_t h, size_t w) {
    s_.kernel_h = h;
    s_.kernel_w = w;
    return *this;
  }
  Conv2dTester& stride(size_t h, size_t w) {
    s_.stride_h = h;
    s_.stride_w = w;
    return *this;
  }
  Conv2dTester& dilation(size_t h, size_t w) {
    s_.dilation_h = h;
    s_.dilation_w = w;
    return *this;
  }
  Conv2dTester& padding(size_t top, size_t left, size_t bottom, size_t right) {
    s_.pad_top = top;
    s_.pad_left = left;
    s_.pad_bottom = bottom;
    s_.pad_right = right;
    return *this;
  }
  Conv2dTester& padding(size_t p) { return padding(p, p, p, p); }
  Conv2dTester& groups(size_t v) {
    s_.groups = v;
    return *this;
  }
  Conv2dTester& shape(const Conv2dShape& s) {
    s_ = s;
    return *this;
  }
  Conv2dTester& bias(bool v) {
    bias_ = v;
    return *this;
  }
  Conv2dTester& threads(size_t v) {
    threads_ = v;
    return *this;
  }
  Conv2dTester& seed(uint32_t v) {
    seed_ = v;
    return *this;
  }
  const Conv2dShape& shape() const { return s_; }

  /// GEMM-signature implementations (workspace of f32_conv2d_gemm_workspace_size bytes).
  void TestForward(Conv2dFwdFn fwd) const;
  void TestBackwardInput(Conv2dBwdInputFn bwd_input) const;
  void TestBackwardWeight(Conv2dBwdWeightFn bwd_weight) const;

  /// Depthwise implementations; the shape must be depthwise.
  void TestDwForward(Dwconv2dFwdFn fwd) const;
  void TestDwBackwardInput(Dwconv2dBwdInputFn bwd_input) const;
  void TestDwBackwardWeight(Dwconv2dBwdWeightFn bwd_weight) const;

  /// XnnConv2d with the output range of `activation`, on the shape's batch and on batch + 2.
  void TestXnnForward(ConvActivation activation) const;

  /// Checks every element of grad_input, grad_weight and grad_bias computed by `backward`
  /// against central differences, in double precision, of L = Σ grad_output · conv(x, w, b).
  void TestGradients(const Backward& backward) const;

  /// Backward through the scalar oracle, the GEMM-based kernels, or depthwise kernels (the
  /// weights are packed to HWC and the weight gradient unpacked to OHWI around them).
  static Backward ScalarBackward();
  static Backward GemmBackward();
  static Backward DwBackward(const Dwconv2dKernels& kernels);

  /// "batch=.. in=HxWxC out=HxWxC kernel=.. stride=.. dilation=.. pad=t,l,b,r groups=..".
  std::string Describe() const;

 private:
  struct Data {
    std::vector<float> input, weight, bias, grad_output;
  };
  Data Make() const;
  const float* BiasOrNull(const Data& d) const { return bias_ ? d.bias.data() : nullptr; }

  Conv2dShape s_;
  bool bias_ = true;
  size_t threads_ = 1;
  uint32_t seed_ = 1;
};

/// Element-wise comparison of `got` with `expected` under the tolerance above; `magnitude[i]` is
/// S for element i, `terms` is L. `index_name(i)` spells out element i's coordinates. Fails the
/// current test with the first few mismatches, naming `what` and `shape`.
void ExpectAllNear(const std::vector<float>& got, const std::vector<double>& expected,
                   const std::vector<float>& magnitude, size_t terms,
                   const std::function<std::string(size_t)>& index_name, const std::string& what,
                   const std::string& shape);

/// Randomized valid shapes (fixed seed): kernels 1/3/5/7, strides 1/2, dilation 1/2, asymmetric
/// padding, groups (incl. depthwise), prime channel counts, batch 1..3; spatial sizes stay small.
std::vector<Conv2dShape> RandomShapes(uint32_t seed, size_t count);

/// Randomized depthwise 3x3 shapes with stride `stride` (padding 0..2 on each side, asymmetric).
std::vector<Conv2dShape> RandomDw3x3Shapes(uint32_t seed, size_t count, size_t stride);

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_CONV2D_CONV2D_TESTER_H_
