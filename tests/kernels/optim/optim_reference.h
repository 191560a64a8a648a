// Double-precision references for the optimiser steps, written from the formulas in
// kernels/optim/optim.h (PyTorch's), and the tolerances a float32 trajectory is held to.
//
// Alongside each value the reference carries a magnitude bound: the same recurrence applied to
// absolute values (|g| + wd·|p| for the decayed gradient, and so on). Float rounding in a step
// is at most a few ulps of the magnitudes it combines, so after k steps an implementation is
// within about 4·k ulps of these bounds; that is the tolerance (Tolerance()).
#ifndef PERSEPHONEE_TESTS_KERNELS_OPTIM_OPTIM_REFERENCE_H_
#define PERSEPHONEE_TESTS_KERNELS_OPTIM_OPTIM_REFERENCE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/optim/optim.h"

namespace persephonee {
namespace optim_reference {

/// A tracked quantity: its value and the magnitude bound of what was combined into it.
struct Tracked {
  std::vector<double> value;
  std::vector<double> scale;
};

/// SGD state in double.
struct SgdState {
  Tracked weights;
  Tracked momentum;
};

/// Adam state in double.
struct AdamState {
  Tracked weights;
  Tracked exp_avg;
  Tracked exp_avg_sq;
};

/// Starts from float weights (state empty, as before step 1).
SgdState StartSgd(const std::vector<float>& weights);
AdamState StartAdam(const std::vector<float>& weights);

/// One step with gradient `grads` (step >= 1; on step 1 the state is created).
void SgdStep(const SgdParams& params, int64_t step, const float* grads, SgdState* state);
void AdamStep(const AdamParams& params, int64_t step, const float* grads, AdamState* state);

/// The bound after `steps` steps on a quantity with magnitude bound `scale`:
/// 4 · steps · 2^-24 · scale, plus a floor far below any value the tests use.
double Tolerance(int64_t steps, double scale);

}  // namespace optim_reference
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_OPTIM_OPTIM_REFERENCE_H_
