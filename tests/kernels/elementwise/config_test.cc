// elementwise_config(): NEON on aarch64, scalar elsewhere, and its kernels agree with the oracle.
#include <gtest/gtest.h>

#include "kernels/elementwise/elementwise.h"
#include "tests/kernels/elementwise/elementwise_tester.h"

namespace persephonee {
namespace {

TEST(ElementwiseConfigTest, ChoosesByArchitecture) {
  const ElementwiseConfig& c = elementwise_config();
#if defined(__aarch64__)
  EXPECT_STREQ(c.name, "neon");
  EXPECT_EQ(c.bias_add_fwd, &f32_bias_add_fwd__neon);
  EXPECT_EQ(c.bias_add_bwd, &f32_bias_add_bwd__neon);
  EXPECT_EQ(c.relu_fwd, &f32_relu_fwd__neon);
  EXPECT_EQ(c.relu_bwd, &f32_relu_bwd__neon);
  EXPECT_EQ(c.relu6_fwd, &f32_relu6_fwd__neon);
  EXPECT_EQ(c.relu6_bwd, &f32_relu6_bwd__neon);
  EXPECT_EQ(c.add_fwd, &f32_add_fwd__neon);
  EXPECT_EQ(c.add_bwd, &f32_add_bwd__neon);
#else
  EXPECT_STREQ(c.name, "scalar");
  EXPECT_EQ(c.bias_add_fwd, &f32_bias_add_fwd__scalar);
  EXPECT_EQ(c.bias_add_bwd, &f32_bias_add_bwd__scalar);
  EXPECT_EQ(c.relu_fwd, &f32_relu_fwd__scalar);
  EXPECT_EQ(c.relu_bwd, &f32_relu_bwd__scalar);
  EXPECT_EQ(c.relu6_fwd, &f32_relu6_fwd__scalar);
  EXPECT_EQ(c.relu6_bwd, &f32_relu6_bwd__scalar);
  EXPECT_EQ(c.add_fwd, &f32_add_fwd__scalar);
  EXPECT_EQ(c.add_bwd, &f32_add_bwd__scalar);
#endif
  EXPECT_EQ(&elementwise_config(), &c);  // Chosen once.
}

TEST(ElementwiseConfigTest, KernelsAgreeWithOracle) {
  const ElementwiseConfig& c = elementwise_config();
  ElementwiseTester t;
  t.n(1031).rows(13).channels(37);
  t.TestBiasAddForward(c.bias_add_fwd);
  t.TestBiasAddBackward(c.bias_add_bwd);
  t.TestUnaryForward(Activation::kRelu, c.relu_fwd);
  t.TestUnaryBackward(Activation::kRelu, c.relu_bwd);
  t.TestUnaryForward(Activation::kRelu6, c.relu6_fwd);
  t.TestUnaryBackward(Activation::kRelu6, c.relu6_bwd);
  t.TestAddForward(c.add_fwd);
  t.TestAddBackward(c.add_bwd);
}

}  // namespace
}  // namespace persephonee
