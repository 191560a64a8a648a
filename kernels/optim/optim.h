// Optimisers for the trainable heads: one update step over a flat float32 parameter array.
//
// Semantics are exactly PyTorch 1.13's torch.optim.SGD and torch.optim.Adam (the single-tensor
// path, maximize=False, amsgrad=False), element by element:
//
//   SGD     d = g + weight_decay · p
//           momentum != 0:  buf = d                                  (first step)
//                           buf = momentum · buf + (1 − dampening) · d   (later steps)
//                           d   = nesterov ? d + momentum · buf : buf
//           p = p − lr · d
//
//   Adam    g = g + weight_decay · p                     (L2, added to the gradient)
//           m = beta1 · m + (1 − beta1) · g
//           v = beta2 · v + (1 − beta2) · g²
//           p = p − (lr / (1 − beta1^t)) · m / (sqrt(v) / sqrt(1 − beta2^t) + eps)
//                                                         (eps after the sqrt, as PyTorch)
//
// The step counter t is the caller's: 1 on the first step, then 2, 3, ... On step 1 the
// optimiser state (the momentum buffer; Adam's m and v) is written without being read, as
// PyTorch creates it then (a clone of d; zeros before the update), so it may start
// uninitialised. The bias corrections are computed in double from the float hyperparameters,
// as PyTorch computes them in Python floats.
//
// Implementations: __scalar (the oracle) and __neon (aarch64, 8 elements per iteration and a
// padded vector for the tail). The threaded entry points run one of them over fixed tiles of
// elements on a pthreadpool; the checked entry points validate and dispatch through those with
// optim_config().
#ifndef PERSEPHONEE_KERNELS_OPTIM_OPTIM_H_
#define PERSEPHONEE_KERNELS_OPTIM_OPTIM_H_

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

#include "base/status.h"

namespace persephonee {

/// torch.optim.SGD's hyperparameters (maximize is not supported).
struct SgdParams {
  float lr = 0.01f;
  float momentum = 0.0f;      ///< >= 0; 0 means plain SGD with no buffer.
  float dampening = 0.0f;     ///< In [0, 1]; must be 0 with Nesterov.
  float weight_decay = 0.0f;  ///< L2 penalty coefficient, >= 0.
  bool nesterov = false;      ///< Requires momentum > 0 and dampening 0.

  /// PyTorch's checks (lr, momentum, weight_decay >= 0; Nesterov needs momentum > 0 and no
  /// dampening) plus finiteness and dampening in [0, 1]. The message names the field.
  Status Validate() const;
};

/// torch.optim.Adam's hyperparameters (amsgrad and maximize are not supported).
struct AdamParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;         ///< In [0, 1).
  float beta2 = 0.999f;       ///< In [0, 1).
  float eps = 1e-8f;          ///< >= 0, added after the square root.
  float weight_decay = 0.0f;  ///< L2 penalty added to the gradient (not AdamW's decoupled decay).

  /// PyTorch's checks (lr, eps, weight_decay >= 0; betas in [0, 1)) plus finiteness.
  Status Validate() const;
};

/// The per-step scalars of Adam, computed in double and rounded once to float.
struct AdamStepScalars {
  float step_size = 0.0f;        ///< lr / (1 − beta1^t).
  float inv_bias_sqrt2 = 0.0f;   ///< 1 / sqrt(1 − beta2^t).
  float one_minus_beta1 = 0.0f;  ///< 1 − beta1.
  float one_minus_beta2 = 0.0f;  ///< 1 − beta2.
};

/// The scalars of step `step` (>= 1).
AdamStepScalars MakeAdamStepScalars(const AdamParams& params, int64_t step);

/// One SGD step over n elements: updates `params` and `momentum_buf` in place.
/// @param step          1 on the first step (the buffer is then initialised, not read).
/// @param momentum_buf  n floats; may be nullptr when params.momentum is 0.
using SgdFn = void (*)(size_t n, const SgdParams& params, int64_t step, float* weights,
                       const float* grads, float* momentum_buf);

/// One Adam step over n elements: updates `weights`, `exp_avg` (m) and `exp_avg_sq` (v).
/// @param step  t >= 1; on step 1, m and v are initialised, not read.
using AdamFn = void (*)(size_t n, const AdamParams& params, int64_t step, float* weights,
                        const float* grads, float* exp_avg, float* exp_avg_sq);

void f32_sgd__scalar(size_t n, const SgdParams& params, int64_t step, float* weights,
                     const float* grads, float* momentum_buf);
void f32_adam__scalar(size_t n, const AdamParams& params, int64_t step, float* weights,
                      const float* grads, float* exp_avg, float* exp_avg_sq);

#if defined(__aarch64__)
void f32_sgd__neon(size_t n, const SgdParams& params, int64_t step, float* weights,
                   const float* grads, float* momentum_buf);
void f32_adam__neon(size_t n, const AdamParams& params, int64_t step, float* weights,
                    const float* grads, float* exp_avg, float* exp_avg_sq);
#endif  // defined(__aarch64__)

/// One optimiser implementation.
struct OptimConfig {
  const char* name = "";  ///< "scalar" or "neon".
  SgdFn sgd = nullptr;
  AdamFn adam = nullptr;
};

/// The best implementation for this CPU, chosen at the first call: NEON on aarch64, otherwise
/// scalar.
const OptimConfig& optim_config();

/// Elements per task of the threaded steps (a multiple of the NEON kernels' 8-element block);
/// smaller arrays (most heads' parameters) run on the calling thread.
constexpr size_t kOptimTile = 16384;

/// Threaded steps (threaded.cc): the contracts of SgdFn and AdamFn, run with `config`'s kernel
/// over tiles of kOptimTile elements on `pool` (nullptr or one thread: one call over all n on
/// the calling thread). The update is elementwise, so the results are bitwise identical for any
/// thread count and equal to the kernel's over the whole array.
void f32_sgd(size_t n, const SgdParams& params, int64_t step, float* weights, const float* grads,
             float* momentum_buf, pthreadpool_t pool, const OptimConfig& config = optim_config());
void f32_adam(size_t n, const AdamParams& params, int64_t step, float* weights, const float* grads,
              float* exp_avg, float* exp_avg_sq, pthreadpool_t pool,
              const OptimConfig& config = optim_config());

/// Checked SGD step: validates the hyperparameters, step >= 1, non-null and non-overlapping
/// arrays (momentum_buf is needed only when momentum > 0); on error nothing is written. Runs
/// optim_config()'s kernel through f32_sgd on `pool` (nullptr: the calling thread).
Status SgdStep(size_t n, const SgdParams& params, int64_t step, float* weights, const float* grads,
               float* momentum_buf, pthreadpool_t pool = nullptr);

/// Checked Adam step, as SgdStep.
Status AdamStep(size_t n, const AdamParams& params, int64_t step, float* weights,
                const float* grads, float* exp_avg, float* exp_avg_sq,
                pthreadpool_t pool = nullptr);

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_OPTIM_OPTIM_H_
