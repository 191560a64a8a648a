#include "tests/kernels/conv2d/conv2d_tester.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <sstream>

namespace persephonee {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

struct PoolDeleter {
  void operator()(pthreadpool_t p) const { pthreadpool_destroy(p); }
};
using Pool = std::unique_ptr<std::remove_pointer_t<pthreadpool_t>, PoolDeleter>;

Pool MakePool(size_t threads) { return Pool(pthreadpool_create(threads)); }

std::vector<float> Abs(const std::vector<float>& v) {
  std::vector<float> a(v.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
  return a;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::string Nhwc(size_t i, size_t h, size_t w, size_t c) {
  std::ostringstream out;
  out << "[n=" << i / (h * w * c) << " h=" << i / (w * c) % h << " w=" << i / c % w
      << " c=" << i % c << "]";
  return out.str();
}

std::string Ohwi(size_t i, size_t kh, size_t kw, size_t ci) {
  std::ostringstream out;
  out << "[o=" << i / (kh * kw * ci) << " kh=" << i / (kw * ci) % kh << " kw=" << i / ci % kw
      << " i=" << i % ci << "]";
  return out.str();
}

// The forward in double precision, written independently of the float oracle, for the finite
// differences.
std::vector<double> ForwardDouble(const Conv2dShape& s, const std::vector<double>& x,
                                  const std::vector<double>& w, const std::vector<double>& b) {
  const size_t oh_n = s.out_h(), ow_n = s.out_w(), cig = s.group_in_c(), cog = s.group_out_c();
  std::vector<double> y(s.output_size());
  for (size_t n = 0; n < s.batch; ++n) {
    for (size_t oh = 0; oh < oh_n; ++oh) {
      for (size_t ow = 0; ow < ow_n; ++ow) {
        for (size_t oc = 0; oc < s.out_c; ++oc) {
          double acc = b.empty() ? 0.0 : b[oc];
          for (size_t kh = 0; kh < s.kernel_h; ++kh) {
            const long ih = static_cast<long>(oh * s.stride_h + kh * s.dilation_h) -
                            static_cast<long>(s.pad_top);
            for (size_t kw = 0; kw < s.kernel_w; ++kw) {
              const long iw = static_cast<long>(ow * s.stride_w + kw * s.dilation_w) -
                              static_cast<long>(s.pad_left);
              if (ih < 0 || iw < 0 || ih >= static_cast<long>(s.in_h) ||
                  iw >= static_cast<long>(s.in_w)) {
                continue;
              }
              for (size_t ci = 0; ci < cig; ++ci) {
                const size_t in_c = (oc / cog) * cig + ci;
                acc += x[((n * s.in_h + ih) * s.in_w + iw) * s.in_c + in_c] *
                       w[((oc * s.kernel_h + kh) * s.kernel_w + kw) * cig + ci];
              }
            }
          }
          y[((n * oh_n + oh) * ow_n + ow) * s.out_c + oc] = acc;
        }
      }
    }
  }
  return y;
}

double Loss(const Conv2dShape& s, const std::vector<double>& x, const std::vector<double>& w,
            const std::vector<double>& b, const std::vector<double>& grad_output) {
  const std::vector<double> y = ForwardDouble(s, x, w, b);
  double loss = 0.0;
  for (size_t i = 0; i < y.size(); ++i) loss += grad_output[i] * y[i];
  return loss;
}

// dL/dp for every element of `param` (one of x, w, b), by central differences. L is linear in
// each parameter, so the step only trades nothing but round-off: 1e-2 keeps that near 1e-13.
std::vector<double> CentralDifferences(const Conv2dShape& s, std::vector<double>* param,
                                       const std::vector<double>& x, const std::vector<double>& w,
                                       const std::vector<double>& b,
                                       const std::vector<double>& grad_output) {
  constexpr double kStep = 1e-2;
  std::vector<double> grad(param->size());
  for (size_t i = 0; i < param->size(); ++i) {
    const double saved = (*param)[i];
    (*param)[i] = saved + kStep;
    const double plus = Loss(s, x, w, b, grad_output);
    (*param)[i] = saved - kStep;
    const double minus = Loss(s, x, w, b, grad_output);
    (*param)[i] = saved;
    grad[i] = (plus - minus) / (2.0 * kStep);
  }
  return grad;
}

void ExpectBitwiseEqual(const std::vector<float>& a, const std::vector<float>& b,
                        const std::string& what, const std::string& shape) {
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
      << what << ": results on several threads differ from one thread; " << shape;
}

}  // namespace

void ExpectAllNear(const std::vector<float>& got, const std::vector<double>& expected,
                   const std::vector<float>& magnitude, size_t terms,
                   const std::function<std::string(size_t)>& index_name, const std::string& what,
                   const std::string& shape) {
  ASSERT_EQ(got.size(), expected.size()) << what << "; " << shape;
  ASSERT_EQ(got.size(), magnitude.size()) << what << "; " << shape;
  const double scale = std::max(1.0, std::sqrt(static_cast<double>(terms)) / 4.0);
  size_t failures = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = std::max(1e-5, 1e-6 * magnitude[i]) * scale;
    const double err = std::fabs(static_cast<double>(got[i]) - expected[i]);
    if (!(err <= tol)) {  // Also catches NaN (an element never written).
      if (++failures <= 8) {
        ADD_FAILURE() << what << " at " << index_name(i) << " (flat " << i << "): got " << got[i]
                      << ", expected " << expected[i] << ", |diff| " << err << " > tol " << tol
                      << "; " << shape;
      }
    }
  }
  if (failures > 8) ADD_FAILURE() << what << ": " << failures << " mismatches in all; " << shape;
}

std::string Conv2dTester::Describe() const {
  std::ostringstream out;
  out << "batch=" << s_.batch << " in=" << s_.in_h << "x" << s_.in_w << "x" << s_.in_c
      << " out=" << s_.out_h() << "x" << s_.out_w() << "x" << s_.out_c << " kernel=" << s_.kernel_h
      << "x" << s_.kernel_w << " stride=" << s_.stride_h << "x" << s_.stride_w
      << " dilation=" << s_.dilation_h << "x" << s_.dilation_w << " pad=" << s_.pad_top << ","
      << s_.pad_left << "," << s_.pad_bottom << "," << s_.pad_right << " groups=" << s_.groups
      << " bias=" << bias_ << " threads=" << threads_;
  return out.str();
}

Conv2dTester::Data Conv2dTester::Make() const {
  std::mt19937 rng(seed_);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const auto fill = [&](size_t n) {
    std::vector<float> v(n);
    for (float& e : v) e = dist(rng);
    return v;
  };
  Data d;
  d.input = fill(s_.input_size());
  d.weight = fill(s_.weight_size());
  d.bias = fill(s_.out_c);
  d.grad_output = fill(s_.output_size());
  return d;
}

void Conv2dTester::TestForward(Conv2dFwdFn fwd) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  const Data d = Make();
  std::vector<float> ref(s_.output_size()), mag(s_.output_size());
  f32_conv2d_fwd__scalar(s_, d.input.data(), d.weight.data(), BiasOrNull(d), ref.data());
  const std::vector<float> abs_bias = Abs(d.bias);
  f32_conv2d_fwd__scalar(s_, Abs(d.input).data(), Abs(d.weight).data(),
                         bias_ ? abs_bias.data() : nullptr, mag.data());
  std::vector<float> workspace(f32_conv2d_gemm_workspace_size(s_) / sizeof(float) + 1, kNaN);
  std::vector<float> out(s_.output_size(), kNaN);
  fwd(s_, d.input.data(), d.weight.data(), BiasOrNull(d), out.data(), workspace.data(), nullptr);
  const auto name = [&](size_t i) { return Nhwc(i, s_.out_h(), s_.out_w(), s_.out_c); };
  ExpectAllNear(out, ToDouble(ref), mag, s_.kernel_h * s_.kernel_w * s_.group_in_c() + 1, name,
                "forward", Describe());
  if (threads_ > 1) {
    Pool pool = MakePool(threads_);
    std::vector<float> out_mt(s_.output_size(), kNaN);
    fwd(s_, d.input.data(), d.weight.data(), BiasOrNull(d), out_mt.data(), workspace.data(),
        pool.get());
    ExpectBitwiseEqual(out, out_mt, "forward", Describe());
  }
}

void Conv2dTester::TestBackwardInput(Conv2dBwdInputFn bwd_input) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  const Data d = Make();
  std::vector<float> ref(s_.input_size()), mag(s_.input_size());
  f32_conv2d_bwd_input__scalar(s_, d.grad_output.data(), d.weight.data(), ref.data());
  f32_conv2d_bwd_input__scalar(s_, Abs(d.grad_output).data(), Abs(d.weight).data(), mag.data());
  std::vector<float> workspace(f32_conv2d_gemm_workspace_size(s_) / sizeof(float) + 1, kNaN);
  std::vector<float> got(s_.input_size(), kNaN);
  bwd_input(s_, d.grad_output.data(), d.weight.data(), got.data(), workspace.data(), nullptr);
  const auto name = [&](size_t i) { return Nhwc(i, s_.in_h, s_.in_w, s_.in_c); };
  ExpectAllNear(got, ToDouble(ref), mag, s_.kernel_h * s_.kernel_w * s_.group_out_c(), name,
                "backward-input", Describe());
  if (threads_ > 1) {
    Pool pool = MakePool(threads_);
    std::vector<float> got_mt(s_.input_size(), kNaN);
    bwd_input(s_, d.grad_output.data(), d.weight.data(), got_mt.data(), workspace.data(),
              pool.get());
    ExpectBitwiseEqual(got, got_mt, "backward-input", Describe());
  }
}

void Conv2dTester::TestBackwardWeight(Conv2dBwdWeightFn bwd_weight) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  const Data d = Make();
  std::vector<float> ref_w(s_.weight_size()), mag_w(s_.weight_size());
  std::vector<float> ref_b(s_.out_c), mag_b(s_.out_c);
  f32_conv2d_bwd_weight__scalar(s_, d.input.data(), d.grad_output.data(), ref_w.data(),
                                ref_b.data());
  f32_conv2d_bwd_weight__scalar(s_, Abs(d.input).data(), Abs(d.grad_output).data(), mag_w.data(),
                                mag_b.data());
  std::vector<float> workspace(f32_conv2d_gemm_workspace_size(s_) / sizeof(float) + 1, kNaN);
  std::vector<float> got_w(s_.weight_size(), kNaN), got_b(s_.out_c, kNaN);
  bwd_weight(s_, d.input.data(), d.grad_output.data(), got_w.data(), bias_ ? got_b.data() : nullptr,
             workspace.data(), nullptr);
  const size_t terms = s_.batch * s_.out_h() * s_.out_w();
  const auto name = [&](size_t i) { return Ohwi(i, s_.kernel_h, s_.kernel_w, s_.group_in_c()); };
  ExpectAllNear(got_w, ToDouble(ref_w), mag_w, terms, name, "backward-weight", Describe());
  if (bias_) {
    const auto bias_name = [](size_t i) { return "[o=" + std::to_string(i) + "]"; };
    ExpectAllNear(got_b, ToDouble(ref_b), mag_b, terms, bias_name, "backward-bias", Describe());
  }
  if (threads_ > 1) {
    Pool pool = MakePool(threads_);
    std::vector<float> got_w_mt(s_.weight_size(), kNaN), got_b_mt(s_.out_c, kNaN);
    bwd_weight(s_, d.input.data(), d.grad_output.data(), got_w_mt.data(),
               bias_ ? got_b_mt.data() : nullptr, workspace.data(), pool.get());
    ExpectBitwiseEqual(got_w, got_w_mt, "backward-weight", Describe());
    if (bias_) ExpectBitwiseEqual(got_b, got_b_mt, "backward-bias", Describe());
  }
}

void Conv2dTester::TestGradients(const Backward& backward) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  const Data d = Make();
  std::vector<double> x = ToDouble(d.input), w = ToDouble(d.weight);
  std::vector<double> b = bias_ ? ToDouble(d.bias) : std::vector<double>();
  const std::vector<double> go = ToDouble(d.grad_output);

  // The double forward must be the function the float oracle computes.
  std::vector<float> y(s_.output_size()), y_mag(s_.output_size());
  f32_conv2d_fwd__scalar(s_, d.input.data(), d.weight.data(), BiasOrNull(d), y.data());
  const std::vector<float> abs_bias = Abs(d.bias);
  f32_conv2d_fwd__scalar(s_, Abs(d.input).data(), Abs(d.weight).data(),
                         bias_ ? abs_bias.data() : nullptr, y_mag.data());
  ExpectAllNear(
      y, ForwardDouble(s_, x, w, b), y_mag, s_.kernel_h * s_.kernel_w * s_.group_in_c() + 1,
      [&](size_t i) { return Nhwc(i, s_.out_h(), s_.out_w(), s_.out_c); },
      "double forward vs float oracle", Describe());

  std::vector<float> gx(s_.input_size(), kNaN), gw(s_.weight_size(), kNaN), gb(s_.out_c, kNaN);
  backward(s_, d.input.data(), d.weight.data(), d.grad_output.data(), gx.data(), gw.data(),
           bias_ ? gb.data() : nullptr);

  // Magnitudes of the terms each gradient element sums (for the float round-off allowance).
  std::vector<float> mag_x(s_.input_size()), mag_w(s_.weight_size()), mag_b(s_.out_c);
  const std::vector<float> abs_go = Abs(d.grad_output);
  f32_conv2d_bwd_input__scalar(s_, abs_go.data(), Abs(d.weight).data(), mag_x.data());
  f32_conv2d_bwd_weight__scalar(s_, Abs(d.input).data(), abs_go.data(), mag_w.data(), mag_b.data());
  const size_t pixel_terms = s_.batch * s_.out_h() * s_.out_w();

  ExpectAllNear(
      gx, CentralDifferences(s_, &x, x, w, b, go), mag_x,
      s_.kernel_h * s_.kernel_w * s_.group_out_c(),
      [&](size_t i) { return Nhwc(i, s_.in_h, s_.in_w, s_.in_c); },
      "grad_input vs finite differences", Describe());
  ExpectAllNear(
      gw, CentralDifferences(s_, &w, x, w, b, go), mag_w, pixel_terms,
      [&](size_t i) { return Ohwi(i, s_.kernel_h, s_.kernel_w, s_.group_in_c()); },
      "grad_weight vs finite differences", Describe());
  if (bias_) {
    ExpectAllNear(
        gb, CentralDifferences(s_, &b, x, w, b, go), mag_b, pixel_terms,
        [](size_t i) { return "[o=" + std::to_string(i) + "]"; }, "grad_bias vs finite differences",
        Describe());
  }
}

Conv2dTester::Backward Conv2dTester::ScalarBackward() {
  return [](const Conv2dShape& s, const float* x, const float* w, const float* go, float* gx,
            float* gw, float* gb) {
    f32_conv2d_bwd_input__scalar(s, go, w, gx);
    f32_conv2d_bwd_weight__scalar(s, x, go, gw, gb);
  };
}

Conv2dTester::Backward Conv2dTester::GemmBackward() {
  return [](const Conv2dShape& s, const float* x, const float* w, const float* go, float* gx,
            float* gw, float* gb) {
    std::vector<float> workspace(f32_conv2d_gemm_workspace_size(s) / sizeof(float) + 1);
    f32_conv2d_bwd_input__gemm(s, go, w, gx, workspace.data(), nullptr);
    f32_conv2d_bwd_weight__gemm(s, x, go, gw, gb, workspace.data(), nullptr);
  };
}

Conv2dTester::Backward Conv2dTester::DwBackward(const Dwconv2dKernels& kernels) {
  return [kernels](const Conv2dShape& s, const float* x, const float* w, const float* go, float* gx,
                   float* gw, float* gb) {
    std::vector<float> w_hwc(s.weight_size()), gw_hwc(s.weight_size(), kNaN);
    f32_dwconv2d_pack_weights(s.in_c, s.kernel_h, s.kernel_w, w, w_hwc.data());
    kernels.bwd_input(s, go, w_hwc.data(), gx, nullptr);
    kernels.bwd_weight(s, x, go, gw_hwc.data(), gb, nullptr);
    f32_dwconv2d_unpack_weights(s.in_c, s.kernel_h, s.kernel_w, gw_hwc.data(), gw);
  };
}

void Conv2dTester::TestDwForward(Dwconv2dFwdFn fwd) const {
  ASSERT_TRUE(s_.ValidateDepthwise().ok()) << s_.ValidateDepthwise().ToString();
  const Data d = Make();
  std::vector<float> ref(s_.output_size()), mag(s_.output_size());
  f32_conv2d_fwd__scalar(s_, d.input.data(), d.weight.data(), BiasOrNull(d), ref.data());
  const std::vector<float> abs_bias = Abs(d.bias);
  f32_conv2d_fwd__scalar(s_, Abs(d.input).data(), Abs(d.weight).data(),
                         bias_ ? abs_bias.data() : nullptr, mag.data());
  std::vector<float> w_hwc(s_.weight_size());
  f32_dwconv2d_pack_weights(s_.in_c, s_.kernel_h, s_.kernel_w, d.weight.data(), w_hwc.data());
  std::vector<float> out(s_.output_size(), kNaN);
  fwd(s_, d.input.data(), w_hwc.data(), BiasOrNull(d), out.data(), nullptr);
  const auto name = [&](size_t i) { return Nhwc(i, s_.out_h(), s_.out_w(), s_.out_c); };
  ExpectAllNear(out, ToDouble(ref), mag, s_.kernel_h * s_.kernel_w + 1, name, "depthwise forward",
                Describe());
  if (threads_ > 1) {
    Pool pool = MakePool(threads_);
    std::vector<float> out_mt(s_.output_size(), kNaN);
    fwd(s_, d.input.data(), w_hwc.data(), BiasOrNull(d), out_mt.data(), pool.get());
    ExpectBitwiseEqual(out, out_mt, "depthwise forward", Describe());
  }
}

void Conv2dTester::TestDwBackwardInput(Dwconv2dBwdInputFn bwd_input) const {
  ASSERT_TRUE(s_.ValidateDepthwise().ok()) << s_.ValidateDepthwise().ToString();
  const Data d = Make();
  std::vector<float> ref(s_.input_size()), mag(s_.input_size());
  f32_conv2d_bwd_input__scalar(s_, d.grad_output.data(), d.weight.data(), ref.data());
  f32_conv2d_bwd_input__scalar(s_, Abs(d.grad_output).data(), Abs(d.weight).data(), mag.data());
  std::vector<float> w_hwc(s_.weight_size());
  f32_dwconv2d_pack_weights(s_.in_c, s_.kernel_h, s_.kernel_w, d.weight.data(), w_hwc.data());
  std::vector<float> got(s_.input_size(), kNaN);
  bwd_input(s_, d.grad_output.data(), w_hwc.data(), got.data(), nullptr);
  const auto name = [&](size_t i) { return Nhwc(i, s_.in_h, s_.in_w, s_.in_c); };
  ExpectAllNear(got, ToDouble(ref), mag, s_.kernel_h * s_.kernel_w, name,
                "depthwise backward-input", Describe());
  if (threads_ > 1) {
    Pool pool = MakePool(threads_);
    std::vector<float> got_mt(s_.input_size(), kNaN);
    bwd_input(s_, d.grad_output.data(), w_hwc.data(), got_mt.data(), pool.get());
    ExpectBitwiseEqual(got, got_mt, "depthwise backward-input", Describe());
  }
}

void Conv2dTester::TestDwBackwardWeight(Dwconv2dBwdWeightFn bwd_weight) const {
  ASSERT_TRUE(s_.ValidateDepthwise().ok()) << s_.ValidateDepthwise().ToString();
  const Data d = Make();
  std::vector<float> ref_w(s_.weight_size()), mag_w(s_.weight_size());
  std::vector<float> ref_b(s_.out_c), mag_b(s_.out_c);
  f32_conv2d_bwd_weight__scalar(s_, d.input.data(), d.grad_output.data(), ref_w.data(),
                                ref_b.data());
  f32_conv2d_bwd_weight__scalar(s_, Abs(d.input).data(), Abs(d.grad_output).data(), mag_w.data(),
                                mag_b.data());
  std::vector<float> got_hwc(s_.weight_size(), kNaN), got_b(s_.out_c, kNaN);
  bwd_weight(s_, d.input.data(), d.grad_output.data(), got_hwc.data(),
             bias_ ? got_b.data() : nullptr, nullptr);
  std::vector<float> got_w(s_.weight_size());
  f32_dwconv2d_unpack_weights(s_.in_c, s_.kernel_h, s_.kernel_w, got_hwc.data(), got_w.data());
  const size_t terms = s_.batch * s_.out_h() * s_.out_w();
  const auto name = [&](size_t i) { return Ohwi(i, s_.kernel_h, s_.kernel_w, 1); };
  ExpectAllNear(got_w, ToDouble(ref_w), mag_w, terms, name, "depthwise backward-weight",
                Describe());
  if (bias_) {
    const auto bias_name = [](size_t i) { return "[c=" + std::to_string(i) + "]"; };
    ExpectAllNear(got_b, ToDouble(ref_b), mag_b, terms, bias_name, "depthwise backward-bias",
                  Describe());
  }
  if (threads_ > 1) {
    Pool pool = MakePool(threads_);
    std::vector<float> got_hwc_mt(s_.weight_size(), kNaN), got_b_mt(s_.out_c, kNaN);
    bwd_weight(s_, d.input.data(), d.grad_output.data(), got_hwc_mt.data(),
               bias_ ? got_b_mt.data() : nullptr, pool.get());
    ExpectBitwiseEqual(got_hwc, got_hwc_mt, "depthwise backward-weight", Describe());
    if (bias_) ExpectBitwiseEqual(got_b, got_b_mt, "depthwise backward-bias", Describe());
  }
}

void Conv2dTester::TestXnnForward(ConvActivation activation) const {
  ASSERT_TRUE(s_.Validate().ok()) << s_.Validate().ToString();
  const double lo = activation == ConvActivation::kNone ? -INFINITY : 0.0;
  const double hi = activation == ConvActivation::kRelu6 ? 6.0 : INFINITY;
  // Weights scaled so that ReLU6's upper clamp is reached too.
  const Data base = Make();
  std::vector<float> weight = base.weight;
  for (float& v : weight) v *= 4.0f;
  const std::vector<float> bias = base.bias;
  StatusOr<XnnConv2d> conv = [&] {
    // XNNPACK packs the weights in Create() and must not read the caller's copy afterwards.
    std::vector<float> w = weight, b = bias;
    StatusOr<XnnConv2d> c = XnnConv2d::Create(s_, w.data(), bias_ ? b.data() : nullptr, activation);
    std::fill(w.begin(), w.end(), kNaN);
    std::fill(b.begin(), b.end(), kNaN);
    return c;
  }();
  ASSERT_TRUE(conv.ok()) << conv.status().ToString() << "; " << Describe();
  Pool pool = MakePool(threads_);
  // Run on the shape's batch, then rebind to a larger batch with new inputs.
  for (size_t extra : {size_t{0}, size_t{2}}) {
    Conv2dTester t = *this;
    t.batch(s_.batch + extra).seed(seed_ + 1000 + static_cast<uint32_t>(extra));
    const Conv2dShape& s = t.s_;
    const std::vector<float> input = t.Make().input;
    const float* b = bias_ ? bias.data() : nullptr;
    std::vector<float> ref(s.output_size()), mag(s.output_size());
    f32_conv2d_fwd__scalar(s, input.data(), weight.data(), b, ref.data());
    const std::vector<float> abs_bias = Abs(bias);
    f32_conv2d_fwd__scalar(s, Abs(input).data(), Abs(weight).data(),
                           bias_ ? abs_bias.data() : nullptr, mag.data());
    std::vector<double> expected = ToDouble(ref);
    for (double& e : expected) e = std::min(hi, std::max(lo, e));
    std::vector<float> out(s.output_size(), kNaN);
    ASSERT_TRUE(conv->Setup(s.batch, input.data(), out.data(), pool.get()).ok());
    ASSERT_TRUE(conv->Run(pool.get()).ok());
    const auto name = [&](size_t i) { return Nhwc(i, s.out_h(), s.out_w(), s.out_c); };
    ExpectAllNear(out, expected, mag, s.kernel_h * s.kernel_w * s.group_in_c() + 1, name,
                  "XNNPACK forward", t.Describe());
  }
}

std::vector<Conv2dShape> RandomShapes(uint32_t seed, size_t count) {
  std::mt19937 rng(seed);
  const auto pick = [&](std::initializer_list<size_t> values) {
    return *(values.begin() + std::uniform_int_distribution<size_t>(0, values.size() - 1)(rng));
  };
  const auto range = [&](size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };
  std::vector<Conv2dShape> shapes;
  while (shapes.size() < count) {
    Conv2dShape s;
    s.batch = pick({1, 1, 2, 3});
    s.kernel_h = pick({1, 3, 3, 5, 7});
    s.kernel_w = range(0, 3) == 0 ? pick({1, 3, 5, 7}) : s.kernel_h;
    s.stride_h = pick({1, 1, 2});
    s.stride_w = range(0, 3) == 0 ? pick({1, 2}) : s.stride_h;
    s.dilation_h = pick({1, 1, 1, 2});
    s.dilation_w = range(0, 3) == 0 ? pick({1, 2}) : s.dilation_h;
    s.pad_top = range(0, 3);
    s.pad_left = range(0, 3);
    s.pad_bottom = range(0, 3);
    s.pad_right = range(0, 3);
    const size_t kind = range(0, 4);  // 0-1 dense, 2 two groups, 3 three groups, 4 depthwise.
    const size_t per_group_in = pick({1, 2, 3, 4, 5, 7, 11, 13});
    const size_t per_group_out = pick({1, 2, 3, 4, 5, 7, 11, 13});
    s.groups = kind <= 1 ? 1 : kind == 2 ? 2 : kind == 3 ? 3 : pick({3, 4, 5, 8, 13});
    s.in_c = kind == 4 ? s.groups : per_group_in * s.groups;
    s.out_c = kind == 4 ? s.groups : per_group_out * s.groups;
    s.in_h = range(1, 12);
    s.in_w = range(1, 12);
    if (!s.Validate().ok()) continue;
    if (s.macs() > 150000 || s.macs() < 1) continue;
    shapes.push_back(s);
  }
  return shapes;
}

std::vector<Conv2dShape> RandomDw3x3Shapes(uint32_t seed, size_t count, size_t stride) {
  std::mt19937 rng(seed);
  const auto range = [&](size_t lo, size_t hi) {
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };
  std::vector<Conv2dShape> shapes;
  while (shapes.size() < count) {
    Conv2dShape s;
    s.batch = range(1, 3);
    s.in_c = s.out_c = s.groups = range(1, 21);
    s.kernel_h = s.kernel_w = 3;
    s.stride_h = s.stride_w = stride;
    s.pad_top = range(0, 2);
    s.pad_left = range(0, 2);
    s.pad_bottom = range(0, 2);
    s.pad_right = range(0, 2);
    s.in_h = range(1, 14);
    s.in_w = range(1, 14);
    if (!s.ValidateDepthwise().ok()) continue;
    shapes.push_back(s);
  }
  return shapes;
}

}  // namespace persephonee
