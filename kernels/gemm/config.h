// The GEMM implementation chosen once, from cpuinfo, for f32_gemm (XNNPACK's gemm-config idea).
#ifndef PERSEPHONEE_KERNELS_GEMM_CONFIG_H_
#define PERSEPHONEE_KERNELS_GEMM_CONFIG_H_

#include <pthreadpool.h>

#include <cstddef>

#include "kernels/gemm/gemm.h"
#include "kernels/gemm/ukernel.h"

namespace persephonee {

/// One GEMM implementation: its driver, micro-kernel and tile sizes.
struct GemmConfig {
  const char* name = "";  ///< "scalar 4x4", "avx2 6x16", "neon 8x8", ...
  void (*gemm)(const GemmArgs& args, pthreadpool_t pool) = nullptr;
  GemmUkernelFn ukernel = nullptr;
  GemmPackAFn pack_a = nullptr;  ///< The driver's packing of A; null when A is read in place.
  GemmPackBFn pack_b = nullptr;  ///< The driver's packing of B into nr-wide panels.
  size_t mr = 0;
  size_t nr = 0;
  GemmBlocking blocking;
};

/// The best implementation this CPU supports, chosen at the first call; the scalar blocked
/// driver when nothing better is available or cpuinfo cannot read the machine.
const GemmConfig& gemm_config();

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_GEMM_CONFIG_H_
