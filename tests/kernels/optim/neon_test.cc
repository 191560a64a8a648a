// The NEON optimiser steps (aarch64 only; under qemu here) against the scalar oracle and the
// double-precision reference, and exact properties.
#include <gtest/gtest.h>

#include "kernels/optim/optim.h"
#include "tests/kernels/optim/optim_tester.h"

namespace persephonee {
namespace {

OptimConfig Neon() {
  OptimConfig impl;
  impl.name = "neon";
  impl.sgd = f32_sgd__neon;
  impl.adam = f32_adam__neon;
  return impl;
}

TEST(OptimNeonTest, Sizes) { TestOptimSizes(Neon()); }

TEST(OptimNeonTest, Properties) { TestOptimProperties(Neon()); }

}  // namespace
}  // namespace persephonee
