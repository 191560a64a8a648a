#include "training/assemble.h"

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
