#include "tests/kernels/elementwise/elementwise_tester.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <sstream>

namespace persephonee {
namespace {

constexpr size_t kGuard = 5;             // Guard elements past every output buffer.
constexpr float kGuardValue = -4321.5f;  // What the guards hold; they must keep it.
constexpr double kStep = 1e-3;           // Central-difference step.
constexpr double kKinkMargin = 0.05;     // Finite-difference points stay this far from kinks.

// `body` followed by the guards.
std::vector<float> Guarded(std::vector<float> body) {
  body.insert(body.end(), kGuard, kGuardValue);
  return body;
}
// `size` NaNs followed by the guards.
std::vector<float> Output(size_t size) {
  return Guarded(std::vector<float>(size, std::numeric_limits<float>::quiet_NaN()));
}

void ExpectGuards(const std::vector<float>& v, const std::string& what,
                  const std::string& describe) {
  for (size_t i = v.size() - kGuard; i < v.size(); ++i) {
    if (std::memcmp(&v[i], &kGuardValue, sizeof(float)) != 0) {
      ADD_FAILURE() << what << ": wrote past the end (element " << i << ") for " << describe;
      return;
    }
  }
}

// Exact comparison (NaN matches NaN): for kernels that select or add once per element.
void ExpectSame(const std::string& what, const std::vector<float>& got,
                const std::vector<float>& want, size_t size, const std::string& describe) {
  size_t failures = 0;
  std::ostringstream report;
  for (size_t i = 0; i < size; ++i) {
    const bool same = got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]));
    if (!same && failures++ < 5) {
      report << "\n  at " << i << ": got " << got[i] << ", expected " << want[i];
    }
  }
  EXPECT_EQ(failures, 0u) << what << " differs in " << failures << " of " << size
                          << " elements for " << describe << report.str();
  ExpectGuards(got, what, describe);
}

void ExpectClose(const std::string& what, const std::vector<float>& got,
                 const std::vector<double>& want, const std::vector<double>& magnitude,
                 double terms, const std::string& describe) {
  const double scale = std::max(1.0, std::sqrt(terms) / 4.0);
  size_t failures = 0;
  std::ostringstream report;
  for (size_t i = 0; i < want.size(); ++i) {
    const double tolerance = std::max(1e-5, 1e-6 * magnitude[i]) * scale;
    if (!(std::fabs(got[i] - want[i]) <= tolerance) && failures++ < 5) {
      report << "\n  at " << i << ": got " << got[i] << ", expected " << want[i] << " (tolerance "
             << tolerance << ")";
    }
  }
  EXPECT_EQ(failures, 0u) << what << " differs in " << failures << " of " << want.size()
                          << " elements for " << describe << report.str();
  ExpectGuards(got, what, describe);
}

std::vector<float> Uniform(size_t size, float lo, float hi, std::mt19937* rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size);
  for (float& x : v) x = dist(*rng);
  return v;
}

// Activation inputs over [-8, 10], with exact kinks (0, -0, 6) sprinkled in.
std::vector<float> ActivationInputs(size_t size, std::mt19937* rng) {
  std::vector<float> v = Uniform(size, -8.0f, 10.0f, rng);
  for (size_t i = 0; i < size; ++i) {
    if (i % 7 == 3) v[i] = 0.0f;
    if (i % 11 == 5) v[i] = 6.0f;
    if (i % 13 == 8) v[i] = -0.0f;
  }
  return v;
}

UnaryFwdFn OracleFwd(Activation a) {
  return a == Activation::kRelu ? f32_relu_fwd__scalar : f32_relu6_fwd__scalar;
}
UnaryBwdFn OracleBwd(Activation a) {
  return a == Activation::kRelu ? f32_relu_bwd__scalar : f32_relu6_bwd__scalar;
}
const char* Name(Activation a) { return a == Activation::kRelu ? "relu" : "relu6"; }

double ActivationDouble(Activation a, double x) {
  const double y = std::max(x, 0.0);
  return a == Activation::kRelu ? y : std::min(y, 6.0);
}

}  // namespace

std::vector<size_t> ElementwiseTestSizes() {
  return {0,  1,  2,  3,  4,  5,  7,  8,  9,  12, 15,  16,   17,
          19, 20, 23, 31, 32, 33, 47, 63, 64, 65, 100, 1000, 1031};
}

std::string ElementwiseTester::Describe() const {
  std::ostringstream out;
  out << "n=" << n_ << " rows=" << rows_ << " channels=" << channels_ << " seed=" << seed_;
  return out.str();
}

void ElementwiseTester::TestBiasAddForward(BiasAddFwdFn fwd) const {
  std::mt19937 rng(seed_);
  const size_t size = rows_ * channels_;
  const std::vector<float> x = Uniform(size, -2.0f, 2.0f, &rng);
  const std::vector<float> bias = Uniform(channels_, -1.0f, 1.0f, &rng);
  std::vector<float> want(size), got = Output(size);
  f32_bias_add_fwd__scalar(rows_, channels_, x.data(), bias.data(), want.data());
  fwd(rows_, channels_, x.data(), bias.data(), got.data());
  ExpectSame("bias add forward", got, want, size, Describe());
  std::vector<float> in_place = Guarded(x);
  fwd(rows_, channels_, in_place.data(), bias.data(), in_place.data());
  ExpectSame("bias add forward in place", in_place, want, size, Describe());
}

void ElementwiseTester::TestBiasAddBackward(BiasAddBwdFn bwd) const {
  std::mt19937 rng(seed_);
  const std::vector<float> g = Uniform(rows_ * channels_, -1.0f, 1.0f, &rng);
  std::vector<float> abs_g(g.size());
  for (size_t i = 0; i < g.size(); ++i) abs_g[i] = std::fabs(g[i]);
  std::vector<float> want(channels_), magnitude(channels_), got = Output(channels_);
  f32_bias_add_bwd__scalar(rows_, channels_, g.data(), want.data());
  f32_bias_add_bwd__scalar(rows_, channels_, abs_g.data(), magnitude.data());
  bwd(rows_, channels_, g.data(), got.data());
  ExpectClose("bias add backward", got, std::vector<double>(want.begin(), want.end()),
              std::vector<double>(magnitude.begin(), magnitude.end()), static_cast<double>(rows_),
              Describe());
}

void ElementwiseTester::TestUnaryForward(Activation a, UnaryFwdFn fwd) const {
  std::mt19937 rng(seed_);
  const std::vector<float> x = ActivationInputs(n_, &rng);
  std::vector<float> want(n_), got = Output(n_);
  OracleFwd(a)(n_, x.data(), want.data());
  fwd(n_, x.data(), got.data());
  const std::string what = std::string(Name(a)) + " forward";
  ExpectSame(what, got, want, n_, Describe());
  std::vector<float> in_place = Guarded(x);
  fwd(n_, in_place.data(), in_place.data());
  ExpectSame(what + " in place", in_place, want, n_, Describe());
}

void ElementwiseTester::TestUnaryBackward(Activation a, UnaryBwdFn bwd) const {
  std::mt19937 rng(seed_);
  const std::vector<float> x = ActivationInputs(n_, &rng);
  const std::vector<float> g = Uniform(n_, -1.0f, 1.0f, &rng);
  std::vector<float> y(n_), want(n_), got = Output(n_);
  OracleFwd(a)(n_, x.data(), y.data());
  OracleBwd(a)(n_, y.data(), g.data(), want.data());
  bwd(n_, y.data(), g.data(), got.data());
  const std::string what = std::string(Name(a)) + " backward";
  ExpectSame(what, got, want, n_, Describe());
  std::vector<float> in_place = Guarded(g);
  bwd(n_, y.data(), in_place.data(), in_place.data());
  ExpectSame(what + " in place", in_place, want, n_, Describe());
}

void ElementwiseTester::TestAddForward(AddFwdFn fwd) const {
  std::mt19937 rng(seed_);
  const std::vector<float> a = Uniform(n_, -2.0f, 2.0f, &rng);
  const std::vector<float> b = Uniform(n_, -2.0f, 2.0f, &rng);
  std::vector<float> want(n_), got = Output(n_);
  f32_add_fwd__scalar(n_, a.data(), b.data(), want.data());
  fwd(n_, a.data(), b.data(), got.data());
  ExpectSame("add forward", got, want, n_, Describe());
  std::vector<float> over_a = Guarded(a), over_b = Guarded(b);
  fwd(n_, over_a.data(), b.data(), over_a.data());
  ExpectSame("add forward into a", over_a, want, n_, Describe());
  fwd(n_, a.data(), over_b.data(), over_b.data());
  ExpectSame("add forward into b", over_b, want, n_, Describe());
}

void ElementwiseTester::TestAddBackward(AddBwdFn bwd) const {
  std::mt19937 rng(seed_);
  const std::vector<float> g = Uniform(n_, -1.0f, 1.0f, &rng);
  const std::vector<float> init_a = Uniform(n_, -1.0f, 1.0f, &rng);
  const std::vector<float> init_b = Uniform(n_, -1.0f, 1.0f, &rng);
  for (bool accumulate : {false, true}) {
    for (int which = 0; which < 3; ++which) {  // Both, only a, only b.
      const std::string describe = Describe() + (accumulate ? " accumulate" : " copy") +
                                   (which == 0   ? " both"
                                    : which == 1 ? " a only"
                                                 : " b only");
      std::vector<float> ga = Guarded(init_a), gb = Guarded(init_b);
      std::vector<float> want_a(n_), want_b(n_);
      for (size_t i = 0; i < n_; ++i) {
        want_a[i] = accumulate ? init_a[i] + g[i] : g[i];
        want_b[i] = accumulate ? init_b[i] + g[i] : g[i];
      }
      bwd(n_, g.data(), which != 2 ? ga.data() : nullptr, which != 1 ? gb.data() : nullptr,
          accumulate);
      ExpectSame("add backward grad_a", ga, which != 2 ? want_a : init_a, n_, describe);
      ExpectSame("add backward grad_b", gb, which != 1 ? want_b : init_b, n_, describe);
    }
  }
}

void ElementwiseTester::TestBiasAddGradients(BiasAddBwdFn bwd) const {
  std::mt19937 rng(seed_);
  const size_t R = rows_, C = channels_;
  const std::vector<float> x = Uniform(R * C, -2.0f, 2.0f, &rng);
  const std::vector<float> bias = Uniform(C, -1.0f, 1.0f, &rng);
  const std::vector<float> w = Uniform(R * C, -1.0f, 1.0f, &rng);
  std::vector<float> got = Output(C);
  bwd(R, C, w.data(), got.data());
  // L restricted to column c (the only outputs bias[c] feeds): Σ_r w[r][c] (x[r][c] + b).
  auto loss = [&](size_t c, double b) {
    double sum = 0.0;
    for (size_t r = 0; r < R; ++r) sum += w[r * C + c] * (static_cast<double>(x[r * C + c]) + b);
    return sum;
  };
  std::vector<double> fd(C), magnitude(C, 0.0);
  for (size_t c = 0; c < C; ++c) {
    fd[c] = (loss(c, bias[c] + kStep) - loss(c, bias[c] - kStep)) / (2.0 * kStep);
    for (size_t r = 0; r < R; ++r) magnitude[c] += std::fabs(w[r * C + c]);
  }
  ExpectClose("bias gradient vs finite differences", got, fd, magnitude, static_cast<double>(R),
              Describe());
}

void ElementwiseTester::TestReluGradients(Activation a, UnaryFwdFn fwd, UnaryBwdFn bwd) const {
  std::mt19937 rng(seed_);
  std::uniform_real_distribution<float> dist(-3.0f, 9.0f);
  std::vector<float> x(n_);
  for (float& v : x) {
    do {
      v = dist(rng);
    } while (std::fabs(v) < kKinkMargin || std::fabs(v - 6.0f) < kKinkMargin);
  }
  const std::vector<float> w = Uniform(n_, -1.0f, 1.0f, &rng);
  std::vector<float> y(n_), got = Output(n_);
  fwd(n_, x.data(), y.data());
  bwd(n_, y.data(), w.data(), got.data());
  std::vector<double> fd(n_);
  for (size_t i = 0; i < n_; ++i) {
    const double up = w[i] * ActivationDouble(a, static_cast<double>(x[i]) + kStep);
    const double down = w[i] * ActivationDouble(a, static_cast<double>(x[i]) - kStep);
    fd[i] = (up - down) / (2.0 * kStep);
  }
  ExpectClose(std::string(Name(a)) + " gradient vs finite differences", got, fd,
              std::vector<double>(n_, 1.0), 1.0, Describe());
}

void ElementwiseTester::TestAddGradients(AddBwdFn bwd) const {
  std::mt19937 rng(seed_);
  const std::vector<float> a = Uniform(n_, -2.0f, 2.0f, &rng);
  const std::vector<float> b = Uniform(n_, -2.0f, 2.0f, &rng);
  const std::vector<float> w = Uniform(n_, -1.0f, 1.0f, &rng);
  const std::vector<float> init = Uniform(n_, -1.0f, 1.0f, &rng);
  // L = Σ w (a + b); element i of a (or b) feeds output i only.
  std::vector<double> fd_a(n_), fd_b(n_);
  for (size_t i = 0; i < n_; ++i) {
    const double ai = a[i], bi = b[i];
    fd_a[i] = (w[i] * ((ai + kStep) + bi) - w[i] * ((ai - kStep) + bi)) / (2.0 * kStep);
    fd_b[i] = (w[i] * (ai + (bi + kStep)) - w[i] * (ai + (bi - kStep))) / (2.0 * kStep);
  }
  for (bool accumulate : {false, true}) {
    std::vector<float> ga = accumulate ? Guarded(init) : Output(n_);
    std::vector<float> gb = accumulate ? Guarded(init) : Output(n_);
    bwd(n_, w.data(), ga.data(), gb.data(), accumulate);
    std::vector<double> want_a = fd_a, want_b = fd_b;
    if (accumulate) {
      for (size_t i = 0; i < n_; ++i) {
        want_a[i] += init[i];
        want_b[i] += init[i];
      }
    }
    const std::string describe = Describe() + (accumulate ? " accumulate" : " copy");
    ExpectClose("add gradient (a) vs finite differences", ga, want_a, std::vector<double>(n_, 1.0),
                1.0, describe);
    ExpectClose("add gradient (b) vs finite differences", gb, want_b, std::vector<double>(n_, 1.0),
                1.0, describe);
  }
}

void ElementwiseTester::TestSpecialValues(Activation a, UnaryFwdFn fwd, UnaryBwdFn bwd) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const bool relu6 = a == Activation::kRelu6;
  // Padded to 19 elements so that both the vector body and the tail see special values.
  const std::vector<float> x = {nan,     -0.0f,  0.0f,   6.0f,  inf,   -inf, 1e-30f,
                                -1e-30f, 5.999f, 6.001f, 3.0f,  -2.0f, nan,  0.0f,
                                6.0f,    -inf,   inf,    1e-3f, -1e-3f};
  const size_t n = x.size();
  const float top = relu6 ? 6.0f : inf;
  const float big = relu6 ? 6.0f : 6.001f;  // relu6 clamps 6.001 to 6; relu passes it.
  const std::vector<float> want_y = {nan,  0.0f, 0.0f, 6.0f, top,  0.0f, 1e-30f, 0.0f,  5.999f, big,
                                     3.0f, 0.0f, nan,  0.0f, 6.0f, 0.0f, top,    1e-3f, 0.0f};
  std::vector<float> y = Output(n);
  fwd(n, x.data(), y.data());
  ExpectSame(std::string(Name(a)) + " forward on special values", y, want_y, n, "special values");

  // Gradient 0 at the kinks (y == 0; y == 6 for ReLU6), where y is NaN, and where ReLU6
  // saturates; grad_output passes just inside.
  const std::vector<float> g(n, 0.5f);
  std::vector<float> gi = Output(n);
  bwd(n, want_y.data(), g.data(), gi.data());
  std::vector<float> want_g(n);
  for (size_t i = 0; i < n; ++i) {
    const float v = want_y[i];
    const bool passes = relu6 ? (v > 0.0f && v < 6.0f) : v > 0.0f;
    want_g[i] = passes ? 0.5f : 0.0f;
  }
  // Spelled out, so that the rule above cannot hide a mistake: the kinks give 0.
  EXPECT_EQ(want_g[2], 0.0f);                 // y == 0
  EXPECT_EQ(want_g[3], relu6 ? 0.0f : 0.5f);  // y == 6
  EXPECT_EQ(want_g[0], 0.0f);                 // NaN
  EXPECT_EQ(want_g[6], 0.5f);                 // just above 0
  EXPECT_EQ(want_g[8], 0.5f);                 // just below 6
  ExpectSame(std::string(Name(a)) + " backward on special values", gi, want_g, n, "special values");
}

}  // namespace persephonee
