// Chooses the loss implementation once from what cpuinfo reports.
#include <cpuinfo.h>

#include "kernels/cpu.h"
#include "kernels/loss/loss.h"

namespace persephonee {
namespace {

LossConfig Choose() {
  const bool cpuinfo_ok = EnsureCpuinfo().ok();
  (void)cpuinfo_ok;
#if defined(__aarch64__)
  // Advanced SIMD is architectural on AArch64; should cpuinfo ever say otherwise, use scalar.
  if (!cpuinfo_ok || cpuinfo_has_arm_neon()) {
    LossConfig neon;
    neon.name = "neon";
    neon.softmax = f32_softmax__neon;
    neon.xent = f32_softmax_xent__neon;
    neon.kldiv = f32_softmax_kldiv__neon;
    neon.confidence = f32_softmax_confidence__neon;
    return neon;
  }
#endif
  LossConfig scalar;
  scalar.name = "scalar";
  scalar.softmax = f32_softmax__scalar;
  scalar.xent = f32_softmax_xent__scalar;
  scalar.kldiv = f32_softmax_kldiv__scalar;
  scalar.confidence = f32_softmax_confidence__scalar;
  return scalar;
}

}  // namespace

const LossConfig& loss_config() {
  static const LossConfig config = Choose();
  return config;
}

}  // namespace persephonee
