// The scalar elementwise oracle: special values and every backward against central differences.
#include <gtest/gtest.h>

#include <cstdint>

#include "kernels/elementwise/elementwise.h"
#include "tests/kernels/elementwise/elementwise_tester.h"

namespace persephonee {
namespace {

TEST(ElementwiseScalarTest, SpecialValues) {
  ElementwiseTester::TestSpecialValues(Activation::kRelu, f32_relu_fwd__scalar,
                                       f32_relu_bwd__scalar);
  ElementwiseTester::TestSpecialValues(Activation::kRelu6, f32_relu6_fwd__scalar,
                                       f32_relu6_bwd__scalar);
}

TEST(ElementwiseScalarTest, InPlaceAndAliasing) {
  uint32_t seed = 1;
  for (size_t n : {size_t{1}, size_t{17}, size_t{100}}) {
    ElementwiseTester t;
    t.n(n).rows(3).channels(n).seed(seed++);
    t.TestBiasAddForward(f32_bias_add_fwd__scalar);
    t.TestUnaryForward(Activation::kRelu, f32_relu_fwd__scalar);
    t.TestUnaryForward(Activation::kRelu6, f32_relu6_fwd__scalar);
    t.TestUnaryBackward(Activation::kRelu, f32_relu_bwd__scalar);
    t.TestUnaryBackward(Activation::kRelu6, f32_relu6_bwd__scalar);
    t.TestAddForward(f32_add_fwd__scalar);
    t.TestAddBackward(f32_add_bwd__scalar);
  }
}

TEST(ElementwiseScalarTest, ReluGradients) {
  uint32_t seed = 100;
  for (size_t n : ElementwiseTestSizes()) {
    ElementwiseTester().n(n).seed(seed++).TestReluGradients(Activation::kRelu, f32_relu_fwd__scalar,
                                                            f32_relu_bwd__scalar);
    ElementwiseTester().n(n).seed(seed++).TestReluGradients(
        Activation::kRelu6, f32_relu6_fwd__scalar, f32_relu6_bwd__scalar);
  }
}

TEST(ElementwiseScalarTest, AddGradients) {
  uint32_t seed = 200;
  for (size_t n : ElementwiseTestSizes()) {
    ElementwiseTester().n(n).seed(seed++).TestAddGradients(f32_add_bwd__scalar);
  }
}

TEST(ElementwiseScalarTest, BiasAddGradients) {
  uint32_t seed = 300;
  for (size_t rows : {1, 2, 9, 200}) {
    for (size_t channels : {1, 3, 4, 16, 17, 64}) {
      ElementwiseTester().rows(rows).channels(channels).seed(seed++).TestBiasAddGradients(
          f32_bias_add_bwd__scalar);
    }
  }
}

}  // namespace
}  // namespace persephonee
