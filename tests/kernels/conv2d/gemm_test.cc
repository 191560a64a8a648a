// The GEMM-based convolution (im2col / col2im around f32_gemm) against the scalar oracle and
// finite differences.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/conv2d/conv2d.h"
#include "tests/kernels/conv2d/conv2d_tester.h"

namespace persephonee {
namespace {

void TestAllPasses(const Conv2dTester& t) {
  SCOPED_TRACE(t.Describe());
  t.TestForward(f32_conv2d_fwd__gemm);
  t.TestBackwardInput(f32_conv2d_bwd_input__gemm);
  t.TestBackwardWeight(f32_conv2d_bwd_weight__gemm);
}

TEST(Conv2dGemmTest, WorkspaceSize) {
  Conv2dShape s;
  s.in_h = s.in_w = 7;
  s.in_c = 6;
  s.out_c = 4;
  EXPECT_EQ(f32_conv2d_gemm_workspace_size(s), 0u) << "pointwise needs no im2col";
  s.kernel_h = s.kernel_w = 3;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  s.groups = 2;
  EXPECT_EQ(f32_conv2d_gemm_workspace_size(s), 7u * 7u * 3u * 3u * 3u * sizeof(float));
  s.stride_h = s.stride_w = 2;
  s.kernel_h = s.kernel_w = 1;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 0;
  EXPECT_EQ(f32_conv2d_gemm_workspace_size(s), 4u * 4u * 3u * sizeof(float));
}

TEST(Conv2dGemmTest, KernelSizes) {
  for (size_t k : {1, 3, 5, 7}) {
    TestAllPasses(
        Conv2dTester().batch(2).input_size(9, 8).channels(5, 7).kernel(k, k).padding(k / 2));
  }
  TestAllPasses(Conv2dTester().input_size(8, 9).channels(3, 4).kernel(1, 5).padding(0, 2, 0, 2));
  TestAllPasses(Conv2dTester().input_size(9, 6).channels(3, 4).kernel(7, 3).padding(3, 1, 3, 1));
}

TEST(Conv2dGemmTest, StridesPaddingDilation) {
  TestAllPasses(
      Conv2dTester().batch(3).input_size(11, 10).channels(4, 6).kernel(3, 3).stride(2, 2).padding(
          1));
  TestAllPasses(Conv2dTester().input_size(10, 11).channels(3, 5).kernel(3, 3).stride(2, 1).padding(
      2, 0, 1, 3));
  TestAllPasses(
      Conv2dTester().batch(2).input_size(12, 9).channels(2, 3).kernel(3, 3).dilation(2, 2).padding(
          2));
  TestAllPasses(Conv2dTester()
                    .input_size(9, 12)
                    .channels(3, 2)
                    .kernel(3, 5)
                    .dilation(2, 1)
                    .stride(1, 2)
                    .padding(0, 1, 3, 0));
  TestAllPasses(Conv2dTester().input_size(8, 8).channels(5, 3).kernel(1, 1).stride(2, 2));
  TestAllPasses(Conv2dTester().input_size(6, 7).channels(5, 3).kernel(1, 1).padding(1, 0, 0, 1));
  TestAllPasses(
      Conv2dTester().batch(2).input_size(7, 7).channels(3, 8).kernel(7, 7).stride(2, 2).padding(
          3));  // ResNet stem, small.
}

TEST(Conv2dGemmTest, PointwiseSkipsIm2col) {
  for (size_t batch : {1, 3}) {
    for (size_t groups : {1, 2}) {
      TestAllPasses(Conv2dTester().batch(batch).input_size(5, 7).channels(6, 10).groups(groups));
      TestAllPasses(
          Conv2dTester().batch(batch).input_size(3, 3).channels(14, 4).groups(groups).bias(false));
    }
  }
}

TEST(Conv2dGemmTest, GroupsAndDepthwise) {
  TestAllPasses(Conv2dTester().input_size(7, 8).channels(6, 9).groups(3).kernel(3, 3).padding(1));
  TestAllPasses(
      Conv2dTester().batch(3).input_size(8, 7).depthwise(7).kernel(3, 3).stride(2, 2).padding(1));
  TestAllPasses(Conv2dTester().input_size(6, 6).depthwise(13).kernel(5, 5).padding(2).bias(false));
}

TEST(Conv2dGemmTest, PrimeChannelCounts) {
  for (size_t c : {1, 2, 3, 5, 7, 11, 13, 17}) {
    TestAllPasses(
        Conv2dTester().input_size(6, 5).channels(c, 18 - c).kernel(3, 3).padding(1).seed(c));
  }
}

TEST(Conv2dGemmTest, RandomShapes) {
  uint32_t seed = 100;
  for (const Conv2dShape& s : RandomShapes(/*seed=*/7, 40)) {
    TestAllPasses(Conv2dTester().shape(s).bias(seed % 3 != 0).seed(seed));
    ++seed;
  }
}

TEST(Conv2dGemmTest, ThreadsAreBitwiseEqual) {
  for (size_t threads : {2, 3}) {
    TestAllPasses(
        Conv2dTester().batch(2).input_size(13, 11).channels(6, 10).kernel(3, 3).padding(1).threads(
            threads));
    TestAllPasses(Conv2dTester().batch(3).input_size(9, 9).channels(8, 6).threads(threads));
    TestAllPasses(Conv2dTester()
                      .input_size(12, 12)
                      .channels(6, 6)
                      .groups(2)
                      .kernel(3, 3)
                      .stride(2, 2)
                      .padding(0, 1, 1, 0)
                      .threads(threads));
  }
}

TEST(Conv2dGemmTest, BackwardMatchesFiniteDifferences) {
  const std::vector<Conv2dTester> cases = {
      Conv2dTester().batch(2).input_size(5, 6).channels(3, 4).kernel(3, 3).padding(1),
      Conv2dTester().batch(3).input_size(4, 3).channels(3, 2),  // Pointwise.
      Conv2dTester().batch(1).input_size(7, 6).channels(2, 3).kernel(3, 3).stride(2, 2).padding(
          0, 1, 2, 0),
      Conv2dTester()
          .batch(2)
          .input_size(6, 6)
          .channels(4, 4)
          .kernel(3, 3)
          .groups(2)
          .dilation(2, 2)
          .padding(2)
          .bias(false),
      Conv2dTester().batch(1).input_size(6, 5).channels(2, 2).kernel(5, 3).padding(2, 1, 2, 1),
  };
  for (const Conv2dTester& t : cases) {
    SCOPED_TRACE(t.Describe());
    t.TestGradients(Conv2dTester::GemmBackward());
  }
}

}  // namespace
}  // namespace persephonee
