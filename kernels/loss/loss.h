// Losses and confidences on a head's logits: the softmax family that trains and gates the
// early-exit heads (PersEPhonEE).
//
// Layout: logits, probabilities, targets and gradients are dense row-major [batch][classes]
// float32; labels are int32 [batch]; per-sample weights, losses and confidences are [batch].
//
// What each function computes, per sample b (z = logits[b], C = classes, w = weights[b] or 1):
//
//   softmax       p_c = exp(z_c / T) / Σ_k exp(z_k / T)
//   cross-entropy ℓ_b = w · (log Σ_k exp(z_k) − z_y),            y = labels[b]
//                 ∂/∂z_c = s · w · (p_c − [c == y]),               s = grad_scale, T = 1
//   distillation  ℓ_b = w · T² · KL(q ‖ softmax(z / T)) = w · T² · Σ_c q_c (log q_c − log p_c)
//                 ∂/∂z_c = s · w · T · (p_c · Σ_k q_k − q_c),      q = targets[b], 0·log 0 = 0
//   confidence    max_c p_c, entropy −Σ_c p_c log p_c (natural log), argmax (first of ties)
//
// Distillation is the KL divergence, not the cross-entropy −Σ q log p. The two differ by the
// teacher's entropy, a constant in z, so the gradients are the same; KL is zero exactly when
// the student matches the teacher, so its value reads as "how far from the teacher" for any T
// and any teacher, and it is what PyTorch's usual recipe computes
// (F.kl_div(F.log_softmax(z / T), q) · T²). The T² keeps the gradient's magnitude independent
// of T (Hinton et al., 2015). The gradient uses Σ q rather than assuming it is 1, so it is the
// exact derivative of the loss as written even for targets that are not normalised.
//
// Weights: a sample with weight 0 contributes nothing and its label or target row is never
// read (so unlabelled samples may carry any label); its loss and gradient row are written as 0.
// Per-sample losses are written weighted, so they sum to the returned total.
//
// Numerics: every row subtracts its maximum before exponentiating (log-sum-exp), so logits of
// any finite magnitude (1e4 and beyond) give finite losses and gradients. The cross-entropy is
// lse − (z_y − max), never log(p_y), so a confidently wrong sample costs its true, large loss.
//
// Implementations: __scalar (the oracle; float with compensated sums) and __neon (aarch64,
// vectorised over classes with a bounded-error exp and log; see f32_vexp__neon). The threaded
// entry points run one of them over tiles of samples on a pthreadpool; the checked entry points
// at the bottom validate their arguments and dispatch through those with loss_config().
#ifndef PERSEPHONEE_KERNELS_LOSS_LOSS_H_
#define PERSEPHONEE_KERNELS_LOSS_LOSS_H_

#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

#include "base/status.h"

namespace persephonee {

/// probs = softmax(logits / temperature), row by row. Rows of `probs` sum to 1.
using SoftmaxFn = void (*)(size_t batch, size_t classes, const float* logits, float temperature,
                           float* probs);

/// Fused softmax + cross-entropy with hard labels. Returns Σ_b ℓ_b (weighted, unnormalised).
/// @param labels      class per sample, in [0, classes) wherever the weight is not 0.
/// @param weights     per-sample weights >= 0, or nullptr for all 1.
/// @param grad_scale  factor s applied to the gradient (e.g. 1 / Σ weights).
/// @param losses      per-sample weighted losses, or nullptr.
/// @param grad        dL/dlogits [batch][classes] scaled by grad_scale, or nullptr.
using SoftmaxXentFn = float (*)(size_t batch, size_t classes, const float* logits,
                                const int32_t* labels, const float* weights, float grad_scale,
                                float* losses, float* grad);

/// Distillation: T² · KL(targets ‖ softmax(logits / T)) per sample, weighted. Returns the sum.
/// @param targets     teacher probabilities [batch][classes] (>= 0, rows summing to 1), e.g.
///                    from a softmax of the teacher's logits at the same temperature.
/// @param temperature T > 0.
/// Other parameters as for SoftmaxXentFn.
using SoftmaxKlDivFn = float (*)(size_t batch, size_t classes, const float* logits,
                                 const float* targets, float temperature, const float* weights,
                                 float grad_scale, float* losses, float* grad);

/// Per-sample confidence of softmax(logits): any output may be nullptr.
/// @param max_prob  max_c p_c, in [1/classes, 1].
/// @param entropy   −Σ p_c log p_c, in [0, log classes].
/// @param argmax    the first class with the largest logit.
using SoftmaxConfidenceFn = void (*)(size_t batch, size_t classes, const float* logits,
                                     float* max_prob, float* entropy, int32_t* argmax);

// ---------------------------------------------------------------------------------------------
// Scalar oracle: plain loops, float arithmetic, Kahan-compensated sums over classes and batch.

void f32_softmax__scalar(size_t batch, size_t classes, const float* logits, float temperature,
                         float* probs);
float f32_softmax_xent__scalar(size_t batch, size_t classes, const float* logits,
                               const int32_t* labels, const float* weights, float grad_scale,
                               float* losses, float* grad);
float f32_softmax_kldiv__scalar(size_t batch, size_t classes, const float* logits,
                                const float* targets, float temperature, const float* weights,
                                float grad_scale, float* losses, float* grad);
void f32_softmax_confidence__scalar(size_t batch, size_t classes, const float* logits,
                                    float* max_prob, float* entropy, int32_t* argmax);

#if defined(__aarch64__)
// ---------------------------------------------------------------------------------------------
// NEON (aarch64): 8 classes per iteration, then 4, then a masked vector for the last 1-3.

void f32_softmax__neon(size_t batch, size_t classes, const float* logits, float temperature,
                       float* probs);
float f32_softmax_xent__neon(size_t batch, size_t classes, const float* logits,
                             const int32_t* labels, const float* weights, float grad_scale,
                             float* losses, float* grad);
float f32_softmax_kldiv__neon(size_t batch, size_t classes, const float* logits,
                              const float* targets, float temperature, const float* weights,
                              float grad_scale, float* losses, float* grad);
void f32_softmax_confidence__neon(size_t batch, size_t classes, const float* logits,
                                  float* max_prob, float* entropy, int32_t* argmax);

/// The vector exp the NEON kernels use, applied to n values (exposed for its accuracy test).
/// For x in [−87.33, 0]: relative error below 1.5e-7 (1.3 ulp; the test measures 0.64 ulp);
/// exp(0) is exactly 1; for x < −87.33 (results below FLT_MIN) it returns 0. Inputs above 0
/// are not used by the kernels (they exponentiate z − max) and are outside the contract.
void f32_vexp__neon(size_t n, const float* x, float* y);

/// The vector natural log the NEON distillation kernel uses, for n values x > 0 (denormals
/// included): relative error below 1.6e-7 (1.3 ulp; the test measures 1.05 ulp), and absolute error
/// below 1e-7 near x = 1.
void f32_vlog__neon(size_t n, const float* x, float* y);
#endif  // defined(__aarch64__)

// ---------------------------------------------------------------------------------------------
// The implementation chosen once from cpuinfo (config.cc).

/// One loss implementation.
struct LossConfig {
  const char* name = "";  ///< "scalar" or "neon".
  SoftmaxFn softmax = nullptr;
  SoftmaxXentFn xent = nullptr;
  SoftmaxKlDivFn kldiv = nullptr;
  SoftmaxConfidenceFn confidence = nullptr;
};

/// The best implementation for this CPU, chosen at the first call: NEON on aarch64, otherwise
/// scalar.
const LossConfig& loss_config();

// ---------------------------------------------------------------------------------------------
// Threaded entry points (threaded.cc): the contracts of the function types above, run with
// `config`'s kernels on `pool` (nullptr or one thread: one call over the whole batch on the
// calling thread). The batch is cut into tiles of LossBatchTile(classes) samples, computed from
// the sizes alone, and each tile is one kernel call: every row is computed by the same code
// whatever its tile. The cross-entropy and distillation totals are not summed per tile: each
// task writes its per-sample losses, and after the parallel part the calling thread adds them
// in sample order with the kernels' own compensated sum (skipping weight-0 samples, as they
// do). So every output, the total included, is bitwise identical for any thread count and
// equal to the kernel's over the whole batch.

/// Samples per task: about 2048 logits, at least one row.
size_t LossBatchTile(size_t classes);

void f32_softmax(size_t batch, size_t classes, const float* logits, float temperature, float* probs,
                 pthreadpool_t pool, const LossConfig& config = loss_config());
/// When `losses` is null and the work is split, the per-sample losses go to a buffer kept by
/// the calling thread (allocated once, grown when needed); should that allocation fail, the
/// kernel runs on the calling thread alone.
float f32_softmax_xent(size_t batch, size_t classes, const float* logits, const int32_t* labels,
                       const float* weights, float grad_scale, float* losses, float* grad,
                       pthreadpool_t pool, const LossConfig& config = loss_config());
/// `losses` as for f32_softmax_xent.
float f32_softmax_kldiv(size_t batch, size_t classes, const float* logits, const float* targets,
                        float temperature, const float* weights, float grad_scale, float* losses,
                        float* grad, pthreadpool_t pool, const LossConfig& config = loss_config());
void f32_softmax_confidence(size_t batch, size_t classes, const float* logits, float* max_prob,
                            float* entropy, int32_t* argmax, pthreadpool_t pool,
                            const LossConfig& config = loss_config());

// ---------------------------------------------------------------------------------------------
// Checked entry points: validate every argument (kInvalidArgument naming the one at fault,
// with nothing written), then run loss_config()'s implementation through the threaded entry
// points on `pool` (nullptr: the calling thread). batch and classes must be >= 1, logits
// finite, weights finite and >= 0, labels in range where the weight is not 0, targets finite
// and >= 0, temperature finite and > 0, grad_scale finite; outputs must not overlap the inputs.

/// See SoftmaxFn.
Status Softmax(size_t batch, size_t classes, const float* logits, float temperature, float* probs,
               pthreadpool_t pool = nullptr);

/// See SoftmaxXentFn; the weighted loss sum is stored in *loss_sum (not nullable).
Status SoftmaxCrossEntropy(size_t batch, size_t classes, const float* logits, const int32_t* labels,
                           const float* weights, float grad_scale, float* losses, float* grad,
                           float* loss_sum, pthreadpool_t pool = nullptr);

/// See SoftmaxKlDivFn; the weighted loss sum is stored in *loss_sum (not nullable).
Status SoftmaxDistillation(size_t batch, size_t classes, const float* logits, const float* targets,
                           float temperature, const float* weights, float grad_scale, float* losses,
                           float* grad, float* loss_sum, pthreadpool_t pool = nullptr);

/// See SoftmaxConfidenceFn; at least one output must be given.
Status SoftmaxConfidence(size_t batch, size_t classes, const float* logits, float* max_prob,
                         float* entropy, int32_t* argmax, pthreadpool_t pool = nullptr);

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_LOSS_LOSS_H_
