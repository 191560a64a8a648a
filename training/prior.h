// Class-prior adaptation and teacher trust: what the original model's final exit ("the teacher")
// can be trusted with for one user, measured before any head trains.
//
// Prior. A user owns a few classes in unequal proportions; the backbone was trained on a
// balanced set (the training prior pi_t, uniform unless given). The user's prior pi is
// estimated by EM on the teacher's probabilities p(y | x) (Saerens, Latinne and Decaestecker
// 2002), with the labelled samples' posteriors fixed to their labels:
//   E step: w_n(y) = pi(y) / pi_t(y) * p(y | x_n), normalised over y (one-hot for a label);
//   M step: pi(y) = (sum_n w_n(y) + a * pi_t(y)) / (N + a),
// a Dirichlet pseudo-count `a` that shrinks towards pi_t (MAP, not ML: a handful of confident
// mistakes cannot drive a class to zero), iterated to convergence. The correction applied to
// every logit is then log pi(y) - log pi_t(y) (logit adjustment).
//
// Trust. On the labelled samples the prior-corrected teacher's answers are tallied against the
// labels into a confusion count n(i, j) (teacher says i, label j). Its row-normalised form with
// `confusion_smoothing` added on the diagonal, M(i, j) ~ P(label j | teacher says i), corrects
// systematic mistakes: the teacher's target for an unlabelled sample becomes q = p M. Trust is
// the leave-one-out accuracy of that corrected teacher on the labelled samples (each sample's
// own count removed from M before it is scored), rescaled so that chance (1 / the classes the
// user labelled) is 0 and perfection 1, clamped to [0, 1]. Distillation and pseudo-labels are
// weighted by it, so a teacher that the labels show to be wrong teaches nothing and the labels
// alone do. Without labels nothing is measured: M is the identity and trust 1.
#ifndef PERSEPHONEE_TRAINING_PRIOR_H_
#define PERSEPHONEE_TRAINING_PRIOR_H_

#include <cstdint>
#include <vector>

#include "base/status.h"

namespace persephonee {

/// Options of EstimateTeacher.
struct PriorOptions {
  /// Dirichlet pseudo-count of the EM prior towards the training prior, as a fraction of the
  /// number of samples (0: maximum likelihood).
  double shrinkage = 0.1;
  int max_iterations = 1000;
  double tolerance = 1e-7;  ///< Stop when no prior moves by more than this.
  /// Added to the diagonal of the confusion counts before they are normalised.
  double confusion_smoothing = 2.0;
  /// Fewer labels than this: no confusion correction (M = identity), trust from plain accuracy.
  int min_labels_for_confusion = 10;
};

/// What the teacher can be trusted with for one user.
struct TeacherCorrection {
  int classes = 0;
  std::vector<double> prior;        ///< [C] the user's estimated prior, sums to 1.
  std::vector<float> logit_shift;   ///< [C] log prior - log training prior.
  std::vector<float> confusion;     ///< [C][C] M(i, j), rows sum to 1; identity if unmeasured.
  bool confusion_measured = false;  ///< false: `confusion` is the identity.
  double trust = 1.0;               ///< In [0, 1].
  double teacher_accuracy = -1;     ///< Prior-corrected teacher on the labels; -1 if none.
  double corrected_accuracy = -1;   ///< Leave-one-out, after the confusion correction.
  int64_t labelled = 0;             ///< Labels behind the measurements.
  int em_iterations = 0;
};

/// The teacher as it is: uniform shift 0, identity confusion, trust 1.
TeacherCorrection IdentityTeacher(int classes);

/// Softmax of `logits` (count x classes) into `probs`.
void SoftmaxRows(const float* logits, size_t count, int classes, std::vector<double>* probs);

/// Estimates the prior, the confusion correction and the trust from the teacher's logits
/// (count x classes) and per-sample labels (-1 = none). `training_prior` is [C] or empty
/// (uniform). Errors: mismatched sizes, a label out of range, non-finite logits.
StatusOr<TeacherCorrection> EstimateTeacher(const std::vector<float>& logits, int classes,
                                            const std::vector<int32_t>& labels,
                                            const std::vector<double>& training_prior = {},
                                            const PriorOptions& options = {});

/// The corrected teacher for `count` samples, as logits into `out` (count x classes):
/// log(softmax(logits + shift) M), floored at log(1e-12); without a measured confusion simply
/// logits + shift (the same softmax).
void CorrectTeacherLogits(const TeacherCorrection& t, const float* logits, size_t count,
                          float* out);

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_PRIOR_H_
