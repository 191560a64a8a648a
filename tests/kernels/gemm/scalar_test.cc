// The oracle itself (against hand-computed values and double precision), then the portable
// packing, the 4x4 scalar micro-kernel and the blocked driver built on them.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/gemm/gemm.h"
#include "kernels/gemm/ukernel.h"
#include "tests/kernels/gemm/gemm_tester.h"

namespace persephonee {
namespace {

TEST(GemmScalarTest, HandComputedProduct) {
  // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154].
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {7, 8, 9, 10, 11, 12};
  std::vector<float> c(4, -1.0f);
  GemmArgs g;
  g.m = 2, g.n = 2, g.k = 3;
  g.a = a.data(), g.lda = 3, g.b = b.data(), g.ldb = 2, g.c = c.data(), g.ldc = 2;
  f32_gemm__scalar(g);
  EXPECT_EQ(c, (std::vector<float>{58, 64, 139, 154}));
  g.accumulate = true;
  f32_gemm__scalar(g);
  EXPECT_EQ(c, (std::vector<float>{116, 128, 278, 308}));
}

TEST(GemmScalarTest, HandComputedTransposes) {
  // Same product with A stored transposed (3 x 2) and B stored transposed (2 x 3).
  const std::vector<float> at = {1, 4, 2, 5, 3, 6};
  const std::vector<float> bt = {7, 9, 11, 8, 10, 12};
  std::vector<float> c(6, -1.0f);  // ldc = 3: the last column is padding.
  GemmArgs g;
  g.trans_a = Transpose::kYes, g.trans_b = Transpose::kYes;
  g.m = 2, g.n = 2, g.k = 3;
  g.a = at.data(), g.lda = 2, g.b = bt.data(), g.ldb = 3, g.c = c.data(), g.ldc = 3;
  f32_gemm__scalar(g);
  EXPECT_EQ(c, (std::vector<float>{58, 64, -1, 139, 154, -1}));
}

TEST(GemmScalarTest, ZeroDepthWritesZerosOrKeepsC) {
  std::vector<float> c = {3, 4};
  GemmArgs g;
  g.m = 1, g.n = 2, g.k = 0, g.lda = 1, g.ldb = 2, g.c = c.data(), g.ldc = 2;
  g.accumulate = true;
  f32_gemm__scalar(g);
  EXPECT_EQ(c, (std::vector<float>{3, 4}));
  g.accumulate = false;
  f32_gemm__scalar(g);
  EXPECT_EQ(c, (std::vector<float>{0, 0}));
}

TEST(GemmScalarTest, MatchesDoublePrecision) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (size_t k : {1u, 10u, 100u, 1000u}) {
    const size_t m = 7, n = 5;
    std::vector<float> a(m * k), b(k * n), c(m * n);
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
    GemmArgs g;
    g.m = m, g.n = n, g.k = k;
    g.a = a.data(), g.lda = k, g.b = b.data(), g.ldb = n, g.c = c.data(), g.ldc = n;
    f32_gemm__scalar(g);
    for (size_t i = 0; i < m; ++i) {
      for (size_t j = 0; j < n; ++j) {
        double want = 0, mag = 0;
        for (size_t p = 0; p < k; ++p) {
          want += static_cast<double>(a[i * k + p]) * b[p * n + j];
          mag += std::fabs(static_cast<double>(a[i * k + p]) * b[p * n + j]);
        }
        // Worst-case bound of a k-term float sum: k ulps of the sum of magnitudes.
        const double tol = k * std::numeric_limits<float>::epsilon() * mag;
        EXPECT_NEAR(c[i * n + j], want, tol) << "i=" << i << " j=" << j << " k=" << k;
      }
    }
  }
}

TEST(GemmScalarTest, PackA) {
  for (size_t mr : {4u, 6u, 8u}) TestPackA(f32_gemm_pack_a__scalar, mr);
}

TEST(GemmScalarTest, PackB) {
  for (size_t nr : {4u, 8u, 16u}) TestPackB(f32_gemm_pack_b__scalar, nr);
}

TEST(GemmScalarTest, Ukernel4x4) {
  TestUkernelShapes(f32_gemm_ukernel_4x4__scalar, 4, 4, /*reads_a_in_place=*/true);
}

TEST(GemmScalarTest, BlockedDriverTinyBlocks) {
  GemmKernel kernel;
  kernel.ukernel = f32_gemm_ukernel_4x4__scalar;
  kernel.pack_a = f32_gemm_pack_a__scalar;
  kernel.pack_b = f32_gemm_pack_b__scalar;
  kernel.mr = 4;
  kernel.nr = 4;
  TestBlockedDriver(kernel);
  kernel.pack_a = nullptr;  // A read in place.
  TestBlockedDriver(kernel);
}

TEST(GemmScalarTest, BlockedScalarShapes) {
  TestGemmShapes([](const GemmArgs& args) { f32_gemm__blocked_scalar(args, nullptr); }, 4, 4,
                 gemm_blocking_from_caches(4, 4).kc);
}

TEST(GemmScalarTest, BlockedScalarThreadsBitwise) { TestThreadsBitwise(f32_gemm__blocked_scalar); }

}  // namespace
}  // namespace persephonee
