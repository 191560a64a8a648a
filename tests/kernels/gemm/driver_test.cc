// f32_gemm through the configuration: the choice, the shape matrix, edge cases and threads.
#include <cpuinfo.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/gemm/config.h"
#include "kernels/gemm/gemm.h"
#include "tests/kernels/gemm/gemm_tester.h"

namespace persephonee {
namespace {

TEST(GemmConfigTest, ChoosesTheBestSupportedKernel) {
  ASSERT_TRUE(EnsureCpuinfo().ok());
  const GemmConfig& config = gemm_config();
  std::string expected = "scalar 4x4";
#if defined(__aarch64__)
  expected = "neon 8x8";
#elif defined(__x86_64__)
  if (cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) expected = "avx2 6x16";
  if (cpuinfo_has_x86_avx512f()) expected = "avx512 14x32";
#endif
  EXPECT_EQ(std::string(config.name), expected);
  EXPECT_NE(config.gemm, nullptr);
  EXPECT_NE(config.ukernel, nullptr);
  EXPECT_EQ(config.blocking.mc % config.mr, 0u);
  EXPECT_EQ(config.blocking.nc % config.nr, 0u);
  EXPECT_GE(config.blocking.kc, 1u);
  EXPECT_EQ(&config, &gemm_config()) << "chosen once";
}

TEST(GemmTest, Shapes) {
  const GemmConfig& config = gemm_config();
  TestGemmShapes([](const GemmArgs& args) { f32_gemm(args, nullptr); }, config.mr, config.nr,
                 config.blocking.kc);
}

TEST(GemmTest, ThreadsBitwise) { TestThreadsBitwise(f32_gemm); }

TEST(GemmTest, LargerThanEveryBlock) {
  // Rows past mc, columns past a small multiple of nr, depth past kc: one shape each way.
  const GemmConfig& config = gemm_config();
  GemmTester().m(config.blocking.mc + 5).n(19).k(40).trans_b(true).Test([](const GemmArgs& args) {
    f32_gemm(args, nullptr);
  });
  GemmTester().m(9).n(config.blocking.nc + 3).k(3).accumulate(true).Test([](const GemmArgs& args) {
    f32_gemm(args, nullptr);
  });
  GemmTester()
      .m(13)
      .n(21)
      .k(3 * config.blocking.kc + 1)
      .trans_a(true)
      .Test([](const GemmArgs& args) { f32_gemm(args, nullptr); });
}

TEST(GemmTest, EmptyShapes) {
  std::vector<float> c = {1, 2, 3, 4};
  GemmArgs g;
  g.c = c.data();
  g.ldc = 2, g.lda = 2, g.ldb = 2;
  g.m = 0, g.n = 2, g.k = 2;
  f32_gemm(g, nullptr);
  g.m = 2, g.n = 0;
  f32_gemm(g, nullptr);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4})) << "m or n = 0 writes nothing";
  g.m = 2, g.n = 2, g.k = 0, g.accumulate = true;
  f32_gemm(g, nullptr);
  EXPECT_EQ(c, (std::vector<float>{1, 2, 3, 4})) << "k = 0 with accumulate keeps C";
  g.accumulate = false;
  f32_gemm(g, nullptr);
  EXPECT_EQ(c, (std::vector<float>{0, 0, 0, 0})) << "k = 0 without accumulate zeroes C";
}

}  // namespace
}  // namespace persephonee
