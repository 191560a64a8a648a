// Elementwise benchmarks on the activation sizes of the zoo's networks, batch 1:
//   ReLU      ResNet-18 conv1 output 112x112x64 and layer1 56x56x64,
//   ReLU6     MobileNetV2 first conv 112x112x32 and block-2 expansion 56x56x144,
//   bias add  over 112x112x64 (ResNet-18 conv1) and 7x7x1280 (MobileNetV2's last conv),
//   residual  ResNet-18 layer1 56x56x64, MobileNetV2 block-2/3 56x56x24 and 28x28x32.
// Each kernel runs as scalar, as NEON (aarch64 builds), and the forward also through XNNPACK's
// clamp and add operators, in one process, so the ratios survive a noisy machine. The counter is
// GB/s of tensor traffic: every array the kernel reads or writes, counted once. The threaded
// entry point of ReLU forward and of the residual add (memory-bound) also runs on 1 thread (no
// pool) and on a 2-thread pool, for the speed-up.
//
//   bazel run -c opt //benchmarks:kernels -- --benchmark_filter='Relu|Bias|Add'
#include <benchmark/benchmark.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/elementwise/elementwise.h"

namespace persephonee {
namespace {

std::vector<float> Random(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
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

// An activation tensor: rows = height * width pixels of `channels`.
struct Tensor {
  size_t rows, channels;
  size_t size() const { return rows * channels; }
};

void BM_UnaryFwd(benchmark::State& state, UnaryFwdFn fwd, Tensor t) {
  const auto x = Random(t.size(), 1, -3.0f, 9.0f);
  std::vector<float> y(t.size());
  for (auto _ : state) {
    fwd(t.size(), x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 8.0 * t.size());
}

void BM_UnaryBwd(benchmark::State& state, UnaryBwdFn bwd, Tensor t) {
  const auto y = Random(t.size(), 1, -1.0f, 7.0f), dy = Random(t.size(), 2);
  std::vector<float> dx(t.size());
  for (auto _ : state) {
    bwd(t.size(), y.data(), dy.data(), dx.data());
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 12.0 * t.size());
}

// XNNPACK's clamp operator with ReLU's (max = +inf) or ReLU6's range, as a peer.
void BM_ClampXnnpack(benchmark::State& state, float max, Tensor t) {
  const auto x = Random(t.size(), 1, -3.0f, 9.0f);
  std::vector<float> y(t.size());
  xnn_operator_t op = nullptr;
  if (!EnsureXnnpack().ok() ||
      xnn_create_clamp_nc_f32(t.channels, t.channels, t.channels, 0.0f, max, 0, &op) !=
          xnn_status_success ||
      xnn_setup_clamp_nc_f32(op, t.rows, x.data(), y.data(), nullptr) != xnn_status_success) {
    state.SkipWithError("XNNPACK clamp operator could not be set up");
    if (op != nullptr) xnn_delete_operator(op);
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  SetBytes(state, 8.0 * t.size());
}

void BM_BiasAddFwd(benchmark::State& state, BiasAddFwdFn fwd, Tensor t) {
  const auto x = Random(t.size(), 1), b = Random(t.channels, 2);
  std::vector<float> y(t.size());
  for (auto _ : state) {
    fwd(t.rows, t.channels, x.data(), b.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (2 * t.size() + t.channels));
}

void BM_BiasAddBwd(benchmark::State& state, BiasAddBwdFn bwd, Tensor t) {
  const auto dy = Random(t.size(), 1);
  std::vector<float> db(t.channels);
  for (auto _ : state) {
    bwd(t.rows, t.channels, dy.data(), db.data());
    benchmark::DoNotOptimize(db.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (t.size() + t.channels));
}

void BM_AddFwd(benchmark::State& state, AddFwdFn fwd, Tensor t) {
  const auto a = Random(t.size(), 1), b = Random(t.size(), 2);
  std::vector<float> y(t.size());
  for (auto _ : state) {
    fwd(t.size(), a.data(), b.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 12.0 * t.size());
}

// XNNPACK's add operator on [rows, channels] + [rows, channels] (`broadcast_bias`: + [channels],
// the bias add), as a peer.
void BM_AddXnnpack(benchmark::State& state, bool broadcast_bias, Tensor t) {
  const auto a = Random(t.size(), 1);
  const auto b = Random(broadcast_bias ? t.channels : t.size(), 2);
  std::vector<float> y(t.size());
  const float inf = std::numeric_limits<float>::infinity();
  const size_t shape_a[2] = {t.rows, t.channels};
  const size_t shape_b[2] = {broadcast_bias ? size_t{1} : t.rows, t.channels};
  xnn_operator_t op = nullptr;
  if (!EnsureXnnpack().ok() || xnn_create_add_nd_f32(-inf, inf, 0, &op) != xnn_status_success ||
      xnn_setup_add_nd_f32(op, 2, shape_a, 2, shape_b, a.data(), b.data(), y.data(), nullptr) !=
          xnn_status_success) {
    state.SkipWithError("XNNPACK add operator could not be set up");
    if (op != nullptr) xnn_delete_operator(op);
    return;
  }
  for (auto _ : state) {
    xnn_run_operator(op, nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  xnn_delete_operator(op);
  SetBytes(state, broadcast_bias ? 4.0 * (2 * t.size() + t.channels) : 12.0 * t.size());
}

void BM_AddBwd(benchmark::State& state, AddBwdFn bwd, Tensor t) {
  const auto dy = Random(t.size(), 1);
  std::vector<float> da(t.size()), db(t.size());
  for (auto _ : state) {
    bwd(t.size(), dy.data(), da.data(), db.data(), /*accumulate=*/true);
    benchmark::DoNotOptimize(da.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 20.0 * t.size());  // Reads dy, da, db; writes da, db.
}

using PoolPtr = std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)>;
PoolPtr MakePool(size_t threads) {
  return PoolPtr(threads > 1 ? pthreadpool_create(threads) : nullptr, pthreadpool_destroy);
}

// f32_relu_fwd (elementwise_config()'s kernel in tiles) on range(0) threads.
void BM_ReluFwdThreads(benchmark::State& state, Tensor t) {
  const PoolPtr pool = MakePool(static_cast<size_t>(state.range(0)));
  const auto x = Random(t.size(), 1, -3.0f, 9.0f);
  std::vector<float> y(t.size());
  for (auto _ : state) {
    f32_relu_fwd(t.size(), x.data(), y.data(), pool.get());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 8.0 * t.size());
}

// f32_add_fwd on range(0) threads.
void BM_AddFwdThreads(benchmark::State& state, Tensor t) {
  const PoolPtr pool = MakePool(static_cast<size_t>(state.range(0)));
  const auto a = Random(t.size(), 1), b = Random(t.size(), 2);
  std::vector<float> y(t.size());
  for (auto _ : state) {
    f32_add_fwd(t.size(), a.data(), b.data(), y.data(), pool.get());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 12.0 * t.size());
}

void Settings(benchmark::internal::Benchmark* b) {
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

void Threads(benchmark::internal::Benchmark* b) {
  b->ArgName("threads")->Arg(1)->Arg(2);
  Settings(b);
}

#if defined(__aarch64__)
#define PERSEPHONEE_EW_ISA(bm, kernel, name, tensor)                                \
  BENCHMARK_CAPTURE(bm, name##__scalar, kernel##__scalar, tensor)->Apply(Settings); \
  BENCHMARK_CAPTURE(bm, name##__neon, kernel##__neon, tensor)->Apply(Settings)
#else
#define PERSEPHONEE_EW_ISA(bm, kernel, name, tensor) \
  BENCHMARK_CAPTURE(bm, name##__scalar, kernel##__scalar, tensor)->Apply(Settings)
#endif

#define PERSEPHONEE_RELU_BENCHMARK(name, tensor)                                                  \
  PERSEPHONEE_EW_ISA(BM_UnaryFwd, f32_relu_fwd, relu_##name, tensor);                             \
  BENCHMARK_CAPTURE(BM_ClampXnnpack, relu_##name, std::numeric_limits<float>::infinity(), tensor) \
      ->Apply(Settings);                                                                          \
  PERSEPHONEE_EW_ISA(BM_UnaryBwd, f32_relu_bwd, relu_##name, tensor)

#define PERSEPHONEE_RELU6_BENCHMARK(name, tensor)                                  \
  PERSEPHONEE_EW_ISA(BM_UnaryFwd, f32_relu6_fwd, relu6_##name, tensor);            \
  BENCHMARK_CAPTURE(BM_ClampXnnpack, relu6_##name, 6.0f, tensor)->Apply(Settings); \
  PERSEPHONEE_EW_ISA(BM_UnaryBwd, f32_relu6_bwd, relu6_##name, tensor)

#define PERSEPHONEE_BIAS_BENCHMARK(name, tensor)                                \
  PERSEPHONEE_EW_ISA(BM_BiasAddFwd, f32_bias_add_fwd, name, tensor);            \
  BENCHMARK_CAPTURE(BM_AddXnnpack, bias_##name, true, tensor)->Apply(Settings); \
  PERSEPHONEE_EW_ISA(BM_BiasAddBwd, f32_bias_add_bwd, name, tensor)

#define PERSEPHONEE_ADD_BENCHMARK(name, tensor)                                      \
  PERSEPHONEE_EW_ISA(BM_AddFwd, f32_add_fwd, name, tensor);                          \
  BENCHMARK_CAPTURE(BM_AddXnnpack, residual_##name, false, tensor)->Apply(Settings); \
  PERSEPHONEE_EW_ISA(BM_AddBwd, f32_add_bwd, name, tensor)

PERSEPHONEE_RELU_BENCHMARK(resnet18_conv1_112x112x64, (Tensor{112 * 112, 64}));
PERSEPHONEE_RELU_BENCHMARK(resnet18_layer1_56x56x64, (Tensor{56 * 56, 64}));
PERSEPHONEE_RELU6_BENCHMARK(mobilenetv2_conv1_112x112x32, (Tensor{112 * 112, 32}));
PERSEPHONEE_RELU6_BENCHMARK(mobilenetv2_b2_expand_56x56x144, (Tensor{56 * 56, 144}));
PERSEPHONEE_BIAS_BENCHMARK(resnet18_conv1_112x112x64, (Tensor{112 * 112, 64}));
PERSEPHONEE_BIAS_BENCHMARK(mobilenetv2_conv_last_7x7x1280, (Tensor{7 * 7, 1280}));
PERSEPHONEE_ADD_BENCHMARK(resnet18_layer1_56x56x64, (Tensor{56 * 56, 64}));
PERSEPHONEE_ADD_BENCHMARK(mobilenetv2_b2_56x56x24, (Tensor{56 * 56, 24}));
PERSEPHONEE_ADD_BENCHMARK(mobilenetv2_b4_28x28x32, (Tensor{28 * 28, 32}));
BENCHMARK_CAPTURE(BM_ReluFwdThreads, resnet18_conv1_112x112x64, (Tensor{112 * 112, 64}))
    ->Apply(Threads);
BENCHMARK_CAPTURE(BM_AddFwdThreads, resnet18_layer1_56x56x64, (Tensor{56 * 56, 64}))
    ->Apply(Threads);

}  // namespace
}  // namespace persephonee
