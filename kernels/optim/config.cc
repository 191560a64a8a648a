// Chooses the optimiser implementation once from what cpuinfo reports.
#include <cpuinfo.h>

#include "kernels/cpu.h"
#include "kernels/optim/optim.h"

namespace persephonee {
namespace {

OptimConfig Choose() {
  const bool cpuinfo_ok = EnsureCpuinfo().ok();
  (void)cpuinfo_ok;
#if defined(__aarch64__)
  // Advanced SIMD is architectural on AArch64; should cpuinfo ever say otherwise, use scalar.
  if (!cpuinfo_ok || cpuinfo_has_arm_neon()) {
    OptimConfig neon;
    neon.name = "neon";
    neon.sgd = f32_sgd__neon;
    neon.adam = f32_adam__neon;
    return neon;
  }
#endif
  OptimConfig scalar;
  scalar.name = "scalar";
  scalar.sgd = f32_sgd__scalar;
  scalar.adam = f32_adam__scalar;
  return scalar;
}

}  // namespace

const OptimConfig& optim_config() {
  static const OptimConfig config = Choose();
  return config;
}

}  // namespace persephonee
