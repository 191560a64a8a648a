// Fully-connected benchmarks on the classifier layers of the zoo's networks and on early-exit
// heads: forward (ours on f32_gemm, and XNNPACK's operator), backward input and backward weight.
// Batch 1 (inference, one picture) and 32 (a personalisation mini-batch).
//
//   bazel run -c opt //benchmarks:kernels -- --benchmark_filter=Fc
#include <benchmark/benchmark.h>

#include <cstddef>
#include <random>
#include <vector>

#include "kernels/fc/fc.h"
#include "kernels/fc/xnnpack.h"

namespace persephonee {
namespace {

struct FcLayer {
  size_t in, out;
};

std::vector<float> Random(size_t n, std::mt19937* rng) {
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> v(n);
  for (float& x : v) x = dist(*rng);
  return v;
}

void SetFlops(benchmark::State& state, const FcShape& s) {
  state.counters["GFLOP/s"] = benchmark::Counter(2e-9 * s.batch * s.in * s.out,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_FcFwd(benchmark::State& state, FcLayer layer) {
  const FcShape s{static_cast<size_t>(state.range(0)), layer.in, layer.out};
  std::mt19937 rng(1);
  const auto x = Random(s.batch * s.in, &rng), w = Random(s.out * s.in, &rng);
  const auto b = Random(s.out, &rng);
  std::vector<float> y(s.batch * s.out);
  for (auto _ : state) {
    f32_fc_fwd(s, x.data(), w.data(), b.data(), y.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  SetFlops(state, s);
}

void BM_FcFwdXnnpack(benchmark::State& state, FcLayer layer) {
  const FcShape s{static_cast<size_t>(state.range(0)), layer.in, layer.out};
  std::mt19937 rng(1);
  const auto x = Random(s.batch * s.in, &rng), w = Random(s.out * s.in, &rng);
  const auto b = Random(s.out, &rng);
  std::vector<float> y(s.batch * s.out);
  auto op = XnnFullyConnected::Create(s.in, s.out, w.data(), b.data());
  if (!op.ok() || !op->Setup(s.batch, x.data(), y.data(), nullptr).ok()) {
    state.SkipWithError("XNNPACK fully-connected operator could not be created");
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
  SetFlops(state, s);
}

void BM_FcBwdInput(benchmark::State& state, FcLayer layer) {
  const FcShape s{static_cast<size_t>(state.range(0)), layer.in, layer.out};
  std::mt19937 rng(1);
  const auto dy = Random(s.batch * s.out, &rng), w = Random(s.out * s.in, &rng);
  std::vector<float> dx(s.batch * s.in);
  for (auto _ : state) {
    f32_fc_bwd_input(s, dy.data(), w.data(), dx.data(), nullptr);
    benchmark::DoNotOptimize(dx.data());
    benchmark::ClobberMemory();
  }
  SetFlops(state, s);
}

void BM_FcBwdWeight(benchmark::State& state, FcLayer layer) {
  const FcShape s{static_cast<size_t>(state.range(0)), layer.in, layer.out};
  std::mt19937 rng(1);
  const auto x = Random(s.batch * s.in, &rng), dy = Random(s.batch * s.out, &rng);
  std::vector<float> dw(s.out * s.in), db(s.out);
  for (auto _ : state) {
    f32_fc_bwd_weight(s, x.data(), dy.data(), dw.data(), db.data(), nullptr);
    benchmark::DoNotOptimize(dw.data());
    benchmark::ClobberMemory();
  }
  SetFlops(state, s);
}

void Batches(benchmark::internal::Benchmark* b) {
  b->ArgName("batch")->Arg(1)->Arg(32)->UseRealTime()->Unit(benchmark::kMicrosecond);
}

/// Registers forward (ours and XNNPACK) and both backward benchmarks for one named layer.
#define PERSEPHONEE_FC_BENCHMARK(name, in, out)                               \
  BENCHMARK_CAPTURE(BM_FcFwd, name, FcLayer{in, out})->Apply(Batches);        \
  BENCHMARK_CAPTURE(BM_FcFwdXnnpack, name, FcLayer{in, out})->Apply(Batches); \
  BENCHMARK_CAPTURE(BM_FcBwdInput, name, FcLayer{in, out})->Apply(Batches);   \
  BENCHMARK_CAPTURE(BM_FcBwdWeight, name, FcLayer{in, out})->Apply(Batches)

// Classifiers: ResNet-18 (512 -> 1000), MobileNetV2 (1280 -> 1000), the Fashion-MNIST net.
PERSEPHONEE_FC_BENCHMARK(resnet18_fc, 512, 1000);
PERSEPHONEE_FC_BENCHMARK(mobilenetv2_classifier, 1280, 1000);
PERSEPHONEE_FC_BENCHMARK(fashion_fc, 128, 10);
// Early-exit heads after global average pooling: ResNet-18's layer2 (128 ch) and MobileNetV2's
// 96-channel stage, to 1000 classes; a Fashion-MNIST exit at 64 channels.
PERSEPHONEE_FC_BENCHMARK(resnet18_exit_layer2, 128, 1000);
PERSEPHONEE_FC_BENCHMARK(mobilenetv2_exit_96, 96, 1000);
PERSEPHONEE_FC_BENCHMARK(fashion_exit_64, 64, 10);

}  // namespace
}  // namespace persephonee
