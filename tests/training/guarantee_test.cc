#include "training/guarantee.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace persephonee {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(GuaranteeTest, ClopperPearsonMatchesClosedForms) {
  // k = 0: P(X <= 0) = (1 - p)^n = delta.
  EXPECT_NEAR(ClopperPearsonUpper(0, 100, 0.05), 1 - std::pow(0.05, 0.01), 1e-9);
  // k = n: P(X >= n) = p^n = delta.
  EXPECT_NEAR(ClopperPearsonLower(50, 50, 0.1), std::pow(0.1, 1.0 / 50), 1e-9);
  // Symmetry: the lower bound for k successes is 1 - the upper bound for n - k.
  for (int k : {1, 7, 30, 99}) {
    EXPECT_NEAR(ClopperPearsonLower(k, 100, 0.05), 1 - ClopperPearsonUpper(100 - k, 100, 0.05),
                1e-9)
        << k;
  }
  // A tabulated value: k = 5 of n = 100 at one-sided 97.5%: 0.1128 (exact binomial).
  EXPECT_NEAR(ClopperPearsonUpper(5, 100, 0.025), 0.1128, 5e-4);
  EXPECT_EQ(ClopperPearsonUpper(10, 10, 0.1), 1.0);
  EXPECT_EQ(ClopperPearsonLower(0, 10, 0.1), 0.0);
}

TEST(GuaranteeTest, CandidatesAreOrderedFromSafestToCheapest) {
  const std::vector<float> c = GuaranteeCandidates();
  ASSERT_GT(c.size(), 10u);
  EXPECT_EQ(c[0], kInf);
  for (size_t i = 1; i < c.size(); ++i) EXPECT_LT(c[i], c[i - 1]) << i;
  EXPECT_EQ(c.back(), 0.0f);
}

// One early exit and the reference. Scores s ~ U(0, 1); the early exit disagrees with the
// reference with probability 0.3 (1 - s)^2, so leaving at threshold t loses
// R(t) = 0.1 (1 - t)^3 against it.
ExitObservations Draw(std::mt19937_64& rng, int n, double labelled_fraction,
                      std::vector<int32_t>* original) {
  std::uniform_real_distribution<double> u(0, 1);
  ExitObservations obs;
  obs.num_samples = n;
  obs.num_exits = 2;
  obs.exit_macs = {10, 100};
  original->clear();
  for (int i = 0; i < n; ++i) {
    const double s = u(rng);
    const bool disagree = u(rng) < 0.3 * (1 - s) * (1 - s);
    obs.predictions.push_back(disagree ? 1 : 0);
    obs.predictions.push_back(0);
    obs.scores.push_back(static_cast<float>(s));
    obs.scores.push_back(1.0f);
    // Labels, where given, say the reference (and the original) is right.
    obs.labels.push_back(u(rng) < labelled_fraction ? 0 : -1);
    original->push_back(0);
  }
  return obs;
}

double TrueRisk(float t) { return std::isinf(t) ? 0.0 : 0.1 * std::pow(1.0 - t, 3); }

TEST(GuaranteeTest, ChosenThresholdsViolateEpsilonAtMostDeltaOfTheTime) {
  std::mt19937_64 rng(12345);
  GuaranteeOptions o;
  o.epsilon = 0.01;
  o.delta = 0.1;
  for (double labelled : {0.0, 0.3}) {
    const int draws = 600;
    int violations = 0, on = 0;
    for (int d = 0; d < draws; ++d) {
      std::vector<int32_t> original;
      const ExitObservations obs = Draw(rng, 400, labelled, &original);
      StatusOr<GuaranteeResult> r = CalibrateWithGuarantee(obs, original, o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->thresholds.size(), 1u);
      on += r->exits_on ? 1 : 0;
      violations += TrueRisk(r->thresholds[0]) > o.epsilon ? 1 : 0;
    }
    // Binomial noise of the estimate: sd sqrt(0.1 * 0.9 / 600) = 0.012.
    EXPECT_LE(static_cast<double>(violations) / draws, o.delta + 0.03) << labelled;
    // And the procedure is not vacuous: the exit is switched on in most draws.
    EXPECT_GT(on, draws / 2) << labelled;
  }
}

TEST(GuaranteeTest, ThePlainEstimateWouldViolateOften) {
  // The same draws, choosing the cheapest threshold whose empirical loss is within epsilon (no
  // confidence bound): violations are far above delta. This is what the bound prevents, and
  // shows the test above can tell the two apart.
  std::mt19937_64 rng(777);
  const std::vector<float> candidates = GuaranteeCandidates();
  int violations = 0;
  const int draws = 300;
  for (int d = 0; d < draws; ++d) {
    std::vector<int32_t> original;
    const ExitObservations obs = Draw(rng, 400, 0.0, &original);
    float chosen = kInf;
    for (size_t c = 1; c < candidates.size(); ++c) {
      int64_t a = 0;
      for (int64_t i = 0; i < obs.num_samples; ++i) {
        a += obs.score(i, 0) >= candidates[c] && obs.prediction(i, 0) != 0 ? 1 : 0;
      }
      if (static_cast<double>(a) / static_cast<double>(obs.num_samples) > 0.01) break;
      chosen = candidates[c];
    }
    violations += TrueRisk(chosen) > 0.01 ? 1 : 0;
  }
  EXPECT_GT(static_cast<double>(violations) / draws, 0.2);
}

TEST(GuaranteeTest, NothingPassesOnTooFewSamplesAndTheExitsStayOff) {
  // 100 unlabelled samples cannot certify 1%: even with no disagreement the bound is
  // 1 - 0.1^(1/100) = 2.3%.
  ExitObservations obs;
  obs.num_samples = 100;
  obs.num_exits = 3;
  obs.exit_macs = {10, 20, 100};
  for (int i = 0; i < 100; ++i) {
    obs.predictions.insert(obs.predictions.end(), {0, 0, 0});
    obs.scores.insert(obs.scores.end(), {0.99f, 0.99f, 1.0f});
  }
  const std::vector<int32_t> original(100, 0);
  StatusOr<GuaranteeResult> r = CalibrateWithGuarantee(obs, original);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->exits_on);
  EXPECT_EQ(r->thresholds, std::vector<float>(2, kInf));
  EXPECT_NEAR(r->bound, 1 - std::pow(0.1, 0.01), 1e-6);
  EXPECT_EQ(r->samples, 100);
  EXPECT_EQ(r->tested, 1);
  // With epsilon 5% the same observations pass down to threshold 0.
  GuaranteeOptions loose;
  loose.epsilon = 0.05;
  r = CalibrateWithGuarantee(obs, original, loose);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->exits_on);
  EXPECT_EQ(r->thresholds, std::vector<float>(2, 0.0f));
}

TEST(GuaranteeTest, LabelledGainsOffsetDisagreement) {
  // Every sample labelled; the original is wrong on 40 of 200, the early exit right on all:
  // the loss against the original is -20%, and its bound is well below epsilon.
  ExitObservations obs;
  obs.num_samples = 200;
  obs.num_exits = 2;
  obs.exit_macs = {10, 100};
  std::vector<int32_t> original;
  for (int i = 0; i < 200; ++i) {
    obs.predictions.insert(obs.predictions.end(), {1, 1});
    obs.scores.insert(obs.scores.end(), {0.9f, 1.0f});
    obs.labels.push_back(1);
    original.push_back(i < 40 ? 0 : 1);
  }
  StatusOr<GuaranteeResult> r = CalibrateWithGuarantee(obs, original);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->exits_on);
  EXPECT_LT(r->bound, -0.1);
  EXPECT_NEAR(r->estimate, -0.2, 1e-12);
  EXPECT_EQ(r->labelled, 200);
}

TEST(GuaranteeTest, GainsAreNotAllSpentOnSpeed) {
  // All labelled. The original is wrong on the first 100, the reference right on all 200; the
  // early exit (score 0.9) is right where the original is wrong but wrong on 10 samples the
  // reference has right. Against the original it gains 90 of 200 (certified), but against the
  // reference it loses 5%: with the default selection no threshold low enough to let a sample
  // out is chosen, with 10% the exit answers all of them.
  ExitObservations obs;
  obs.num_samples = 200;
  obs.num_exits = 2;
  obs.exit_macs = {10, 100};
  std::vector<int32_t> original;
  for (int i = 0; i < 200; ++i) {
    const bool exit_wrong = i >= 100 && i < 110;
    obs.predictions.insert(obs.predictions.end(), {exit_wrong ? 0 : 1, 1});
    obs.scores.insert(obs.scores.end(), {0.9f, 1.0f});
    obs.labels.push_back(1);
    original.push_back(i < 100 ? 0 : 1);
  }
  StatusOr<GuaranteeResult> r = CalibrateWithGuarantee(obs, original);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->accepted, 10);
  EXPECT_GT(r->thresholds[0], 0.9f);
  EXPECT_EQ(r->reference_loss, 0.0);
  GuaranteeOptions o;
  o.select_epsilon = 0.1;
  r = CalibrateWithGuarantee(obs, original, o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->exits_on);
  EXPECT_LE(r->thresholds[0], 0.9f);
  EXPECT_NEAR(r->reference_loss, 0.05, 1e-12);
  EXPECT_NEAR(r->estimate, (10.0 - 100.0) / 200, 1e-12);
  EXPECT_LT(r->bound, 0.0);
}

TEST(GuaranteeTest, BadArgumentsAreRefused) {
  ExitObservations obs;
  obs.num_samples = 1;
  obs.num_exits = 2;
  obs.exit_macs = {1, 2};
  obs.predictions = {0, 0};
  obs.scores = {0.5f, 1.0f};
  GuaranteeOptions o;
  o.delta = 0;
  EXPECT_EQ(CalibrateWithGuarantee(obs, {0}, o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CalibrateWithGuarantee(obs, {0, 0}).status().code(), StatusCode::kInvalidArgument);
  o = GuaranteeOptions();
  o.epsilon = 2;
  EXPECT_EQ(CalibrateWithGuarantee(obs, {0}, o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace persephonee
