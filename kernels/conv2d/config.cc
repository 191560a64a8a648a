// The convolution implementations this machine uses, chosen once from cpuinfo.
//
// The general convolution always runs on f32_gemm (which picks its own micro-kernels). The 3x3
// depthwise cases use NEON on aarch64 when cpuinfo confirms NEON with FMA, and the scalar loops
// otherwise; every other depthwise shape uses the scalar loops.
#include <cpuinfo.h>

#include "kernels/conv2d/conv2d.h"
#include "kernels/cpu.h"

namespace persephonee {
namespace {

Conv2dConfig ChooseConfig() {
  Conv2dConfig c;
  c.conv_name = "gemm";
  c.fwd = f32_conv2d_fwd__gemm;
  c.bwd_input = f32_conv2d_bwd_input__gemm;
  c.bwd_weight = f32_conv2d_bwd_weight__gemm;
  const Dwconv2dKernels scalar{f32_dwconv2d_fwd__scalar, f32_dwconv2d_bwd_input__scalar,
                               f32_dwconv2d_bwd_weight__scalar};
  c.dwconv_name = "scalar";
  c.dw_3x3s1 = scalar;
  c.dw_3x3s2 = scalar;
  c.dw_any = scalar;
#if defined(__aarch64__)
  if (EnsureCpuinfo().ok() && cpuinfo_has_arm_neon_fma()) {
    c.dwconv_name = "neon";
    c.dw_3x3s1 = Dwconv2dKernels{f32_dwconv2d_fwd_3x3s1__neon, f32_dwconv2d_bwd_input_3x3s1__neon,
                                 f32_dwconv2d_bwd_weight_3x3s1__neon};
    c.dw_3x3s2 = Dwconv2dKernels{f32_dwconv2d_fwd_3x3s2__neon, f32_dwconv2d_bwd_input_3x3s2__neon,
                                 f32_dwconv2d_bwd_weight_3x3s2__neon};
  }
#endif
  return c;
}

}  // namespace

const Conv2dConfig& conv2d_config() {
  static const Conv2dConfig config = ChooseConfig();
  return config;
}

const Dwconv2dKernels& dwconv2d_kernels_for(const Conv2dShape& s) {
  const Conv2dConfig& c = conv2d_config();
  const bool k3 = s.kernel_h == 3 && s.kernel_w == 3 && s.dilation_h == 1 && s.dilation_w == 1;
  if (k3 && s.stride_h == 1 && s.stride_w == 1) return c.dw_3x3s1;
  if (k3 && s.stride_h == 2 && s.stride_w == 2) return c.dw_3x3s2;
  return c.dw_any;
}

}  // namespace persephonee
