// Pieces calibration.cc and calibration_search.cc share (internal to training/calibration).
#ifndef PERSEPHONEE_TRAINING_CALIBRATION_INTERNAL_H_
#define PERSEPHONEE_TRAINING_CALIBRATION_INTERNAL_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "training/calibration.h"

namespace persephonee {
namespace calibration_internal {

constexpr int64_t kMaxSamples = int64_t{1} << 22;
constexpr int kMaxExits = 64;
// With at most 2^22 samples, sums of per-sample MACs stay below 2^62.
constexpr int64_t kMaxMacs = int64_t{1} << 40;

/// The reference accuracy is measured against, resolved for one set of observations.
struct Reference {
  AccuracyReference kind = AccuracyReference::kLabels;  ///< Never kAuto.
  std::vector<uint8_t> evaluated;                       ///< [N] 1 if the sample has a reference.
  std::vector<uint8_t> correct;  ///< [N][E] 1 if evaluated and exit e's answer is right.
  int64_t num_evaluated = 0;
};

/// Resolves kAuto and computes the per-sample flags; obs must be valid.
StatusOr<Reference> ResolveReference(const ExitObservations& obs, AccuracyReference requested);

/// The exit `sample` leaves at under `thresholds` (E-1 of them, no NaN).
int ExitOf(const ExitObservations& obs, int64_t sample, const std::vector<float>& thresholds);

}  // namespace calibration_internal
}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_CALIBRATION_INTERNAL_H_
