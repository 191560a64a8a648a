// The NEON depthwise 3x3 kernels (aarch64; run under qemu) against the oracle and finite
// differences: every channel count around the 4-wide vector and the 8-channel task tile, widths
// around the 4-output inner loop, all paddings 0..2 (asymmetric too), batch 1 and odd batches.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/conv2d/conv2d.h"
#include "tests/kernels/conv2d/conv2d_tester.h"

namespace persephonee {
namespace {

const Dwconv2dKernels kNeon[2] = {
    {f32_dwconv2d_fwd_3x3s1__neon, f32_dwconv2d_bwd_input_3x3s1__neon,
     f32_dwconv2d_bwd_weight_3x3s1__neon},
    {f32_dwconv2d_fwd_3x3s2__neon, f32_dwconv2d_bwd_input_3x3s2__neon,
     f32_dwconv2d_bwd_weight_3x3s2__neon},
};

void TestAllPasses(const Conv2dTester& t) {
  SCOPED_TRACE(t.Describe());
  const Dwconv2dKernels& k = kNeon[t.shape().stride_h - 1];
  t.TestDwForward(k.fwd);
  t.TestDwBackwardInput(k.bwd_input);
  t.TestDwBackwardWeight(k.bwd_weight);
}

class DwconvNeonTest : public testing::TestWithParam<size_t> {};  // The stride.

TEST_P(DwconvNeonTest, ChannelCounts) {
  const size_t s = GetParam();
  for (size_t c : {1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 16, 17, 20, 23}) {
    TestAllPasses(Conv2dTester()
                      .batch(1)
                      .input_size(7, 9)
                      .depthwise(c)
                      .kernel(3, 3)
                      .stride(s, s)
                      .padding(1)
                      .seed(c));
  }
}

TEST_P(DwconvNeonTest, Widths) {
  const size_t s = GetParam();
  for (size_t w = 1; w <= 14; ++w) {
    TestAllPasses(Conv2dTester()
                      .batch(1)
                      .input_size(5, w)
                      .depthwise(5)
                      .kernel(3, 3)
                      .stride(s, s)
                      .padding(1)
                      .seed(w));
  }
}

TEST_P(DwconvNeonTest, Paddings) {
  const size_t s = GetParam();
  const size_t pads[][4] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {0, 1, 2, 1}, {2, 0, 1, 2},
                            {1, 2, 0, 0}, {0, 0, 1, 1}, {2, 1, 0, 2}, {3, 3, 3, 3}, {3, 0, 1, 3}};
  for (const auto& p : pads) {
    TestAllPasses(Conv2dTester()
                      .batch(3)
                      .input_size(8, 11)
                      .depthwise(6)
                      .kernel(3, 3)
                      .stride(s, s)
                      .padding(p[0], p[1], p[2], p[3])
                      .seed(p[0] * 16 + p[1] * 4 + p[2]));
  }
}

TEST_P(DwconvNeonTest, TinyImages) {
  const size_t s = GetParam();
  for (size_t h : {1, 2, 3}) {
    for (size_t w : {1, 2, 3}) {
      TestAllPasses(
          Conv2dTester().input_size(h, w).depthwise(9).kernel(3, 3).stride(s, s).padding(1).bias(
              false));
    }
  }
}

TEST_P(DwconvNeonTest, RandomShapes) {
  const size_t s = GetParam();
  uint32_t seed = 1;
  for (const Conv2dShape& shape : RandomDw3x3Shapes(/*seed=*/23 + s, 16, s)) {
    TestAllPasses(Conv2dTester().shape(shape).bias(seed % 2 == 1).seed(seed));
    ++seed;
  }
}

TEST_P(DwconvNeonTest, ThreadsAreBitwiseEqual) {
  const size_t s = GetParam();
  TestAllPasses(Conv2dTester()
                    .batch(2)
                    .input_size(10, 12)
                    .depthwise(21)
                    .kernel(3, 3)
                    .stride(s, s)
                    .padding(1)
                    .threads(3));
}

TEST_P(DwconvNeonTest, BackwardMatchesFiniteDifferences) {
  const size_t s = GetParam();
  const std::vector<Conv2dTester> cases = {
      Conv2dTester().batch(2).input_size(5, 9).depthwise(5).kernel(3, 3).stride(s, s).padding(1),
      Conv2dTester()
          .batch(1)
          .input_size(6, 7)
          .depthwise(9)
          .kernel(3, 3)
          .stride(s, s)
          .padding(0, 2, 1, 0)
          .bias(false),
  };
  for (const Conv2dTester& t : cases) {
    SCOPED_TRACE(t.Describe());
    t.TestGradients(Conv2dTester::DwBackward(kNeon[s - 1]));
  }
}

INSTANTIATE_TEST_SUITE_P(Strides, DwconvNeonTest, testing::Values(1, 2),
                         [](const testing::TestParamInfo<size_t>& info) {
                           return "stride" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace persephonee
