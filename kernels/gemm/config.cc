// Chooses the GEMM implementation once from what cpuinfo reports.
#include "kernels/gemm/config.h"

#include <cpuinfo.h>

#include "kernels/cpu.h"

namespace persephonee {
namespace {

GemmConfig Make(const char* name, void (*gemm)(const GemmArgs&, pthreadpool_t),
                GemmUkernelFn ukernel, GemmPackAFn pack_a, GemmPackBFn pack_b, size_t mr,
                size_t nr) {
  GemmConfig config;
  config.name = name;
  config.gemm = gemm;
  config.ukernel = ukernel;
  config.pack_a = pack_a;
  config.pack_b = pack_b;
  config.mr = mr;
  config.nr = nr;
  config.blocking = gemm_blocking_from_caches(mr, nr);
  return config;
}

GemmConfig Choose() {
  const bool cpuinfo_ok = EnsureCpuinfo().ok();
  (void)cpuinfo_ok;
#if defined(__aarch64__)
  // Advanced SIMD with fused multiply-add is part of every AArch64 CPU.
  return Make("neon 8x8", f32_gemm__neon, f32_gemm_ukernel_8x8__neon, f32_gemm_pack_a_8__neon,
              f32_gemm_pack_b_8__neon, 8, 8);
#elif defined(__x86_64__)
  // AVX-512 first: on cores with full-width 512-bit FMA it doubles the rate, and on cores that
  // split them (half rate) it measures no worse than AVX2 (benchmarks/gemm_vs_openblas).
  if (cpuinfo_ok && cpuinfo_has_x86_avx512f()) {
    return Make("avx512 14x32", f32_gemm__avx512, f32_gemm_ukernel_14x32__avx512, nullptr,
                f32_gemm_pack_b_32__avx512, 14, 32);
  }
  if (cpuinfo_ok && cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) {
    return Make("avx2 6x16", f32_gemm__avx2, f32_gemm_ukernel_6x16__avx2, nullptr,
                f32_gemm_pack_b_16__avx2, 6, 16);
  }
#endif
  return Make("scalar 4x4", f32_gemm__blocked_scalar, f32_gemm_ukernel_4x4__scalar,
              f32_gemm_pack_a__scalar, f32_gemm_pack_b__scalar, 4, 4);
}

}  // namespace

const GemmConfig& gemm_config() {
  static const GemmConfig config = Choose();
  return config;
}

void f32_gemm(const GemmArgs& args, pthreadpool_t pool) { gemm_config().gemm(args, pool); }

}  // namespace persephonee
