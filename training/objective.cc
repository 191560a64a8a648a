#include "training/objective.h"

#include "kernels/loss/loss.h"

namespace persephonee {

Objective::Objective(const LossOptions& options, int classes, size_t max_batch)
    : options_(options),
      classes_(static_cast<size_t>(classes)),
      probs_t_(max_batch * classes_),
      max_prob_(max_batch),
      ce_weight_(max_batch),
      kl_weight_(max_batch),
      grad_kl_(max_batch * classes_),
      teacher_(max_batch),
      labels_(max_batch) {}

void Objective::SetBatch(const float* teacher_logits, const uint8_t* labels, size_t count) {
  const LossConfig& loss = loss_config();
  count_ = count;
  loss.softmax(count, classes_, teacher_logits, options_.temperature, probs_t_.data());
  loss.confidence(count, classes_, teacher_logits, max_prob_.data(), nullptr, teacher_.data());
  for (size_t i = 0; i < count; ++i) {
    const bool labelled = labels[i] != kUnlabelled;
    labels_[i] = labelled ? labels[i] : teacher_[i];
    ce_weight_[i] =
        labelled ? options_.labelled_weight
                 : (max_prob_[i] >= options_.pseudo_label_threshold ? options_.pseudo_label_weight
                                                                    : 0.0f);
    kl_weight_[i] = labelled ? 0.0f : options_.distill_weight;
  }
}

double Objective::LossAndGradient(const float* student_logits, float* grad) {
  const LossConfig& loss = loss_config();
  const float scale = 1.0f / static_cast<float>(count_);
  double total = loss.xent(count_, classes_, student_logits, labels_.data(), ce_weight_.data(),
                           scale, nullptr, grad);
  total += loss.kldiv(count_, classes_, student_logits, probs_t_.data(), options_.temperature,
                      kl_weight_.data(), scale, nullptr, grad_kl_.data());
  for (size_t i = 0; i < count_ * classes_; ++i) grad[i] += grad_kl_[i];
  return total;
}

}  // namespace persephonee
