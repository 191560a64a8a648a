// The oracle itself: shape arithmetic and validation, hand-computed cases, and its backward
// passes against finite differences.
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "kernels/conv2d/conv2d.h"
#include "tests/kernels/conv2d/conv2d_tester.h"

namespace persephonee {
namespace {

// Runs `f` with its gtest failures intercepted; returns how many mention `text`.
size_t InterceptedFailures(const std::function<void()>& f, const std::string& text) {
  testing::TestPartResultArray results;
  {
    testing::ScopedFakeTestPartResultReporter reporter(
        testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    f();
  }
  size_t count = 0;
  for (int i = 0; i < results.size(); ++i) {
    const testing::TestPartResult& r = results.GetTestPartResult(i);
    if (r.failed() && std::string(r.message()).find(text) != std::string::npos) ++count;
  }
  return count;
}

Conv2dShape Shape(size_t in_h, size_t in_w, size_t in_c, size_t out_c, size_t k, size_t stride,
                  size_t pad) {
  Conv2dShape s;
  s.in_h = in_h;
  s.in_w = in_w;
  s.in_c = in_c;
  s.out_c = out_c;
  s.kernel_h = s.kernel_w = k;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
  return s;
}

TEST(Conv2dShapeTest, OutputSizes) {
  EXPECT_EQ(Shape(224, 224, 3, 32, 3, 2, 1).out_h(), 112u);  // MobileNetV2 stem.
  EXPECT_EQ(Shape(224, 224, 3, 64, 7, 2, 3).out_w(), 112u);  // ResNet-18 stem.
  EXPECT_EQ(Shape(56, 56, 64, 64, 3, 1, 1).out_h(), 56u);
  EXPECT_EQ(Shape(7, 7, 8, 8, 1, 1, 0).out_h(), 7u);
  Conv2dShape s = Shape(10, 9, 4, 4, 3, 2, 0);
  s.pad_top = 2;
  s.pad_bottom = 0;
  s.pad_left = 0;
  s.pad_right = 1;
  s.dilation_h = 2;
  EXPECT_EQ(s.effective_kernel_h(), 5u);
  EXPECT_EQ(s.out_h(), (10u + 2u - 5u) / 2u + 1u);
  EXPECT_EQ(s.out_w(), (9u + 1u - 3u) / 2u + 1u);
  EXPECT_TRUE(Shape(7, 7, 8, 8, 1, 1, 0).is_pointwise());
  EXPECT_FALSE(Shape(7, 7, 8, 8, 1, 2, 0).is_pointwise());
  EXPECT_FALSE(Shape(7, 7, 8, 8, 1, 1, 1).is_pointwise());
  EXPECT_DOUBLE_EQ(Shape(4, 4, 2, 3, 3, 1, 1).macs(), 4.0 * 4 * 3 * 9 * 2);
}

TEST(Conv2dShapeTest, ValidateNamesTheFieldAtFault) {
  struct Case {
    Conv2dShape shape;
    const char* expected;
  };
  std::vector<Case> cases;
  const Conv2dShape ok = Shape(8, 8, 6, 4, 3, 1, 1);
  ASSERT_TRUE(ok.Validate().ok()) << ok.Validate().ToString();
  Conv2dShape s = ok;
  s.batch = 0;
  cases.push_back({s, "batch"});
  s = ok;
  s.in_w = 0;
  cases.push_back({s, "height and width"});
  s = ok;
  s.in_c = 0;
  cases.push_back({s, "in_c"});
  s = ok;
  s.out_c = 0;
  cases.push_back({s, "out_c"});
  s = ok;
  s.kernel_h = 0;
  cases.push_back({s, "kernel"});
  s = ok;
  s.stride_w = 0;
  cases.push_back({s, "stride"});
  s = ok;
  s.dilation_h = 0;
  cases.push_back({s, "dilation"});
  s = ok;
  s.groups = 0;
  cases.push_back({s, "groups"});
  s = ok;
  s.groups = 4;  // 6 input channels.
  cases.push_back({s, "in_c 6 is not divisible by groups 4"});
  s = ok;
  s.groups = 3;  // 4 output channels.
  cases.push_back({s, "out_c 4 is not divisible by groups 3"});
  s = ok;
  s.kernel_h = 11;  // 8 + 1 + 1 < 11.
  cases.push_back({s, "kernel height 11"});
  s = ok;
  s.dilation_w = 5;  // Effective width 11.
  cases.push_back({s, "kernel width 3 (dilation 5)"});
  s = ok;
  s.in_h = s.in_w = 1 << 15;
  s.batch = 64;
  cases.push_back({s, "too many elements"});
  for (const Case& c : cases) {
    const Status status = c.shape.Validate();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.expected;
    EXPECT_NE(status.message().find(c.expected), std::string::npos)
        << "message '" << status.message() << "' should contain '" << c.expected << "'";
  }
  EXPECT_TRUE(ok.ValidateDepthwise().code() == StatusCode::kInvalidArgument);
  Conv2dShape dw = Shape(8, 8, 6, 6, 3, 1, 1);
  dw.groups = 6;
  EXPECT_TRUE(dw.ValidateDepthwise().ok()) << dw.ValidateDepthwise().ToString();
  EXPECT_TRUE(dw.is_depthwise());
}

// 3x3 image 1..9, 2x2 kernel of ones: each output is the sum of a 2x2 window.
TEST(Conv2dScalarTest, HandComputedSmallCase) {
  Conv2dShape s = Shape(3, 3, 1, 1, 2, 1, 0);
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<float> w = {1, 1, 1, 1};
  const float bias = 0.5f;
  std::vector<float> y(4);
  f32_conv2d_fwd__scalar(s, x.data(), w.data(), &bias, y.data());
  EXPECT_EQ(y, (std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f}));

  const std::vector<float> go = {1, 1, 1, 1};
  std::vector<float> gx(9);
  f32_conv2d_bwd_input__scalar(s, go.data(), w.data(), gx.data());
  EXPECT_EQ(gx, (std::vector<float>{1, 2, 1, 2, 4, 2, 1, 2, 1}));  // Windows covering a pixel.
  std::vector<float> gw(4);
  float gb = -1.0f;
  f32_conv2d_bwd_weight__scalar(s, x.data(), go.data(), gw.data(), &gb);
  EXPECT_EQ(gw, (std::vector<float>{12, 16, 24, 28}));
  EXPECT_EQ(gb, 4.0f);
}

// Two groups, padding on the top and left only: output channel 0 sees input channel 0 through
// filter 0, output channel 1 sees input channel 1 through filter 1.
TEST(Conv2dScalarTest, HandComputedGroupsAsymmetricPadding) {
  Conv2dShape s = Shape(2, 2, 2, 2, 2, 1, 0);
  s.groups = 2;
  s.pad_top = s.pad_left = 1;
  ASSERT_TRUE(s.Validate().ok());
  ASSERT_EQ(s.out_h(), 2u);
  ASSERT_EQ(s.out_w(), 2u);
  // x[h][w][c]: channel 0 = 1,2,3,4; channel 1 = 10,20,30,40.
  const std::vector<float> x = {1, 10, 2, 20, 3, 30, 4, 40};
  // weight[o][kh][kw][0]: o=0 -> 1,2,3,4; o=1 -> -1,0,0,1.
  const std::vector<float> w = {1, 2, 3, 4, -1, 0, 0, 1};
  std::vector<float> y(8);
  f32_conv2d_fwd__scalar(s, x.data(), w.data(), nullptr, y.data());
  // y(oh, ow) reads x[oh - 1 + kh][ow - 1 + kw]:
  //   (0,0): x00·w11          (0,1): x00·w10 + x01·w11
  //   (1,0): x00·w01 + x10·w11   (1,1): all four taps.
  const std::vector<float> expected = {4,      10,     3 + 8,          0 + 20,
                                       2 + 12, 0 + 30, 1 + 4 + 9 + 16, -10 + 40};
  EXPECT_EQ(y, expected);
}

TEST(Conv2dScalarTest, BackwardMatchesFiniteDifferences) {
  const std::vector<Conv2dTester> cases = {
      Conv2dTester().batch(2).input_size(5, 6).channels(3, 4).kernel(3, 3).padding(1),
      Conv2dTester().batch(1).input_size(4, 4).channels(2, 3).kernel(1, 1).bias(false),
      Conv2dTester().batch(3).input_size(7, 6).channels(2, 2).kernel(3, 3).stride(2, 2),
      Conv2dTester().batch(1).input_size(6, 7).channels(4, 6).kernel(3, 2).groups(2).padding(2, 0,
                                                                                             1, 1),
      Conv2dTester().batch(2).input_size(7, 7).channels(1, 2).kernel(3, 3).dilation(2, 2).padding(
          1, 2, 0, 1),
      Conv2dTester().batch(1).input_size(6, 5).depthwise(5).kernel(5, 5).padding(2).stride(2, 1),
      Conv2dTester().batch(1).input_size(7, 7).channels(2, 1).kernel(7, 7).padding(3),
  };
  for (const Conv2dTester& t : cases) {
    SCOPED_TRACE(t.Describe());
    t.TestGradients(Conv2dTester::ScalarBackward());
  }
}

// The finite-difference check must catch a backward that is only slightly wrong.
TEST(Conv2dScalarTest, FiniteDifferenceCheckCatchesAWrongBackward) {
  const Conv2dTester t =
      Conv2dTester().batch(1).input_size(4, 5).channels(2, 3).kernel(3, 3).padding(1);
  const Conv2dTester::Backward drops_last_image_row = [](const Conv2dShape& s, const float* x,
                                                         const float* w, const float* go, float* gx,
                                                         float* gw, float* gb) {
    Conv2dTester::ScalarBackward()(s, x, w, go, gx, gw, gb);
    for (size_t i = (s.in_h - 1) * s.in_w * s.in_c; i < s.input_size(); ++i) gx[i] = 0.0f;
  };
  EXPECT_GE(InterceptedFailures([&] { t.TestGradients(drops_last_image_row); },
                                "grad_input vs finite differences at [n=0 h=3"),
            1u);
  const Conv2dTester::Backward bias_off_by_one_percent = [](const Conv2dShape& s, const float* x,
                                                            const float* w, const float* go,
                                                            float* gx, float* gw, float* gb) {
    Conv2dTester::ScalarBackward()(s, x, w, go, gx, gw, gb);
    gb[1] *= 1.01f;
  };
  EXPECT_EQ(InterceptedFailures([&] { t.TestGradients(bias_off_by_one_percent); },
                                "grad_bias vs finite differences at [o=1]"),
            1u);
  // And the correct backward passes the same check.
  EXPECT_EQ(InterceptedFailures([&] { t.TestGradients(Conv2dTester::ScalarBackward()); }, ""), 0u);
}

}  // namespace
}  // namespace persephonee
