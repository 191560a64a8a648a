// GEMM benchmarks on the products real layers ask for: ResNet-18-224 and MobileNetV2-224
// convolutions as GEMM (batch 1, NHWC / OHWI; forward Y[pixels][Cout] = X_col · Wᵀ, grad input
// dX_col = dY · W, grad weight dW = dYᵀ · X_col), the classifier FC layers, and squares.
// Each implementation this CPU supports is measured, single-threaded and on a 2-thread pool.
//
//   bazel run -c opt //benchmarks:kernels -- --benchmark_filter=Gemm
#include <benchmark/benchmark.h>
#include <cpuinfo.h>
#include <pthreadpool.h>

#include <cstddef>
#include <memory>
#include <random>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/gemm/config.h"
#include "kernels/gemm/gemm.h"
#include "kernels/gemm/ukernel.h"

namespace persephonee {
namespace {

using GemmFn = void (*)(const GemmArgs&, pthreadpool_t);

struct GemmShape {
  size_t m, n, k;
  bool trans_a, trans_b;
};

// Returns the implementation, or nullptr (with the benchmark skipped) when the CPU lacks it.
GemmFn Implementation(benchmark::State& state, int impl) {
  switch (impl) {
    case 0:
      return f32_gemm;
    case 1:
#if defined(__x86_64__)
      if (EnsureCpuinfo().ok() && cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) {
        return f32_gemm__avx2;
      }
#endif
#if defined(__aarch64__)
      return f32_gemm__neon;
#endif
      break;
    case 2:
      return f32_gemm__blocked_scalar;
  }
  state.SkipWithError("implementation not available on this CPU");
  return nullptr;
}

void BM_Gemm(benchmark::State& state, GemmShape s) {
  const int impl = static_cast<int>(state.range(0));
  const size_t threads = static_cast<size_t>(state.range(1));
  const GemmFn gemm = Implementation(state, impl);
  if (gemm == nullptr) return;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> a(s.m * s.k), b(s.k * s.n), c(s.m * s.n);
  for (float& x : a) x = dist(rng);
  for (float& x : b) x = dist(rng);
  GemmArgs g;
  g.trans_a = s.trans_a ? Transpose::kYes : Transpose::kNo;
  g.trans_b = s.trans_b ? Transpose::kYes : Transpose::kNo;
  g.m = s.m, g.n = s.n, g.k = s.k;
  g.a = a.data(), g.lda = s.trans_a ? s.m : s.k;
  g.b = b.data(), g.ldb = s.trans_b ? s.k : s.n;
  g.c = c.data(), g.ldc = s.n;
  std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)> pool(
      threads > 1 ? pthreadpool_create(threads) : nullptr, pthreadpool_destroy);
  for (auto _ : state) {
    gemm(g, pool.get());
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2e-9 * s.m * s.n * s.k, benchmark::Counter::kIsIterationInvariantRate);
}

// impl: 0 = f32_gemm (the configured choice), 1 = avx2 / neon called directly; threads: 1 or 2.
void Variants(benchmark::internal::Benchmark* b) {
  b->ArgNames({"impl", "threads"});
  for (int impl : {0, 1}) b->Args({impl, 1});
  b->Args({0, 2});
  b->UseRealTime();
  b->Unit(benchmark::kMicrosecond);
}

/// Registers BM_Gemm for one named shape with all variants.
#define PERSEPHONEE_GEMM_BENCHMARK(name, m, n, k, ta, tb) \
  BENCHMARK_CAPTURE(BM_Gemm, name, GemmShape{m, n, k, ta, tb})->Apply(Variants)

// ResNet-18-224, forward (m = pixels, n = Cout, k = kh*kw*Cin, W stored [Cout][K]).
PERSEPHONEE_GEMM_BENCHMARK(resnet18_conv1_fwd, 12544, 64, 147, false, true);
PERSEPHONEE_GEMM_BENCHMARK(resnet18_layer1_fwd, 3136, 64, 576, false, true);
PERSEPHONEE_GEMM_BENCHMARK(resnet18_layer2_fwd, 784, 128, 1152, false, true);
PERSEPHONEE_GEMM_BENCHMARK(resnet18_layer3_fwd, 196, 256, 2304, false, true);
PERSEPHONEE_GEMM_BENCHMARK(resnet18_layer4_fwd, 49, 512, 4608, false, true);
// ResNet-18-224, backward.
PERSEPHONEE_GEMM_BENCHMARK(resnet18_layer1_bwd_input, 3136, 576, 64, false, false);
PERSEPHONEE_GEMM_BENCHMARK(resnet18_layer1_bwd_weight, 64, 576, 3136, true, false);
PERSEPHONEE_GEMM_BENCHMARK(resnet18_layer3_bwd_input, 196, 2304, 256, false, false);
PERSEPHONEE_GEMM_BENCHMARK(resnet18_layer3_bwd_weight, 256, 2304, 196, true, false);
// MobileNetV2-224 pointwise convolutions, forward and backward.
PERSEPHONEE_GEMM_BENCHMARK(mobilenetv2_b2_expand_fwd, 3136, 144, 24, false, true);
PERSEPHONEE_GEMM_BENCHMARK(mobilenetv2_b2_project_fwd, 3136, 24, 144, false, true);
PERSEPHONEE_GEMM_BENCHMARK(mobilenetv2_b8_expand_fwd, 196, 384, 64, false, true);
PERSEPHONEE_GEMM_BENCHMARK(mobilenetv2_head_fwd, 49, 1280, 320, false, true);
PERSEPHONEE_GEMM_BENCHMARK(mobilenetv2_b2_expand_bwd_weight, 144, 24, 3136, true, false);
PERSEPHONEE_GEMM_BENCHMARK(mobilenetv2_head_bwd_input, 49, 320, 1280, false, false);
// Classifiers as GEMM at batch 32 (y = x · Wᵀ).
PERSEPHONEE_GEMM_BENCHMARK(resnet18_fc_b32, 32, 1000, 512, false, true);
PERSEPHONEE_GEMM_BENCHMARK(mobilenetv2_classifier_b32, 32, 1000, 1280, false, true);
// Squares.
PERSEPHONEE_GEMM_BENCHMARK(square_256, 256, 256, 256, false, false);
PERSEPHONEE_GEMM_BENCHMARK(square_512, 512, 512, 512, false, false);

// The portable fallback (impl 2: scalar 4x4 micro-kernel, blocked), on one shape for scale.
BENCHMARK_CAPTURE(BM_Gemm, square_256_scalar, GemmShape{256, 256, 256, false, false})
    ->ArgNames({"impl", "threads"})
    ->Args({2, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace persephonee
