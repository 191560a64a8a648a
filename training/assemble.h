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
#include "training/personalisation.h"
#include "training/personalise.h"

namespace persephonee {

/// MACs per sample of answering at each exit, heads then the final exit: the backbone up to the
/// exit plus every head on the way (all heads, for the final exit).
std::vector<int64_t> ExitMacs(const ExitPlan& plan);

/// The held-out answers of a run as calibration observations under `measure`.
StatusOr<ExitObservations> HeldOutObservations(const PersonaliseResult& result,
                                               ConfidenceMeasure measure);

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
