// The optimisers' checked entry points and hyperparameter validation: the implementation
// chosen, and that every kind of bad argument is an error naming it, with nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/optim/optim.h"

namespace persephonee {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(OptimApiTest, ConfigMatchesTheCpu) {
  const OptimConfig& config = optim_config();
#if defined(__aarch64__)
  EXPECT_STREQ(config.name, "neon");
  EXPECT_EQ(config.sgd, &f32_sgd__neon);
  EXPECT_EQ(config.adam, &f32_adam__neon);
#else
  EXPECT_STREQ(config.name, "scalar");
  EXPECT_EQ(config.sgd, &f32_sgd__scalar);
  EXPECT_EQ(config.adam, &f32_adam__scalar);
#endif
  EXPECT_EQ(&config, &optim_config());
}

void ExpectInvalid(const Status& status, const std::string& part) {
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.message().find(part), std::string::npos)
      << "message: " << status.message() << "\nexpected to contain: " << part;
}

TEST(OptimApiTest, SgdParamsValidation) {
  EXPECT_TRUE(SgdParams().Validate().ok());
  const struct {
    SgdParams p;
    const char* part;
  } bad[] = {
      {{-0.1f, 0.0f, 0.0f, 0.0f, false}, "lr"},
      {{kNaN, 0.0f, 0.0f, 0.0f, false}, "lr"},
      {{0.1f, -0.5f, 0.0f, 0.0f, false}, "momentum"},
      {{0.1f, kInf, 0.0f, 0.0f, false}, "momentum"},
      {{0.1f, 0.9f, 1.5f, 0.0f, false}, "dampening"},
      {{0.1f, 0.9f, -0.1f, 0.0f, false}, "dampening"},
      {{0.1f, 0.9f, 0.0f, -1e-4f, false}, "weight_decay"},
      {{0.1f, 0.0f, 0.0f, 0.0f, true}, "Nesterov"},
      {{0.1f, 0.9f, 0.1f, 0.0f, true}, "Nesterov"},
  };
  for (const auto& b : bad) ExpectInvalid(b.p.Validate(), b.part);
}

TEST(OptimApiTest, AdamParamsValidation) {
  EXPECT_TRUE(AdamParams().Validate().ok());
  const struct {
    AdamParams p;
    const char* part;
  } bad[] = {
      {{-1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f}, "lr"},
      {{1e-3f, 1.0f, 0.999f, 1e-8f, 0.0f}, "beta1"},
      {{1e-3f, -0.1f, 0.999f, 1e-8f, 0.0f}, "beta1"},
      {{1e-3f, kNaN, 0.999f, 1e-8f, 0.0f}, "beta1"},
      {{1e-3f, 0.9f, 1.0f, 1e-8f, 0.0f}, "beta2"},
      {{1e-3f, 0.9f, 0.999f, -1e-8f, 0.0f}, "eps"},
      {{1e-3f, 0.9f, 0.999f, 1e-8f, kInf}, "weight_decay"},
  };
  for (const auto& b : bad) ExpectInvalid(b.p.Validate(), b.part);
}

TEST(OptimApiTest, StepsMatchTheChosenKernels) {
  const size_t n = 19;
  std::vector<float> w(n), g(n), buf(n), m(n), v(n);
  for (size_t i = 0; i < n; ++i) {
    w[i] = std::sin(0.3f * i);
    g[i] = std::cos(0.7f * i);
  }
  std::vector<float> w2 = w, buf2(n), m2(n), v2(n);
  SgdParams sgd;
  sgd.momentum = 0.9f;
  AdamParams adam;
  for (int64_t step = 1; step <= 3; ++step) {
    ASSERT_TRUE(SgdStep(n, sgd, step, w.data(), g.data(), buf.data()).ok());
    optim_config().sgd(n, sgd, step, w2.data(), g.data(), buf2.data());
    ASSERT_TRUE(AdamStep(n, adam, step, w.data(), g.data(), m.data(), v.data()).ok());
    optim_config().adam(n, adam, step, w2.data(), g.data(), m2.data(), v2.data());
  }
  EXPECT_EQ(w, w2);
  EXPECT_EQ(buf, buf2);
  EXPECT_EQ(m, m2);
  EXPECT_EQ(v, v2);
  // No buffer is needed without momentum; an empty array is a no-op.
  EXPECT_TRUE(SgdStep(n, SgdParams(), 1, w.data(), g.data(), nullptr).ok());
  EXPECT_TRUE(SgdStep(0, sgd, 1, nullptr, nullptr, nullptr).ok());
  EXPECT_TRUE(AdamStep(0, adam, 1, nullptr, nullptr, nullptr, nullptr).ok());
}

TEST(OptimApiTest, RejectsBadArgumentsWritingNothing) {
  const size_t n = 8;
  std::vector<float> w(2 * n, 1.0f), g(n, 0.5f), buf(n, 2.0f), m(n, 3.0f), v(n, 4.0f);
  const std::vector<float> w0 = w, buf0 = buf, m0 = m, v0 = v;
  SgdParams sgd;
  sgd.momentum = 0.9f;
  AdamParams adam;
  SgdParams bad_sgd = sgd;
  bad_sgd.lr = -1.0f;
  AdamParams bad_adam = adam;
  bad_adam.beta2 = 1.0f;

  ExpectInvalid(SgdStep(n, bad_sgd, 2, w.data(), g.data(), buf.data()), "SgdStep: lr");
  ExpectInvalid(SgdStep(n, sgd, 0, w.data(), g.data(), buf.data()), "step 0 < 1");
  ExpectInvalid(SgdStep(n, sgd, 2, nullptr, g.data(), buf.data()), "weights is null");
  ExpectInvalid(SgdStep(n, sgd, 2, w.data(), nullptr, buf.data()), "grads is null");
  ExpectInvalid(SgdStep(n, sgd, 2, w.data(), g.data(), nullptr), "momentum_buf is null");
  ExpectInvalid(SgdStep(n, sgd, 2, w.data(), g.data(), w.data() + 3),
                "weights overlaps momentum_buf");
  ExpectInvalid(SgdStep(n, sgd, 2, w.data(), w.data() + n - 1, buf.data()),
                "weights overlaps grads");
  ExpectInvalid(AdamStep(n, bad_adam, 2, w.data(), g.data(), m.data(), v.data()),
                "AdamStep: beta2");
  ExpectInvalid(AdamStep(n, adam, -5, w.data(), g.data(), m.data(), v.data()), "step -5 < 1");
  ExpectInvalid(AdamStep(n, adam, 2, w.data(), g.data(), nullptr, v.data()), "exp_avg is null");
  ExpectInvalid(AdamStep(n, adam, 2, w.data(), g.data(), m.data(), m.data()),
                "exp_avg overlaps exp_avg_sq");
  EXPECT_EQ(w, w0);
  EXPECT_EQ(buf, buf0);
  EXPECT_EQ(m, m0);
  EXPECT_EQ(v, v0);
  // Adjacent, non-overlapping arrays are fine.
  EXPECT_TRUE(SgdStep(n, sgd, 1, w.data(), g.data(), w.data() + n).ok());
}

}  // namespace
}  // namespace persephonee
