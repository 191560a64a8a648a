// Helpers shared by the calibration tests: observations made by hand or at random (seeded), a
// per-sample oracle for the early-exit rule, and wrappers that fail the test on an error.
#ifndef PERSEPHONEE_TESTS_TRAINING_CALIBRATION_TESTING_H_
#define PERSEPHONEE_TESTS_TRAINING_CALIBRATION_TESTING_H_

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "training/calibration.h"

namespace persephonee {
namespace calibration_testing {

inline constexpr float kInf = std::numeric_limits<float>::infinity();

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Empty observations of n samples at e exits: predictions 0, scores 0, no labels.
inline ExitObservations MakeObs(int64_t n, int e, std::vector<int64_t> macs) {
  ExitObservations obs;
  obs.num_samples = n;
  obs.num_exits = e;
  obs.predictions.assign(static_cast<size_t>(n * e), 0);
  obs.scores.assign(static_cast<size_t>(n * e), 0.0f);
  obs.exit_macs = std::move(macs);
  return obs;
}

inline void Set(ExitObservations* obs, int64_t s, int x, int32_t prediction, float score) {
  obs->predictions[s * obs->num_exits + x] = prediction;
  obs->scores[s * obs->num_exits + x] = score;
}

// Synthetic observations: exit e is right with probability skill[e]; right answers tend to be
// more confident. Scores are quantised to multiples of 1/`levels` (0: not quantised) to make
// ties. A fraction `labelled` of samples keep their labels.
inline ExitObservations RandomObs(uint64_t seed, int64_t n, int e, int classes, double labelled,
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
inline std::vector<int> ExitsOf(const ExitObservations& obs, const std::vector<float>& thresholds) {
  std::vector<int> exits;
  for (int64_t s = 0; s < obs.num_samples; ++s) {
    int x = 0;
    while (x < obs.num_exits - 1 && !(obs.score(s, x) >= thresholds[x])) ++x;
    exits.push_back(x);
  }
  return exits;
}

inline OperatingPoint Simulate(const ExitObservations& obs, const std::vector<float>& thresholds,
                               AccuracyReference reference = AccuracyReference::kAuto) {
  StatusOr<OperatingPoint> point = SimulateEarlyExit(obs, thresholds, reference);
  EXPECT_TRUE(point.ok()) << point.status().ToString();
  return point.ok() ? *point : OperatingPoint();
}

inline CalibrationResult Calibrate(const ExitObservations& obs, double epsilon,
                                   AccuracyReference reference = AccuracyReference::kAuto) {
  CalibrationOptions options;
  options.epsilon = epsilon;
  options.reference = reference;
  StatusOr<CalibrationResult> result = CalibrateThresholds(obs, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? *result : CalibrationResult();
}

inline std::string Describe(const std::vector<float>& thresholds) {
  std::string text = "[";
  for (float t : thresholds) text += std::to_string(t) + " ";
  return text + "]";
}

}  // namespace calibration_testing
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_TRAINING_CALIBRATION_TESTING_H_
