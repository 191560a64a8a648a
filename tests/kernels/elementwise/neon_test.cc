// The NEON elementwise kernels (aarch64 only; under qemu here) against the scalar oracle on every
// size (body, 4-wide and tail paths), in place, and against central differences.
#include <gtest/gtest.h>

#include <cstdint>

#include "kernels/elementwise/elementwise.h"
#include "tests/kernels/elementwise/elementwise_tester.h"

namespace persephonee {
namespace {

const size_t kRows[] = {1, 2, 3, 7, 9, 17};
const size_t kChannels[] = {1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 23, 32, 37, 64};

TEST(ElementwiseNeonTest, BiasAdd) {
  uint32_t seed = 1;
  for (size_t rows : kRows) {
    for (size_t channels : kChannels) {
      ElementwiseTester t;
      t.rows(rows).channels(channels).seed(seed++);
      t.TestBiasAddForward(f32_bias_add_fwd__neon);
      t.TestBiasAddBackward(f32_bias_add_bwd__neon);
    }
  }
  // Many rows: several 8-row blocks and a partial one.
  ElementwiseTester().rows(1003).channels(19).TestBiasAddBackward(f32_bias_add_bwd__neon);
}

TEST(ElementwiseNeonTest, Relu) {
  uint32_t seed = 100;
  for (size_t n : ElementwiseTestSizes()) {
    ElementwiseTester t;
    t.n(n).seed(seed++);
    t.TestUnaryForward(Activation::kRelu, f32_relu_fwd__neon);
    t.TestUnaryBackward(Activation::kRelu, f32_relu_bwd__neon);
    t.TestUnaryForward(Activation::kRelu6, f32_relu6_fwd__neon);
    t.TestUnaryBackward(Activation::kRelu6, f32_relu6_bwd__neon);
  }
}

TEST(ElementwiseNeonTest, Add) {
  uint32_t seed = 200;
  for (size_t n : ElementwiseTestSizes()) {
    ElementwiseTester t;
    t.n(n).seed(seed++);
    t.TestAddForward(f32_add_fwd__neon);
    t.TestAddBackward(f32_add_bwd__neon);
  }
}

TEST(ElementwiseNeonTest, SpecialValues) {
  ElementwiseTester::TestSpecialValues(Activation::kRelu, f32_relu_fwd__neon, f32_relu_bwd__neon);
  ElementwiseTester::TestSpecialValues(Activation::kRelu6, f32_relu6_fwd__neon,
                                       f32_relu6_bwd__neon);
}

TEST(ElementwiseNeonTest, Gradients) {
  uint32_t seed = 300;
  for (size_t n : ElementwiseTestSizes()) {
    ElementwiseTester t;
    t.n(n).seed(seed++);
    t.TestReluGradients(Activation::kRelu, f32_relu_fwd__neon, f32_relu_bwd__neon);
    t.TestReluGradients(Activation::kRelu6, f32_relu6_fwd__neon, f32_relu6_bwd__neon);
    t.TestAddGradients(f32_add_bwd__neon);
  }
  for (size_t rows : {1, 9, 200}) {
    for (size_t channels : {1, 3, 4, 16, 17, 64}) {
      ElementwiseTester().rows(rows).channels(channels).seed(seed++).TestBiasAddGradients(
          f32_bias_add_bwd__neon);
    }
  }
}

}  // namespace
}  // namespace persephonee
