// XnnFullyConnected: results against the scalar oracle (with and without bias, ReLU and clamp
// fused, several batches), weight updates, and the Status it returns on bad input.
#include "kernels/fc/xnnpack.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/fc/fc.h"
#include "tests/kernels/fc/fc_test_util.h"

namespace persephonee {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<double> Magnitude(const FcShape& s, const std::vector<float>& x,
                              const std::vector<float>& w, const float* bias) {
  std::vector<double> mag(s.batch * s.out, 0.0);
  for (size_t b = 0; b < s.batch; ++b) {
    for (size_t o = 0; o < s.out; ++o) {
      double m = bias != nullptr ? std::fabs(bias[o]) : 0.0;
      for (size_t i = 0; i < s.in; ++i) m += std::fabs(double{x[b * s.in + i]} * w[o * s.in + i]);
      mag[b * s.out + o] = m;
    }
  }
  return mag;
}

TEST(XnnFullyConnectedTest, MatchesScalar) {
  std::mt19937 rng(31);
  struct Case {
    size_t in, out;
    bool bias;
    float lo, hi;
  };
  const Case cases[] = {{1, 1, true, -kInf, kInf},    {17, 10, true, -kInf, kInf},
                        {64, 33, false, -kInf, kInf}, {130, 100, true, 0.0f, kInf},
                        {512, 10, true, -0.5f, 0.5f}, {9, 65, false, 0.0f, kInf}};
  for (const Case& c : cases) {
    const auto w = RandomVector(c.out * c.in, &rng);
    const auto bias = RandomVector(c.out, &rng);
    const float* b = c.bias ? bias.data() : nullptr;
    auto op = XnnFullyConnected::Create(c.in, c.out, w.data(), b, c.lo, c.hi);
    ASSERT_TRUE(op.ok()) << op.status().ToString();
    EXPECT_EQ(op->in(), c.in);
    EXPECT_EQ(op->out(), c.out);
    // The same operator set up for several batch sizes, odd and one.
    for (size_t batch : {1u, 3u, 16u}) {
      const FcShape s{batch, c.in, c.out};
      const auto x = RandomVector(batch * c.in, &rng);
      std::vector<float> want(batch * c.out), got(batch * c.out, NAN);
      f32_fc_fwd__scalar(s, x.data(), w.data(), b, want.data(), c.lo, c.hi);
      ASSERT_TRUE(op->Setup(batch, x.data(), got.data(), nullptr).ok());
      ASSERT_TRUE(op->Run(nullptr).ok());
      ExpectClose(got, want, Magnitude(s, x, w, b), c.in, "xnnpack fc " + ShapeText(s));
    }
  }
}

TEST(XnnFullyConnectedTest, RunsTwiceAndUpdatesWeights) {
  std::mt19937 rng(32);
  const FcShape s{4, 20, 6};
  auto w1 = RandomVector(s.out * s.in, &rng), w2 = RandomVector(s.out * s.in, &rng);
  const auto b1 = RandomVector(s.out, &rng), b2 = RandomVector(s.out, &rng);
  auto x = RandomVector(s.batch * s.in, &rng);
  auto op = XnnFullyConnected::Create(s.in, s.out, w1.data(), b1.data());
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  // Weights are packed at creation: changing the caller's copy changes nothing.
  const std::vector<float> w1_copy = w1;
  w1.assign(w1.size(), 0.0f);
  std::vector<float> y(s.batch * s.out), want(s.batch * s.out);
  ASSERT_TRUE(op->Setup(s.batch, x.data(), y.data(), nullptr).ok());
  ASSERT_TRUE(op->Run(nullptr).ok());
  f32_fc_fwd__scalar(s, x.data(), w1_copy.data(), b1.data(), want.data());
  ExpectClose(y, want, Magnitude(s, x, w1_copy, b1.data()), s.in, "first run");
  // Runs again on new input in the same (bound) buffer.
  x = RandomVector(x.size(), &rng);
  ASSERT_TRUE(op->Setup(s.batch, x.data(), y.data(), nullptr).ok());
  ASSERT_TRUE(op->Run(nullptr).ok());
  f32_fc_fwd__scalar(s, x.data(), w1_copy.data(), b1.data(), want.data());
  ExpectClose(y, want, Magnitude(s, x, w1_copy, b1.data()), s.in, "second run");
  // New weights: the old setup is forgotten, a new one uses them.
  ASSERT_TRUE(op->UpdateWeights(w2.data(), b2.data()).ok());
  EXPECT_EQ(op->Run(nullptr).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(op->Setup(s.batch, x.data(), y.data(), nullptr).ok());
  ASSERT_TRUE(op->Run(nullptr).ok());
  f32_fc_fwd__scalar(s, x.data(), w2.data(), b2.data(), want.data());
  ExpectClose(y, want, Magnitude(s, x, w2, b2.data()), s.in, "after UpdateWeights");
}

TEST(XnnFullyConnectedTest, ThreadPool) {
  std::mt19937 rng(33);
  const FcShape s{32, 96, 40};
  const auto w = RandomVector(s.out * s.in, &rng), b = RandomVector(s.out, &rng);
  const auto x = RandomVector(s.batch * s.in, &rng);
  pthreadpool_t pool = pthreadpool_create(2);
  ASSERT_NE(pool, nullptr);
  auto op = XnnFullyConnected::Create(s.in, s.out, w.data(), b.data());
  ASSERT_TRUE(op.ok());
  std::vector<float> y(s.batch * s.out), want(s.batch * s.out);
  ASSERT_TRUE(op->Setup(s.batch, x.data(), y.data(), pool).ok());
  ASSERT_TRUE(op->Run(pool).ok());
  f32_fc_fwd__scalar(s, x.data(), w.data(), b.data(), want.data());
  ExpectClose(y, want, Magnitude(s, x, w, b.data()), s.in, "2 threads");
  pthreadpool_destroy(pool);
}

TEST(XnnFullyConnectedTest, BadInputReturnsStatus) {
  const std::vector<float> w(12, 0.5f);
  EXPECT_EQ(XnnFullyConnected::Create(0, 3, w.data(), nullptr).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(XnnFullyConnected::Create(4, 0, w.data(), nullptr).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(XnnFullyConnected::Create(4, 3, nullptr, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  const auto empty_range = XnnFullyConnected::Create(4, 3, w.data(), nullptr, 1.0f, 1.0f);
  EXPECT_EQ(empty_range.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(empty_range.status().message().find("output range"), std::string::npos)
      << empty_range.status().message();
  EXPECT_EQ(XnnFullyConnected::Create(4, 3, w.data(), nullptr, NAN, 1.0f).status().code(),
            StatusCode::kInvalidArgument);

  auto op = XnnFullyConnected::Create(4, 3, w.data(), nullptr);
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  EXPECT_EQ(op->Run(nullptr).code(), StatusCode::kFailedPrecondition) << "Run before Setup";
  std::vector<float> x(8), y(6);
  EXPECT_EQ(op->Setup(0, x.data(), y.data(), nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(op->Setup(2, nullptr, y.data(), nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(op->UpdateWeights(nullptr, nullptr).code(), StatusCode::kInvalidArgument);

  XnnFullyConnected moved = std::move(*op);
  EXPECT_EQ(op->Setup(2, x.data(), y.data(), nullptr).code(), StatusCode::kFailedPrecondition)
      << "moved-from operator";
  EXPECT_TRUE(moved.Setup(2, x.data(), y.data(), nullptr).ok());
  EXPECT_TRUE(moved.Run(nullptr).ok());
  for (float v : y) EXPECT_EQ(v, 0.0f) << "x is zero and there is no bias";
}

}  // namespace
}  // namespace persephonee
