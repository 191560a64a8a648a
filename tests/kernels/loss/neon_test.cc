// The NEON loss kernels (aarch64 only; under qemu here) against the scalar oracle and the
// double-precision reference, finite differences, extremes and properties; and the accuracy
// of the vector exp and log they stand on.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "kernels/loss/loss.h"
#include "tests/kernels/loss/loss_tester.h"

namespace persephonee {
namespace {

LossConfig Neon() {
  LossConfig impl;
  impl.name = "neon";
  impl.softmax = f32_softmax__neon;
  impl.xent = f32_softmax_xent__neon;
  impl.kldiv = f32_softmax_kldiv__neon;
  impl.confidence = f32_softmax_confidence__neon;
  return impl;
}

TEST(LossNeonTest, Sizes) { TestLossSizes(Neon()); }

TEST(LossNeonTest, GradientsMatchFiniteDifferences) { TestLossGradients(Neon()); }

TEST(LossNeonTest, ExtremeLogits) { TestLossExtremes(Neon()); }

TEST(LossNeonTest, Properties) { TestLossProperties(Neon()); }

// Relative error of y against the exact f(x) in double; reports the worst.
struct ErrorStats {
  double worst = 0.0;
  float worst_x = 0.0f;
  void Add(float x, float y, double exact) {
    const double e = std::fabs(y - exact) / std::fabs(exact);
    if (!(e <= worst)) {
      worst = e;
      worst_x = x;
    }
  }
};

TEST(LossNeonTest, ExpAccuracy) {
  std::vector<float> x;
  // A dense sweep of [ln(FLT_MIN), 0], the floats next to the range-reduction boundaries (odd
  // multiples of ln2 / 2, where n changes) and a few special points.
  const float lo = -87.3365f;
  const int kSteps = 200000;
  for (int i = 0; i <= kSteps; ++i) x.push_back(lo * static_cast<float>(i) / kSteps);
  for (int k = 1; k < 252; k += 2) {
    float b = static_cast<float>(-k * 0.34657359027997264);
    for (int j = 0; j < 8; ++j) {
      x.push_back(b);
      x.push_back(std::nextafter(b, 0.0f));
      b = std::nextafter(b, -100.0f);
    }
  }
  for (float s : {-0.0f, -1e-30f, -1e-7f, -5.9604645e-08f, -0.5f, -1.0f, -87.33654f}) {
    x.push_back(s);
  }
  std::vector<float> y(x.size());
  f32_vexp__neon(x.size(), x.data(), y.data());
  ErrorStats stats;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] < -87.33654f) continue;
    stats.Add(x[i], y[i], std::exp(static_cast<double>(x[i])));
  }
  std::printf("vexp: max relative error %.3g (%.2f ulp) at x = %.9g over %zu points\n", stats.worst,
              stats.worst / FLT_EPSILON, stats.worst_x, x.size());
  EXPECT_LT(stats.worst, 1.5e-7) << "at x = " << stats.worst_x;
  float zero = 0.0f, one = 0.0f;
  f32_vexp__neon(1, &zero, &one);
  EXPECT_EQ(one, 1.0f);
  // Below ln(FLT_MIN): 0 (the true value is under 1.2e-38).
  const float under[] = {-87.34f, -88.0f, -100.0f, -1e4f, -std::numeric_limits<float>::infinity()};
  float out[5];
  f32_vexp__neon(5, under, out);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(out[i], 0.0f) << "x = " << under[i];
  // Every tail length takes the same path.
  for (size_t n = 1; n <= 7; ++n) {
    std::vector<float> a(n), b(n + 1, 7.0f);
    for (size_t i = 0; i < n; ++i) a[i] = -0.37f * (i + 1);
    f32_vexp__neon(n, a.data(), b.data());
    for (size_t i = 0; i < n; ++i) {
      EXPECT_LT(std::fabs(b[i] - std::exp(double{a[i]})), 1.5e-7 * std::exp(double{a[i]}));
    }
    EXPECT_EQ(b[n], 7.0f) << "wrote past the end, n = " << n;
  }
}

TEST(LossNeonTest, LogAccuracy) {
  std::vector<float> x;
  // Log-spaced over every binade, denormals included; around 1; around the √2 fold.
  for (int i = 0; i <= 100000; ++i) {
    x.push_back(static_cast<float>(std::pow(10.0, -45.0 + 83.0 * i / 100000.0)));
  }
  float up = 1.0f, down = 1.0f, fold = 1.41421356f;
  for (int i = 0; i < 2000; ++i) {
    x.push_back(up);
    x.push_back(down);
    x.push_back(fold);
    x.push_back(fold * 0.5f);
    up = std::nextafter(up, 2.0f);
    down = std::nextafter(down, 0.0f);
    fold = std::nextafter(fold, i < 1000 ? 2.0f : 0.0f);
  }
  for (float s : {FLT_MIN, std::nextafter(FLT_MIN, 0.0f), 1.4e-45f, FLT_MAX, 0.5f, 2.0f, 1e-8f}) {
    x.push_back(s);
  }
  std::vector<float> y(x.size());
  f32_vlog__neon(x.size(), x.data(), y.data());
  ErrorStats stats;
  double worst_abs_near_one = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] <= 0.0f) continue;
    const double exact = std::log(static_cast<double>(x[i]));
    if (x[i] == 1.0f) {
      EXPECT_EQ(y[i], 0.0f);
      continue;
    }
    stats.Add(x[i], y[i], exact);
    if (x[i] > 0.5f && x[i] < 2.0f) {
      worst_abs_near_one = std::max(worst_abs_near_one, std::fabs(y[i] - exact));
    }
  }
  std::printf("vlog: max relative error %.3g (%.2f ulp) at x = %.9g over %zu points\n", stats.worst,
              stats.worst / FLT_EPSILON, stats.worst_x, x.size());
  EXPECT_LT(stats.worst, 1.6e-7) << "at x = " << stats.worst_x;
  EXPECT_LT(worst_abs_near_one, 1e-7);
}

}  // namespace
}  // namespace persephonee
