// pool_config(): NEON on aarch64, scalar elsewhere, and its kernels agree with the oracle.
#include <gtest/gtest.h>

#include <cstring>

#include "kernels/pool/pool.h"
#include "tests/kernels/pool/pool_tester.h"

namespace persephonee {
namespace {

TEST(PoolConfigTest, ChoosesByArchitecture) {
  const PoolConfig& c = pool_config();
#if defined(__aarch64__)
  EXPECT_STREQ(c.name, "neon");
  EXPECT_EQ(c.maxpool_fwd, &f32_maxpool_fwd__neon);
  EXPECT_EQ(c.maxpool_bwd, &f32_maxpool_bwd__neon);
  EXPECT_EQ(c.avgpool_fwd, &f32_avgpool_fwd__neon);
  EXPECT_EQ(c.avgpool_bwd, &f32_avgpool_bwd__neon);
  EXPECT_EQ(c.gavgpool_fwd, &f32_gavgpool_fwd__neon);
  EXPECT_EQ(c.gavgpool_bwd, &f32_gavgpool_bwd__neon);
#else
  EXPECT_STREQ(c.name, "scalar");
  EXPECT_EQ(c.maxpool_fwd, &f32_maxpool_fwd__scalar);
  EXPECT_EQ(c.maxpool_bwd, &f32_maxpool_bwd__scalar);
  EXPECT_EQ(c.avgpool_fwd, &f32_avgpool_fwd__scalar);
  EXPECT_EQ(c.avgpool_bwd, &f32_avgpool_bwd__scalar);
  EXPECT_EQ(c.gavgpool_fwd, &f32_gavgpool_fwd__scalar);
  EXPECT_EQ(c.gavgpool_bwd, &f32_gavgpool_bwd__scalar);
#endif
  EXPECT_EQ(&pool_config(), &c);  // Chosen once.
}

TEST(PoolConfigTest, KernelsAgreeWithOracle) {
  const PoolConfig& c = pool_config();
  PoolTester t;
  t.batch(3).input_size(9, 8).channels(21).kernel(3, 3).stride(2, 2).padding(1);
  t.TestMaxForward(c.maxpool_fwd);
  t.TestMaxBackward(c.maxpool_bwd);
  t.TestAvgForward(c.avgpool_fwd);
  t.TestAvgBackward(c.avgpool_bwd);
  GlobalPoolTester g;
  g.batch(2).input_size(7, 7).channels(37);
  g.TestForward(c.gavgpool_fwd);
  g.TestBackward(c.gavgpool_bwd);
}

}  // namespace
}  // namespace persephonee
