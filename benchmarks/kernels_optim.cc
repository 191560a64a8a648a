// Optimiser benchmarks: one step over 10k to 1M parameters (a Fashion-MNIST exit head has
// ~10k; a head on a MobileNetV2 or ResNet-18 exit with a hidden layer reaches ~1M). SGD with
// momentum 0.9 and weight decay, SGD with Nesterov, and Adam, each as scalar and (aarch64
// builds) NEON. Steps after the first (the state is read). The counter is GB/s of array
// traffic: SGD reads weights, gradients and the buffer and writes weights and buffer (20 bytes
// per parameter); Adam reads four arrays and writes three (28 bytes). At 1M parameters the
// arrays leave the caches, so the figure approaches the memory bandwidth a core can draw.
//
//   bazel run -c opt //benchmarks:kernels -- --benchmark_filter='Optim'
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/optim/optim.h"

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

void BM_OptimSgd(benchmark::State& state, SgdFn sgd, bool nesterov) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto weights = Random(n, 1, -1.0f, 1.0f);
  const auto grads = Random(n, 2, -1e-2f, 1e-2f);
  auto buf = Random(n, 3, -1e-2f, 1e-2f);
  SgdParams p;
  p.lr = 1e-3f;
  p.momentum = 0.9f;
  p.weight_decay = 1e-4f;
  p.nesterov = nesterov;
  for (auto _ : state) {
    sgd(n, p, 2, weights.data(), grads.data(), buf.data());
    benchmark::DoNotOptimize(weights.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 20.0 * n);
}

void BM_OptimAdam(benchmark::State& state, AdamFn adam) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto weights = Random(n, 1, -1.0f, 1.0f);
  const auto grads = Random(n, 2, -1e-2f, 1e-2f);
  auto m = Random(n, 3, -1e-2f, 1e-2f);
  auto v = Random(n, 4, 0.0f, 1e-4f);
  AdamParams p;
  p.weight_decay = 1e-4f;
  int64_t step = 2;
  for (auto _ : state) {
    adam(n, p, step, weights.data(), grads.data(), m.data(), v.data());
    step = step < 1000 ? step + 1 : 2;
    benchmark::DoNotOptimize(weights.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 28.0 * n);
}

void Sizes(benchmark::internal::Benchmark* b) {
  b->ArgName("params");
  for (int64_t n : {10000, 100000, 1000000}) b->Arg(n);
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

#if defined(__aarch64__)
#define PERSEPHONEE_OPTIM_ISA(bm, kernel, name, ...)                                    \
  BENCHMARK_CAPTURE(bm, name##__scalar, kernel##__scalar, ##__VA_ARGS__)->Apply(Sizes); \
  BENCHMARK_CAPTURE(bm, name##__neon, kernel##__neon, ##__VA_ARGS__)->Apply(Sizes)
#else
#define PERSEPHONEE_OPTIM_ISA(bm, kernel, name, ...) \
  BENCHMARK_CAPTURE(bm, name##__scalar, kernel##__scalar, ##__VA_ARGS__)->Apply(Sizes)
#endif

PERSEPHONEE_OPTIM_ISA(BM_OptimSgd, f32_sgd, momentum, false);
PERSEPHONEE_OPTIM_ISA(BM_OptimSgd, f32_sgd, nesterov, true);
PERSEPHONEE_OPTIM_ISA(BM_OptimAdam, f32_adam, adam);

}  // namespace
}  // namespace persephonee
