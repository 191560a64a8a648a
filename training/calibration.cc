// Confidence scores, observations, early-exit simulation and label-free accuracy estimates. The
// threshold search itself is in calibration_search.cc.
#include "training/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/loss/loss.h"
#include "training/calibration_internal.h"

namespace persephonee {

const char* ConfidenceMeasureName(ConfidenceMeasure measure) {
  switch (measure) {
    case ConfidenceMeasure::kMaxSoftmax:
      return "max_softmax";
    case ConfidenceMeasure::kEntropy:
      return "entropy";
  }
  return "unknown";
}

StatusOr<ConfidenceMeasure> ParseConfidenceMeasure(const std::string& name) {
  for (ConfidenceMeasure m : {ConfidenceMeasure::kMaxSoftmax, ConfidenceMeasure::kEntropy}) {
    if (name == ConfidenceMeasureName(m)) return m;
  }
  return Error(StatusCode::kInvalidArgument, "unknown confidence measure '", name,
               "' (expected max_softmax or entropy)");
}

float ConfidenceScore(ConfidenceMeasure measure, float max_prob, float entropy, int classes) {
  float score = 1.0f;
  if (measure == ConfidenceMeasure::kMaxSoftmax) {
    score = max_prob;
  } else if (classes > 1) {
    score = 1.0f - entropy / std::log(static_cast<float>(classes));
  }
  return std::min(1.0f, std::max(0.0f, score));
}

const char* AccuracyReferenceName(AccuracyReference reference) {
  switch (reference) {
    case AccuracyReference::kAuto:
      return "auto";
    case AccuracyReference::kLabels:
      return "labels";
    case AccuracyReference::kFinalExit:
      return "final_exit";
  }
  return "unknown";
}

Status ValidateObservations(const ExitObservations& obs) {
  const int64_t n = obs.num_samples;
  const int e = obs.num_exits;
  ENSURE(n >= 1 && n <= calibration_internal::kMaxSamples, "calibration: num_samples is ", n,
         ", expected 1 to ", calibration_internal::kMaxSamples);
  ENSURE(e >= 1 && e <= calibration_internal::kMaxExits, "calibration: num_exits is ", e,
         ", expected 1 to ", calibration_internal::kMaxExits);
  const size_t cells = static_cast<size_t>(n) * static_cast<size_t>(e);
  ENSURE(obs.predictions.size() == cells, "calibration: predictions has ", obs.predictions.size(),
         " values, expected num_samples x num_exits = ", cells);
  ENSURE(obs.scores.size() == cells, "calibration: scores has ", obs.scores.size(),
         " values, expected num_samples x num_exits = ", cells);
  ENSURE(obs.exit_macs.size() == static_cast<size_t>(e), "calibration: exit_macs has ",
         obs.exit_macs.size(), " values, expected num_exits = ", e);
  ENSURE(obs.labels.empty() || obs.labels.size() == static_cast<size_t>(n),
         "calibration: labels has ", obs.labels.size(), " values, expected 0 or num_samples = ", n);
  for (size_t i = 0; i < cells; ++i) {
    ENSURE(obs.predictions[i] >= 0, "calibration: prediction of sample ", i / e, " at exit ", i % e,
           " is ", obs.predictions[i], ", expected a class >= 0");
    ENSURE(std::isfinite(obs.scores[i]), "calibration: score of sample ", i / e, " at exit ", i % e,
           " is ", obs.scores[i], ", expected a finite value");
  }
  for (int x = 0; x < e; ++x) {
    ENSURE(obs.exit_macs[x] >= 0 && obs.exit_macs[x] <= calibration_internal::kMaxMacs,
           "calibration: exit_macs[", x, "] is ", obs.exit_macs[x], ", expected 0 to 2^40");
    ENSURE(x == 0 || obs.exit_macs[x] >= obs.exit_macs[x - 1], "calibration: exit_macs[", x,
           "] = ", obs.exit_macs[x], " is less than exit_macs[", x - 1,
           "] = ", obs.exit_macs[x - 1], "; the costs are cumulative");
  }
  for (size_t i = 0; i < obs.labels.size(); ++i) {
    ENSURE(obs.labels[i] >= -1, "calibration: label of sample ", i, " is ", obs.labels[i],
           ", expected a class or -1 (unlabelled)");
  }
  return Status::Ok();
}

StatusOr<ExitObservations> ObservationsFromLogits(const std::vector<std::vector<float>>& logits,
                                                  int classes, ConfidenceMeasure measure,
                                                  const std::vector<int64_t>& exit_macs,
                                                  const std::vector<int32_t>& labels) {
  ENSURE(classes >= 1, "calibration: classes is ", classes, ", expected >= 1");
  ENSURE(!logits.empty(), "calibration: no exits' logits given");
  const size_t per_exit = logits[0].size();
  ENSURE(per_exit > 0 && per_exit % static_cast<size_t>(classes) == 0, "calibration: exit 0 has ",
         per_exit, " logits, not a positive multiple of ", classes, " classes");
  ENSURE(logits.size() <= static_cast<size_t>(calibration_internal::kMaxExits) &&
             per_exit / static_cast<size_t>(classes) <=
                 static_cast<size_t>(calibration_internal::kMaxSamples),
         "calibration: ", per_exit / static_cast<size_t>(classes), " samples at ", logits.size(),
         " exits is more than the limits (", calibration_internal::kMaxSamples, " samples, ",
         calibration_internal::kMaxExits, " exits)");
  ExitObservations obs;
  obs.num_samples = static_cast<int64_t>(per_exit / static_cast<size_t>(classes));
  obs.num_exits = static_cast<int>(logits.size());
  const size_t n = static_cast<size_t>(obs.num_samples);
  const size_t e = static_cast<size_t>(obs.num_exits);
  obs.predictions.resize(n * e);
  obs.scores.resize(n * e);
  obs.exit_macs = exit_macs;
  obs.labels = labels;
  std::vector<float> max_prob(n), entropy(n);
  std::vector<int32_t> argmax(n);
  for (size_t x = 0; x < e; ++x) {
    ENSURE(logits[x].size() == per_exit, "calibration: exit ", x, " has ", logits[x].size(),
           " logits, exit 0 has ", per_exit);
    const Status status = SoftmaxConfidence(n, static_cast<size_t>(classes), logits[x].data(),
                                            max_prob.data(), entropy.data(), argmax.data());
    if (!status.ok()) return status.WithContext("calibration: exit " + std::to_string(x));
    for (size_t s = 0; s < n; ++s) {
      obs.predictions[s * e + x] = argmax[s];
      obs.scores[s * e + x] = ConfidenceScore(measure, max_prob[s], entropy[s], classes);
    }
  }
  RETURN_IF_ERROR(ValidateObservations(obs));
  return obs;
}

namespace calibration_internal {

StatusOr<Reference> ResolveReference(const ExitObservations& obs, AccuracyReference requested) {
  int64_t labelled = 0;
  for (int32_t label : obs.labels) labelled += label >= 0;
  Reference ref;
  ref.kind = requested;
  if (requested == AccuracyReference::kAuto) {
    ref.kind = labelled > 0 ? AccuracyReference::kLabels : AccuracyReference::kFinalExit;
  }
  ENSURE(ref.kind != AccuracyReference::kLabels || labelled > 0,
         "calibration: accuracy against labels was asked for, but no sample is labelled");
  const int64_t n = obs.num_samples;
  const int e = obs.num_exits;
  ref.evaluated.assign(static_cast<size_t>(n), 1);
  ref.correct.assign(static_cast<size_t>(n) * static_cast<size_t>(e), 0);
  for (int64_t s = 0; s < n; ++s) {
    int32_t truth = obs.prediction(s, e - 1);
    if (ref.kind == AccuracyReference::kLabels) {
      truth = obs.labels[s];
      ref.evaluated[s] = truth >= 0;
    }
    ref.num_evaluated += ref.evaluated[s];
    if (!ref.evaluated[s]) continue;
    for (int x = 0; x < e; ++x) ref.correct[s * e + x] = obs.prediction(s, x) == truth;
  }
  return ref;
}

int ExitOf(const ExitObservations& obs, int64_t sample, const std::vector<float>& thresholds) {
  const int last = obs.num_exits - 1;
  for (int x = 0; x < last; ++x) {
    if (obs.score(sample, x) >= thresholds[x]) return x;
  }
  return last;
}

}  // namespace calibration_internal

StatusOr<OperatingPoint> SimulateEarlyExit(const ExitObservations& obs,
                                           const std::vector<float>& thresholds,
                                           AccuracyReference reference) {
  RETURN_IF_ERROR(ValidateObservations(obs));
  const int e = obs.num_exits;
  ENSURE(thresholds.size() == static_cast<size_t>(e - 1), "calibration: ", thresholds.size(),
         " thresholds given for ", e, " exits, expected ", e - 1);
  for (size_t x = 0; x < thresholds.size(); ++x) {
    ENSURE(!std::isnan(thresholds[x]), "calibration: threshold of exit ", x, " is NaN");
  }
  ASSIGN_OR_RETURN(const calibration_internal::Reference ref,
                   calibration_internal::ResolveReference(obs, reference));
  OperatingPoint point;
  point.thresholds = thresholds;
  point.reference = ref.kind;
  point.exit_counts.assign(e, 0);
  point.exit_evaluated.assign(e, 0);
  point.exit_correct.assign(e, 0);
  int64_t macs = 0;  // At most 2^22 samples x 2^40 MACs: no overflow.
  for (int64_t s = 0; s < obs.num_samples; ++s) {
    const int x = calibration_internal::ExitOf(obs, s, thresholds);
    ++point.exit_counts[x];
    macs += obs.exit_macs[x];
    if (!ref.evaluated[s]) continue;
    ++point.exit_evaluated[x];
    point.exit_correct[x] += ref.correct[s * e + x];
  }
  for (int x = 0; x < e; ++x) {
    point.evaluated += point.exit_evaluated[x];
    point.correct += point.exit_correct[x];
    point.exit_accuracy.push_back(point.exit_evaluated[x] > 0
                                      ? static_cast<double>(point.exit_correct[x]) /
                                            point.exit_evaluated[x]
                                      : std::numeric_limits<double>::quiet_NaN());
  }
  point.accuracy = static_cast<double>(point.correct) / point.evaluated;
  point.mean_macs = static_cast<double>(macs) / obs.num_samples;
  return point;
}

StatusOr<ExitAccuracyEstimate> EstimateExitAccuracy(const ExitObservations& obs) {
  RETURN_IF_ERROR(ValidateObservations(obs));
  const int64_t n = obs.num_samples;
  const int e = obs.num_exits;
  const int last = e - 1;
  for (int64_t s = 0; s < n; ++s) {
    const float c = obs.score(s, last);
    ENSURE(c >= 0.0f && c <= 1.0f, "calibration: the final exit's score on sample ", s, " is ", c,
           "; accuracy estimates need scores in [0, 1]");
  }
  ExitAccuracyEstimate est;
  est.estimated.assign(e, 0.0);
  est.agreement.assign(e, 0.0);
  std::vector<int64_t> labelled_correct(e, 0);
  for (int64_t s = 0; s < n; ++s) {
    const int32_t final_prediction = obs.prediction(s, last);
    const double c = obs.score(s, last);
    const int32_t label = obs.labels.empty() ? -1 : obs.labels[s];
    est.num_labelled += label >= 0;
    for (int x = 0; x < e; ++x) {
      const bool agree = obs.prediction(s, x) == final_prediction;
      est.estimated[x] += agree ? c : 0.0;
      est.agreement[x] += agree ? 1.0 : 0.0;
      labelled_correct[x] += label >= 0 && obs.prediction(s, x) == label;
    }
  }
  for (int x = 0; x < e; ++x) {
    est.estimated[x] /= static_cast<double>(n);
    est.agreement[x] /= static_cast<double>(n);
    est.labelled.push_back(est.num_labelled > 0
                               ? static_cast<double>(labelled_correct[x]) / est.num_labelled
                               : std::numeric_limits<double>::quiet_NaN());
  }
  return est;
}

}  // namespace persephonee
