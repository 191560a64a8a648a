#include "training/assemble.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/loss/loss.h"

namespace persephonee {
namespace {

const char* OptimizerName(OptimizerKind k) { return k == OptimizerKind::kAdam ? "adam" : "sgd"; }

// Names of the optimiser arrays, in the order Personalise keeps them.
std::vector<std::string> StateNames(const std::vector<Graph>& heads, OptimizerKind optimizer) {
  std::vector<std::string> names;
  for (const Graph& head : heads) {
    for (const Tensor& t : head.tensors()) {
      if (t.kind != TensorKind::kParameter) continue;
      if (optimizer == OptimizerKind::kAdam) {
        names.push_back(t.name + "/exp_avg");
        names.push_back(t.name + "/exp_avg_sq");
      } else {
        names.push_back(t.name + "/momentum");
      }
    }
  }
  return names;
}

}  // namespace

std::vector<int64_t> ExitMacs(const ExitPlan& plan) {
  std::vector<int64_t> macs;
  int64_t heads = 0;
  for (const ExitPoint& e : plan.exits) {
    heads += e.head_macs;
    macs.push_back(e.backbone_macs + heads);
  }
  macs.push_back(plan.backbone_macs + heads);
  return macs;
}

StatusOr<ExitObservations> HeldOutObservations(const PersonaliseResult& result,
                                               ConfidenceMeasure measure) {
  const HeldOut& h = result.held_out;
  ENSURE(!h.labels.empty(), "calibration: no held-out images (use a positive holdout fraction)");
  ExitObservations obs;
  obs.num_samples = static_cast<int64_t>(h.labels.size());
  obs.num_exits = h.num_exits;
  obs.predictions = h.prediction;
  obs.scores.resize(h.max_prob.size());
  for (size_t i = 0; i < h.max_prob.size(); ++i) {
    obs.scores[i] = ConfidenceScore(measure, h.max_prob[i], h.entropy[i], result.plan.classes);
  }
  obs.exit_macs = ExitMacs(result.plan);
  obs.labels = h.labels;
  RETURN_IF_ERROR(ValidateObservations(obs));
  return obs;
}

namespace {

int32_t ArgmaxRow(const float* row, size_t k) {
  return static_cast<int32_t>(std::max_element(row, row + k) - row);
}

}  // namespace

StatusOr<CalibrationDecision> DecideAndCalibrate(PersonaliseResult* result,
                                                 ConfidenceMeasure measure,
                                                 const GuaranteeOptions& options) {
  HeldOut& h = result->held_out;
  const size_t k = static_cast<size_t>(result->plan.classes);
  const size_t exits = static_cast<size_t>(h.num_exits);
  const size_t n = h.labels.size();
  ENSURE(n > 0, "calibration: no held-out images (use a positive holdout fraction)");
  ENSURE(h.logits.size() == n * exits * k, "calibration: the held-out logits are missing");
  CalibrationDecision d;
  d.personal_final = result->plan.personal_final;
  const size_t original = exits - 1;
  auto logits = [&](size_t i, size_t e) { return h.logits.data() + (i * exits + e) * k; };
  const std::vector<float>& shift = result->teacher.logit_shift;

  if (d.personal_final) {
    const size_t f = exits - 2;
    std::vector<float> corrected(k);
    for (size_t i = 0; i < n; ++i) {
      if (h.labels[i] < 0) continue;
      ++d.final_labelled;
      const float* o = logits(i, original);
      for (size_t j = 0; j < k; ++j) corrected[j] = o[j] + (shift.size() == k ? shift[j] : 0.0f);
      d.final_correct += ArgmaxRow(logits(i, f), k) == h.labels[i] ? 1 : 0;
      d.corrected_correct += ArgmaxRow(corrected.data(), k) == h.labels[i] ? 1 : 0;
      d.original_correct += ArgmaxRow(o, k) == h.labels[i] ? 1 : 0;
    }
    d.final_trained = !(d.final_correct < d.corrected_correct && result->initial_final_head);
    if (!d.final_trained) {
      result->heads[f] = *result->initial_final_head;
      std::vector<float> prob(1), ent(1);
      std::vector<int32_t> pred(1);
      for (size_t i = 0; i < n; ++i) {
        float* out = h.logits.data() + (i * exits + f) * k;
        const float* o = logits(i, original);
        for (size_t j = 0; j < k; ++j) out[j] = o[j] + (shift.size() == k ? shift[j] : 0.0f);
        loss_config().confidence(1, k, out, prob.data(), ent.data(), pred.data());
        h.prediction[i * exits + f] = pred[0];
        h.max_prob[i * exits + f] = prob[0];
        h.entropy[i * exits + f] = ent[0];
      }
    }
  }

  // The early exits and the reference: the personalised final exit, else the backbone's.
  ASSIGN_OR_RETURN(ExitObservations all, HeldOutObservations(*result, measure));
  ExitObservations obs = all;
  std::vector<int32_t> original_answers(n);
  for (size_t i = 0; i < n; ++i) original_answers[i] = ArgmaxRow(logits(i, original), k);
  if (d.personal_final) {
    const int e = all.num_exits - 1;
    obs.num_exits = e;
    obs.predictions.clear();
    obs.scores.clear();
    for (int64_t i = 0; i < all.num_samples; ++i) {
      for (int x = 0; x < e; ++x) {
        obs.predictions.push_back(all.prediction(i, x));
        obs.scores.push_back(all.score(i, x));
      }
    }
    obs.exit_macs.pop_back();
  }
  ASSIGN_OR_RETURN(d.guarantee, CalibrateWithGuarantee(obs, original_answers, options));
  d.thresholds = d.guarantee.thresholds;
  if (d.personal_final) d.thresholds.push_back(-std::numeric_limits<float>::infinity());
  return d;
}

StatusOr<Personalisation> MakePersonalisation(const std::string& backbone_hash,
                                              const PersonaliseResult& result,
                                              OptimizerKind optimizer, ConfidenceMeasure measure,
                                              const std::vector<float>& thresholds,
                                              const std::map<std::string, std::string>& metadata) {
  ENSURE(thresholds.size() == result.heads.size(), "personalisation: ", thresholds.size(),
         " thresholds for ", result.heads.size(), " heads");
  Personalisation p;
  for (size_t e = 0; e < result.heads.size(); ++e) {
    p.exits.push_back({result.plan.exits[e], result.heads[e], thresholds[e]});
  }
  p.measure = measure;
  p.classes = result.plan.classes;
  p.output_tensor = result.plan.output_tensor;
  p.backbone_macs = result.plan.backbone_macs;
  p.backbone_hash = backbone_hash;
  p.personal_final = result.plan.personal_final;
  if (!result.teacher.prior.empty()) p.prior = result.teacher.prior;
  p.metadata = StandardMetadata();
  for (const auto& [k, v] : metadata) p.metadata[k] = v;
  const std::vector<std::string> names = StateNames(result.heads, optimizer);
  if (names.size() == result.optimizer_state.size()) {
    OptimizerState state;
    state.name = OptimizerName(optimizer);
    state.step = result.optimizer_step;
    for (size_t i = 0; i < names.size(); ++i) {
      state.arrays.push_back({names[i], result.optimizer_state[i]});
    }
    p.optimizer = std::move(state);
  }
  RETURN_IF_ERROR(ValidatePersonalisation(p));
  return p;
}

ExitPlan PlanOf(const Personalisation& p) {
  ExitPlan plan;
  for (const PersonalisedExit& e : p.exits) plan.exits.push_back(e.point);
  plan.backbone_macs = p.backbone_macs;
  plan.classes = p.classes;
  plan.output_tensor = p.output_tensor;
  plan.personal_final = p.personal_final;
  return plan;
}

StatusOr<WarmStart> WarmStartFrom(const Personalisation& p, OptimizerKind optimizer) {
  WarmStart warm;
  for (const PersonalisedExit& e : p.exits) warm.heads.push_back(e.head);
  if (p.optimizer.has_value() && p.optimizer->name == OptimizerName(optimizer)) {
    const std::vector<std::string> names = StateNames(warm.heads, optimizer);
    ENSURE(names.size() == p.optimizer->arrays.size(), "personalisation: the saved ",
           p.optimizer->name, " state has ", p.optimizer->arrays.size(), " arrays, the heads need ",
           names.size());
    for (size_t i = 0; i < names.size(); ++i) {
      ENSURE(p.optimizer->arrays[i].name == names[i], "personalisation: optimiser array ", i,
             " is '", p.optimizer->arrays[i].name, "', expected '", names[i], "'");
      warm.optimizer_state.push_back(p.optimizer->arrays[i].values);
    }
    warm.optimizer_step = p.optimizer->step;
  }
  return warm;
}

}  // namespace persephonee
