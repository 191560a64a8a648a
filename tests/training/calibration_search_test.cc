// The threshold search (CalibrateThresholds): hand-made cases with known answers, exhaustive
// search with one and two early exits, seeded random properties, the unlabelled (agreement) mode
// and partial labels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tests/training/calibration_testing.h"
#include "training/calibration.h"

namespace persephonee {
namespace {

using namespace calibration_testing;  // NOLINT: test helpers.

TEST(CalibrationTest, AnExitAlwaysRightAndSureTakesAlmostEverySample) {
  const int64_t n = 200;
  ExitObservations obs = MakeObs(n, 3, {1000, 5000, 20000});
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  obs.labels.resize(n);
  for (int64_t s = 0; s < n; ++s) {
    const int32_t y = static_cast<int32_t>(s % 10);
    obs.labels[s] = y;
    Set(&obs, s, 0, y, 0.9f + 0.1f * u(rng));                   // always right, sure
    Set(&obs, s, 1, u(rng) < 0.5f ? y : (y + 1) % 10, u(rng));  // a coin
    Set(&obs, s, 2, u(rng) < 0.9f ? y : (y + 3) % 10, 0.5f + 0.5f * u(rng));
  }
  const CalibrationResult r = Calibrate(obs, 0.01);
  EXPECT_DOUBLE_EQ(r.best_accuracy, 1.0);
  EXPECT_GE(r.chosen.exit_counts[0], n * 95 / 100) << "thresholds " << Describe(r.thresholds);
  EXPECT_DOUBLE_EQ(r.chosen.accuracy, 1.0);
  EXPECT_LE(r.chosen.mean_macs, 1000 + 0.05 * 20000);
}

TEST(CalibrationTest, AnExitAlwaysWrongTakesNoSample) {
  // 60 samples: one wrong answer costs 1/60 > epsilon = 0.01, however sure the exit is.
  const int64_t n = 60;
  ExitObservations obs = MakeObs(n, 3, {1000, 5000, 20000});
  obs.labels.resize(n);
  for (int64_t s = 0; s < n; ++s) {
    const int32_t y = static_cast<int32_t>(s % 7);
    obs.labels[s] = y;
    Set(&obs, s, 0, (y + 1) % 7, 0.99f - 0.001f * s);  // always wrong, very sure
    Set(&obs, s, 1, y, 0.3f + 0.01f * s);              // always right
    Set(&obs, s, 2, y, 0.8f);
  }
  const CalibrationResult r = Calibrate(obs, 0.01);
  EXPECT_EQ(r.chosen.exit_counts[0], 0) << "thresholds " << Describe(r.thresholds);
  EXPECT_EQ(r.thresholds[0], kInf);
  // Exit 1 is always right: it takes everyone, at its cost.
  EXPECT_EQ(r.chosen.exit_counts[1], n);
  EXPECT_DOUBLE_EQ(r.chosen.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(r.chosen.mean_macs, 5000.0);
}

TEST(CalibrationTest, EpsilonZeroReproducesTheBestAccuracyExactly) {
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    const int e = 2 + static_cast<int>(seed % 4);
    const ExitObservations obs = RandomObs(seed, 150, e, 5, seed % 3 == 0 ? 0.4 : 1.0, 20);
    const CalibrationResult r = Calibrate(obs, 0.0);
    EXPECT_EQ(r.chosen.accuracy, r.best_accuracy) << "seed " << seed;
    // The best is at least the final exit's and every single exit's.
    EXPECT_GE(r.best_accuracy, r.final_only.accuracy) << "seed " << seed;
    for (int x = 0; x + 1 < e; ++x) {
      std::vector<float> alone(e - 1, kInf);
      alone[x] = -kInf;
      EXPECT_GE(r.best_accuracy, Simulate(obs, alone).accuracy) << "seed " << seed << " exit " << x;
    }
  }
}

TEST(CalibrationTest, LargerEpsilonNeverCostsMore) {
  for (uint64_t seed = 20; seed < 23; ++seed) {
    const ExitObservations obs = RandomObs(seed, 120, 4, 6, 1.0, 0);
    double previous = std::numeric_limits<double>::infinity();
    for (double epsilon : {0.0, 0.005, 0.01, 0.03, 0.1, 1.0}) {
      const CalibrationResult r = Calibrate(obs, epsilon);
      EXPECT_LE(r.chosen.mean_macs, previous) << "seed " << seed << " epsilon " << epsilon;
      EXPECT_GE(r.chosen.accuracy, r.best_accuracy - epsilon - 1e-12) << "seed " << seed;
      previous = r.chosen.mean_macs;
    }
    // With epsilon 1 anything goes: the cheapest point is everyone at the first exit.
    EXPECT_DOUBLE_EQ(previous, static_cast<double>(obs.exit_macs[0])) << "seed " << seed;
  }
}

// With a single early exit the path visits every threshold, so the search is exhaustive: it
// must match brute force over all observed scores.

TEST(CalibrationTest, OneEarlyExitMatchesExhaustiveSearch) {
  for (uint64_t seed = 40; seed < 52; ++seed) {
    const ExitObservations obs = RandomObs(seed, 90, 2, 3, seed % 2 ? 1.0 : 0.5, seed % 3 ? 8 : 0);
    std::vector<float> candidates = {kInf};
    for (int64_t s = 0; s < obs.num_samples; ++s) candidates.push_back(obs.score(s, 0));
    std::vector<OperatingPoint> all;
    int64_t best = 0;
    for (float t : candidates) {
      all.push_back(Simulate(obs, {t}));
      best = std::max(best, all.back().correct);
    }
    const double evaluated = static_cast<double>(all[0].evaluated);
    for (double epsilon : {0.0, 0.01, 0.05}) {
      // Within epsilon, counted in samples as the header says.
      double cheapest = std::numeric_limits<double>::infinity();
      for (const OperatingPoint& p : all) {
        if (p.correct >= best - epsilon * evaluated - 1e-9 * evaluated) {
          cheapest = std::min(cheapest, p.mean_macs);
        }
      }
      const CalibrationResult r = Calibrate(obs, epsilon);
      EXPECT_DOUBLE_EQ(r.best_accuracy, best / evaluated) << "seed " << seed;
      EXPECT_DOUBLE_EQ(r.chosen.mean_macs, cheapest) << "seed " << seed << " epsilon " << epsilon;
    }
  }
}

// How close the search comes to exhaustive search over every pair of observed thresholds, with
// two early exits (where it is a heuristic), over 20 random cases x 3 epsilons.
struct Closeness {
  int cases = 0;
  int found_best = 0;       // Cases where the best accuracy is the exhaustive best.
  double worst_excess = 0;  // Chosen cost / cheapest cost at the chosen accuracy - 1.
};

Closeness CompareWithExhaustiveSearch(const CalibrationOptions& base) {
  Closeness c;
  for (uint64_t seed = 60; seed < 80; ++seed) {
    const ExitObservations obs = RandomObs(seed, 50, 3, 5, 1.0, seed % 2 ? 0 : 12);
    std::vector<float> c0 = {kInf}, c1 = {kInf};
    for (int64_t s = 0; s < obs.num_samples; ++s) {
      c0.push_back(obs.score(s, 0));
      c1.push_back(obs.score(s, 1));
    }
    // Every pair, counted with the oracle (correct answers, summed MACs).
    std::vector<std::pair<int64_t, int64_t>> all;
    int64_t best = 0;
    for (float a : c0) {
      for (float b : c1) {
        int64_t correct = 0, macs = 0;
        for (int64_t s = 0; s < obs.num_samples; ++s) {
          const int x = obs.score(s, 0) >= a ? 0 : obs.score(s, 1) >= b ? 1 : 2;
          correct += obs.prediction(s, x) == obs.labels[s];
          macs += obs.exit_macs[x];
        }
        all.emplace_back(correct, macs);
        best = std::max(best, correct);
      }
    }
    const double evaluated = static_cast<double>(obs.num_samples);
    for (double epsilon : {0.0, 0.02, 0.05}) {
      CalibrationOptions options = base;
      options.epsilon = epsilon;
      StatusOr<CalibrationResult> r = CalibrateThresholds(obs, options);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) continue;
      double cheapest = std::numeric_limits<double>::infinity();
      for (const auto& [correct, macs] : all) {
        if (correct >= r->chosen.correct) {
          cheapest = std::min(cheapest, static_cast<double>(macs) / obs.num_samples);
        }
      }
      // Never more accurate than exhaustive search allows.
      EXPECT_LE(r->best_accuracy, best / evaluated) << "seed " << seed;
      c.worst_excess = std::max(c.worst_excess, r->chosen.mean_macs / cheapest - 1);
      c.found_best += r->best_accuracy == best / evaluated;
      ++c.cases;
    }
  }
  return c;
}

TEST(CalibrationTest, TwoEarlyExitsComeCloseToExhaustiveSearch) {
  const Closeness c = CompareWithExhaustiveSearch(CalibrationOptions());
  EXPECT_EQ(c.cases, 60);
  EXPECT_GE(c.found_best, c.cases * 95 / 100) << c.found_best << " of " << c.cases;
  EXPECT_LE(c.worst_excess, 0.05);
  std::printf("two early exits: best accuracy found in %d of %d cases; worst cost excess %.1f%%\n",
              c.found_best, c.cases, 100 * c.worst_excess);
}

TEST(CalibrationTest, TheGreedyPathAloneIsAlreadyUseful) {
  // No refinement, no quantile family: the path and the single-exit anchors only.
  CalibrationOptions options;
  options.refine_rounds = 0;
  options.quantile_steps = 0;
  const Closeness c = CompareWithExhaustiveSearch(options);
  EXPECT_GE(c.found_best, c.cases * 2 / 3) << c.found_best << " of " << c.cases;
  EXPECT_LE(c.worst_excess, 0.5);
  std::printf(
      "greedy path alone: best accuracy found in %d of %d cases; worst cost excess %.1f%%\n",
      c.found_best, c.cases, 100 * c.worst_excess);
}

TEST(CalibrationTest, RandomObservationsKeepEveryPromise) {
  int trials = 0;
  for (uint64_t seed = 100; seed < 124; ++seed) {
    const int e = 1 + static_cast<int>(seed % 6);
    const int64_t n = 30 + static_cast<int64_t>(seed % 7) * 29;
    const double labelled = seed % 4 == 0 ? 0.0 : seed % 4 == 1 ? 0.3 : 1.0;
    const ExitObservations obs = RandomObs(seed, n, e, 2 + seed % 9, labelled, seed % 2 ? 25 : 0);
    const double epsilon = 0.005 * static_cast<double>(seed % 5);
    const CalibrationResult r = Calibrate(obs, epsilon);
    const std::string where = "seed " + std::to_string(seed) + " (" + std::to_string(n) +
                              " samples, " + std::to_string(e) + " exits)";
    ASSERT_EQ(r.thresholds.size(), static_cast<size_t>(e - 1)) << where;
    ASSERT_FALSE(r.curve.empty()) << where;
    EXPECT_GE(r.chosen.accuracy, r.best_accuracy - epsilon - 1e-12) << where;
    EXPECT_LE(r.chosen.mean_macs, r.final_only.mean_macs) << where;
    EXPECT_DOUBLE_EQ(r.final_only.mean_macs, static_cast<double>(obs.exit_macs[e - 1])) << where;
    EXPECT_EQ(r.curve.back().accuracy, r.best_accuracy) << where;
    EXPECT_GE(r.explored, static_cast<int64_t>(r.curve.size())) << where;
    bool chosen_on_curve = false;
    for (size_t c = 0; c < r.curve.size(); ++c) {
      const CurvePoint& point = r.curve[c];
      if (c > 0) {
        EXPECT_GT(point.mean_macs, r.curve[c - 1].mean_macs) << where << " curve point " << c;
        EXPECT_GT(point.accuracy, r.curve[c - 1].accuracy) << where << " curve point " << c;
      }
      // Every curve point's thresholds reproduce it.
      const OperatingPoint p = Simulate(obs, point.thresholds);
      EXPECT_EQ(p.correct, point.correct) << where << " curve point " << c;
      EXPECT_DOUBLE_EQ(p.mean_macs, point.mean_macs) << where << " curve point " << c;
      if (point.thresholds == r.thresholds) {
        chosen_on_curve = true;
        // The choice is the cheapest point within epsilon: the point before it is not.
        if (c > 0) {
          EXPECT_LT(r.curve[c - 1].accuracy, r.best_accuracy - epsilon - 1e-12) << where;
        }
      }
    }
    EXPECT_TRUE(chosen_on_curve) << where;
    // The chosen thresholds are honoured sample by sample.
    const std::vector<int> exits = ExitsOf(obs, r.thresholds);
    std::vector<int64_t> counts(e, 0);
    for (int x : exits) ++counts[x];
    EXPECT_EQ(r.chosen.exit_counts, counts) << where;
    // The reference: labels where there are some, agreement otherwise.
    EXPECT_EQ(r.chosen.reference,
              labelled > 0 ? AccuracyReference::kLabels : AccuracyReference::kFinalExit)
        << where;
    ++trials;
  }
  EXPECT_EQ(trials, 24);
}

TEST(CalibrationTest, UnlabelledDataIsCalibratedByAgreementWithTheFinalExit) {
  // Exit 0 always agrees with the final exit, which is wrong half the time; labels are hidden.
  const int64_t n = 100;
  ExitObservations obs = MakeObs(n, 2, {100, 1000});
  std::vector<int32_t> hidden(n);
  for (int64_t s = 0; s < n; ++s) {
    hidden[s] = static_cast<int32_t>(s % 4);
    const int32_t final_answer = s % 2 ? hidden[s] : (hidden[s] + 1) % 4;
    Set(&obs, s, 0, final_answer, 0.5f + 0.004f * static_cast<float>(s));
    Set(&obs, s, 1, final_answer, 0.9f);
  }
  obs.labels.assign(n, -1);
  const CalibrationResult r = Calibrate(obs, 0.0);
  EXPECT_EQ(r.chosen.reference, AccuracyReference::kFinalExit);
  EXPECT_EQ(r.final_only.accuracy, 1.0);
  EXPECT_EQ(r.chosen.exit_counts[0], n);
  EXPECT_EQ(r.chosen.accuracy, 1.0);
  // The same samples with their labels: exit 0 is still as good as the final exit (both 50%).
  obs.labels = hidden;
  const CalibrationResult labelled = Calibrate(obs, 0.0);
  EXPECT_EQ(labelled.chosen.reference, AccuracyReference::kLabels);
  EXPECT_DOUBLE_EQ(labelled.best_accuracy, 0.5);
  // Asking for agreement explicitly ignores the labels.
  const CalibrationResult agreement = Calibrate(obs, 0.0, AccuracyReference::kFinalExit);
  EXPECT_EQ(agreement.chosen.reference, AccuracyReference::kFinalExit);
  EXPECT_EQ(agreement.best_accuracy, 1.0);
  // Disagreement costs in agreement mode: make exit 0 disagree on the 10 surest samples.
  for (int64_t s = n - 10; s < n; ++s) Set(&obs, s, 0, (obs.prediction(s, 1) + 1) % 4, 0.99f);
  obs.labels.assign(n, -1);
  const CalibrationResult strict = Calibrate(obs, 0.0);
  EXPECT_EQ(strict.chosen.accuracy, 1.0);
  EXPECT_EQ(strict.chosen.exit_counts[0], 0) << Describe(strict.thresholds);
  const CalibrationResult loose = Calibrate(obs, 0.1);
  EXPECT_EQ(loose.chosen.exit_counts[0], n);
  EXPECT_DOUBLE_EQ(loose.chosen.accuracy, 0.9);
}

TEST(CalibrationTest, PartialLabelsMeasureAccuracyOnTheLabelledSubset) {
  // Exit 0 is right on every labelled sample and wrong on every unlabelled one: only the
  // labelled ones count, so it takes everyone.
  const int64_t n = 80;
  ExitObservations obs = MakeObs(n, 2, {10, 100});
  obs.labels.resize(n);
  int64_t labelled = 0;
  for (int64_t s = 0; s < n; ++s) {
    const int32_t y = static_cast<int32_t>(s % 3);
    const bool has_label = s % 4 == 0;
    obs.labels[s] = has_label ? y : -1;
    labelled += has_label;
    Set(&obs, s, 0, has_label ? y : (y + 1) % 3, 0.6f);
    Set(&obs, s, 1, y, 0.9f);
  }
  const CalibrationResult r = Calibrate(obs, 0.0);
  EXPECT_EQ(r.chosen.evaluated, labelled);
  EXPECT_EQ(r.chosen.exit_counts[0], n);
  EXPECT_EQ(r.chosen.accuracy, 1.0);
  EXPECT_EQ(r.chosen.exit_evaluated[0], labelled);
}

TEST(CalibrationTest, OneExitHasNothingToCalibrate) {
  ExitObservations obs = MakeObs(3, 1, {500});
  obs.labels = {0, 0, 1};
  const CalibrationResult r = Calibrate(obs, 0.01);
  EXPECT_TRUE(r.thresholds.empty());
  EXPECT_EQ(r.chosen.exit_counts, std::vector<int64_t>{3});
  EXPECT_DOUBLE_EQ(r.chosen.accuracy, 2.0 / 3.0);
  ASSERT_EQ(r.curve.size(), 1u);
  EXPECT_DOUBLE_EQ(r.curve[0].mean_macs, 500.0);
}

}  // namespace
}  // namespace persephonee
