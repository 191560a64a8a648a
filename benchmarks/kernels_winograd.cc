// Winograd F(4x4,3x3) and F(2x2,3x3) against the direct paths, on ResNet-18-224's stride-1 3x3
// layers (batch 1, NHWC / OHWI, padding 1, bias):
//   xnn   XNNPACK's convolution operator, as the engine runs it (kernels/conv2d/xnnpack.h);
//   gemm  the project's im2col + f32_gemm convolution (f32_conv2d_fwd__gemm).
// Every rate is an EFFECTIVE rate: direct-convolution FLOPs (2·H·W·Cin·Cout·9) over time, so a
// ratio of rates is a ratio of speeds. BM_WinogradVsDirect runs the four implementations one
// after the other in each iteration, so all see the same machine load, and reports each rate and
// the ratios w4/xnn, w4/gemm, w2/xnn, w2/gemm. It also reports the error of each output against
// a double-precision direct convolution, once per layer:
//   err4, err2, err_xnn = max_i |y_i - ref_i| / max_i |ref_i|
//   err4_S, err2_S      = max_i |y_i - ref_i| / S_i,   S_i = Σ |x·w| + |b| over y_i's terms.
//
// At 1 thread every implementation runs on the calling thread, and times are that thread's CPU
// time (a machine shared with other builds then slows each side alike); with a pool they are
// elapsed time.
//
//   bazel run -c opt //benchmarks:kernels -- --benchmark_filter=Winograd
#include <benchmark/benchmark.h>
#include <pthreadpool.h>
#include <time.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <memory>
#include <random>
#include <vector>

#include "kernels/conv2d/conv2d.h"
#include "kernels/conv2d/xnnpack.h"
#include "kernels/winograd/winograd.h"

namespace persephonee {
namespace {

Conv2dShape Layer(size_t hw, size_t c) {
  Conv2dShape s;
  s.in_h = s.in_w = hw;
  s.in_c = s.out_c = c;
  s.kernel_h = s.kernel_w = 3;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = 1;
  return s;
}

std::vector<float> Random(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

using PoolPtr = std::unique_ptr<pthreadpool, decltype(&pthreadpool_destroy)>;
PoolPtr MakePool(size_t threads) {
  return PoolPtr(threads > 1 ? pthreadpool_create(threads) : nullptr, pthreadpool_destroy);
}

// The direct convolution in double: y (reference) and S (sum of absolute terms), padding 1.
void DirectDouble(const Conv2dShape& s, const std::vector<float>& x, const std::vector<float>& w,
                  const std::vector<float>& b, std::vector<double>* y, std::vector<double>* mag) {
  const size_t oh_n = s.out_h(), ow_n = s.out_w(), ci_n = s.in_c;
  y->assign(s.output_size(), 0.0);
  mag->assign(s.output_size(), 0.0);
  for (size_t oh = 0; oh < oh_n; ++oh) {
    for (size_t ow = 0; ow < ow_n; ++ow) {
      for (size_t oc = 0; oc < s.out_c; ++oc) {
        double acc = b[oc], abs_acc = std::fabs(b[oc]);
        for (size_t kh = 0; kh < 3; ++kh) {
          const ptrdiff_t ih = static_cast<ptrdiff_t>(oh + kh) - 1;
          if (ih < 0 || ih >= static_cast<ptrdiff_t>(s.in_h)) continue;
          for (size_t kw = 0; kw < 3; ++kw) {
            const ptrdiff_t iw = static_cast<ptrdiff_t>(ow + kw) - 1;
            if (iw < 0 || iw >= static_cast<ptrdiff_t>(s.in_w)) continue;
            const float* xp = &x[(ih * s.in_w + iw) * ci_n];
            const float* wp = &w[((oc * 3 + kh) * 3 + kw) * ci_n];
            for (size_t ci = 0; ci < ci_n; ++ci) {
              const double t = static_cast<double>(xp[ci]) * wp[ci];
              acc += t;
              abs_acc += std::fabs(t);
            }
          }
        }
        (*y)[(oh * ow_n + ow) * s.out_c + oc] = acc;
        (*mag)[(oh * ow_n + ow) * s.out_c + oc] = abs_acc;
      }
    }
  }
}

double ErrorOfMax(const std::vector<float>& got, const std::vector<double>& ref) {
  double err = 0.0, peak = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    err = std::fmax(err, std::fabs(got[i] - ref[i]));
    peak = std::fmax(peak, std::fabs(ref[i]));
  }
  return err / peak;
}

double ErrorOfS(const std::vector<float>& got, const std::vector<double>& ref,
                const std::vector<double>& mag) {
  double err = 0.0;
  for (size_t i = 0; i < got.size(); ++i) err = std::fmax(err, std::fabs(got[i] - ref[i]) / mag[i]);
  return err;
}

// Seconds on the calling thread's CPU clock (cpu) or the steady clock.
double Now(bool cpu) {
  if (cpu) {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// One Winograd convolution, planned: packed weights and workspace.
struct Winograd {
  Winograd(const Conv2dShape& s, size_t tile, size_t threads, const std::vector<float>& weight) {
    params.conv = s;
    params.tile = tile;
    const WinogradConfig& config = winograd_config();
    packed.resize(f32_winograd_packed_weights_size(params, config) / sizeof(float));
    f32_winograd_pack_weights(params, config, weight.data(), packed.data());
    workspace.resize(f32_winograd_workspace_size(params, config, threads) / sizeof(float));
  }
  void Run(const float* input, const float* bias, float* output, pthreadpool_t pool) {
    f32_winograd_fwd(params, winograd_config(), packed.data(), bias, input, output,
                     workspace.data(), pool);
  }
  WinogradParams params;
  std::vector<float> packed, workspace;
};

// range(0): threads.
void BM_WinogradVsDirect(benchmark::State& state, Conv2dShape s) {
  const size_t threads = static_cast<size_t>(state.range(0));
  PoolPtr pool = MakePool(threads);
  const std::vector<float> input = Random(s.input_size(), 1);
  const std::vector<float> weight = Random(s.weight_size(), 2);
  const std::vector<float> bias = Random(s.out_c, 3);
  std::vector<float> out4(s.output_size()), out2(s.output_size()), out_xnn(s.output_size()),
      out_gemm(s.output_size());
  std::vector<float> gemm_ws(f32_conv2d_gemm_workspace_size(s) / sizeof(float) + 1);
  Winograd w4(s, 4, threads, weight), w2(s, 2, threads, weight);
  StatusOr<XnnConv2d> xnn = XnnConv2d::Create(s, weight.data(), bias.data());
  if (!xnn.ok()) return state.SkipWithError(xnn.status().ToString().c_str());
  if (!xnn->Setup(1, input.data(), out_xnn.data(), pool.get()).ok()) {
    return state.SkipWithError("XNNPACK setup failed");
  }

  const bool cpu = threads == 1;
  double t[4] = {0, 0, 0, 0};
  for (auto _ : state) {
    const double t0 = Now(cpu);
    w4.Run(input.data(), bias.data(), out4.data(), pool.get());
    benchmark::ClobberMemory();
    const double t1 = Now(cpu);
    w2.Run(input.data(), bias.data(), out2.data(), pool.get());
    benchmark::ClobberMemory();
    const double t2 = Now(cpu);
    if (!xnn->Run(pool.get()).ok()) return state.SkipWithError("XNNPACK run failed");
    benchmark::ClobberMemory();
    const double t3 = Now(cpu);
    f32_conv2d_fwd__gemm(s, input.data(), weight.data(), bias.data(), out_gemm.data(),
                         gemm_ws.data(), pool.get());
    benchmark::ClobberMemory();
    const double t4 = Now(cpu);
    t[0] += t1 - t0;
    t[1] += t2 - t1;
    t[2] += t3 - t2;
    t[3] += t4 - t3;
    state.SetIterationTime(t1 - t0);
  }
  const double flops = 2.0 * s.macs() * static_cast<double>(state.iterations());
  const double w4_rate = flops / t[0] * 1e-9, w2_rate = flops / t[1] * 1e-9;
  const double xnn_rate = flops / t[2] * 1e-9, gemm_rate = flops / t[3] * 1e-9;
  state.counters["w4_GFLOP/s"] = w4_rate;
  state.counters["w2_GFLOP/s"] = w2_rate;
  state.counters["xnn_GFLOP/s"] = xnn_rate;
  state.counters["gemm_GFLOP/s"] = gemm_rate;
  state.counters["w4/xnn"] = w4_rate / xnn_rate;
  state.counters["w4/gemm"] = w4_rate / gemm_rate;
  state.counters["w2/xnn"] = w2_rate / xnn_rate;
  state.counters["w2/gemm"] = w2_rate / gemm_rate;

  std::vector<double> ref, mag;
  DirectDouble(s, input, weight, bias, &ref, &mag);
  state.counters["err4"] = ErrorOfMax(out4, ref);
  state.counters["err2"] = ErrorOfMax(out2, ref);
  state.counters["err_xnn"] = ErrorOfMax(out_xnn, ref);
  state.counters["err4_S"] = ErrorOfS(out4, ref, mag);
  state.counters["err2_S"] = ErrorOfS(out2, ref, mag);
}

void Variants(benchmark::internal::Benchmark* b) {
  b->ArgNames({"threads"});
  b->Arg(1)->Arg(2);
  b->UseManualTime();
}

#define PERSEPHONEE_WINOGRAD_LAYER(name, hw, c) \
  BENCHMARK_CAPTURE(BM_WinogradVsDirect, name, Layer(hw, c))->Apply(Variants)

PERSEPHONEE_WINOGRAD_LAYER(resnet18_layer1_56x56x64, 56, 64);
PERSEPHONEE_WINOGRAD_LAYER(resnet18_layer2_28x28x128, 28, 128);
PERSEPHONEE_WINOGRAD_LAYER(resnet18_layer3_14x14x256, 14, 256);
PERSEPHONEE_WINOGRAD_LAYER(resnet18_layer4_7x7x512, 7, 512);

}  // namespace
}  // namespace persephonee
