// The scalar loss kernels (the oracle) against the double-precision reference, finite
// differences, extreme logits and exact properties.
#include <gtest/gtest.h>

#include "kernels/loss/loss.h"
#include "tests/kernels/loss/loss_tester.h"

namespace persephonee {
namespace {

LossConfig Scalar() {
  LossConfig impl;
  impl.name = "scalar";
  impl.softmax = f32_softmax__scalar;
  impl.xent = f32_softmax_xent__scalar;
  impl.kldiv = f32_softmax_kldiv__scalar;
  impl.confidence = f32_softmax_confidence__scalar;
  return impl;
}

// Compensated sums: the oracle is held to tolerances that do not grow with the class count.
TEST(LossScalarTest, SizesWithoutGrowth) { TestLossSizes(Scalar(), 1.0); }

TEST(LossScalarTest, GradientsMatchFiniteDifferences) { TestLossGradients(Scalar()); }

TEST(LossScalarTest, ExtremeLogits) { TestLossExtremes(Scalar()); }

TEST(LossScalarTest, Properties) { TestLossProperties(Scalar()); }

}  // namespace
}  // namespace persephonee
