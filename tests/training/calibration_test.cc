// Exit-threshold calibration: early-exit simulation against a per-sample oracle, hand-made cases
// with known answers, an exhaustive search for one early exit, seeded random properties, the
// unlabelled (agreement) mode, label-free accuracy estimates and argument checks.
#include "training/calibration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace persephonee {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Empty observations of n samples at e exits: predictions 0, scores 0, no labels.
ExitObservations MakeObs(int64_t n, int e, std::vector<int64_t> macs) {
  ExitObservations obs;
  obs.num_samples = n;
  obs.num_exits = e;
  obs.predictions.assign(static_cast<size_t>(n * e), 0);
  obs.scores.assign(static_cast<size_t>(n * e), 0.0f);
  obs.exit_macs = std::move(macs);
  return obs;
}

void Set(ExitObservations* obs, int64_t s, int x, int32_t prediction, float score) {
  obs->predictions[s * obs->num_exits + x] = prediction;
  obs->scores[s * obs->num_exits + x] = score;
}

// Synthetic observations: exit e is right with probability skill[e]; right answers tend to be
// more confident. Scores are quantised to multiples of 1/`levels` (0: not quantised) to make
// ties. A fraction `labelled` of samples keep their labels.
ExitObservations RandomObs(uint64_t seed, int64_t n, int e, int classes, double labelled,
                           int levels) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<int64_t> macs(e);
  int64_t total = 0;
  for (int x = 0; x < e; ++x) {
    total += 1000 + static_cast<int64_t>(u(rng) * 100000);
    macs[x] = total;
  }
  ExitObservations obs = MakeObs(n, e, macs);
  std::vector<double> skill(e);
  for (int x = 0; x < e; ++x) skill[x] = 0.35 + 0.55 * (x + 1) / e + 0.1 * (u(rng) - 0.5);
  obs.labels.resize(n);
  for (int64_t s = 0; s < n; ++s) {
    const int32_t y = static_cast<int32_t>(u(rng) * classes);
    for (int x = 0; x < e; ++x) {
      const bool right = u(rng) < skill[x];
      int32_t p = y;
      if (!right) p = (y + 1 + static_cast<int32_t>(u(rng) * (classes - 1))) % classes;
      double score = right ? 0.45 + 0.55 * u(rng) : 0.2 + 0.6 * u(rng);
      if (levels > 0) score = std::round(score * levels) / levels;
      Set(&obs, s, x, p, static_cast<float>(score));
    }
    obs.labels[s] = u(rng) < labelled ? y : -1;
  }
  return obs;
}

// The oracle: the exit each sample leaves at, one sample at a time.
std::vector<int> ExitsOf(const ExitObservations& obs, const std::vector<float>& thresholds) {
  std::vector<int> exits;
  for (int64_t s = 0; s < obs.num_samples; ++s) {
    int x = 0;
    while (x < obs.num_exits - 1 && !(obs.score(s, x) >= thresholds[x])) ++x;
    exits.push_back(x);
  }
  return exits;
}

OperatingPoint Simulate(const ExitObservations& obs, const std::vector<float>& thresholds,
                        AccuracyReference reference = AccuracyReference::kAuto) {
  StatusOr<OperatingPoint> point = SimulateEarlyExit(obs, thresholds, reference);
  EXPECT_TRUE(point.ok()) << point.status().ToString();
  return point.ok() ? *point : OperatingPoint();
}

CalibrationResult Calibrate(const ExitObservations& obs, double epsilon,
                            AccuracyReference reference = AccuracyReference::kAuto) {
  CalibrationOptions options;
  options.epsilon = epsilon;
  options.reference = reference;
  StatusOr<CalibrationResult> result = CalibrateThresholds(obs, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : CalibrationResult();
}

std::string Describe(const std::vector<float>& thresholds) {
  std::string text = "[";
  for (float t : thresholds) text += std::to_string(t) + " ";
  return text + "]";
}

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
  for (uint64_t seed = 20; seed < 26; ++seed) {
    const ExitObservations obs = RandomObs(seed, 150, 4, 6, 1.0, 0);
    double previous = std::numeric_limits<double>::infinity();
    for (double epsilon : {0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.3, 1.0}) {
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
// two early exits (where it is a heuristic), over 30 random cases x 3 epsilons.
struct Closeness {
  int cases = 0;
  int found_best = 0;       // Cases where the best accuracy is the exhaustive best.
  double worst_excess = 0;  // Chosen cost / cheapest cost at the chosen accuracy - 1.
};

Closeness CompareWithExhaustiveSearch(const CalibrationOptions& base) {
  Closeness c;
  for (uint64_t seed = 60; seed < 90; ++seed) {
    const ExitObservations obs = RandomObs(seed, 50, 3, 5, 1.0, seed % 2 ? 0 : 12);
    std::vector<float> c0 = {kInf}, c1 = {kInf};
    for (int64_t s = 0; s < obs.num_samples; ++s) {
      c0.push_back(obs.score(s, 0));
      c1.push_back(obs.score(s, 1));
    }
    std::vector<OperatingPoint> all;
    int64_t best = 0;
    for (float a : c0) {
      for (float b : c1) {
        all.push_back(Simulate(obs, {a, b}));
        best = std::max(best, all.back().correct);
      }
    }
    const double evaluated = static_cast<double>(all[0].evaluated);
    for (double epsilon : {0.0, 0.02, 0.05}) {
      CalibrationOptions options = base;
      options.epsilon = epsilon;
      StatusOr<CalibrationResult> r = CalibrateThresholds(obs, options);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) continue;
      double cheapest = std::numeric_limits<double>::infinity();
      for (const OperatingPoint& p : all) {
        if (p.correct >= r->chosen.correct) cheapest = std::min(cheapest, p.mean_macs);
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
  EXPECT_EQ(c.cases, 90);
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
    const int64_t n = 30 + static_cast<int64_t>(seed % 7) * 53;
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
