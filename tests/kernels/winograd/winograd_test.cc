// The Winograd convolution against the direct oracle: the scalar configuration (scalar
// transforms, portable 4x4 micro-kernel) and the configuration chosen for this machine, through
// the whole shape matrix; and the scalar transforms against the definition.
#include "kernels/winograd/winograd.h"

#include <gtest/gtest.h>

#include <cmath>

#include "kernels/gemm/config.h"
#include "tests/kernels/winograd/winograd_tester.h"

namespace persephonee {
namespace {

TEST(WinogradTest, Supports) {
  Conv2dShape s;
  s.in_h = s.in_w = 8;
  s.kernel_h = s.kernel_w = 3;
  EXPECT_TRUE(winograd_supports(s));
  s.stride_h = 2;
  EXPECT_FALSE(winograd_supports(s));
  s.stride_h = 1;
  s.dilation_w = 2;
  EXPECT_FALSE(winograd_supports(s));
  s.dilation_w = 1;
  s.in_c = s.out_c = s.groups = 2;
  EXPECT_FALSE(winograd_supports(s));
  s.groups = 1;
  s.kernel_w = 5;
  EXPECT_FALSE(winograd_supports(s));
}

// A 1-channel 3x3 convolution computed by hand: every output of F(2x2) and F(4x4) on a
// 6x6 ramp with a filter whose taps are distinct powers of two.
TEST(WinogradTest, HandComputed) {
  for (const size_t m : {2, 4}) {
    Conv2dShape s;
    s.in_h = s.in_w = 6;
    s.kernel_h = s.kernel_w = 3;
    float input[36], weight[9];
    for (int i = 0; i < 36; ++i) input[i] = static_cast<float>(i);
    for (int i = 0; i < 9; ++i) weight[i] = std::ldexp(1.0f, i - 4);
    WinogradParams p;
    p.conv = s;
    p.tile = m;
    const WinogradConfig config = winograd_config_scalar();
    std::vector<float> packed(f32_winograd_packed_weights_size(p, config) / sizeof(float));
    std::vector<float> ws(f32_winograd_workspace_size(p, config, 1) / sizeof(float));
    f32_winograd_pack_weights(p, config, weight, packed.data());
    float out[16];
    const float bias = 0.25f;
    f32_winograd_fwd(p, config, packed.data(), &bias, input, out, ws.data(), nullptr);
    for (int oh = 0; oh < 4; ++oh) {
      for (int ow = 0; ow < 4; ++ow) {
        double want = 0.25;
        for (int kh = 0; kh < 3; ++kh) {
          for (int kw = 0; kw < 3; ++kw)
            want += input[(oh + kh) * 6 + ow + kw] * weight[kh * 3 + kw];
        }
        EXPECT_NEAR(out[oh * 4 + ow], want, 1e-4 * std::fabs(want))
            << "m=" << m << " at " << oh << "," << ow;
      }
    }
  }
}

TEST(WinogradTest, ScalarShapes) { TestWinogradShapes(winograd_config_scalar()); }

TEST(WinogradTest, ChosenConfigShapes) {
  const WinogradConfig& config = winograd_config();
  EXPECT_EQ(config.ukernel, gemm_config().ukernel) << "uses the GEMM's micro-kernel";
  EXPECT_EQ(&config, &winograd_config()) << "chosen once";
  TestWinogradShapes(config);
}

}  // namespace
}  // namespace persephonee
