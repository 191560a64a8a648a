// Hyperparameter validation and the checked entry points of optim.h.
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>

#include "kernels/optim/optim.h"

namespace persephonee {
namespace {

// `name` = value must be finite and >= 0.
Status CheckNonNegative(const char* name, float value) {
  ENSURE(std::isfinite(value) && value >= 0.0f, name, " = ", value, " is not a finite value >= 0");
  return Status::Ok();
}

struct Array {
  const char* name;
  const float* data;
  bool written;
};

// Every array is non-null and no written array overlaps another.
Status CheckArrays(size_t n, std::initializer_list<Array> arrays) {
  ENSURE(n <= std::numeric_limits<size_t>::max() / sizeof(float), "n = ", n, " overflows");
  for (const Array& a : arrays) ENSURE(a.data != nullptr, a.name, " is null");
  const size_t bytes = n * sizeof(float);
  for (const Array& out : arrays) {
    if (!out.written) continue;
    const uintptr_t o = reinterpret_cast<uintptr_t>(out.data);
    for (const Array& other : arrays) {
      if (&other == &out) continue;
      const uintptr_t p = reinterpret_cast<uintptr_t>(other.data);
      ENSURE(!(o < p + bytes && p < o + bytes), out.name, " overlaps ", other.name);
    }
  }
  return Status::Ok();
}

}  // namespace

Status SgdParams::Validate() const {
  RETURN_IF_ERROR(CheckNonNegative("lr", lr));
  RETURN_IF_ERROR(CheckNonNegative("momentum", momentum));
  RETURN_IF_ERROR(CheckNonNegative("weight_decay", weight_decay));
  ENSURE(std::isfinite(dampening) && dampening >= 0.0f && dampening <= 1.0f,
         "dampening = ", dampening, " is outside [0, 1]");
  ENSURE(!nesterov || (momentum > 0.0f && dampening == 0.0f),
         "Nesterov momentum requires momentum > 0 and dampening = 0 (momentum = ", momentum,
         ", dampening = ", dampening, ")");
  return Status::Ok();
}

Status AdamParams::Validate() const {
  RETURN_IF_ERROR(CheckNonNegative("lr", lr));
  RETURN_IF_ERROR(CheckNonNegative("eps", eps));
  RETURN_IF_ERROR(CheckNonNegative("weight_decay", weight_decay));
  ENSURE(beta1 >= 0.0f && beta1 < 1.0f, "beta1 = ", beta1, " is outside [0, 1)");
  ENSURE(beta2 >= 0.0f && beta2 < 1.0f, "beta2 = ", beta2, " is outside [0, 1)");
  return Status::Ok();
}

Status SgdStep(size_t n, const SgdParams& params, int64_t step, float* weights, const float* grads,
               float* momentum_buf, pthreadpool_t pool) {
  Status status = params.Validate();
  if (status.ok() && step < 1) status = Error(StatusCode::kInvalidArgument, "step ", step, " < 1");
  if (status.ok() && n > 0) {
    status = params.momentum != 0.0f
                 ? CheckArrays(n, {{"weights", weights, true},
                                   {"grads", grads, false},
                                   {"momentum_buf", momentum_buf, true}})
                 : CheckArrays(n, {{"weights", weights, true}, {"grads", grads, false}});
  }
  if (!status.ok()) return status.WithContext("SgdStep");
  if (n > 0) f32_sgd(n, params, step, weights, grads, momentum_buf, pool);
  return Status::Ok();
}

Status AdamStep(size_t n, const AdamParams& params, int64_t step, float* weights,
                const float* grads, float* exp_avg, float* exp_avg_sq, pthreadpool_t pool) {
  Status status = params.Validate();
  if (status.ok() && step < 1) status = Error(StatusCode::kInvalidArgument, "step ", step, " < 1");
  if (status.ok() && n > 0) {
    status = CheckArrays(n, {{"weights", weights, true},
                             {"grads", grads, false},
                             {"exp_avg", exp_avg, true},
                             {"exp_avg_sq", exp_avg_sq, true}});
  }
  if (!status.ok()) return status.WithContext("AdamStep");
  if (n > 0) f32_adam(n, params, step, weights, grads, exp_avg, exp_avg_sq, pool);
  return Status::Ok();
}

}  // namespace persephonee
