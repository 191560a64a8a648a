// Chooses the Winograd implementation once from cpuinfo: the vector transforms the CPU has, and
// the transformed-domain GEMM micro-kernel (with its packing and kc) that f32_gemm uses.
#include "kernels/gemm/config.h"

#include <cpuinfo.h>

#include "kernels/cpu.h"
#include "kernels/winograd/winograd.h"

namespace persephonee {
namespace {

WinogradConfig Choose() {
  const GemmConfig& gemm = gemm_config();
  WinogradConfig c;
  c.name = "scalar";
  c.transforms = WinogradTransforms{f32_winograd_input_f2__scalar, f32_winograd_output_f2__scalar,
                                    f32_winograd_input_f4__scalar, f32_winograd_output_f4__scalar};
  const bool cpuinfo_ok = EnsureCpuinfo().ok();
  (void)cpuinfo_ok;
#if defined(__x86_64__)
  if (cpuinfo_ok && cpuinfo_has_x86_avx512f()) {
    c.name = "avx512";
    c.transforms =
        WinogradTransforms{f32_winograd_input_f2__avx512, f32_winograd_output_f2__avx512,
                           f32_winograd_input_f4__avx512, f32_winograd_output_f4__avx512};
  } else if (cpuinfo_ok && cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) {
    c.name = "avx2";
    c.transforms = WinogradTransforms{f32_winograd_input_f2__avx2, f32_winograd_output_f2__avx2,
                                      f32_winograd_input_f4__avx2, f32_winograd_output_f4__avx2};
  }
#elif defined(__aarch64__)
  c.name = "neon";
  c.transforms = WinogradTransforms{f32_winograd_input_f2__neon, f32_winograd_output_f2__neon,
                                    f32_winograd_input_f4__neon, f32_winograd_output_f4__neon};
#endif
  c.ukernel = gemm.ukernel;
  c.pack_a = gemm.pack_a;
  c.pack_b = gemm.pack_b;
  c.mr = gemm.mr;
  c.nr = gemm.nr;
  c.kc = gemm.blocking.kc;
  return c;
}

}  // namespace

WinogradConfig winograd_config_scalar() {
  WinogradConfig c;
  c.name = "scalar";
  c.transforms = WinogradTransforms{f32_winograd_input_f2__scalar, f32_winograd_output_f2__scalar,
                                    f32_winograd_input_f4__scalar, f32_winograd_output_f4__scalar};
  c.ukernel = f32_gemm_ukernel_4x4__scalar;
  c.pack_a = nullptr;  // The scalar micro-kernel reads A in place.
  c.pack_b = f32_gemm_pack_b__scalar;
  c.mr = 4;
  c.nr = 4;
  c.kc = 256;
  return c;
}

const WinogradConfig& winograd_config() {
  static const WinogradConfig config = Choose();
  return config;
}

}  // namespace persephonee
