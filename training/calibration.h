// Exit-threshold calibration: when a sample may stop at an early exit (PersEPhonEE, arXiv
// 2102.01393). Pure functions of what the exits said on held-out samples; no I/O.
//
// Setting. E exits in backbone order; the last is the backbone's own classifier (the final exit),
// which always answers. For N held-out samples the caller records, per sample and exit, the
// predicted class and a confidence score (larger = more confident), per exit the cumulative MACs
// of answering there, and per sample a label (or -1 for none). At inference a sample leaves at the
// first exit e < E-1 whose score is >= threshold[e], else at the final exit. A threshold of +inf
// switches an exit off; -inf makes every sample that reaches the exit leave there.
//
// Scores (ConfidenceScore): kMaxSoftmax is max_c p_c, in [1/C, 1]. kEntropy is the normalised
// negative entropy 1 - H(p) / ln C, in [0, 1] (1 for a one-hot p, 0 for the uniform one; 1 when
// C = 1), so lower entropy means a larger score and both measures live in [0, 1].
//
// Accuracy is measured against a reference: the labels (on the labelled samples only), or, for
// unlabelled data, agreement with the final exit's prediction (on every sample; the final exit
// then scores 1 by definition). kAuto uses the labels when at least one sample has one. Cost is
// the mean over all samples of the MACs of the exit each one leaves at.
//
// The search (CalibrateThresholds), in six steps:
//
//   1. Candidates. For each early exit sort the samples by score, descending, and cut the order
//      into bands of equal scores. Lowering an exit's threshold from one observed score to the next
//      admits exactly one band, so the observed scores are the only thresholds worth trying.
//   2. A greedy path from the most expensive point to the cheapest. Start with every early exit
//      off (all samples answer at the final exit). At each step consider, for every early exit,
//      admitting its next band: the band's samples that still travel past that exit would leave
//      there instead, which changes the number of correct answers by dC and saves S MACs. Take the
//      step with the largest dC / S (accuracy gains first, then free savings, then the smallest
//      loss per MAC saved; ties: larger S, then the earlier exit) and record the operating point.
//      Stop when every early exit has admitted every band. dC and S of each exit's next band are
//      kept up to date as samples move (a sample changes exit at most E - 1 times), so the path
//      costs O(E^2 N) after the O(E N log N) sort.
//   3. Anchors: each exit alone answering every sample (the final exit alone is the path's start),
//      and a shared-quantile family: every early exit's threshold at the score that admits the
//      same fraction q of all samples, q = 0, 1/Q, ..., 1 (O(Q E N)).
//   4. Pareto filter: sort the explored points by cost and keep a point only if it is more
//      accurate than every cheaper one: the front.
//   5. Refinement (coordinate sweeps). The path looks one band ahead and follows a single chain,
//      so points that need one exit bold and another timid lie off it. From up to M points spread
//      evenly (by rank) over the front, sweep each early exit's threshold through all of its bands
//      with the other thresholds fixed, every point of every sweep joining the pool (with each
//      sample's fallback exit computed once, a sweep costs O(E N)); filter again. Repeat for R
//      rounds, or until the front stops changing: O(R M E^2 N) in all. Against exhaustive search
//      over two early exits (N = 60, 200 random cases x 4 epsilons) the path and anchors alone
//      found the best accuracy in 80% of the cases and sometimes chose 2.9x the optimal cost;
//      with R = 3, M = 64 they find it in 99% and stay within 12% of the optimal cost. N = 10^4
//      samples at 5 exits take about 0.25 s on one x86-64 core.
//   6. The choice. The best accuracy is the front's last point's; the choice is the cheapest
//      front point whose accuracy is >= best - epsilon (counted in samples: correct >= best
//      correct - epsilon x evaluated, up to 1e-9 x evaluated for rounding). The front, sorted by
//      cost, is returned as the accuracy/cost curve.
//
// Nothing explored depends on epsilon, so epsilon 0 reproduces the best accuracy exactly and a
// larger epsilon never chooses a more expensive point. Thresholds are observed scores, i.e. the
// lowest score among the calibration samples admitted at that exit (or -inf for an exit that
// takes every sample reaching it); the search is deterministic (stable sorts, explicit
// tie-breaks, integer counts and MAC sums).
#ifndef PERSEPHONEE_TRAINING_CALIBRATION_H_
#define PERSEPHONEE_TRAINING_CALIBRATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace persephonee {

/// How an exit's confidence is measured from its softmax. Both give scores in [0, 1].
enum class ConfidenceMeasure : uint8_t {
  kMaxSoftmax = 0,  ///< max_c p_c.
  kEntropy = 1,     ///< 1 - H(p) / ln C: lower entropy, higher score.
};
/// "max_softmax" or "entropy".
const char* ConfidenceMeasureName(ConfidenceMeasure measure);
/// The measure named `name` (as ConfidenceMeasureName gives); kInvalidArgument otherwise.
StatusOr<ConfidenceMeasure> ParseConfidenceMeasure(const std::string& name);

/// The score of one softmax under `measure`: `max_prob` and `entropy` (natural log) as
/// SoftmaxConfidence computes them, over `classes` >= 1 classes. Clamped to [0, 1].
float ConfidenceScore(ConfidenceMeasure measure, float max_prob, float entropy, int classes);

/// What the exits said on N held-out samples. Arrays indexed [sample][exit] are row-major with
/// num_exits columns; the last exit is the final exit.
struct ExitObservations {
  int64_t num_samples = 0;           ///< N >= 1 (at most 2^22).
  int num_exits = 0;                 ///< E >= 1 (at most 64), the final exit included.
  std::vector<int32_t> predictions;  ///< [N][E] predicted classes, >= 0.
  std::vector<float> scores;         ///< [N][E] confidence scores, finite, larger = surer.
  std::vector<int64_t> exit_macs;    ///< [E] MACs per sample of answering at each exit:
                                     ///< backbone up to it + every head on the way. Non-
                                     ///< decreasing, in [0, 2^40].
  std::vector<int32_t> labels;       ///< [N] classes, -1 = unlabelled; empty = no labels.

  int32_t prediction(int64_t sample, int exit) const {
    return predictions[sample * num_exits + exit];
  }
  float score(int64_t sample, int exit) const { return scores[sample * num_exits + exit]; }
};

/// Checks sizes and value ranges; kInvalidArgument naming the first field, sample and exit at
/// fault.
Status ValidateObservations(const ExitObservations& obs);

/// Builds observations from the exits' logits. `logits[e]` holds [N][classes] floats of exit e
/// (the final exit last); predictions are their argmax, scores ConfidenceScore(measure, ...).
/// `labels` may be empty. Errors: mismatched sizes, non-finite logits (kInvalidArgument).
StatusOr<ExitObservations> ObservationsFromLogits(const std::vector<std::vector<float>>& logits,
                                                  int classes, ConfidenceMeasure measure,
                                                  const std::vector<int64_t>& exit_macs,
                                                  const std::vector<int32_t>& labels);

/// What accuracy is measured against.
enum class AccuracyReference : uint8_t {
  kAuto = 0,       ///< The labels if any sample has one, otherwise kFinalExit.
  kLabels = 1,     ///< The labels, on labelled samples only (fails if there are none).
  kFinalExit = 2,  ///< Agreement with the final exit's prediction, on every sample.
};
/// "auto", "labels" or "final_exit".
const char* AccuracyReferenceName(AccuracyReference reference);

/// The outcome of early-exit inference with given thresholds on the observed samples.
struct OperatingPoint {
  std::vector<float> thresholds;                             ///< [E-1] the thresholds simulated.
  AccuracyReference reference = AccuracyReference::kLabels;  ///< Resolved: never kAuto.
  int64_t evaluated = 0;                ///< Samples with a reference (labelled ones, or all).
  int64_t correct = 0;                  ///< Of those, answered correctly.
  double accuracy = 0;                  ///< correct / evaluated.
  double mean_macs = 0;                 ///< Mean over all samples of the MACs of their exit.
  std::vector<int64_t> exit_counts;     ///< [E] samples leaving at each exit (the histogram).
  std::vector<int64_t> exit_evaluated;  ///< [E] of those, samples with a reference.
  std::vector<int64_t> exit_correct;    ///< [E] of those, answered correctly.
  std::vector<double> exit_accuracy;    ///< [E] exit_correct / exit_evaluated; NaN when 0/0.
};

/// Simulates early exiting with `thresholds` ([E-1], no NaN; +-inf allowed) on `obs`.
StatusOr<OperatingPoint> SimulateEarlyExit(const ExitObservations& obs,
                                           const std::vector<float>& thresholds,
                                           AccuracyReference reference = AccuracyReference::kAuto);

/// Options of CalibrateThresholds.
struct CalibrationOptions {
  /// The accuracy (a fraction, not percent) the choice may give up against the best explored
  /// point, in [0, 1]. 0.01 = one percentage point.
  double epsilon = 0.01;
  AccuracyReference reference = AccuracyReference::kAuto;
  /// Q of the shared-quantile family (Q + 1 points); 0 leaves the family out. At most 1000.
  int quantile_steps = 20;
  /// Refinement rounds R (0 to 100; 0: none) and the front points M swept in each (1 to 1e5).
  int refine_rounds = 3;
  int refine_points = 64;
};

/// One point of the accuracy/cost curve.
struct CurvePoint {
  std::vector<float> thresholds;  ///< [E-1]
  int64_t correct = 0;
  double accuracy = 0;
  double mean_macs = 0;
};

/// What CalibrateThresholds chose and the curve it chose from.
struct CalibrationResult {
  std::vector<float> thresholds;  ///< [E-1] the chosen thresholds (+inf: exit off).
  OperatingPoint chosen;          ///< SimulateEarlyExit at `thresholds`.
  OperatingPoint final_only;      ///< Every early exit off: the backbone alone.
  double best_accuracy = 0;       ///< The most accurate explored point's accuracy.
  double epsilon = 0;             ///< The epsilon the choice used.
  /// The explored points, Pareto-filtered: mean_macs strictly increasing, accuracy strictly
  /// increasing; the last point has best_accuracy.
  std::vector<CurvePoint> curve;
  int64_t explored = 0;  ///< Operating points evaluated (path, anchors, family, sweeps).
};

/// Chooses per-exit thresholds: the cheapest explored point whose accuracy on `obs` is within
/// `options.epsilon` of the best (see the walk-through at the top). With E = 1 there is nothing
/// to choose: no thresholds, and the final exit answers every sample.
StatusOr<CalibrationResult> CalibrateThresholds(const ExitObservations& obs,
                                                const CalibrationOptions& options = {});

/// Per-exit accuracy estimated without labels, beside the true one where labels exist.
struct ExitAccuracyEstimate {
  /// [E] label-free estimate: (1/N) sum_n c_F(n) * [pred_e(n) == pred_F(n)], with c_F(n) the
  /// final exit's score on sample n. If c_F is the probability that the final exit is right
  /// (max-softmax on a calibrated model), this is the expected fraction of samples on which both
  /// the final exit and exit e are right, i.e. exit e's accuracy when it is right only where it
  /// agrees with a right final exit (the usual case for a weaker early exit). For the final exit
  /// it is the mean confidence, the standard calibration-based accuracy estimate.
  std::vector<double> estimated;
  std::vector<double> agreement;  ///< [E] plain agreement rate with the final exit.
  std::vector<double> labelled;   ///< [E] true accuracy on the labelled samples; NaN if none.
  int64_t num_labelled = 0;       ///< Samples with a label.
};

/// Estimates every exit's accuracy on `obs` without labels (scores must lie in [0, 1], as both
/// ConfidenceMeasures give) and measures it on the labelled samples where there are some.
StatusOr<ExitAccuracyEstimate> EstimateExitAccuracy(const ExitObservations& obs);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_CALIBRATION_H_
