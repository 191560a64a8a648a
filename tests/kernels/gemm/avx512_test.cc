// The AVX-512 14x32 micro-kernel, its packing and its blocked driver; skipped on CPUs without
// AVX-512F.
#include <cpuinfo.h>
#include <gtest/gtest.h>

#include "kernels/cpu.h"
#include "kernels/gemm/ukernel.h"
#include "tests/kernels/gemm/gemm_tester.h"

namespace persephonee {
namespace {

class GemmAvx512Test : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(EnsureCpuinfo().ok());
    if (!cpuinfo_has_x86_avx512f()) GTEST_SKIP() << "no AVX-512F";
  }
};

TEST_F(GemmAvx512Test, PackB) { TestPackB(f32_gemm_pack_b_32__avx512, 32); }

// Every m <= 14 (the 14-row and partial addressing), n <= 32 (the full and masked stores),
// several kc; A packed and in place (both transposes, padded lda).
TEST_F(GemmAvx512Test, Ukernel14x32) {
  TestUkernelShapes(f32_gemm_ukernel_14x32__avx512, 14, 32, /*reads_a_in_place=*/true);
}

TEST_F(GemmAvx512Test, BlockedDriverTinyBlocks) {
  GemmKernel kernel;
  kernel.ukernel = f32_gemm_ukernel_14x32__avx512;
  kernel.pack_a = nullptr;  // A in place, as f32_gemm__avx512 runs it.
  kernel.pack_b = f32_gemm_pack_b_32__avx512;
  kernel.mr = 14;
  kernel.nr = 32;
  TestBlockedDriver(kernel);
}

TEST_F(GemmAvx512Test, Shapes) {
  TestGemmShapes([](const GemmArgs& args) { f32_gemm__avx512(args, nullptr); }, 14, 32,
                 gemm_blocking_from_caches(14, 32).kc);
}

// A plain A whose rows are 4 KB apart crowds one L1 set; f32_gemm__avx512 then packs A (the
// scalar packing into 14-row panels) instead of reading it in place.
TEST_F(GemmAvx512Test, CrowdedRowStridePacksA) {
  for (const size_t m : {14, 29}) {
    const auto gemm = [](const GemmArgs& args) { f32_gemm__avx512(args, nullptr); };
    GemmTester().m(m).n(37).k(19).lda_pad(1024 - 19).Test(gemm);
    GemmTester().m(m).n(37).k(19).lda_pad(1024 - 19).accumulate(true).Test(gemm);
    GemmTester().m(m).n(37).k(300).lda_pad(1024 - 300).Test(gemm);
  }
}

TEST_F(GemmAvx512Test, ThreadsBitwise) { TestThreadsBitwise(f32_gemm__avx512); }

}  // namespace
}  // namespace persephonee
