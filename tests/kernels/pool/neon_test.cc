// The NEON pool kernels (aarch64 only; under qemu here) against the scalar oracle on the whole
// shape sweep, and their backward against central finite differences.
#include <gtest/gtest.h>

#include <cstdint>

#include "kernels/pool/pool.h"
#include "tests/kernels/pool/pool_tester.h"

namespace persephonee {
namespace {

TEST(PoolNeonTest, MaxForward) {
  uint32_t seed = 1;
  for (const Pool2dShape& s : PoolTestShapes()) {
    PoolTester().shape(s).seed(seed++).TestMaxForward(f32_maxpool_fwd__neon);
  }
}

TEST(PoolNeonTest, MaxBackward) {
  uint32_t seed = 1000;
  for (const Pool2dShape& s : PoolTestShapes()) {
    PoolTester().shape(s).seed(seed++).TestMaxBackward(f32_maxpool_bwd__neon);
  }
}

TEST(PoolNeonTest, AvgForward) {
  uint32_t seed = 2000;
  for (const Pool2dShape& s : PoolTestShapes()) {
    PoolTester().shape(s).seed(seed++).TestAvgForward(f32_avgpool_fwd__neon);
  }
}

TEST(PoolNeonTest, AvgBackward) {
  uint32_t seed = 3000;
  for (const Pool2dShape& s : PoolTestShapes()) {
    PoolTester().shape(s).seed(seed++).TestAvgBackward(f32_avgpool_bwd__neon);
  }
}

TEST(PoolNeonTest, MaxGradients) {
  uint32_t seed = 4000;
  for (const Pool2dShape& s : PoolGradientShapes()) {
    PoolTester().shape(s).seed(seed++).TestMaxGradients(f32_maxpool_fwd__neon,
                                                        f32_maxpool_bwd__neon);
  }
}

TEST(PoolNeonTest, AvgGradients) {
  uint32_t seed = 5000;
  for (const Pool2dShape& s : PoolGradientShapes()) {
    PoolTester().shape(s).seed(seed++).TestAvgGradients(f32_avgpool_bwd__neon);
  }
}

TEST(GlobalPoolNeonTest, Forward) {
  uint32_t seed = 6000;
  for (const GlobalPoolShape& s : GlobalPoolTestShapes()) {
    GlobalPoolTester t;
    t.batch(s.batch).input_size(s.in_h, s.in_w).channels(s.channels).seed(seed++);
    t.TestForward(f32_gavgpool_fwd__neon);
    t.TestReferenceForward(f32_gavgpool_fwd__neon);
  }
}

TEST(GlobalPoolNeonTest, Backward) {
  uint32_t seed = 7000;
  for (const GlobalPoolShape& s : GlobalPoolTestShapes()) {
    GlobalPoolTester t;
    t.batch(s.batch).input_size(s.in_h, s.in_w).channels(s.channels).seed(seed++);
    t.TestBackward(f32_gavgpool_bwd__neon);
    t.TestGradients(f32_gavgpool_bwd__neon);
  }
}

}  // namespace
}  // namespace persephonee
