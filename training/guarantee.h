// Calibration with a statistical guarantee: early-exit thresholds chosen by Learn-then-Test
// (Angelopoulos et al. 2021), the procedure CALM (Schuster et al. 2022) uses for early exits.
//
// The loss. For thresholds lambda, the early-exit model answers sample n with a_n(lambda). Its
// loss against the original model is L(lambda) = Acc(original) - Acc(early exits), which we
// bound from above with what the held-out samples can tell:
//   - a labelled sample (label y) counts exactly: loss indicator A_n = [orig right, a_n wrong]
//     and gain indicator B_n = [orig wrong, a_n right], so A_n - B_n is its contribution;
//   - an unlabelled sample counts A_n = [a_n != r_n], disagreement with the reference answer
//     r_n (the answer of the model the sample falls back to when every early exit is off: the
//     personalised final exit, or the original), and B_n = 0. Disagreement is at least the
//     accuracy the early exits can lose against the reference, and nothing is credited.
// So mean(A) - mean(B) >= the loss against the original where every sample is labelled, and
// >= the loss against the reference otherwise. The reference itself is chosen separately
// (training/assemble.h), and is the original model unless labels showed it to be no worse.
//
// The bound. A and B are Bernoulli means, so Clopper-Pearson gives exact one-sided bounds:
// U = UCB(A, delta / 2) - LCB(B, delta / 2) exceeds the true loss with probability at most delta
// (a union bound over the two). Where no label exists B = 0 and U = UCB(A, delta).
//
// The search: fixed-sequence testing. The candidates are a data-independent family ordered from
// safest to cheapest: one threshold shared by every early exit, lambda_0 = +inf (every exit off),
// then 1 - 2^-k for k = 16 down to 1 in halves, then 0.45 down to 0 in steps of 0.05 (for max
// softmax and normalised entropy alike). Walking down the list, a candidate is accepted while
// its bound U <= epsilon, and the walk stops at the first one that is not. The chosen setting is
// the last accepted; because the order was fixed before the data were seen, the chance that it
// loses more than epsilon is at most delta (no correction for the number of candidates is
// needed). lambda_0 is accepted by definition (with every exit off the model is the reference),
// so when nothing else passes the early exits stay off for this user.
#ifndef PERSEPHONEE_TRAINING_GUARANTEE_H_
#define PERSEPHONEE_TRAINING_GUARANTEE_H_

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "training/calibration.h"

namespace persephonee {

/// The exact (Clopper-Pearson) one-sided upper bound at level `delta` on a Bernoulli mean after
/// `k` successes in `n` trials: the p with P(Binomial(n, p) <= k) = delta (1 when k = n; for
/// n = 0, 1). 0 <= k <= n, delta in (0, 1).
double ClopperPearsonUpper(int64_t k, int64_t n, double delta);
/// The lower bound likewise: the p with P(Binomial(n, p) >= k) = delta (0 when k = 0).
double ClopperPearsonLower(int64_t k, int64_t n, double delta);

/// The candidate shared thresholds, safest (+inf) first; see the top of this file.
std::vector<float> GuaranteeCandidates();

/// Options of CalibrateWithGuarantee.
struct GuaranteeOptions {
  double epsilon = 0.01;  ///< Accuracy the early exits may lose (a fraction), in [0, 1].
  double delta = 0.1;     ///< Allowed probability that they lose more, in (0, 1).
  /// The estimated loss against the reference the choice may take (see the top); negative:
  /// epsilon.
  double select_epsilon = -1;
};

/// What CalibrateWithGuarantee chose.
struct GuaranteeResult {
  std::vector<float> thresholds;  ///< [E-1]: the chosen shared threshold, or +inf (all off).
  bool exits_on = false;          ///< A candidate other than "all off" passed.
  double bound = 0;           ///< U at the chosen setting; when exits_on is false, U of the first
                              ///< candidate with an exit on (the one that failed).
  double estimate = 0;        ///< mean(A) - mean(B) at the chosen setting (or that failed one).
  int64_t samples = 0;        ///< Held-out samples behind the bound.
  int64_t labelled = 0;       ///< Of those, labelled.
  int tested = 0;             ///< Candidates tested, the failing one included.
  int accepted = 0;           ///< Of those, accepted (all off not counted).
  double reference_loss = 0;  ///< Estimated loss against the reference at the choice.
  double epsilon = 0, delta = 0;
};

/// Chooses thresholds for the E-1 early exits of `obs` (the last exit of `obs` is the
/// reference: its predictions are r_n). `original` holds the original model's prediction per
/// sample (used on labelled samples; may equal the reference's). `obs.labels` may be empty.
StatusOr<GuaranteeResult> CalibrateWithGuarantee(const ExitObservations& obs,
                                                 const std::vector<int32_t>& original,
                                                 const GuaranteeOptions& options = {});

}  // namespace persephonee

#endif  // PERSEPHONEE_TRAINING_GUARANTEE_H_
