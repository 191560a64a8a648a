// Depthwise: weight packing, the scalar kernels against the general oracle and finite
// differences, and the configuration's choice.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/conv2d/conv2d.h"
#include "tests/kernels/conv2d/conv2d_tester.h"

namespace persephonee {
namespace {

void TestAllPasses(const Conv2dTester& t, const Dwconv2dKernels& k) {
  SCOPED_TRACE(t.Describe());
  t.TestDwForward(k.fwd);
  t.TestDwBackwardInput(k.bwd_input);
  t.TestDwBackwardWeight(k.bwd_weight);
}

const Dwconv2dKernels kScalar{f32_dwconv2d_fwd__scalar, f32_dwconv2d_bwd_input__scalar,
                              f32_dwconv2d_bwd_weight__scalar};

TEST(DwconvPackTest, PacksOhwiToHwcAndBack) {
  const size_t channels = 3, kh = 2, kw = 3;
  std::vector<float> ohwi(channels * kh * kw);
  for (size_t i = 0; i < ohwi.size(); ++i) ohwi[i] = static_cast<float>(i);
  std::vector<float> hwc(ohwi.size(), -1.0f), back(ohwi.size(), -1.0f);
  f32_dwconv2d_pack_weights(channels, kh, kw, ohwi.data(), hwc.data());
  for (size_t c = 0; c < channels; ++c) {
    for (size_t t = 0; t < kh * kw; ++t) {
      EXPECT_EQ(hwc[t * channels + c], ohwi[c * kh * kw + t]) << "channel " << c << " tap " << t;
    }
  }
  f32_dwconv2d_unpack_weights(channels, kh, kw, hwc.data(), back.data());
  EXPECT_EQ(back, ohwi);
}

TEST(DwconvScalarTest, KernelsStridesPadding) {
  for (size_t k : {1, 3, 5, 7}) {
    for (size_t stride : {1, 2}) {
      TestAllPasses(Conv2dTester()
                        .batch(2)
                        .input_size(9, 10)
                        .depthwise(5)
                        .kernel(k, k)
                        .stride(stride, stride)
                        .padding(k / 2),
                    kScalar);
    }
  }
  TestAllPasses(Conv2dTester().input_size(9, 8).depthwise(4).kernel(3, 3).padding(2, 0, 1, 2),
                kScalar);
  TestAllPasses(Conv2dTester()
                    .batch(3)
                    .input_size(10, 9)
                    .depthwise(3)
                    .kernel(3, 3)
                    .dilation(2, 2)
                    .padding(2)
                    .bias(false),
                kScalar);
  TestAllPasses(Conv2dTester()
                    .input_size(11, 7)
                    .depthwise(6)
                    .kernel(3, 5)
                    .stride(2, 1)
                    .dilation(1, 2)
                    .padding(1, 3, 0, 4),
                kScalar);
}

TEST(DwconvScalarTest, ChannelCounts) {
  for (size_t c : {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 33}) {
    TestAllPasses(Conv2dTester().input_size(6, 7).depthwise(c).kernel(3, 3).padding(1).seed(c),
                  kScalar);
  }
}

TEST(DwconvScalarTest, RandomShapes) {
  uint32_t seed = 1;
  for (size_t stride : {1, 2}) {
    for (const Conv2dShape& s : RandomDw3x3Shapes(/*seed=*/11 + stride, 12, stride)) {
      TestAllPasses(Conv2dTester().shape(s).bias(seed % 2 == 0).seed(seed), kScalar);
      ++seed;
    }
  }
}

TEST(DwconvScalarTest, ThreadsAreBitwiseEqual) {
  for (size_t threads : {2, 3}) {
    TestAllPasses(
        Conv2dTester().batch(2).input_size(12, 13).depthwise(37).kernel(3, 3).padding(1).threads(
            threads),
        kScalar);
  }
}

TEST(DwconvScalarTest, BackwardMatchesFiniteDifferences) {
  const std::vector<Conv2dTester> cases = {
      Conv2dTester().batch(2).input_size(5, 6).depthwise(3).kernel(3, 3).padding(1),
      Conv2dTester().batch(1).input_size(7, 6).depthwise(5).kernel(3, 3).stride(2, 2).padding(1, 0,
                                                                                              2, 1),
      Conv2dTester()
          .batch(1)
          .input_size(6, 6)
          .depthwise(2)
          .kernel(5, 5)
          .dilation(2, 1)
          .padding(2)
          .bias(false),
  };
  for (const Conv2dTester& t : cases) {
    SCOPED_TRACE(t.Describe());
    t.TestGradients(Conv2dTester::DwBackward(kScalar));
  }
}

TEST(Conv2dConfigTest, ChoosesGemmAndTheDepthwiseIsa) {
  const Conv2dConfig& c = conv2d_config();
  EXPECT_EQ(&c, &conv2d_config()) << "chosen once";
  EXPECT_EQ(std::string(c.conv_name), "gemm");
  EXPECT_EQ(c.fwd, &f32_conv2d_fwd__gemm);
  EXPECT_EQ(c.bwd_input, &f32_conv2d_bwd_input__gemm);
  EXPECT_EQ(c.bwd_weight, &f32_conv2d_bwd_weight__gemm);
  EXPECT_EQ(c.dw_any.fwd, &f32_dwconv2d_fwd__scalar);
#if defined(__aarch64__)
  EXPECT_EQ(std::string(c.dwconv_name), "neon");
  EXPECT_EQ(c.dw_3x3s1.fwd, &f32_dwconv2d_fwd_3x3s1__neon);
  EXPECT_EQ(c.dw_3x3s1.bwd_input, &f32_dwconv2d_bwd_input_3x3s1__neon);
  EXPECT_EQ(c.dw_3x3s1.bwd_weight, &f32_dwconv2d_bwd_weight_3x3s1__neon);
  EXPECT_EQ(c.dw_3x3s2.fwd, &f32_dwconv2d_fwd_3x3s2__neon);
  EXPECT_EQ(c.dw_3x3s2.bwd_input, &f32_dwconv2d_bwd_input_3x3s2__neon);
  EXPECT_EQ(c.dw_3x3s2.bwd_weight, &f32_dwconv2d_bwd_weight_3x3s2__neon);
#else
  EXPECT_EQ(std::string(c.dwconv_name), "scalar");
  EXPECT_EQ(c.dw_3x3s1.fwd, &f32_dwconv2d_fwd__scalar);
  EXPECT_EQ(c.dw_3x3s2.fwd, &f32_dwconv2d_fwd__scalar);
#endif
}

TEST(Conv2dConfigTest, RoutesDepthwiseShapes) {
  const Conv2dConfig& c = conv2d_config();
  Conv2dShape s;
  s.in_h = s.in_w = 8;
  s.in_c = s.out_c = s.groups = 4;
  s.kernel_h = s.kernel_w = 3;
  EXPECT_EQ(&dwconv2d_kernels_for(s), &c.dw_3x3s1);
  s.stride_h = s.stride_w = 2;
  EXPECT_EQ(&dwconv2d_kernels_for(s), &c.dw_3x3s2);
  s.stride_w = 1;
  EXPECT_EQ(&dwconv2d_kernels_for(s), &c.dw_any);
  s.stride_w = 2;
  s.dilation_h = 2;
  EXPECT_EQ(&dwconv2d_kernels_for(s), &c.dw_any);
  s.dilation_h = 1;
  s.kernel_w = 5;
  EXPECT_EQ(&dwconv2d_kernels_for(s), &c.dw_any);
  // What the configuration picks computes the right thing.
  for (size_t stride : {1, 2}) {
    const Conv2dTester t = Conv2dTester()
                               .batch(2)
                               .input_size(9, 10)
                               .depthwise(11)
                               .kernel(3, 3)
                               .stride(stride, stride)
                               .padding(1);
    TestAllPasses(t, dwconv2d_kernels_for(t.shape()));
  }
}

}  // namespace
}  // namespace persephonee
