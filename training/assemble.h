// From a personalisation run to what is saved and calibrated: the held-out observations, the
// Personalisation file's contents, and back to a warm start.
#ifndef PERSEPHONEE_TRAINING_ASSEMBLE_H_
#define PERSEPHONEE_TRAINING_ASSEMBLE_H_

#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "graph/graph.h"
#include "training/calibration.h"
#include "training/exits.h"
#include "training/guarantee.h"
#include "training/personalisation.h"
#include "training/personalise.h"

namespace persephonee {

/// MACs per sample of answering at each exit, heads then the final exit: the backbone up to the
/// exit plus every head on the way (all heads, for the final exit).
std::vector<int64_t> ExitMacs(const ExitPlan& plan);

/// The held-out answers of a run as calibration observations under `measure`.
StatusOr<ExitObservations> HeldOutObservations(const PersonaliseResult& result,
                                               ConfidenceMeasure measure);

/// What the held-out images decided for one user (DecideAndCalibrate).
struct CalibrationDecision {
  /// [heads]: the early exits' thresholds, then -inf for a personalised final exit.
  std::vector<float> thresholds;
  GuaranteeResult guarantee;    ///< The early exits' calibration against the reference.
  bool personal_final = false;  ///< The plan has a personalised final exit.
  /// The trained final exit was kept; false: it was worse than the backbone's classifier with
  /// the prior correction on the labelled held-out images, which replaced it.
  bool final_trained = false;
  int64_t final_labelled = 0;     ///< Labelled held-out images behind that choice.
  int64_t final_correct = 0;      ///< Of those, the trained final exit had right.
  int64_t corrected_correct = 0;  ///< ... the backbone's classifier with the prior correction.
  int64_t original_correct = 0;   ///< ... the original model.
};

/// Chooses the reference and calibrates the early exits with a guarantee:
///   1. With a personalised final exit, the trained one is kept unless, on the labelled held-out
///      images, it answers fewer correctly than the backbone's classifier with the prior
///      correction (result->initial_final_head), which then replaces it in result->heads (and
///      in the held-out answers). Without labels the trained one is kept.
///   2. The early exits' thresholds come from CalibrateWithGuarantee, the reference being the
///      personalised final exit (or, without one, the backbone's final exit), the original
///      model's answers counting on labelled images.
StatusOr<CalibrationDecision> DecideAndCalibrate(PersonaliseResult* result,
                                                 ConfidenceMeasure measure,
                                                 const GuaranteeOptions& options);

/// The personalisation to save: the run's heads with `thresholds` (one per head), the
/// optimiser state (so training can resume), the backbone's hash (BackboneHash, taken before
/// the backbone was handed to Personalise) and `metadata` (added to StandardMetadata()).
StatusOr<Personalisation> MakePersonalisation(const std::string& backbone_hash,
                                              const PersonaliseResult& result,
                                              OptimizerKind optimizer, ConfidenceMeasure measure,
                                              const std::vector<float>& thresholds,
                                              const std::map<std::string, std::string>& metadata);

/// The exit plan a saved personalisation was trained with.
ExitPlan PlanOf(const Personalisation& p);

/// Heads and optimiser state of a saved personalisation, to continue training it.
StatusOr<WarmStart> WarmStartFrom(const Personalisation& p, OptimizerKind optimizer);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_ASSEMBLE_H_
