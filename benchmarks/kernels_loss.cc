// Loss benchmarks on an early-exit head's outputs: batch 32 to 256 of 10 (Fashion-MNIST),
// 100 (CIFAR-100) and 1000 (ImageNet) classes. Fused softmax + cross-entropy with per-sample
// weights, distillation at T = 4, softmax at T = 1 and the confidence triple, each as scalar
// and (aarch64 builds) NEON; the softmax also through XNNPACK's softmax operator as a peer, in
// the same process. The counter is GB/s of array traffic: every array a kernel reads or writes,
// counted once (logits, labels, weights, targets, losses, gradient, probabilities, outputs).
// The threaded cross-entropy (f32_softmax_xent) also runs on 1 thread (no pool) and on a
// 2-thread pool at batch 256, for the speed-up.
//
//   bazel run -c opt //benchmarks:kernels -- --benchmark_filter='Loss'
#include <benchmark/benchmark.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/loss/loss.h"

namespace persephonee {
namespace {

std::vector<float> Random(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void SetBytes(benchmark::State& state, double bytes) {
  state.counters["GB/s"] =
      benchmark::Counter(1e-9 * bytes, benchmark::Counter::kIsIterationInvariantRate);
}

// batch x classes from the benchmark's arguments; logits like a trained head's (|z| <= 8).
struct Shape {
  size_t batch, classes;
  explicit Shape(const benchmark::State& state)
      : batch(static_cast<size_t>(state.range(0))), classes(static_cast<size_t>(state.range(1))) {}
  size_t size() const { return batch * classes; }
};

void BM_LossXent(benchmark::State& state, SoftmaxXentFn xent) {
  const Shape s(state);
  const auto logits = Random(s.size(), 1, -8.0f, 8.0f);
  std::vector<int32_t> labels(s.batch);
  std::vector<float> weights(s.batch, 1.0f), losses(s.batch), grad(s.size());
  for (size_t b = 0; b < s.batch; ++b) {
    labels[b] = static_cast<int32_t>((7 * b) % s.classes);
    if (b % 4 == 3) weights[b] = 0.0f;  // Unlabelled samples skipped, as in training.
  }
  for (auto _ : state) {
    float sum = xent(s.batch, s.classes, logits.data(), labels.data(), weights.data(),
                     1.0f / s.batch, losses.data(), grad.data());
    benchmark::DoNotOptimize(sum);
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (2 * s.size() + 3 * s.batch));
}

// f32_softmax_xent (loss_config()'s kernel in tiles of samples) on range(2) threads.
void BM_LossXentThreads(benchmark::State& state) {
  const Shape s(state);
  const size_t threads = static_cast<size_t>(state.range(2));
  std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)> pool(
      threads > 1 ? pthreadpool_create(threads) : nullptr, pthreadpool_destroy);
  const auto logits = Random(s.size(), 1, -8.0f, 8.0f);
  std::vector<int32_t> labels(s.batch);
  std::vector<float> weights(s.batch, 1.0f), losses(s.batch), grad(s.size());
  for (size_t b = 0; b < s.batch; ++b) {
    labels[b] = static_cast<int32_t>((7 * b) % s.classes);
    if (b % 4 == 3) weights[b] = 0.0f;
  }
  for (auto _ : state) {
    float sum = f32_softmax_xent(s.batch, s.classes, logits.data(), labels.data(), weights.data(),
                                 1.0f / s.batch, losses.data(), grad.data(), pool.get());
    benchmark::DoNotOptimize(sum);
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (2 * s.size() + 3 * s.batch));
}

void BM_LossKlDiv(benchmark::State& state, SoftmaxKlDivFn kldiv) {
  const Shape s(state);
  const float t = 4.0f;
  const auto logits = Random(s.size(), 1, -8.0f, 8.0f);
  const auto teacher = Random(s.size(), 2, -8.0f, 8.0f);
  std::vector<float> targets(s.size()), losses(s.batch), grad(s.size());
  f32_softmax__scalar(s.batch, s.classes, teacher.data(), t, targets.data());
  for (auto _ : state) {
    float sum = kldiv(s.batch, s.classes, logits.data(), targets.data(), t, nullptr, 1.0f / s.batch,
                      losses.data(), grad.data());
    benchmark::DoNotOptimize(sum);
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (3 * s.size() + s.batch));
}

void BM_LossSoftmax(benchmark::State& state, SoftmaxFn softmax) {
  const Shape s(state);
  const auto logits = Random(s.size(), 1, -8.0f, 8.0f);
  std::vector<float> probs(s.size());
  for (auto _ : state) {
    softmax(s.batch, s.classes, logits.data(), 1.0f, probs.data());
    benchmark::DoNotOptimize(probs.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 8.0 * s.size());
}

// XNNPACK's softmax operator (T = 1) on the same rows, as a peer.
void BM_LossSoftmaxXnnpack(benchmark::State& state) {
  const Shape s(state);
  const auto logits = Random(s.size(), 1, -8.0f, 8.0f);
  std::vector<float> probs(s.size());
  xnn_operator_t op = nullptr;
  if (!EnsureXnnpack().ok() ||
      xnn_create_softmax_nc_f32(s.classes, s.classes, s.classes, 0, &op) != xnn_status_success ||
      xnn_setup_softmax_nc_f32(op, s.batch, logits.data(), probs.data(), nullptr) !=
          xnn_status_success) {
    state.SkipWithError("XNNPACK softmax operator could not be set up");
    if (op != nullptr) xnn_delete_operator(op);
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(probs.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  SetBytes(state, 8.0 * s.size());
}

void BM_LossConfidence(benchmark::State& state, SoftmaxConfidenceFn confidence) {
  const Shape s(state);
  const auto logits = Random(s.size(), 1, -8.0f, 8.0f);
  std::vector<float> max_prob(s.batch), entropy(s.batch);
  std::vector<int32_t> argmax(s.batch);
  for (auto _ : state) {
    confidence(s.batch, s.classes, logits.data(), max_prob.data(), entropy.data(), argmax.data());
    benchmark::DoNotOptimize(argmax.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.size() + 3 * s.batch));
}

void Shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "classes"});
  for (int64_t batch : {32, 64, 128, 256}) {
    for (int64_t classes : {10, 100, 1000}) b->Args({batch, classes});
  }
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

#if defined(__aarch64__)
#define PERSEPHONEE_LOSS_BENCHMARK(bm, kernel)                    \
  BENCHMARK_CAPTURE(bm, scalar, kernel##__scalar)->Apply(Shapes); \
  BENCHMARK_CAPTURE(bm, neon, kernel##__neon)->Apply(Shapes)
#else
#define PERSEPHONEE_LOSS_BENCHMARK(bm, kernel) \
  BENCHMARK_CAPTURE(bm, scalar, kernel##__scalar)->Apply(Shapes)
#endif

PERSEPHONEE_LOSS_BENCHMARK(BM_LossXent, f32_softmax_xent);
PERSEPHONEE_LOSS_BENCHMARK(BM_LossKlDiv, f32_softmax_kldiv);
PERSEPHONEE_LOSS_BENCHMARK(BM_LossSoftmax, f32_softmax);
BENCHMARK(BM_LossSoftmaxXnnpack)->Apply(Shapes);
PERSEPHONEE_LOSS_BENCHMARK(BM_LossConfidence, f32_softmax_confidence);
BENCHMARK(BM_LossXentThreads)
    ->ArgNames({"batch", "classes", "threads"})
    ->ArgsProduct({{256}, {10, 100, 1000}, {1, 2}})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace persephonee
