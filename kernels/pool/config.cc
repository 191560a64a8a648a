// The pooling implementation this machine uses, chosen once from cpuinfo: NEON on aarch64 when
// cpuinfo confirms it, the scalar loops otherwise (including when cpuinfo cannot read the CPU).
#include <cpuinfo.h>

#include "kernels/cpu.h"
#include "kernels/pool/pool.h"

namespace persephonee {
namespace {

PoolConfig ChooseConfig() {
  PoolConfig c;
  c.name = "scalar";
  c.maxpool_fwd = f32_maxpool_fwd__scalar;
  c.maxpool_bwd = f32_maxpool_bwd__scalar;
  c.avgpool_fwd = f32_avgpool_fwd__scalar;
  c.avgpool_bwd = f32_avgpool_bwd__scalar;
  c.gavgpool_fwd = f32_gavgpool_fwd__scalar;
  c.gavgpool_bwd = f32_gavgpool_bwd__scalar;
#if defined(__aarch64__)
  if (EnsureCpuinfo().ok() && cpuinfo_has_arm_neon()) {
    c.name = "neon";
    c.maxpool_fwd = f32_maxpool_fwd__neon;
    c.maxpool_bwd = f32_maxpool_bwd__neon;
    c.avgpool_fwd = f32_avgpool_fwd__neon;
    c.avgpool_bwd = f32_avgpool_bwd__neon;
    c.gavgpool_fwd = f32_gavgpool_fwd__neon;
    c.gavgpool_bwd = f32_gavgpool_bwd__neon;
  }
#endif
  return c;
}

}  // namespace

const PoolConfig& pool_config() {
  static const PoolConfig config = ChooseConfig();
  return config;
}

}  // namespace persephonee
