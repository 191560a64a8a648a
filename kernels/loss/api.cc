// The checked entry points of loss.h: validate everything, write nothing on error, dispatch.
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>

#include "kernels/loss/loss.h"

namespace persephonee {
namespace {

// A buffer an entry point reads or writes, for the overlap check.
struct Buffer {
  const char* name;
  const void* data;
  size_t bytes;
  bool written;
};

// Outputs must not overlap any other buffer (the kernels' pointers are restrict).
Status CheckNoOverlap(std::initializer_list<Buffer> buffers) {
  for (const Buffer& out : buffers) {
    if (!out.written || out.data == nullptr || out.bytes == 0) continue;
    const uintptr_t o = reinterpret_cast<uintptr_t>(out.data);
    for (const Buffer& other : buffers) {
      if (&other == &out || other.data == nullptr || other.bytes == 0) continue;
      const uintptr_t p = reinterpret_cast<uintptr_t>(other.data);
      ENSURE(!(o < p + other.bytes && p < o + out.bytes), out.name, " overlaps ", other.name);
    }
  }
  return Status::Ok();
}

Status CheckShape(size_t batch, size_t classes) {
  ENSURE(batch >= 1, "batch is 0");
  ENSURE(classes >= 1, "classes is 0");
  ENSURE(classes <= static_cast<size_t>(std::numeric_limits<int32_t>::max()), "classes ", classes,
         " does not fit in int32");
  ENSURE(batch <= std::numeric_limits<size_t>::max() / sizeof(float) / classes, "batch ", batch,
         " x classes ", classes, " overflows");
  return Status::Ok();
}

// Every element of the [batch][classes] matrix `name` is finite (and >= 0 if non_negative).
Status CheckMatrix(const char* name, const float* x, size_t batch, size_t classes,
                   bool non_negative) {
  ENSURE(x != nullptr, name, " is null");
  for (size_t b = 0; b < batch; ++b) {
    for (size_t c = 0; c < classes; ++c) {
      const float v = x[b * classes + c];
      ENSURE(std::isfinite(v), name, "[", b, "][", c, "] = ", v, " is not finite");
      ENSURE(!non_negative || v >= 0.0f, name, "[", b, "][", c, "] = ", v, " is negative");
    }
  }
  return Status::Ok();
}

Status CheckWeights(const float* weights, size_t batch) {
  if (weights == nullptr) return Status::Ok();
  for (size_t b = 0; b < batch; ++b) {
    ENSURE(std::isfinite(weights[b]) && weights[b] >= 0.0f, "weights[", b, "] = ", weights[b],
           " is not a finite value >= 0");
  }
  return Status::Ok();
}

Status CheckTemperature(float temperature) {
  ENSURE(std::isfinite(temperature) && temperature > 0.0f, "temperature ", temperature,
         " is not a finite value > 0");
  ENSURE(std::isfinite(1.0f / temperature), "temperature ", temperature,
         " is too small (1/T overflows)");
  return Status::Ok();
}

Status CheckSoftmax(size_t batch, size_t classes, const float* logits, float temperature,
                    float* probs) {
  RETURN_IF_ERROR(CheckShape(batch, classes));
  RETURN_IF_ERROR(CheckMatrix("logits", logits, batch, classes, false));
  RETURN_IF_ERROR(CheckTemperature(temperature));
  ENSURE(probs != nullptr, "probs is null");
  const size_t bytes = batch * classes * sizeof(float);
  return CheckNoOverlap({{"logits", logits, bytes, false}, {"probs", probs, bytes, true}});
}

Status CheckCrossEntropy(size_t batch, size_t classes, const float* logits, const int32_t* labels,
                         const float* weights, float grad_scale, float* losses, float* grad,
                         float* loss_sum) {
  RETURN_IF_ERROR(CheckShape(batch, classes));
  RETURN_IF_ERROR(CheckMatrix("logits", logits, batch, classes, false));
  RETURN_IF_ERROR(CheckWeights(weights, batch));
  ENSURE(labels != nullptr, "labels is null");
  for (size_t b = 0; b < batch; ++b) {
    if (weights != nullptr && weights[b] == 0.0f) continue;
    ENSURE(labels[b] >= 0 && static_cast<size_t>(labels[b]) < classes, "labels[", b,
           "] = ", labels[b], " is outside [0, ", classes, ")");
  }
  ENSURE(std::isfinite(grad_scale), "grad_scale ", grad_scale, " is not finite");
  ENSURE(loss_sum != nullptr, "loss_sum is null");
  const size_t matrix = batch * classes * sizeof(float);
  const size_t vector = batch * sizeof(float);
  return CheckNoOverlap({{"logits", logits, matrix, false},
                         {"labels", labels, batch * sizeof(int32_t), false},
                         {"weights", weights, vector, false},
                         {"losses", losses, vector, true},
                         {"grad", grad, matrix, true},
                         {"loss_sum", loss_sum, sizeof(float), true}});
}

Status CheckDistillation(size_t batch, size_t classes, const float* logits, const float* targets,
                         float temperature, const float* weights, float grad_scale, float* losses,
                         float* grad, float* loss_sum) {
  RETURN_IF_ERROR(CheckShape(batch, classes));
  RETURN_IF_ERROR(CheckMatrix("logits", logits, batch, classes, false));
  RETURN_IF_ERROR(CheckMatrix("targets", targets, batch, classes, true));
  RETURN_IF_ERROR(CheckTemperature(temperature));
  RETURN_IF_ERROR(CheckWeights(weights, batch));
  ENSURE(std::isfinite(grad_scale), "grad_scale ", grad_scale, " is not finite");
  ENSURE(loss_sum != nullptr, "loss_sum is null");
  const size_t matrix = batch * classes * sizeof(float);
  const size_t vector = batch * sizeof(float);
  return CheckNoOverlap({{"logits", logits, matrix, false},
                         {"targets", targets, matrix, false},
                         {"weights", weights, vector, false},
                         {"losses", losses, vector, true},
                         {"grad", grad, matrix, true},
                         {"loss_sum", loss_sum, sizeof(float), true}});
}

Status CheckConfidence(size_t batch, size_t classes, const float* logits, float* max_prob,
                       float* entropy, int32_t* argmax) {
  RETURN_IF_ERROR(CheckShape(batch, classes));
  RETURN_IF_ERROR(CheckMatrix("logits", logits, batch, classes, false));
  ENSURE(max_prob != nullptr || entropy != nullptr || argmax != nullptr,
         "max_prob, entropy and argmax are all null");
  const size_t vector = batch * sizeof(float);
  return CheckNoOverlap({{"logits", logits, batch * classes * sizeof(float), false},
                         {"max_prob", max_prob, vector, true},
                         {"entropy", entropy, vector, true},
                         {"argmax", argmax, batch * sizeof(int32_t), true}});
}

}  // namespace

Status Softmax(size_t batch, size_t classes, const float* logits, float temperature, float* probs,
               pthreadpool_t pool) {
  const Status status = CheckSoftmax(batch, classes, logits, temperature, probs);
  if (!status.ok()) return status.WithContext("Softmax");
  f32_softmax(batch, classes, logits, temperature, probs, pool);
  return Status::Ok();
}

Status SoftmaxCrossEntropy(size_t batch, size_t classes, const float* logits, const int32_t* labels,
                           const float* weights, float grad_scale, float* losses, float* grad,
                           float* loss_sum, pthreadpool_t pool) {
  const Status status = CheckCrossEntropy(batch, classes, logits, labels, weights, grad_scale,
                                          losses, grad, loss_sum);
  if (!status.ok()) return status.WithContext("SoftmaxCrossEntropy");
  *loss_sum =
      f32_softmax_xent(batch, classes, logits, labels, weights, grad_scale, losses, grad, pool);
  return Status::Ok();
}

Status SoftmaxDistillation(size_t batch, size_t classes, const float* logits, const float* targets,
                           float temperature, const float* weights, float grad_scale, float* losses,
                           float* grad, float* loss_sum, pthreadpool_t pool) {
  const Status status = CheckDistillation(batch, classes, logits, targets, temperature, weights,
                                          grad_scale, losses, grad, loss_sum);
  if (!status.ok()) return status.WithContext("SoftmaxDistillation");
  *loss_sum = f32_softmax_kldiv(batch, classes, logits, targets, temperature, weights, grad_scale,
                                losses, grad, pool);
  return Status::Ok();
}

Status SoftmaxConfidence(size_t batch, size_t classes, const float* logits, float* max_prob,
                         float* entropy, int32_t* argmax, pthreadpool_t pool) {
  const Status status = CheckConfidence(batch, classes, logits, max_prob, entropy, argmax);
  if (!status.ok()) return status.WithContext("SoftmaxConfidence");
  f32_softmax_confidence(batch, classes, logits, max_prob, entropy, argmax, pool);
  return Status::Ok();
}

}  // namespace persephonee
