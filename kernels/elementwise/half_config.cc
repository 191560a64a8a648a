// The float16 conversion this machine uses, chosen once from cpuinfo.
#include <cpuinfo.h>

#include "kernels/cpu.h"
#include "kernels/elementwise/half.h"

namespace persephonee {
namespace {

HalfConfig ChooseConfig() {
  HalfConfig c;
  c.name = "scalar";
  c.to_f16 = f32_to_f16__scalar;
  c.to_f32 = f16_to_f32__scalar;
#if defined(__x86_64__)
  if (EnsureCpuinfo().ok() && cpuinfo_has_x86_f16c() && cpuinfo_has_x86_avx()) {
    c.name = "f16c";
    c.to_f16 = f32_to_f16__f16c;
    c.to_f32 = f16_to_f32__f16c;
  }
#elif defined(__aarch64__)
  if (EnsureCpuinfo().ok() && cpuinfo_has_arm_neon()) {
    c.name = "neon";
    c.to_f16 = f32_to_f16__neon;
    c.to_f32 = f16_to_f32__neon;
  }
#endif
  return c;
}

}  // namespace

const HalfConfig& half_config() {
  static const HalfConfig config = ChooseConfig();
  return config;
}

}  // namespace persephonee
