#include "training/early_exit.h"

#include <cmath>
#include <cstring>

#include "kernels/loss/loss.h"

namespace persephonee {

StatusOr<std::unique_ptr<EarlyExitModel>> EarlyExitModel::Create(Graph backbone,
                                                                 const Personalisation& p,
                                                                 int threads) {
  RETURN_IF_ERROR(CheckBackbone(p, backbone));
  return CreateForHash(std::move(backbone), p.backbone_hash, p, threads);
}

StatusOr<std::unique_ptr<EarlyExitModel>> EarlyExitModel::CreateForHash(
    Graph backbone, const std::string& backbone_hash, const Personalisation& p, int threads) {
  ENSURE_CODE(backbone_hash == p.backbone_hash, kFailedPrecondition,
              "personalisation: made for the backbone with SHA-256 ", p.backbone_hash,
              ", but this backbone's SHA-256 is ", backbone_hash,
              "; its exits cannot be used on another backbone (retrain them on this one)");
  std::unique_ptr<EarlyExitModel> m(new EarlyExitModel());
  m->measure_ = p.measure;
  m->classes_ = p.classes;
  m->backbone_macs_ = p.backbone_macs;
  EngineOptions options;
  options.threads = threads;
  options.keep.push_back(p.output_tensor);
  ASSIGN_OR_RETURN(m->backbone_, Engine::Create(std::move(backbone), options));
  const Graph& g = m->backbone_->graph();
  m->image_size_ = static_cast<size_t>(NumElements(g.tensor(g.inputs()[0]).shape));
  ASSIGN_OR_RETURN(m->logits_, m->backbone_->TensorData(p.output_tensor));
  for (const PersonalisedExit& e : p.exits) {
    Head h;
    ASSIGN_OR_RETURN(TensorId t, g.FindTensor(e.point.tensor));
    h.after = g.Producer(t);
    ENSURE(h.after != kNoNode, "early exit: '", e.point.tensor, "' is not written by a node");
    ENSURE(m->heads_.empty() || h.after > m->heads_.back().after,
           "early exit: exits are not in backbone order");
    ASSIGN_OR_RETURN(h.features, m->backbone_->TensorData(e.point.tensor));
    h.feature_size = static_cast<size_t>(NumElements(g.tensor(t).shape));
    EngineOptions head_options;
    head_options.threads = 1;  // a head is small; threads would cost more than they save
    ASSIGN_OR_RETURN(h.engine, Engine::Create(e.head, head_options));
    h.head_macs = e.point.head_macs;
    h.macs_answering = e.point.backbone_macs + e.point.head_macs;
    m->heads_.push_back(std::move(h));
    m->thresholds_.push_back(e.threshold);
  }
  return m;
}

Status EarlyExitModel::SetThresholds(const std::vector<float>& thresholds) {
  ENSURE(thresholds.size() == heads_.size(), "early exit: ", thresholds.size(), " thresholds for ",
         heads_.size(), " heads");
  for (float t : thresholds) ENSURE(!std::isnan(t), "early exit: a threshold is NaN");
  thresholds_ = thresholds;
  return Status::Ok();
}

StatusOr<ExitAnswer> EarlyExitModel::Infer(const float* image) {
  std::memcpy(backbone_->input(), image, image_size_ * sizeof(float));
  const LossConfig& loss = loss_config();
  const size_t classes = static_cast<size_t>(classes_);
  ExitAnswer answer;
  NodeId next = 0;
  int64_t heads_run = 0;
  float max_prob = 0.0f, entropy = 0.0f;
  for (size_t e = 0; e < heads_.size(); ++e) {
    if (std::isinf(thresholds_[e]) && thresholds_[e] > 0) continue;  // switched off
    Head& h = heads_[e];
    RETURN_IF_ERROR(backbone_->RunNodes(next, h.after + 1));
    next = h.after + 1;
    std::memcpy(h.engine->input(), h.features, h.feature_size * sizeof(float));
    RETURN_IF_ERROR(h.engine->Run());
    heads_run += h.head_macs;
    loss.confidence(1, classes, h.engine->output(), &max_prob, &entropy, &answer.prediction);
    answer.score = ConfidenceScore(measure_, max_prob, entropy, classes_);
    if (answer.score >= thresholds_[e]) {
      answer.exit = static_cast<int>(e);
      answer.macs = h.macs_answering - h.head_macs + heads_run;
      return answer;
    }
  }
  RETURN_IF_ERROR(backbone_->RunNodes(next, backbone_->graph().num_nodes()));
  loss.confidence(1, classes, logits_, &max_prob, &entropy, &answer.prediction);
  answer.score = ConfidenceScore(measure_, max_prob, entropy, classes_);
  answer.exit = static_cast<int>(heads_.size());
  answer.macs = backbone_macs_ + heads_run;
  return answer;
}

Status EarlyExitModel::InferBatch(const float* images, size_t n, std::vector<ExitAnswer>* out) {
  out->clear();
  out->reserve(n);
  for (size_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(ExitAnswer a, Infer(images + i * image_size_));
    out->push_back(a);
  }
  return Status::Ok();
}

}  // namespace persephonee
