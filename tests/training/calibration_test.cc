// Early-exit simulation against a per-sample oracle, label-free accuracy estimates, observations
// from logits, confidence scores and argument checks (calibration.h).
#include "training/calibration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tests/training/calibration_testing.h"

namespace persephonee {
namespace {

using namespace calibration_testing;  // NOLINT: test helpers.

TEST(CalibrationTest, SimulationFollowsTheRuleAndCountsExactly) {
  // 5 samples, 3 exits. Labels 0..4 (sample s has label s % 2).
  ExitObservations obs = MakeObs(5, 3, {10, 30, 100});
  obs.labels = {0, 1, 0, 1, 0};
  const float t0 = 0.7f;
  Set(&obs, 0, 0, 0, t0);                        // exactly at the threshold: leaves at 0, right
  Set(&obs, 1, 0, 0, std::nextafter(t0, 0.0f));  // just below: goes on
  Set(&obs, 1, 1, 1, 0.9f);                      // leaves at 1, right
  Set(&obs, 2, 0, 1, 0.95f);                     // leaves at 0, wrong
  Set(&obs, 3, 0, 1, 0.1f);                      // on to the final exit, right there
  Set(&obs, 3, 1, 0, 0.1f);
  Set(&obs, 3, 2, 1, 0.2f);
  Set(&obs, 4, 0, 0, 0.5f);  // final exit, wrong
  Set(&obs, 4, 1, 0, 0.59f);
  Set(&obs, 4, 2, 1, 0.9f);
  const std::vector<float> thresholds = {t0, 0.6f};
  const OperatingPoint p = Simulate(obs, thresholds);
  EXPECT_EQ(p.reference, AccuracyReference::kLabels);
  EXPECT_EQ(p.exit_counts, (std::vector<int64_t>{2, 1, 2}));
  EXPECT_EQ(p.exit_correct, (std::vector<int64_t>{1, 1, 1}));
  EXPECT_EQ(p.evaluated, 5);
  EXPECT_EQ(p.correct, 3);
  EXPECT_DOUBLE_EQ(p.accuracy, 0.6);
  EXPECT_DOUBLE_EQ(p.mean_macs, (10 + 10 + 30 + 100 + 100) / 5.0);
  EXPECT_DOUBLE_EQ(p.exit_accuracy[0], 0.5);
  EXPECT_DOUBLE_EQ(p.exit_accuracy[1], 1.0);
  // +inf switches exits off; -inf sends everyone out at the first exit.
  EXPECT_EQ(Simulate(obs, {kInf, kInf}).exit_counts, (std::vector<int64_t>{0, 0, 5}));
  EXPECT_EQ(Simulate(obs, {-kInf, kInf}).exit_counts, (std::vector<int64_t>{5, 0, 0}));
  // An exit nobody leaves at has NaN accuracy, not 0.
  EXPECT_TRUE(std::isnan(Simulate(obs, {kInf, kInf}).exit_accuracy[0]));
  // Agreement with the final exit instead of the labels.
  const OperatingPoint a = Simulate(obs, thresholds, AccuracyReference::kFinalExit);
  EXPECT_EQ(a.reference, AccuracyReference::kFinalExit);
  // Final predictions: s0 0, s1 0, s2 0, s3 1, s4 1. Answers: 0, 1, 1, 1, 1.
  EXPECT_EQ(a.exit_correct, (std::vector<int64_t>{1, 0, 2}));
  EXPECT_DOUBLE_EQ(a.accuracy, 0.6);
}

TEST(CalibrationTest, SimulationMatchesAPerSampleOracleOnRandomThresholds) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 30; ++trial) {
    const int e = 1 + trial % 5;
    ExitObservations obs = RandomObs(100 + trial, 60 + trial, e, 4, 0.5, trial % 2 ? 10 : 0);
    std::vector<float> thresholds;
    for (int x = 0; x < e - 1; ++x) {
      // An observed score (so ties sit exactly at the threshold), or +-inf.
      const int64_t s = static_cast<int64_t>(rng() % obs.num_samples);
      const int pick = static_cast<int>(rng() % 6);
      thresholds.push_back(pick == 0 ? kInf : pick == 1 ? -kInf : obs.score(s, x));
    }
    const OperatingPoint p = Simulate(obs, thresholds);
    const std::vector<int> exits = ExitsOf(obs, thresholds);
    std::vector<int64_t> counts(e, 0), correct(e, 0), evaluated(e, 0);
    int64_t macs = 0;
    for (int64_t s = 0; s < obs.num_samples; ++s) {
      const int x = exits[s];
      // Nobody leaves at an exit with a score below its threshold, nor passes one at or above.
      if (x < e - 1) {
        ASSERT_GE(obs.score(s, x), thresholds[x]) << "sample " << s;
      }
      for (int before = 0; before < x; ++before)
        ASSERT_LT(obs.score(s, before), thresholds[before]);
      ++counts[x];
      macs += obs.exit_macs[x];
      if (obs.labels[s] >= 0) {
        ++evaluated[x];
        correct[x] += obs.prediction(s, x) == obs.labels[s];
      }
    }
    EXPECT_EQ(p.exit_counts, counts) << "trial " << trial << " thresholds " << Describe(thresholds);
    EXPECT_EQ(p.exit_correct, correct) << "trial " << trial;
    EXPECT_EQ(p.exit_evaluated, evaluated) << "trial " << trial;
    EXPECT_DOUBLE_EQ(p.mean_macs, static_cast<double>(macs) / obs.num_samples) << "trial " << trial;
  }
}

TEST(CalibrationTest, BadArgumentsAreRefusedByName) {
  const ExitObservations good = RandomObs(5, 20, 3, 4, 1.0, 0);
  struct Case {
    const char* what;
    ExitObservations obs;
    const char* message;
  };
  std::vector<Case> cases;
  cases.push_back({"no samples", good, "num_samples is 0"});
  cases.back().obs.num_samples = 0;
  cases.push_back({"short scores", good, "scores has 59 values"});
  cases.back().obs.scores.pop_back();
  cases.push_back({"NaN score", good, "score of sample 2 at exit 1 is nan"});
  cases.back().obs.scores[2 * 3 + 1] = std::nanf("");
  cases.push_back({"negative class", good, "prediction of sample 0 at exit 2 is -3"});
  cases.back().obs.predictions[2] = -3;
  cases.push_back({"falling costs", good, "exit_macs[2]"});
  cases.back().obs.exit_macs[2] = cases.back().obs.exit_macs[1] - 1;
  cases.push_back({"bad label", good, "label of sample 4 is -2"});
  cases.back().obs.labels[4] = -2;
  cases.push_back({"short labels", good, "labels has 19 values"});
  cases.back().obs.labels.pop_back();
  for (const Case& c : cases) {
    const Status status = ValidateObservations(c.obs);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.what;
    EXPECT_TRUE(Contains(status.message(), c.message)) << c.what << ": " << status.ToString();
    EXPECT_FALSE(CalibrateThresholds(c.obs).ok()) << c.what;
    EXPECT_FALSE(SimulateEarlyExit(c.obs, {0.5f, 0.5f}).ok()) << c.what;
    EXPECT_FALSE(EstimateExitAccuracy(c.obs).ok()) << c.what;
  }
  Status s = SimulateEarlyExit(good, {0.5f}).status();
  EXPECT_TRUE(Contains(s.message(), "1 thresholds given for 3 exits")) << s.ToString();
  s = SimulateEarlyExit(good, {0.5f, std::nanf("")}).status();
  EXPECT_TRUE(Contains(s.message(), "threshold of exit 1 is NaN")) << s.ToString();
  CalibrationOptions options;
  options.epsilon = -0.1;
  s = CalibrateThresholds(good, options).status();
  EXPECT_TRUE(Contains(s.message(), "epsilon is -0.1")) << s.ToString();
  options.epsilon = std::nan("");
  EXPECT_FALSE(CalibrateThresholds(good, options).ok());
  options = CalibrationOptions();
  options.refine_rounds = -1;
  s = CalibrateThresholds(good, options).status();
  EXPECT_TRUE(Contains(s.message(), "refine_rounds is -1")) << s.ToString();
  options = CalibrationOptions();
  options.quantile_steps = 1001;
  EXPECT_FALSE(CalibrateThresholds(good, options).ok());
  ExitObservations unlabelled = good;
  unlabelled.labels.assign(20, -1);
  options = CalibrationOptions();
  options.reference = AccuracyReference::kLabels;
  s = CalibrateThresholds(unlabelled, options).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(s.message(), "no sample is labelled")) << s.ToString();
}

TEST(CalibrationTest, AccuracyEstimatesFollowTheirDefinition) {
  // 4 samples, 2 exits. Final predictions 1, 2, 3, 3 with scores 0.9, 0.5, 0.8, 0.6.
  ExitObservations obs = MakeObs(4, 2, {1, 2});
  Set(&obs, 0, 0, 1, 0.7f);  // agrees
  Set(&obs, 1, 0, 0, 0.7f);  // disagrees
  Set(&obs, 2, 0, 3, 0.7f);  // agrees
  Set(&obs, 3, 0, 0, 0.7f);  // disagrees
  Set(&obs, 0, 1, 1, 0.9f);
  Set(&obs, 1, 1, 2, 0.5f);
  Set(&obs, 2, 1, 3, 0.8f);
  Set(&obs, 3, 1, 3, 0.6f);
  StatusOr<ExitAccuracyEstimate> est = EstimateExitAccuracy(obs);
  ASSERT_TRUE(est.ok()) << est.status().ToString();
  EXPECT_NEAR(est->estimated[0], (0.9 + 0.8) / 4, 1e-7);
  EXPECT_NEAR(est->estimated[1], (0.9 + 0.5 + 0.8 + 0.6) / 4, 1e-7);
  EXPECT_DOUBLE_EQ(est->agreement[0], 0.5);
  EXPECT_DOUBLE_EQ(est->agreement[1], 1.0);
  EXPECT_EQ(est->num_labelled, 0);
  EXPECT_TRUE(std::isnan(est->labelled[0]) && std::isnan(est->labelled[1]));
  obs.labels = {1, 0, -1, 0};
  est = EstimateExitAccuracy(obs);
  ASSERT_TRUE(est.ok());
  EXPECT_EQ(est->num_labelled, 3);
  EXPECT_DOUBLE_EQ(est->labelled[0], 1.0);        // 1, 0, 0: all right
  EXPECT_DOUBLE_EQ(est->labelled[1], 1.0 / 3.0);  // 1, 2, 3: only the first right
  // Scores outside [0, 1] cannot weight anything.
  obs.scores[1] = 1.5f;
  EXPECT_FALSE(EstimateExitAccuracy(obs).ok());
}

TEST(CalibrationTest, AccuracyEstimateTracksTheTruthOnCalibratedData) {
  // The final exit is calibrated (right with probability equal to its score); exit 0 is right
  // only where it agrees with a right final exit, with probability 0.7.
  const int64_t n = 4000;
  ExitObservations obs = MakeObs(n, 2, {1, 2});
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  obs.labels.resize(n);
  for (int64_t s = 0; s < n; ++s) {
    const int32_t y = static_cast<int32_t>(s % 10);
    const double c = 0.4 + 0.6 * u(rng);
    const int32_t final_answer = u(rng) < c ? y : (y + 1) % 10;
    const bool agree = u(rng) < 0.7;
    Set(&obs, s, 1, final_answer, static_cast<float>(c));
    Set(&obs, s, 0, agree ? final_answer : (final_answer + 2) % 10, 0.5f);
    obs.labels[s] = y;
  }
  StatusOr<ExitAccuracyEstimate> est = EstimateExitAccuracy(obs);
  ASSERT_TRUE(est.ok());
  // Standard error of each estimate is below 0.01 at this n; allow 3 of them.
  EXPECT_NEAR(est->estimated[1], est->labelled[1], 0.03);
  EXPECT_NEAR(est->estimated[0], est->labelled[0], 0.03);
  // Plain agreement overestimates exit 0 (it counts agreeing with a wrong final exit).
  EXPECT_GT(est->agreement[0], est->labelled[0] + 0.1);
}

TEST(CalibrationTest, ObservationsFromLogitsUseSoftmaxScores) {
  // 3 samples, 2 exits, 4 classes.
  const std::vector<std::vector<float>> logits = {
      {2, 1, 0, -1, 0, 0, 0, 0, -5, 3, 3, 1},
      {10, -10, 0, 0, 0, 0, 0, 7, 1, 2, 3, 4},
  };
  for (ConfidenceMeasure measure : {ConfidenceMeasure::kMaxSoftmax, ConfidenceMeasure::kEntropy}) {
    StatusOr<ExitObservations> obs = ObservationsFromLogits(logits, 4, measure, {5, 9}, {0, 1, -1});
    ASSERT_TRUE(obs.ok()) << obs.status().ToString();
    EXPECT_EQ(obs->num_samples, 3);
    EXPECT_EQ(obs->num_exits, 2);
    for (int x = 0; x < 2; ++x) {
      for (int s = 0; s < 3; ++s) {
        const float* z = &logits[x][s * 4];
        double max = z[0], sum = 0, h = 0;
        int argmax = 0;
        for (int c = 1; c < 4; ++c) {
          if (z[c] > max) {
            max = z[c];
            argmax = c;
          }
        }
        for (int c = 0; c < 4; ++c) sum += std::exp(z[c] - max);
        for (int c = 0; c < 4; ++c) {
          const double p = std::exp(z[c] - max) / sum;
          if (p > 0) h -= p * std::log(p);
        }
        const double want =
            measure == ConfidenceMeasure::kMaxSoftmax ? 1 / sum : 1 - h / std::log(4.0);
        EXPECT_EQ(obs->prediction(s, x), argmax) << "sample " << s << " exit " << x;
        EXPECT_NEAR(obs->score(s, x), want, 1e-5)
            << ConfidenceMeasureName(measure) << " sample " << s << " exit " << x;
      }
    }
  }
  EXPECT_FALSE(
      ObservationsFromLogits({{1, 2, 3}}, 2, ConfidenceMeasure::kMaxSoftmax, {1}, {}).ok());
  EXPECT_FALSE(
      ObservationsFromLogits({{1, 2}, {1}}, 2, ConfidenceMeasure::kMaxSoftmax, {1, 2}, {}).ok());
  EXPECT_FALSE(
      ObservationsFromLogits({{1, std::nanf("")}}, 2, ConfidenceMeasure::kMaxSoftmax, {1}, {})
          .ok());
}

TEST(CalibrationTest, ConfidenceScoresAndNames) {
  // Entropy: one-hot 1, uniform 0, a single class 1; always within [0, 1].
  EXPECT_FLOAT_EQ(ConfidenceScore(ConfidenceMeasure::kEntropy, 1.0f, 0.0f, 10), 1.0f);
  EXPECT_NEAR(ConfidenceScore(ConfidenceMeasure::kEntropy, 0.1f, std::log(10.0f), 10), 0.0f, 1e-6);
  EXPECT_FLOAT_EQ(ConfidenceScore(ConfidenceMeasure::kEntropy, 1.0f, 0.0f, 1), 1.0f);
  EXPECT_FLOAT_EQ(ConfidenceScore(ConfidenceMeasure::kEntropy, 0.1f, 2.31f, 10), 0.0f);
  EXPECT_FLOAT_EQ(ConfidenceScore(ConfidenceMeasure::kMaxSoftmax, 0.75f, 0.3f, 10), 0.75f);
  // Lower entropy is a higher score.
  EXPECT_GT(ConfidenceScore(ConfidenceMeasure::kEntropy, 0.5f, 0.5f, 10),
            ConfidenceScore(ConfidenceMeasure::kEntropy, 0.5f, 0.6f, 10));
  for (ConfidenceMeasure m : {ConfidenceMeasure::kMaxSoftmax, ConfidenceMeasure::kEntropy}) {
    StatusOr<ConfidenceMeasure> back = ParseConfidenceMeasure(ConfidenceMeasureName(m));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, m);
  }
  EXPECT_EQ(ParseConfidenceMeasure("margin").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace persephonee
