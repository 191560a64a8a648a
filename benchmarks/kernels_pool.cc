// Pooling benchmarks on the pooling layers of the zoo's networks, batch 1: ResNet-18-224's stem
// max pool (3x3, stride 2, pad 1, 112x112x64 -> 56x56x64), the global average pools in front of
// the classifiers (ResNet-18 7x7x512, MobileNetV2 7x7x1280) and at early-exit points (ResNet-18
// after layer2, 28x28x128; MobileNetV2 after its 96-channel stage, 14x14x96). Average pooling
// has no layer of its own in either network; it is measured on the stem's geometry. Each kernel
// runs as scalar, as NEON (aarch64 builds) and, for the forward, through XNNPACK, in one process,
// so the ratios survive a noisy machine. The counter is GB/s of tensor traffic: every tensor the
// kernel reads or writes (input, output, argmax), counted once.
//
//   bazel run -c opt //benchmarks:kernels -- --benchmark_filter=Pool
#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "kernels/pool/pool.h"
#include "kernels/pool/xnnpack.h"

namespace persephonee {
namespace {

std::vector<float> Random(size_t n) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

void SetBytes(benchmark::State& state, double bytes) {
  state.counters["GB/s"] =
      benchmark::Counter(1e-9 * bytes, benchmark::Counter::kIsIterationInvariantRate);
}

Pool2dShape Pool(size_t in_hw, size_t channels, size_t kernel, size_t stride, size_t pad) {
  Pool2dShape s;
  s.in_h = s.in_w = in_hw;
  s.channels = channels;
  s.kernel_h = s.kernel_w = kernel;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
  return s;
}

GlobalPoolShape Global(size_t hw, size_t channels) {
  GlobalPoolShape s;
  s.in_h = s.in_w = hw;
  s.channels = channels;
  return s;
}

const Pool2dShape kResnetStem = Pool(112, 64, 3, 2, 1);

void BM_MaxPoolFwd(benchmark::State& state, MaxPoolFwdFn fwd, Pool2dShape s) {
  const auto x = Random(s.input_size());
  std::vector<float> y(s.output_size());
  std::vector<int32_t> argmax(s.output_size());
  for (auto _ : state) {
    fwd(s, x.data(), y.data(), argmax.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.input_size() + 2 * s.output_size()));
}

void BM_MaxPoolFwdXnnpack(benchmark::State& state, Pool2dShape s) {
  const auto x = Random(s.input_size());
  std::vector<float> y(s.output_size());
  auto op = XnnMaxPool2d::Create(s);
  if (!op.ok() || !op->Setup(s.batch, x.data(), y.data(), nullptr).ok()) {
    state.SkipWithError("XNNPACK max-pooling operator could not be set up");
    return;
  }
  for (auto _ : state) {
    if (!op->Run(nullptr).ok()) {
      state.SkipWithError("XNNPACK run failed");
      break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.input_size() + s.output_size()));  // No argmax.
}

void BM_MaxPoolBwd(benchmark::State& state, MaxPoolBwdFn bwd, Pool2dShape s) {
  const auto x = Random(s.input_size()), dy = Random(s.output_size());
  std::vector<float> y(s.output_size()), dx(s.input_size());
  std::vector<int32_t> argmax(s.output_size());
  f32_maxpool_fwd__scalar(s, x.data(), y.data(), argmax.data());
  for (auto _ : state) {
    bwd(s, dy.data(), argmax.data(), dx.data());
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.input_size() + 2 * s.output_size()));
}

void BM_AvgPoolFwd(benchmark::State& state, AvgPoolFwdFn fwd, Pool2dShape s) {
  const auto x = Random(s.input_size());
  std::vector<float> y(s.output_size());
  for (auto _ : state) {
    fwd(s, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.input_size() + s.output_size()));
}

void BM_AvgPoolFwdXnnpack(benchmark::State& state, Pool2dShape s) {
  const auto x = Random(s.input_size());
  std::vector<float> y(s.output_size());
  auto op = XnnAvgPool2d::Create(s);
  if (!op.ok() || !op->Setup(s.batch, x.data(), y.data(), nullptr).ok()) {
    state.SkipWithError("XNNPACK average-pooling operator could not be set up");
    return;
  }
  for (auto _ : state) {
    if (!op->Run(nullptr).ok()) {
      state.SkipWithError("XNNPACK run failed");
      break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.input_size() + s.output_size()));
}

void BM_AvgPoolBwd(benchmark::State& state, AvgPoolBwdFn bwd, Pool2dShape s) {
  const auto dy = Random(s.output_size());
  std::vector<float> dx(s.input_size());
  for (auto _ : state) {
    bwd(s, dy.data(), dx.data());
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.input_size() + s.output_size()));
}

void BM_GlobalAvgPoolFwd(benchmark::State& state, GlobalAvgPoolFwdFn fwd, GlobalPoolShape s) {
  const auto x = Random(s.input_size());
  std::vector<float> y(s.output_size());
  for (auto _ : state) {
    fwd(s, x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.input_size() + s.output_size()));
}

void BM_GlobalAvgPoolFwdXnnpack(benchmark::State& state, GlobalPoolShape s) {
  const auto x = Random(s.input_size());
  std::vector<float> y(s.output_size());
  auto op = XnnGlobalAvgPool::Create(s);
  if (!op.ok() || !op->Setup(s.batch, x.data(), y.data(), nullptr).ok()) {
    state.SkipWithError("XNNPACK global-average-pooling operator could not be set up");
    return;
  }
  for (auto _ : state) {
    if (!op->Run(nullptr).ok()) {
      state.SkipWithError("XNNPACK run failed");
      break;
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.input_size() + s.output_size()));
}

void BM_GlobalAvgPoolBwd(benchmark::State& state, GlobalAvgPoolBwdFn bwd, GlobalPoolShape s) {
  const auto dy = Random(s.output_size());
  std::vector<float> dx(s.input_size());
  for (auto _ : state) {
    bwd(s, dy.data(), dx.data());
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  SetBytes(state, 4.0 * (s.input_size() + s.output_size()));
}

void Settings(benchmark::internal::Benchmark* b) {
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

/// Registers the forward and backward of every pooling on one named shape for the scalar and
/// (aarch64) NEON kernels, and the XNNPACK forward.
#if defined(__aarch64__)
#define PERSEPHONEE_POOL_ISA(bm, kernel, name, shape)                              \
  BENCHMARK_CAPTURE(bm, name##__scalar, kernel##__scalar, shape)->Apply(Settings); \
  BENCHMARK_CAPTURE(bm, name##__neon, kernel##__neon, shape)->Apply(Settings)
#else
#define PERSEPHONEE_POOL_ISA(bm, kernel, name, shape) \
  BENCHMARK_CAPTURE(bm, name##__scalar, kernel##__scalar, shape)->Apply(Settings)
#endif

#define PERSEPHONEE_POOL2D_BENCHMARK(name, shape)                        \
  PERSEPHONEE_POOL_ISA(BM_MaxPoolFwd, f32_maxpool_fwd, name, shape);     \
  BENCHMARK_CAPTURE(BM_MaxPoolFwdXnnpack, name, shape)->Apply(Settings); \
  PERSEPHONEE_POOL_ISA(BM_MaxPoolBwd, f32_maxpool_bwd, name, shape);     \
  PERSEPHONEE_POOL_ISA(BM_AvgPoolFwd, f32_avgpool_fwd, name, shape);     \
  BENCHMARK_CAPTURE(BM_AvgPoolFwdXnnpack, name, shape)->Apply(Settings); \
  PERSEPHONEE_POOL_ISA(BM_AvgPoolBwd, f32_avgpool_bwd, name, shape)

#define PERSEPHONEE_GLOBAL_POOL_BENCHMARK(name, shape)                         \
  PERSEPHONEE_POOL_ISA(BM_GlobalAvgPoolFwd, f32_gavgpool_fwd, name, shape);    \
  BENCHMARK_CAPTURE(BM_GlobalAvgPoolFwdXnnpack, name, shape)->Apply(Settings); \
  PERSEPHONEE_POOL_ISA(BM_GlobalAvgPoolBwd, f32_gavgpool_bwd, name, shape)

PERSEPHONEE_POOL2D_BENCHMARK(resnet18_stem_3x3s2, kResnetStem);
PERSEPHONEE_GLOBAL_POOL_BENCHMARK(resnet18_head_7x7x512, Global(7, 512));
PERSEPHONEE_GLOBAL_POOL_BENCHMARK(mobilenetv2_head_7x7x1280, Global(7, 1280));
PERSEPHONEE_GLOBAL_POOL_BENCHMARK(resnet18_exit_layer2_28x28x128, Global(28, 128));
PERSEPHONEE_GLOBAL_POOL_BENCHMARK(mobilenetv2_exit_14x14x96, Global(14, 96));

}  // namespace
}  // namespace persephonee
