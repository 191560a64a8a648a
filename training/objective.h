// The personalisation objective, per sample: cross-entropy on the user's label where there is
// one; otherwise distillation towards the teacher's (the original model's final exit) softened
// output at temperature T, and/or cross-entropy on the teacher's prediction when its confidence
// is at least tau. The heads (training/personalise.h) and both fine-tuning baselines
// (training/finetune.h) train with this one objective, so they differ only in what they train.
#ifndef PERSEPHONEE_TRAINING_OBJECTIVE_H_
#define PERSEPHONEE_TRAINING_OBJECTIVE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "training/labels.h"

namespace persephonee {

/// How the students learn.
struct LossOptions {
  float labelled_weight = 1.0f;         ///< Cross-entropy on the user's labels.
  float distill_weight = 1.0f;          ///< Distillation on unlabelled samples (0: off).
  float temperature = 2.0f;             ///< T of the distillation.
  float pseudo_label_weight = 1.0f;     ///< Cross-entropy on confident teacher labels (0: off).
  float pseudo_label_threshold = 0.8f;  ///< tau: the teacher's max softmax needed.
};

/// The objective for batches of up to `max_batch` samples over `classes` classes. Allocates in
/// the constructor only.
class Objective {
 public:
  Objective(const LossOptions& options, int classes, size_t max_batch);

  /// Sets the batch: the teacher's logits (count × classes) and each sample's label
  /// (kUnlabelled for none; otherwise < classes, which the caller has checked).
  void SetBatch(const float* teacher_logits, const uint8_t* labels, size_t count);

  /// The batch's summed loss for the student's logits (count × classes, the count of the last
  /// SetBatch), and its gradient with respect to them, scaled by 1 / count, into `grad`
  /// (overwritten, count × classes).
  double LossAndGradient(const float* student_logits, float* grad);

 private:
  LossOptions options_;
  size_t classes_;
  size_t count_ = 0;
  std::vector<float> probs_t_, max_prob_, ce_weight_, kl_weight_, grad_kl_;
  std::vector<int32_t> teacher_, labels_;
};

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_OBJECTIVE_H_
