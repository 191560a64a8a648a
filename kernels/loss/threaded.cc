// The threaded loss entry points: tiles of samples, one kernel call per tile.
//
// Every kernel computes each row from that row alone, so cutting the batch changes no row's
// result. The one reduction over the batch, the cross-entropy and distillation totals, is
// taken out of the parallel part: each task keeps its per-sample losses (the kernel's return
// value for the tile is dropped), and the calling thread then adds them in sample order with
// the same compensated sum as the kernels, skipping the weight-0 samples the kernels skip
// (adding their 0 is nearly always a no-op; only the same operations are sure to be). The tile
// depends on the number of classes only. With no pool, one thread or one tile, the kernel runs once
// over the whole batch on the calling thread, which gives the same bits with no dispatch cost.
#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "kernels/loss/compensated_sum.h"
#include "kernels/loss/loss.h"
#include "kernels/parallel.h"

namespace persephonee {
namespace {

using loss_internal::CompensatedSum;

// Logits per task: each costs an exp (and a log for distillation), a few nanoseconds, so this
// is several microseconds of work, and smaller batches run on the calling thread.
constexpr size_t kTaskLogits = 2048;

// Σ losses[b] in sample order over the samples whose weight is not 0, as the kernels sum them
// (with the same CompensatedSum).
float SumLosses(size_t batch, const float* weights, const float* losses) {
  CompensatedSum total;
  for (size_t b = 0; b < batch; ++b) {
    if (weights != nullptr && weights[b] == 0.0f) continue;
    total.Add(losses[b]);
  }
  return total.value();
}

// A growable buffer for the per-sample losses when the caller wants none; one per calling
// thread, so repeated calls do not allocate. Null when the allocation fails.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(data_); }

  float* Get(size_t floats) {
    if (floats > capacity_) {
      std::free(data_);
      data_ = static_cast<float*>(std::malloc(floats * sizeof(float)));
      capacity_ = data_ != nullptr ? floats : 0;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

thread_local Scratch tls_losses;

}  // namespace

size_t LossBatchTile(size_t classes) { return TileItems(classes, kTaskLogits); }

void f32_softmax(size_t batch, size_t classes, const float* logits, float temperature, float* probs,
                 pthreadpool_t pool, const LossConfig& config) {
  ForTiles(pool, batch, LossBatchTile(classes), [&](size_t b, size_t count) {
    config.softmax(count, classes, logits + b * classes, temperature, probs + b * classes);
  });
}

float f32_softmax_xent(size_t batch, size_t classes, const float* logits, const int32_t* labels,
                       const float* weights, float grad_scale, float* losses, float* grad,
                       pthreadpool_t pool, const LossConfig& config) {
  const size_t tile = LossBatchTile(classes);
  float* per_sample = nullptr;
  if (RunsInTiles(pool, batch, tile)) {
    per_sample = losses != nullptr ? losses : tls_losses.Get(batch);
  }
  if (per_sample == nullptr) {
    return config.xent(batch, classes, logits, labels, weights, grad_scale, losses, grad);
  }
  ForTiles(pool, batch, tile, [&](size_t b, size_t count) {
    config.xent(count, classes, logits + b * classes, labels != nullptr ? labels + b : nullptr,
                weights != nullptr ? weights + b : nullptr, grad_scale, per_sample + b,
                grad != nullptr ? grad + b * classes : nullptr);
  });
  return SumLosses(batch, weights, per_sample);
}

float f32_softmax_kldiv(size_t batch, size_t classes, const float* logits, const float* targets,
                        float temperature, const float* weights, float grad_scale, float* losses,
                        float* grad, pthreadpool_t pool, const LossConfig& config) {
  const size_t tile = LossBatchTile(classes);
  float* per_sample = nullptr;
  if (RunsInTiles(pool, batch, tile)) {
    per_sample = losses != nullptr ? losses : tls_losses.Get(batch);
  }
  if (per_sample == nullptr) {
    return config.kldiv(batch, classes, logits, targets, temperature, weights, grad_scale, losses,
                        grad);
  }
  ForTiles(pool, batch, tile, [&](size_t b, size_t count) {
    config.kldiv(count, classes, logits + b * classes, targets + b * classes, temperature,
                 weights != nullptr ? weights + b : nullptr, grad_scale, per_sample + b,
                 grad != nullptr ? grad + b * classes : nullptr);
  });
  return SumLosses(batch, weights, per_sample);
}

void f32_softmax_confidence(size_t batch, size_t classes, const float* logits, float* max_prob,
                            float* entropy, int32_t* argmax, pthreadpool_t pool,
                            const LossConfig& config) {
  ForTiles(pool, batch, LossBatchTile(classes), [&](size_t b, size_t count) {
    config.confidence(
        count, classes, logits + b * classes, max_prob != nullptr ? max_prob + b : nullptr,
        entropy != nullptr ? entropy + b : nullptr, argmax != nullptr ? argmax + b : nullptr);
  });
}

}  // namespace persephonee
