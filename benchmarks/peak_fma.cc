// The core's peak float32 multiply-add rate, measured: independent chains of vector FMAs (enough
// of them to cover the FMA latency on every core we know), nothing loaded or stored. It is the
// roofline the inference figures are read against: a model's FLOPs / latency, divided by this,
// is the fraction of the peak it reaches (README, Status). One thread.
//
//   bazel run -c opt //benchmarks:peak_fma
//
// Each benchmark reports FLOP/s (2 per lane per FMA) as items_per_second.
#include <benchmark/benchmark.h>

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace {

constexpr int kInner = 64;  // groups of 12 FMAs per outer iteration

// Twelve independent accumulators (more than FMA latency x pipes on every core we know, and few
// enough for 16 ymm registers), written out as separate variables so they stay in registers and
// the compiler cannot turn the chains into one long dependent sequence. V: the vector type,
// FMA(x, a, b) = x * a + b, SET(v): broadcast, LANES: floats per vector.
#define PERSEPHONEE_PEAK_FMA_LOOP(V, FMA, SET, LANES)                                     \
  V x0 = SET(0.0f), x1 = SET(0.1f), x2 = SET(0.2f), x3 = SET(0.3f), x4 = SET(0.4f);       \
  V x5 = SET(0.5f), x6 = SET(0.6f), x7 = SET(0.7f), x8 = SET(0.8f), x9 = SET(0.9f);       \
  V x10 = SET(1.0f), x11 = SET(1.1f);                                                     \
  const V a = SET(0.999999f), b = SET(1e-7f);                                             \
  for (auto _ : state) {                                                                  \
    for (int i = 0; i < kInner; ++i) {                                                    \
      x0 = FMA(x0, a, b), x1 = FMA(x1, a, b), x2 = FMA(x2, a, b), x3 = FMA(x3, a, b);     \
      x4 = FMA(x4, a, b), x5 = FMA(x5, a, b), x6 = FMA(x6, a, b), x7 = FMA(x7, a, b);     \
      x8 = FMA(x8, a, b), x9 = FMA(x9, a, b), x10 = FMA(x10, a, b), x11 = FMA(x11, a, b); \
    }                                                                                     \
  }                                                                                       \
  V sum = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11;                    \
  benchmark::DoNotOptimize(sum);                                                          \
  state.SetItemsProcessed(state.iterations() * int64_t{kInner} * 12 * (LANES)*2)

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void BM_PeakFma_Avx2(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    state.SkipWithError("no AVX2/FMA on this CPU");
    return;
  }
  PERSEPHONEE_PEAK_FMA_LOOP(__m256, _mm256_fmadd_ps, _mm256_set1_ps, 8);
}

__attribute__((target("avx512f"))) void BM_PeakFma_Avx512(benchmark::State& state) {
  if (!__builtin_cpu_supports("avx512f")) {
    state.SkipWithError("no AVX-512F on this CPU");
    return;
  }
  PERSEPHONEE_PEAK_FMA_LOOP(__m512, _mm512_fmadd_ps, _mm512_set1_ps, 16);
}
BENCHMARK(BM_PeakFma_Avx2);
BENCHMARK(BM_PeakFma_Avx512);
#elif defined(__aarch64__)
float32x4_t NeonFma(float32x4_t x, float32x4_t a, float32x4_t b) { return vfmaq_f32(b, x, a); }

void BM_PeakFma_Neon(benchmark::State& state) {
  PERSEPHONEE_PEAK_FMA_LOOP(float32x4_t, NeonFma, vdupq_n_f32, 4);
}
BENCHMARK(BM_PeakFma_Neon);
#endif

}  // namespace

BENCHMARK_MAIN();
