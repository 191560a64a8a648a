// The NEON micro-kernel, its packing and its blocked driver (aarch64 only; under qemu here).
#include <gtest/gtest.h>

#include "kernels/gemm/ukernel.h"
#include "tests/kernels/gemm/gemm_tester.h"

namespace persephonee {
namespace {

TEST(GemmNeonTest, PackA) { TestPackA(f32_gemm_pack_a_8__neon, 8); }

TEST(GemmNeonTest, PackB) { TestPackB(f32_gemm_pack_b_8__neon, 8); }

TEST(GemmNeonTest, Ukernel8x8) {
  TestUkernelShapes(f32_gemm_ukernel_8x8__neon, 8, 8, /*reads_a_in_place=*/false);
}

TEST(GemmNeonTest, BlockedDriverTinyBlocks) {
  GemmKernel kernel;
  kernel.ukernel = f32_gemm_ukernel_8x8__neon;
  kernel.pack_a = f32_gemm_pack_a_8__neon;
  kernel.pack_b = f32_gemm_pack_b_8__neon;
  kernel.mr = 8;
  kernel.nr = 8;
  TestBlockedDriver(kernel);
}

TEST(GemmNeonTest, Shapes) {
  TestGemmShapes([](const GemmArgs& args) { f32_gemm__neon(args, nullptr); }, 8, 8,
                 gemm_blocking_from_caches(8, 8).kc);
}

TEST(GemmNeonTest, ThreadsBitwise) { TestThreadsBitwise(f32_gemm__neon); }

}  // namespace
}  // namespace persephonee
