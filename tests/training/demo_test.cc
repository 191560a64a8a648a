#include "training/demo.h"

#include <gtest/gtest.h>

#include <cmath>

#include "graph/builder.h"
#include "graph/zoo.h"
#include "tests/testing/test_graphs.h"

namespace persephonee {
namespace {

const FashionMnist& Data() {
  static const FashionMnist* d =
      new FashionMnist(LoadFashionMnist("/usr/share/datasets/fashion-mnist").value());
  return *d;
}

Graph NarrowBackbone() { return testing_graphs::NarrowImageBackbone(); }

// Multiply-accumulates of NarrowBackbone per image: its convolutions and classifier.
constexpr int64_t kNarrowMacs = 28 * 28 * 8 * 9 * 1 + 14 * 14 * 16 * 9 * 8 + 14 * 14 * 16 * 9 * 16 +
                                7 * 7 * 32 * 9 * 16 + 32 * 10;

DemoOptions Tiny() {
  DemoOptions o;
  o.users = 2;
  o.first_seed = 3;
  o.label_fractions = {0.0, 1.0};
  o.train_images = 40;
  o.test_images = 30;
  o.exits = 2;
  o.threads = 1;
  o.latency_images = 3;
  o.backbone_test_images = 200;
  o.personalise.epochs = 2;
  o.personalise.batch = 16;
  o.personalise.memory_budget = size_t{1} << 30;
  return o;
}

TEST(DemoTest, MeasuresEveryUserAndFractionConsistently) {
  const Graph backbone = NarrowBackbone();
  DemoOptions o = Tiny();
  std::vector<std::string> steps;
  size_t last_done = 0;
  o.on_progress = [&](size_t done, size_t total, const std::string& what) {
    EXPECT_EQ(total, 4u);
    EXPECT_GE(done, last_done);
    last_done = done;
    steps.push_back(what);
  };
  auto r = RunDemo(backbone, Data(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(last_done, 4u);
  EXPECT_EQ(steps.back(), "done");
  ASSERT_EQ(r->runs.size(), 4u);
  ASSERT_EQ(r->exit_names.size(), 4u);  // two heads, the personalised final exit, the original's
  EXPECT_EQ(r->exit_names[2], "personal");
  EXPECT_EQ(r->exit_names.back(), "final");
  EXPECT_EQ(r->backbone_macs, kNarrowMacs);
  for (const DemoRun& run : r->runs) {
    SCOPED_TRACE("user " + std::to_string(run.user) + " fraction " +
                 std::to_string(run.label_fraction));
    EXPECT_EQ(run.labelled, run.label_fraction == 0.0 ? 0u : 40u);
    ASSERT_EQ(run.exit_accuracy.size(), 4u);
    EXPECT_GE(run.prior_corrected.accuracy, 0.0);
    EXPECT_LE(run.prior_corrected.accuracy, 1.0);
    // Calibrated on 8 held-out images, the guarantee cannot switch the early exits on, so
    // every test image is answered by the personalised final exit.
    EXPECT_FALSE(run.exits_on);
    EXPECT_EQ(run.calibrated.exit_counts[2], 30);
    EXPECT_DOUBLE_EQ(run.calibrated.accuracy, run.exit_accuracy[2]);
    // The original model is the final exit alone.
    EXPECT_DOUBLE_EQ(run.original.accuracy, run.exit_accuracy.back());
    EXPECT_DOUBLE_EQ(run.original.mean_macs, static_cast<double>(kNarrowMacs));
    // The test-set front: increasing in MACs and accuracy; its named points are on it.
    ASSERT_FALSE(run.curve.empty());
    for (size_t i = 1; i < run.curve.size(); ++i) {
      EXPECT_GT(run.curve[i].mean_macs, run.curve[i - 1].mean_macs);
      EXPECT_GT(run.curve[i].accuracy, run.curve[i - 1].accuracy);
    }
    EXPECT_DOUBLE_EQ(run.best.accuracy, run.curve.back().accuracy);
    for (double a : run.exit_accuracy) EXPECT_LE(a, run.best.accuracy + 1e-12);
    EXPECT_GE(run.equal_accuracy.accuracy, run.original.accuracy);
    EXPECT_LE(run.equal_accuracy.mean_macs, run.original.mean_macs);
    EXPECT_GE(run.best_within_original_cost.accuracy, run.original.accuracy);
    EXPECT_LE(run.best_within_original_cost.mean_macs, run.original.mean_macs);
    // Histograms count every test image.
    for (const DemoPoint* p : {&run.calibrated, &run.equal_accuracy, &run.best}) {
      int64_t n = 0;
      for (int64_t c : p->exit_counts) n += c;
      EXPECT_EQ(n, 30);
      EXPECT_GT(p->latency_ms, 0.0);
    }
    EXPECT_GT(run.original.latency_ms, 0.0);
    EXPECT_GT(run.exits.train_seconds, 0.0);
    EXPECT_EQ(run.exits.epoch_loss.size(), 2u);
    EXPECT_EQ(run.whole.epoch_loss.size(), 2u);
    EXPECT_EQ(run.classifier.epoch_loss.size(), 2u);
    // Whole-network fine-tuning costs more MACs than training heads on cached features.
    EXPECT_GT(run.whole.train_macs, run.exits.train_macs);
    EXPECT_GE(run.whole.accuracy, 0.0);
    EXPECT_LE(run.whole.accuracy, 1.0);
  }
  ASSERT_EQ(r->summaries.size(), 2u);
  EXPECT_EQ(r->summaries[0].original_accuracy.n, 2u);
  ASSERT_FALSE(r->claims.empty());
  EXPECT_EQ(r->claims[0].claim, "backbone accuracy on the first 200 test images");
  EXPECT_FALSE(r->claims[0].met) << "an untrained backbone is near chance";
}

TEST(DemoTest, TheSameUsersGiveTheSameAccuracies) {
  const Graph backbone = NarrowBackbone();
  DemoOptions o = Tiny();
  o.users = 1;
  o.label_fractions = {0.5};
  auto a = RunDemo(backbone, Data(), o);
  auto b = RunDemo(backbone, Data(), o);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->runs[0].exit_accuracy, b->runs[0].exit_accuracy);
  EXPECT_EQ(a->runs[0].whole.accuracy, b->runs[0].whole.accuracy);
  EXPECT_EQ(a->runs[0].exits.epoch_loss, b->runs[0].exits.epoch_loss);
  EXPECT_EQ(a->runs[0].labelled, 20u);
}

TEST(DemoTest, RejectsABackboneForOtherImages) {
  const Graph other = BuildZooModel("resnet20", 1).value();
  auto r = RunDemo(other, Data(), Tiny());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("28x28x1"), std::string::npos) << r.status().ToString();
}

TEST(DemoTest, LoadFashionMnistNamesAMissingDirectory) {
  auto d = LoadFashionMnist("/nonexistent-dir");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("/nonexistent-dir"), std::string::npos);
}

}  // namespace
}  // namespace persephonee
