// Double-precision references for the loss kernels, and the tolerances a float32 result is
// held to. Written independently of kernels/loss (plain log-sum-exp in double), from the
// definitions in loss.h. The finite-difference checks differentiate these functions.
#ifndef PERSEPHONEE_TESTS_KERNELS_LOSS_LOSS_REFERENCE_H_
#define PERSEPHONEE_TESTS_KERNELS_LOSS_LOSS_REFERENCE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace persephonee {
namespace loss_reference {

/// One row's softmax at temperature T in double: a_c = (z_c − max) / T, lse = log Σ exp(a_c),
/// log p_c = a_c − lse.
struct Row {
  std::vector<double> a;      ///< Shifted, scaled logits (<= 0).
  std::vector<double> log_p;  ///< log softmax.
  std::vector<double> p;      ///< softmax.
  double lse = 0.0;
};
Row SoftmaxRow(const double* z, size_t classes, double temperature);

/// Per-sample weighted losses and their sum; rows with weight 0 give 0 and read no label or
/// target. `weights` may be null (all 1).
double XentLosses(size_t batch, size_t classes, const double* z, const int32_t* labels,
                  const float* weights, std::vector<double>* losses);
double KlDivLosses(size_t batch, size_t classes, const double* z, const double* q,
                   double temperature, const float* weights, std::vector<double>* losses);

/// The gradients of grad_scale · Σ losses by loss.h's formulas (the golden test checks them
/// against PyTorch's autograd; the kernels are checked against finite differences of the
/// losses above).
std::vector<double> XentGrad(size_t batch, size_t classes, const double* z, const int32_t* labels,
                             const float* weights, double grad_scale);
std::vector<double> KlDivGrad(size_t batch, size_t classes, const double* z, const double* q,
                              double temperature, const float* weights, double grad_scale);

/// Max probability and entropy of each row's softmax (T = 1).
void Confidence(size_t batch, size_t classes, const double* z, std::vector<double>* max_prob,
                std::vector<double>* entropy);

/// Converts a float array to double.
std::vector<double> ToDouble(const float* x, size_t n);

// ---------------------------------------------------------------------------------------------
// Tolerances. `u` is 2.5e-7 (two float ulps at 1) times `growth`, which allows for sums whose
// rounding grows with the number of terms (1 for the compensated scalar sums, more for the
// lane-parallel NEON sums). Each bound follows how float error enters the quantity: a
// probability inherits the relative error of exp at its argument (4 + |a_c| ulps, as z − max
// is rounded before the exp); a loss that of every term it sums.

/// growth = max(1, sqrt(classes) / 4).
double Growth(size_t classes);

/// Bound for p_c given its row (reference values).
double ProbTolerance(const Row& row, size_t c, double growth);
/// Bound for a cross-entropy sample loss with weight w and label y.
double XentLossTolerance(const Row& row, int32_t y, double w, double growth);
/// Bound for a distillation sample loss (already multiplied by w T²).
double KlLossTolerance(const Row& row, const double* q, double temperature, double w,
                       double growth);
/// Bound for gradient element c: gw = grad_scale · w (· T for distillation); `target` is
/// q_c (or [c == y]); `sum_q` is Σ q (1 for hard labels).
double GradTolerance(const Row& row, size_t c, double gw, double target, double sum_q,
                     double growth);
/// Bounds for the entropy and max probability of a row (T = 1).
double EntropyTolerance(const Row& row, double growth);
double MaxProbTolerance(const Row& row, double growth);

}  // namespace loss_reference
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_LOSS_LOSS_REFERENCE_H_
