// The elementwise implementation this machine uses, chosen once from cpuinfo: NEON on aarch64
// when cpuinfo confirms it, the scalar loops otherwise (including when cpuinfo cannot read the
// CPU).
#include <cpuinfo.h>

#include "kernels/cpu.h"
#include "kernels/elementwise/elementwise.h"

namespace persephonee {
namespace {

ElementwiseConfig ChooseConfig() {
  ElementwiseConfig c;
  c.name = "scalar";
  c.bias_add_fwd = f32_bias_add_fwd__scalar;
  c.bias_add_bwd = f32_bias_add_bwd__scalar;
  c.relu_fwd = f32_relu_fwd__scalar;
  c.relu_bwd = f32_relu_bwd__scalar;
  c.relu6_fwd = f32_relu6_fwd__scalar;
  c.relu6_bwd = f32_relu6_bwd__scalar;
  c.add_fwd = f32_add_fwd__scalar;
  c.add_bwd = f32_add_bwd__scalar;
#if defined(__aarch64__)
  if (EnsureCpuinfo().ok() && cpuinfo_has_arm_neon()) {
    c.name = "neon";
    c.bias_add_fwd = f32_bias_add_fwd__neon;
    c.bias_add_bwd = f32_bias_add_bwd__neon;
    c.relu_fwd = f32_relu_fwd__neon;
    c.relu_bwd = f32_relu_bwd__neon;
    c.relu6_fwd = f32_relu6_fwd__neon;
    c.relu6_bwd = f32_relu6_bwd__neon;
    c.add_fwd = f32_add_fwd__neon;
    c.add_bwd = f32_add_bwd__neon;
  }
#endif
  return c;
}

}  // namespace

const ElementwiseConfig& elementwise_config() {
  static const ElementwiseConfig config = ChooseConfig();
  return config;
}

}  // namespace persephonee
