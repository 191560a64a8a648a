// Early-exit inference against the original model, and what personalisation learns from a
// teacher the user's labels contradict.
#include "training/early_exit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/engine.h"
#include "kernels/loss/loss.h"
#include "tests/testing/test_graphs.h"
#include "tests/training/image_model_testing.h"
#include "training/assemble.h"
#include "training/exits.h"
#include "training/personalisation.h"
#include "training/personalise.h"

namespace persephonee {
namespace {

using image_model_testing::kPixels;
using image_model_testing::OriginalLogits;
using image_model_testing::Scaled;

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<uint8_t> Pixels(size_t n, uint64_t seed) {
  const std::vector<float> u = testing_graphs::RandomVector(n * kPixels, seed, 0.0f, 256.0f);
  std::vector<uint8_t> p(u.size());
  for (size_t i = 0; i < u.size(); ++i) p[i] = static_cast<uint8_t>(std::min(255.0f, u[i]));
  return p;
}

Personalisation WithHeads(const Graph& backbone, const ExitPlan& plan, std::vector<float> t) {
  Personalisation p;
  for (size_t e = 0; e < plan.exits.size(); ++e) {
    p.exits.push_back(
        {plan.exits[e], BuildHead(plan.exits[e], plan.classes, 100 + e).value(), t[e]});
  }
  p.classes = plan.classes;
  p.output_tensor = plan.output_tensor;
  p.backbone_macs = plan.backbone_macs;
  p.backbone_hash = BackboneHash(backbone);
  return p;
}

TEST(EarlyExitTest, ExitsSwitchedOffAnswerAsTheOriginalBitForBit) {
  const Graph backbone = testing_graphs::NarrowImageBackbone();
  const Graph optimized = OptimizeBackbone(backbone).value();
  const ExitPlan plan = PlaceExitsByFraction(optimized, {0.3, 0.6}).value();
  const size_t n = 40;
  const std::vector<float> images = Scaled(Pixels(n, 11));
  const std::vector<float> logits = OriginalLogits(backbone, images, n);

  auto model = EarlyExitModel::Create(backbone, WithHeads(backbone, plan, {kInf, kInf})).value();
  std::vector<ExitAnswer> answers;
  ASSERT_TRUE(model->InferBatch(images.data(), n, &answers).ok());
  ASSERT_EQ(answers.size(), n);
  std::vector<float> prob(1), ent(1);
  std::vector<int32_t> pred(1);
  for (size_t i = 0; i < n; ++i) {
    loss_config().confidence(1, 10, logits.data() + i * 10, prob.data(), ent.data(), pred.data());
    EXPECT_EQ(answers[i].exit, 2) << i;  // the final exit
    EXPECT_EQ(answers[i].prediction, pred[0]) << i;
    EXPECT_EQ(std::memcmp(&answers[i].score, &prob[0], sizeof(float)), 0)
        << i << ": " << answers[i].score << " vs " << prob[0];
    EXPECT_EQ(answers[i].macs, plan.backbone_macs) << "no head is computed when switched off";
  }
  // Switched on at -inf, the first head answers everything: the path really changes.
  ASSERT_TRUE(model->SetThresholds({-kInf, kInf}).ok());
  ASSERT_TRUE(model->InferBatch(images.data(), n, &answers).ok());
  for (const ExitAnswer& a : answers) EXPECT_EQ(a.exit, 0);
}

TEST(EarlyExitTest, AnUntrainedPersonalFinalExitIsTheOriginalClassifier) {
  const Graph backbone = testing_graphs::NarrowImageBackbone();
  const Graph optimized = OptimizeBackbone(backbone).value();
  ExitPlan plan = PlaceExitsByFraction(optimized, {0.5}).value();
  ASSERT_TRUE(AddPersonalFinalExit(optimized, &plan).ok());
  ASSERT_TRUE(plan.personal_final);
  ASSERT_EQ(plan.exits.size(), 2u);
  EXPECT_EQ(plan.exits[1].feature_shape, (Shape{1, 1, 1, 32}));
  const size_t n = 30;
  const std::vector<float> images = Scaled(Pixels(n, 12));
  const std::vector<float> logits = OriginalLogits(backbone, images, n);
  Personalisation p = WithHeads(backbone, plan, {kInf, -kInf});
  p.exits[1].head = BuildFinalCopyHead(optimized, plan.exits[1], {}).value();
  p.personal_final = true;
  auto model = EarlyExitModel::Create(backbone, p).value();
  std::vector<ExitAnswer> answers;
  ASSERT_TRUE(model->InferBatch(images.data(), n, &answers).ok());
  for (size_t i = 0; i < n; ++i) {
    const float* row = logits.data() + i * 10;
    EXPECT_EQ(answers[i].exit, 1) << i;
    EXPECT_EQ(answers[i].prediction, std::max_element(row, row + 10) - row) << i;
  }
}

}  // namespace
}  // namespace persephonee
