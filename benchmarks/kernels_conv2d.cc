// Convolution benchmarks on real layers, batch 1, NHWC / OHWI:
//   ResNet-18-224's 3x3 convolutions (and its 7x7 stem), forward and both backward passes:
//     scalar oracle, GEMM-based (im2col / col2im + f32_gemm), XNNPACK (forward);
//   MobileNetV2-224's depthwise 3x3 layers: scalar, NEON (aarch64), the GEMM-based general path,
//     XNNPACK (forward); and its 1x1 layers (GEMM-based, XNNPACK).
// Every benchmark reports a GFLOP/s counter (2 FLOPs per multiply-add of the forward pass; the
// backward passes have the same count).
//
// BM_ConvBwdVsGemm measures, in one loop, a GEMM-based backward pass and f32_gemm alone on the
// product that pass performs (bwd-input: m = pixels, n = kh·kw·Cin, k = Cout; bwd-weight: m = Cout,
// n = kh·kw·Cin, k = pixels with A transposed — the shapes kernels_gemm.cc names
// resnet18_*_bwd_*), alternating them each iteration so both see the same machine load; it
// reports both rates and their ratio (conv / gemm). The target is ratio >= 0.5.
//
//   bazel run -c opt //benchmarks:kernels -- --benchmark_filter=Conv
//   bazel run -c opt //benchmarks:kernels -- --benchmark_filter=ConvBwdVsGemm
#include <benchmark/benchmark.h>
#include <pthreadpool.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <random>
#include <vector>

#include "kernels/conv2d/conv2d.h"
#include "kernels/conv2d/xnnpack.h"
#include "kernels/gemm/gemm.h"

namespace persephonee {
namespace {

Conv2dShape Conv(size_t hw, size_t in_c, size_t out_c, size_t k, size_t stride, size_t pad,
                 size_t groups = 1) {
  Conv2dShape s;
  s.in_h = s.in_w = hw;
  s.in_c = in_c;
  s.out_c = out_c;
  s.kernel_h = s.kernel_w = k;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = s.pad_bottom = s.pad_right = pad;
  s.groups = groups;
  return s;
}

Conv2dShape Depthwise(size_t hw, size_t c, size_t stride) {
  return Conv(hw, c, c, 3, stride, 1, c);
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

void SetRate(benchmark::State& state, const Conv2dShape& s) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(2e-9 * s.macs(), benchmark::Counter::kIsIterationInvariantRate);
}

// Tensors for one shape, filled once.
struct Buffers {
  explicit Buffers(const Conv2dShape& s)
      : input(Random(s.input_size(), 1)),
        weight(Random(s.weight_size(), 2)),
        bias(Random(s.out_c, 3)),
        output(s.output_size()),
        grad_output(Random(s.output_size(), 4)),
        grad_input(s.input_size()),
        grad_weight(s.weight_size()),
        grad_bias(s.out_c),
        workspace(f32_conv2d_gemm_workspace_size(s) / sizeof(float) + 1) {}
  std::vector<float> input, weight, bias, output, grad_output, grad_input, grad_weight, grad_bias;
  std::vector<float> workspace;
};

enum Impl { kScalar = 0, kGemm = 1, kXnnpack = 2, kNeon = 3 };

void BM_ConvFwd(benchmark::State& state, Conv2dShape s) {
  const auto impl = static_cast<Impl>(state.range(0));
  PoolPtr pool = MakePool(static_cast<size_t>(state.range(1)));
  Buffers b(s);
  if (impl == kXnnpack) {
    StatusOr<XnnConv2d> conv = XnnConv2d::Create(s, b.weight.data(), b.bias.data());
    if (!conv.ok()) return state.SkipWithError(conv.status().ToString().c_str());
    if (!conv->Setup(s.batch, b.input.data(), b.output.data(), pool.get()).ok()) {
      return state.SkipWithError("XNNPACK setup failed");
    }
    for (auto _ : state) {
      if (!conv->Run(pool.get()).ok()) return state.SkipWithError("XNNPACK run failed");
      benchmark::ClobberMemory();
    }
  } else {
    for (auto _ : state) {
      if (impl == kScalar) {
        f32_conv2d_fwd__scalar(s, b.input.data(), b.weight.data(), b.bias.data(), b.output.data());
      } else {
        f32_conv2d_fwd__gemm(s, b.input.data(), b.weight.data(), b.bias.data(), b.output.data(),
                             b.workspace.data(), pool.get());
      }
      benchmark::ClobberMemory();
    }
  }
  SetRate(state, s);
}

void BM_ConvBwdInput(benchmark::State& state, Conv2dShape s) {
  const auto impl = static_cast<Impl>(state.range(0));
  PoolPtr pool = MakePool(static_cast<size_t>(state.range(1)));
  Buffers b(s);
  for (auto _ : state) {
    if (impl == kScalar) {
      f32_conv2d_bwd_input__scalar(s, b.grad_output.data(), b.weight.data(), b.grad_input.data());
    } else {
      f32_conv2d_bwd_input__gemm(s, b.grad_output.data(), b.weight.data(), b.grad_input.data(),
                                 b.workspace.data(), pool.get());
    }
    benchmark::ClobberMemory();
  }
  SetRate(state, s);
}

void BM_ConvBwdWeight(benchmark::State& state, Conv2dShape s) {
  const auto impl = static_cast<Impl>(state.range(0));
  PoolPtr pool = MakePool(static_cast<size_t>(state.range(1)));
  Buffers b(s);
  for (auto _ : state) {
    if (impl == kScalar) {
      f32_conv2d_bwd_weight__scalar(s, b.input.data(), b.grad_output.data(), b.grad_weight.data(),
                                    b.grad_bias.data());
    } else {
      f32_conv2d_bwd_weight__gemm(s, b.input.data(), b.grad_output.data(), b.grad_weight.data(),
                                  b.grad_bias.data(), b.workspace.data(), pool.get());
    }
    benchmark::ClobberMemory();
  }
  SetRate(state, s);
}

// range(0): 0 = backward-input, 1 = backward-weight; range(1): threads.
void BM_ConvBwdVsGemm(benchmark::State& state, Conv2dShape s) {
  const bool weight_pass = state.range(0) == 1;
  PoolPtr pool = MakePool(static_cast<size_t>(state.range(1)));
  Buffers b(s);
  const size_t pixels = s.out_h() * s.out_w();
  const size_t k_total = s.kernel_h * s.kernel_w * s.group_in_c();
  // The same product on standalone operands.
  GemmArgs g;
  std::vector<float> a, bm, c;
  if (weight_pass) {
    g.trans_a = Transpose::kYes;
    g.m = s.out_c, g.n = k_total, g.k = pixels;
    a = Random(pixels * s.out_c, 5), bm = Random(pixels * k_total, 6);
    g.lda = s.out_c, g.ldb = k_total;
  } else {
    g.m = pixels, g.n = k_total, g.k = s.out_c;
    a = Random(pixels * s.out_c, 5), bm = Random(s.out_c * k_total, 6);
    g.lda = s.out_c, g.ldb = k_total;
  }
  c.resize(g.m * g.n);
  g.a = a.data(), g.b = bm.data(), g.c = c.data(), g.ldc = g.n;

  using Clock = std::chrono::steady_clock;
  double conv_seconds = 0.0, gemm_seconds = 0.0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    if (weight_pass) {
      f32_conv2d_bwd_weight__gemm(s, b.input.data(), b.grad_output.data(), b.grad_weight.data(),
                                  b.grad_bias.data(), b.workspace.data(), pool.get());
    } else {
      f32_conv2d_bwd_input__gemm(s, b.grad_output.data(), b.weight.data(), b.grad_input.data(),
                                 b.workspace.data(), pool.get());
    }
    benchmark::ClobberMemory();
    const auto t1 = Clock::now();
    f32_gemm(g, pool.get());
    benchmark::ClobberMemory();
    const auto t2 = Clock::now();
    const double conv = std::chrono::duration<double>(t1 - t0).count();
    conv_seconds += conv;
    gemm_seconds += std::chrono::duration<double>(t2 - t1).count();
    state.SetIterationTime(conv);
  }
  const double flops = 2.0 * s.macs() * static_cast<double>(state.iterations());
  const double conv_rate = flops / conv_seconds * 1e-9;
  const double gemm_rate = flops / gemm_seconds * 1e-9;
  state.counters["conv_GFLOP/s"] = conv_rate;
  state.counters["gemm_GFLOP/s"] = gemm_rate;
  state.counters["ratio"] = conv_rate / gemm_rate;
}

void BM_DwconvFwd(benchmark::State& state, Conv2dShape s) {
  const auto impl = static_cast<Impl>(state.range(0));
  PoolPtr pool = MakePool(static_cast<size_t>(state.range(1)));
  Buffers b(s);
  std::vector<float> w_hwc(s.weight_size());
  f32_dwconv2d_pack_weights(s.in_c, 3, 3, b.weight.data(), w_hwc.data());
  Dwconv2dFwdFn fwd = f32_dwconv2d_fwd__scalar;
  if (impl == kNeon) {
#if defined(__aarch64__)
    fwd = s.stride_h == 1 ? f32_dwconv2d_fwd_3x3s1__neon : f32_dwconv2d_fwd_3x3s2__neon;
#else
    return state.SkipWithError("NEON kernels exist on aarch64 only");
#endif
  }
  if (impl == kXnnpack) {
    StatusOr<XnnConv2d> conv = XnnConv2d::Create(s, b.weight.data(), b.bias.data());
    if (!conv.ok()) return state.SkipWithError(conv.status().ToString().c_str());
    if (!conv->Setup(s.batch, b.input.data(), b.output.data(), pool.get()).ok()) {
      return state.SkipWithError("XNNPACK setup failed");
    }
    for (auto _ : state) {
      if (!conv->Run(pool.get()).ok()) return state.SkipWithError("XNNPACK run failed");
      benchmark::ClobberMemory();
    }
  } else {
    for (auto _ : state) {
      if (impl == kGemm) {
        f32_conv2d_fwd__gemm(s, b.input.data(), b.weight.data(), b.bias.data(), b.output.data(),
                             b.workspace.data(), pool.get());
      } else {
        fwd(s, b.input.data(), w_hwc.data(), b.bias.data(), b.output.data(), pool.get());
      }
      benchmark::ClobberMemory();
    }
  }
  SetRate(state, s);
}

// range(0): impl (scalar, gemm, neon); range(1): threads; `weight_pass` picks the pass.
void DwconvBackward(benchmark::State& state, const Conv2dShape& s, bool weight_pass) {
  const auto impl = static_cast<Impl>(state.range(0));
  PoolPtr pool = MakePool(static_cast<size_t>(state.range(1)));
  Buffers b(s);
  std::vector<float> w_hwc(s.weight_size());
  f32_dwconv2d_pack_weights(s.in_c, 3, 3, b.weight.data(), w_hwc.data());
  Dwconv2dKernels k{f32_dwconv2d_fwd__scalar, f32_dwconv2d_bwd_input__scalar,
                    f32_dwconv2d_bwd_weight__scalar};
  if (impl == kNeon) {
#if defined(__aarch64__)
    k = dwconv2d_kernels_for(s);
#else
    return state.SkipWithError("NEON kernels exist on aarch64 only");
#endif
  }
  for (auto _ : state) {
    if (impl == kGemm && weight_pass) {
      f32_conv2d_bwd_weight__gemm(s, b.input.data(), b.grad_output.data(), b.grad_weight.data(),
                                  b.grad_bias.data(), b.workspace.data(), pool.get());
    } else if (impl == kGemm) {
      f32_conv2d_bwd_input__gemm(s, b.grad_output.data(), b.weight.data(), b.grad_input.data(),
                                 b.workspace.data(), pool.get());
    } else if (weight_pass) {
      k.bwd_weight(s, b.input.data(), b.grad_output.data(), b.grad_weight.data(),
                   b.grad_bias.data(), pool.get());
    } else {
      k.bwd_input(s, b.grad_output.data(), w_hwc.data(), b.grad_input.data(), pool.get());
    }
    benchmark::ClobberMemory();
  }
  SetRate(state, s);
}

void BM_DwconvBwdInput(benchmark::State& state, Conv2dShape s) { DwconvBackward(state, s, false); }
void BM_DwconvBwdWeight(benchmark::State& state, Conv2dShape s) { DwconvBackward(state, s, true); }

void Common(benchmark::internal::Benchmark* b) {
  b->ArgNames({"impl", "threads"});
  b->UseRealTime();
  b->Unit(benchmark::kMicrosecond);
}
// impl: 0 scalar, 1 GEMM-based, 2 XNNPACK; scalar single-threaded only.
void FwdVariants(benchmark::internal::Benchmark* b) {
  Common(b);
  b->Args({kScalar, 1})
      ->Args({kGemm, 1})
      ->Args({kXnnpack, 1})
      ->Args({kGemm, 2})
      ->Args({kXnnpack, 2});
}
void BwdVariants(benchmark::internal::Benchmark* b) {
  Common(b);
  b->Args({kScalar, 1})->Args({kGemm, 1})->Args({kGemm, 2});
}
void DwFwdVariants(benchmark::internal::Benchmark* b) {
  Common(b);
  b->Args({kScalar, 1})->Args({kNeon, 1})->Args({kGemm, 1})->Args({kXnnpack, 1});
  b->Args({kNeon, 2})->Args({kXnnpack, 2});
}
void DwBwdVariants(benchmark::internal::Benchmark* b) {
  Common(b);
  b->Args({kScalar, 1})->Args({kNeon, 1})->Args({kGemm, 1})->Args({kScalar, 2})->Args({kNeon, 2});
}
void PointwiseVariants(benchmark::internal::Benchmark* b) {
  Common(b);
  b->Args({kGemm, 1})->Args({kXnnpack, 1})->Args({kGemm, 2})->Args({kXnnpack, 2});
}
void RatioVariants(benchmark::internal::Benchmark* b) {
  b->ArgNames({"weight", "threads"});
  b->Args({0, 1})->Args({1, 1})->Args({0, 2})->Args({1, 2});
  b->UseManualTime();
  b->Unit(benchmark::kMicrosecond);
}

/// A dense layer: forward, backward-input, backward-weight, and the backward-vs-GEMM ratio.
#define PERSEPHONEE_CONV_BENCHMARK(name, shape)                         \
  BENCHMARK_CAPTURE(BM_ConvFwd, name, shape)->Apply(FwdVariants);       \
  BENCHMARK_CAPTURE(BM_ConvBwdInput, name, shape)->Apply(BwdVariants);  \
  BENCHMARK_CAPTURE(BM_ConvBwdWeight, name, shape)->Apply(BwdVariants); \
  BENCHMARK_CAPTURE(BM_ConvBwdVsGemm, name, shape)->Apply(RatioVariants)

/// A depthwise 3x3 layer: forward, backward-input, backward-weight.
#define PERSEPHONEE_DWCONV_BENCHMARK(name, shape)                          \
  BENCHMARK_CAPTURE(BM_DwconvFwd, name, shape)->Apply(DwFwdVariants);      \
  BENCHMARK_CAPTURE(BM_DwconvBwdInput, name, shape)->Apply(DwBwdVariants); \
  BENCHMARK_CAPTURE(BM_DwconvBwdWeight, name, shape)->Apply(DwBwdVariants)

// ResNet-18-224: every distinct 3x3 convolution.
PERSEPHONEE_CONV_BENCHMARK(resnet18_layer1_3x3, Conv(56, 64, 64, 3, 1, 1));
PERSEPHONEE_CONV_BENCHMARK(resnet18_layer2_3x3s2, Conv(56, 64, 128, 3, 2, 1));
PERSEPHONEE_CONV_BENCHMARK(resnet18_layer2_3x3, Conv(28, 128, 128, 3, 1, 1));
PERSEPHONEE_CONV_BENCHMARK(resnet18_layer3_3x3s2, Conv(28, 128, 256, 3, 2, 1));
PERSEPHONEE_CONV_BENCHMARK(resnet18_layer3_3x3, Conv(14, 256, 256, 3, 1, 1));
PERSEPHONEE_CONV_BENCHMARK(resnet18_layer4_3x3s2, Conv(14, 256, 512, 3, 2, 1));
PERSEPHONEE_CONV_BENCHMARK(resnet18_layer4_3x3, Conv(7, 512, 512, 3, 1, 1));
// ResNet-18-224 stem, forward only (its backward is never needed: the backbone is frozen).
BENCHMARK_CAPTURE(BM_ConvFwd, resnet18_conv1_7x7s2, Conv(224, 3, 64, 7, 2, 3))->Apply(FwdVariants);

// MobileNetV2-224: the depthwise 3x3 layers (stride 1 and 2 at each resolution).
PERSEPHONEE_DWCONV_BENCHMARK(mobilenetv2_dw_112x32, Depthwise(112, 32, 1));
PERSEPHONEE_DWCONV_BENCHMARK(mobilenetv2_dw_112x96s2, Depthwise(112, 96, 2));
PERSEPHONEE_DWCONV_BENCHMARK(mobilenetv2_dw_56x144, Depthwise(56, 144, 1));
PERSEPHONEE_DWCONV_BENCHMARK(mobilenetv2_dw_56x144s2, Depthwise(56, 144, 2));
PERSEPHONEE_DWCONV_BENCHMARK(mobilenetv2_dw_28x192, Depthwise(28, 192, 1));
PERSEPHONEE_DWCONV_BENCHMARK(mobilenetv2_dw_14x576, Depthwise(14, 576, 1));
PERSEPHONEE_DWCONV_BENCHMARK(mobilenetv2_dw_7x960, Depthwise(7, 960, 1));

// MobileNetV2-224: 1x1 layers (expansion and projection), forward.
BENCHMARK_CAPTURE(BM_ConvFwd, mobilenetv2_pw_112x32to16, Conv(112, 32, 16, 1, 1, 0))
    ->Apply(PointwiseVariants);
BENCHMARK_CAPTURE(BM_ConvFwd, mobilenetv2_pw_56x24to144, Conv(56, 24, 144, 1, 1, 0))
    ->Apply(PointwiseVariants);
BENCHMARK_CAPTURE(BM_ConvFwd, mobilenetv2_pw_56x144to24, Conv(56, 144, 24, 1, 1, 0))
    ->Apply(PointwiseVariants);
BENCHMARK_CAPTURE(BM_ConvFwd, mobilenetv2_pw_14x384to64, Conv(14, 384, 64, 1, 1, 0))
    ->Apply(PointwiseVariants);
BENCHMARK_CAPTURE(BM_ConvFwd, mobilenetv2_pw_7x320to1280, Conv(7, 320, 1280, 1, 1, 0))
    ->Apply(PointwiseVariants);
// Their backward passes (what training a head built from such layers runs).
BENCHMARK_CAPTURE(BM_ConvBwdInput, mobilenetv2_pw_56x24to144, Conv(56, 24, 144, 1, 1, 0))
    ->Apply(BwdVariants);
BENCHMARK_CAPTURE(BM_ConvBwdWeight, mobilenetv2_pw_56x24to144, Conv(56, 24, 144, 1, 1, 0))
    ->Apply(BwdVariants);
BENCHMARK_CAPTURE(BM_ConvBwdInput, mobilenetv2_pw_7x320to1280, Conv(7, 320, 1280, 1, 1, 0))
    ->Apply(BwdVariants);
BENCHMARK_CAPTURE(BM_ConvBwdWeight, mobilenetv2_pw_7x320to1280, Conv(7, 320, 1280, 1, 1, 0))
    ->Apply(BwdVariants);

}  // namespace
}  // namespace persephonee
