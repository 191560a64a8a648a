// The GEMM-based fully-connected kernels against the scalar oracles, and the oracles against
// hand-computed values.
#include "kernels/fc/fc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "tests/kernels/fc/fc_test_util.h"

namespace persephonee {
namespace {

const FcShape kShapes[] = {
    {1, 1, 1},  {1, 5, 7},   {3, 17, 10}, {7, 64, 33},  {16, 130, 100},
    {5, 1, 19}, {2, 513, 3}, {33, 9, 65}, {1, 512, 10}, {64, 256, 10},
};

// Sum of |x_bi * w_oi| (+ |b_o|) per output: the scale of the forward's round-off.
std::vector<double> FwdMagnitude(const FcShape& s, const std::vector<float>& x,
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

TEST(FcScalarTest, HandComputed) {
  // x = [1 2], W = [[1 0], [0.5 -1], [2 2]], b = [0.5 0 -10].
  const FcShape s{1, 2, 3};
  const std::vector<float> x = {1, 2}, w = {1, 0, 0.5f, -1, 2, 2}, bias = {0.5f, 0, -10};
  std::vector<float> y(3);
  f32_fc_fwd__scalar(s, x.data(), w.data(), bias.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1.5f, -1.5f, -4}));
  f32_fc_fwd__scalar(s, x.data(), w.data(), nullptr, y.data(), 0.0f, 5.0f);
  EXPECT_EQ(y, (std::vector<float>{1, 0, 5})) << "no bias, clamped to [0, 5]";
  const std::vector<float> dy = {1, -1, 0.5f};
  std::vector<float> dx(2), dw(6), db(3);
  f32_fc_bwd_input__scalar(s, dy.data(), w.data(), dx.data());
  EXPECT_EQ(dx, (std::vector<float>{1.5f, 2}));
  f32_fc_bwd_weight__scalar(s, x.data(), dy.data(), dw.data(), db.data());
  EXPECT_EQ(dw, (std::vector<float>{1, 2, -1, -2, 0.5f, 1}));
  EXPECT_EQ(db, dy);
}

TEST(FcTest, ForwardMatchesScalar) {
  std::mt19937 rng(11);
  for (const FcShape& s : kShapes) {
    for (int variant = 0; variant < 3; ++variant) {
      const auto x = RandomVector(s.batch * s.in, &rng);
      const auto w = RandomVector(s.out * s.in, &rng);
      const auto bias = RandomVector(s.out, &rng);
      const float* b = variant == 1 ? nullptr : bias.data();
      // Variant 2 fuses a ReLU.
      const float lo = variant == 2 ? 0.0f : -std::numeric_limits<float>::infinity();
      const float hi = std::numeric_limits<float>::infinity();
      std::vector<float> want(s.batch * s.out), got(s.batch * s.out, NAN);
      f32_fc_fwd__scalar(s, x.data(), w.data(), b, want.data(), lo, hi);
      f32_fc_fwd(s, x.data(), w.data(), b, got.data(), nullptr, lo, hi);
      ExpectClose(got, want, FwdMagnitude(s, x, w, b), s.in,
                  "fc_fwd " + ShapeText(s) + " variant " + std::to_string(variant));
      if (variant == 2) {
        for (float v : got) ASSERT_GE(v, 0.0f) << "ReLU not applied; " << ShapeText(s);
      }
    }
  }
}

TEST(FcTest, BackwardInputMatchesScalar) {
  std::mt19937 rng(12);
  for (const FcShape& s : kShapes) {
    const auto dy = RandomVector(s.batch * s.out, &rng);
    const auto w = RandomVector(s.out * s.in, &rng);
    std::vector<float> want(s.batch * s.in), got(s.batch * s.in, NAN);
    f32_fc_bwd_input__scalar(s, dy.data(), w.data(), want.data());
    f32_fc_bwd_input(s, dy.data(), w.data(), got.data(), nullptr);
    std::vector<double> mag(s.batch * s.in, 0.0);
    for (size_t b = 0; b < s.batch; ++b) {
      for (size_t i = 0; i < s.in; ++i) {
        for (size_t o = 0; o < s.out; ++o) {
          mag[b * s.in + i] += std::fabs(double{dy[b * s.out + o]} * w[o * s.in + i]);
        }
      }
    }
    ExpectClose(got, want, mag, s.out, "fc_bwd_input " + ShapeText(s));
  }
}

TEST(FcTest, BackwardWeightMatchesScalar) {
  std::mt19937 rng(13);
  for (const FcShape& s : kShapes) {
    for (bool with_bias : {true, false}) {
      const auto x = RandomVector(s.batch * s.in, &rng);
      const auto dy = RandomVector(s.batch * s.out, &rng);
      std::vector<float> want_w(s.out * s.in), got_w(s.out * s.in, NAN);
      std::vector<float> want_b(s.out), got_b(s.out, NAN);
      f32_fc_bwd_weight__scalar(s, x.data(), dy.data(), want_w.data(), want_b.data());
      f32_fc_bwd_weight(s, x.data(), dy.data(), got_w.data(), with_bias ? got_b.data() : nullptr,
                        nullptr);
      std::vector<double> mag_w(s.out * s.in, 0.0), mag_b(s.out, 0.0);
      for (size_t b = 0; b < s.batch; ++b) {
        for (size_t o = 0; o < s.out; ++o) {
          mag_b[o] += std::fabs(dy[b * s.out + o]);
          for (size_t i = 0; i < s.in; ++i) {
            mag_w[o * s.in + i] += std::fabs(double{dy[b * s.out + o]} * x[b * s.in + i]);
          }
        }
      }
      ExpectClose(got_w, want_w, mag_w, s.batch, "fc_bwd_weight dW " + ShapeText(s));
      if (with_bias) {
        ExpectClose(got_b, want_b, mag_b, s.batch, "fc_bwd_weight db " + ShapeText(s));
      } else {
        for (float v : got_b) ASSERT_TRUE(std::isnan(v)) << "db written without a bias";
      }
    }
  }
}

TEST(FcTest, ThreadsBitwise) {
  std::mt19937 rng(14);
  pthreadpool_t pool = pthreadpool_create(3);
  ASSERT_NE(pool, nullptr);
  for (const FcShape& s : {FcShape{7, 130, 33}, FcShape{64, 256, 10}, FcShape{1, 513, 100}}) {
    const auto x = RandomVector(s.batch * s.in, &rng);
    const auto w = RandomVector(s.out * s.in, &rng);
    const auto bias = RandomVector(s.out, &rng);
    const auto dy = RandomVector(s.batch * s.out, &rng);
    std::vector<float> y1(s.batch * s.out), yn(s.batch * s.out);
    std::vector<float> dx1(s.batch * s.in), dxn(s.batch * s.in);
    std::vector<float> dw1(s.out * s.in), dwn(s.out * s.in), db1(s.out), dbn(s.out);
    f32_fc_fwd(s, x.data(), w.data(), bias.data(), y1.data(), nullptr);
    f32_fc_fwd(s, x.data(), w.data(), bias.data(), yn.data(), pool);
    f32_fc_bwd_input(s, dy.data(), w.data(), dx1.data(), nullptr);
    f32_fc_bwd_input(s, dy.data(), w.data(), dxn.data(), pool);
    f32_fc_bwd_weight(s, x.data(), dy.data(), dw1.data(), db1.data(), nullptr);
    f32_fc_bwd_weight(s, x.data(), dy.data(), dwn.data(), dbn.data(), pool);
    const auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
      return std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    };
    EXPECT_TRUE(same(y1, yn)) << "fwd " << ShapeText(s);
    EXPECT_TRUE(same(dx1, dxn)) << "bwd_input " << ShapeText(s);
    EXPECT_TRUE(same(dw1, dwn)) << "bwd_weight dW " << ShapeText(s);
    EXPECT_TRUE(same(db1, dbn)) << "bwd_weight db " << ShapeText(s);
  }
  pthreadpool_destroy(pool);
}

}  // namespace
}  // namespace persephonee
