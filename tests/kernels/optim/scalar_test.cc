// The scalar optimiser steps (the oracle) against the double-precision reference, and exact
// properties.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/optim/optim.h"
#include "tests/kernels/optim/optim_tester.h"

namespace persephonee {
namespace {

OptimConfig Scalar() {
  OptimConfig impl;
  impl.name = "scalar";
  impl.sgd = f32_sgd__scalar;
  impl.adam = f32_adam__scalar;
  return impl;
}

TEST(OptimScalarTest, Sizes) { TestOptimSizes(Scalar()); }

TEST(OptimScalarTest, Properties) { TestOptimProperties(Scalar()); }

TEST(OptimScalarTest, AdamStepScalars) {
  AdamParams p;
  p.lr = 0.01f;
  p.beta1 = 0.5f;
  p.beta2 = 0.75f;
  const AdamStepScalars s1 = MakeAdamStepScalars(p, 1);
  EXPECT_EQ(s1.step_size, 0.02f);      // lr / (1 - 0.5)
  EXPECT_EQ(s1.inv_bias_sqrt2, 2.0f);  // 1 / sqrt(1 - 0.75)
  EXPECT_EQ(s1.one_minus_beta1, 0.5f);
  EXPECT_EQ(s1.one_minus_beta2, 0.25f);
  const AdamStepScalars s2 = MakeAdamStepScalars(p, 2);
  EXPECT_FLOAT_EQ(s2.step_size, 0.01f / 0.75f);
  EXPECT_FLOAT_EQ(s2.inv_bias_sqrt2, 1.0f / std::sqrt(1.0f - 0.5625f));
  // Late steps: the corrections vanish.
  const AdamStepScalars late = MakeAdamStepScalars(AdamParams(), 100000);
  EXPECT_EQ(late.step_size, AdamParams().lr);
  EXPECT_EQ(late.inv_bias_sqrt2, 1.0f);
}

}  // namespace
}  // namespace persephonee
