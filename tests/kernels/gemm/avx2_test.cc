// The AVX2 micro-kernel and its blocked driver; skipped on CPUs without AVX2 and FMA3.
#include <cpuinfo.h>
#include <gtest/gtest.h>

#include "kernels/cpu.h"
#include "kernels/gemm/ukernel.h"
#include "tests/kernels/gemm/gemm_tester.h"

namespace persephonee {
namespace {

class GemmAvx2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(EnsureCpuinfo().ok());
    if (!cpuinfo_has_x86_avx2() || !cpuinfo_has_x86_fma3()) GTEST_SKIP() << "no AVX2 + FMA3";
  }
};

TEST_F(GemmAvx2Test, PackB) { TestPackB(f32_gemm_pack_b_16__avx2, 16); }

TEST_F(GemmAvx2Test, Ukernel6x16) {
  TestUkernelShapes(f32_gemm_ukernel_6x16__avx2, 6, 16, /*reads_a_in_place=*/true);
}

TEST_F(GemmAvx2Test, BlockedDriverTinyBlocks) {
  GemmKernel kernel;
  kernel.ukernel = f32_gemm_ukernel_6x16__avx2;
  kernel.pack_a = nullptr;  // A in place, as f32_gemm__avx2 runs it.
  kernel.pack_b = f32_gemm_pack_b_16__avx2;
  kernel.mr = 6;
  kernel.nr = 16;
  TestBlockedDriver(kernel);
}

TEST_F(GemmAvx2Test, Shapes) {
  TestGemmShapes([](const GemmArgs& args) { f32_gemm__avx2(args, nullptr); }, 6, 16,
                 gemm_blocking_from_caches(6, 16).kc);
}

TEST_F(GemmAvx2Test, ThreadsBitwise) { TestThreadsBitwise(f32_gemm__avx2); }

}  // namespace
}  // namespace persephonee
