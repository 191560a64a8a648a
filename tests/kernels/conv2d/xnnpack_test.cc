// XnnConv2d: XNNPACK's convolution operator against the scalar oracle, fused clamps, depthwise
// as groups, and its errors as Status.
#include "kernels/conv2d/xnnpack.h"

#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "tests/kernels/conv2d/conv2d_tester.h"

namespace persephonee {
namespace {

TEST(XnnConv2dTest, MatchesOracle) {
  for (size_t k : {1, 3, 5, 7}) {
    Conv2dTester()
        .batch(2)
        .input_size(9, 8)
        .channels(5, 7)
        .kernel(k, k)
        .padding(k / 2)
        .TestXnnForward(ConvActivation::kNone);
  }
  Conv2dTester()
      .batch(3)
      .input_size(11, 10)
      .channels(4, 6)
      .kernel(3, 3)
      .stride(2, 2)
      .padding(0, 1, 2, 1)
      .TestXnnForward(ConvActivation::kNone);
  Conv2dTester()
      .input_size(12, 9)
      .channels(2, 3)
      .kernel(3, 3)
      .dilation(2, 2)
      .padding(2)
      .bias(false)
      .TestXnnForward(ConvActivation::kNone);
  Conv2dTester().input_size(7, 8).channels(6, 9).groups(3).kernel(3, 3).padding(1).TestXnnForward(
      ConvActivation::kNone);
  Conv2dTester().batch(2).input_size(5, 7).channels(13, 11).TestXnnForward(ConvActivation::kNone);
}

TEST(XnnConv2dTest, DepthwiseAsGroups) {
  for (size_t c : {1, 3, 4, 5, 8, 13, 17}) {
    for (size_t stride : {1, 2}) {
      Conv2dTester()
          .batch(stride)
          .input_size(9, 10)
          .depthwise(c)
          .kernel(3, 3)
          .stride(stride, stride)
          .padding(1)
          .seed(c)
          .TestXnnForward(ConvActivation::kNone);
    }
  }
  Conv2dTester()
      .input_size(9, 9)
      .depthwise(7)
      .kernel(5, 5)
      .padding(2, 1, 2, 3)
      .TestXnnForward(ConvActivation::kRelu6);
}

TEST(XnnConv2dTest, FusedReluAndRelu6) {
  for (ConvActivation a : {ConvActivation::kRelu, ConvActivation::kRelu6}) {
    Conv2dTester()
        .batch(2)
        .input_size(8, 8)
        .channels(8, 12)
        .kernel(3, 3)
        .padding(1)
        .threads(2)
        .TestXnnForward(a);
    Conv2dTester().input_size(6, 6).channels(16, 24).TestXnnForward(a);
  }
}

TEST(XnnConv2dTest, RandomShapes) {
  uint32_t seed = 50;
  for (const Conv2dShape& s : RandomShapes(/*seed=*/3, 16)) {
    Conv2dTester()
        .shape(s)
        .bias(seed % 2 == 0)
        .seed(seed)
        .TestXnnForward(seed % 3 == 0 ? ConvActivation::kRelu : ConvActivation::kNone);
    ++seed;
  }
}

Conv2dShape SmallShape() {
  Conv2dShape s;
  s.in_h = s.in_w = 4;
  s.in_c = 2;
  s.out_c = 3;
  s.kernel_h = s.kernel_w = 3;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  return s;
}

TEST(XnnConv2dTest, RefusesBadArguments) {
  const std::vector<float> w(SmallShape().weight_size(), 0.5f);
  Conv2dShape bad = SmallShape();
  bad.groups = 2;  // 3 output channels.
  StatusOr<XnnConv2d> c = XnnConv2d::Create(bad, w.data(), nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("XnnConv2d"), std::string::npos) << c.status().ToString();

  c = XnnConv2d::Create(SmallShape(), nullptr, nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);

  c = XnnConv2d::Create(SmallShape(), w.data(), nullptr, 6.0f, 6.0f);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("output_min"), std::string::npos) << c.status().ToString();

  c = XnnConv2d::Create(SmallShape(), w.data(), nullptr, NAN, 1.0f);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("NaN"), std::string::npos) << c.status().ToString();
}

TEST(XnnConv2dTest, RunNeedsSetupAndMovedFromIsRefused) {
  const Conv2dShape s = SmallShape();
  const std::vector<float> w(s.weight_size(), 0.25f), x(s.input_size(), 1.0f);
  std::vector<float> y(s.output_size(), NAN);
  StatusOr<XnnConv2d> c = XnnConv2d::Create(s, w.data(), nullptr, ConvActivation::kNone);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Run(nullptr).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(c->Setup(0, x.data(), y.data(), nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->Setup(1, nullptr, y.data(), nullptr).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(c->Forward(x.data(), y.data(), nullptr).ok());
  // Centre pixel (1,1) sees all 9 taps of both channels: 18 · 0.25.
  EXPECT_FLOAT_EQ(y[(1 * 4 + 1) * 3 + 0], 4.5f);
  // Corner pixel sees 4 taps: 8 · 0.25.
  EXPECT_FLOAT_EQ(y[0], 2.0f);

  XnnConv2d moved = std::move(*c);
  EXPECT_EQ(c->Run(nullptr).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(c->Setup(1, x.data(), y.data(), nullptr).code(), StatusCode::kFailedPrecondition);
  std::fill(y.begin(), y.end(), NAN);
  ASSERT_TRUE(moved.Forward(x.data(), y.data(), nullptr).ok());
  EXPECT_FLOAT_EQ(y[0], 2.0f);
}

}  // namespace
}  // namespace persephonee
