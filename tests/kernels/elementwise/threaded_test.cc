// The threaded elementwise entry points (f32_relu_fwd etc.): with no pool and with pools of 1, 2
// and 3 threads, every output is bitwise identical to the kernel's own over the whole array (so
// to each other), for the scalar kernels and for elementwise_config()'s, in place and out of
// place, on sizes below, at and above a tile, with partial last tiles. Inputs hold NaN, ±0,
// ±inf and the ReLU6 kinks among values of very different magnitudes (so that summing the bias
// gradient in another order would change its bits). Outputs start as NaN and carry guards.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/elementwise/elementwise.h"
#include "tests/testing/thread_pools.h"

namespace persephonee {
namespace {

using testing_threads::ExpectSameBits;
using testing_threads::kGuard;
using testing_threads::kGuardValue;
using testing_threads::NanOutput;
using testing_threads::TestPools;

// The scalar kernels, and elementwise_config()'s when they are different.
std::vector<ElementwiseConfig> Configs() {
  ElementwiseConfig scalar;
  scalar.name = "scalar";
  scalar.bias_add_fwd = f32_bias_add_fwd__scalar;
  scalar.bias_add_bwd = f32_bias_add_bwd__scalar;
  scalar.relu_fwd = f32_relu_fwd__scalar;
  scalar.relu_bwd = f32_relu_bwd__scalar;
  scalar.relu6_fwd = f32_relu6_fwd__scalar;
  scalar.relu6_bwd = f32_relu6_bwd__scalar;
  scalar.add_fwd = f32_add_fwd__scalar;
  scalar.add_bwd = f32_add_bwd__scalar;
  std::vector<ElementwiseConfig> configs = {scalar};
  if (std::string(elementwise_config().name) != "scalar") configs.push_back(elementwise_config());
  return configs;
}

// `size` values then the guards: uniform in [-8, 8) scaled by 2^e, e in [-20, 20], with every
// 17th value special (NaN, ±0, ±inf, 0 and 6 exactly) when `special`.
std::vector<float> Input(size_t size, uint32_t seed, bool special = true) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-8.0f, 8.0f);
  std::uniform_int_distribution<int> exponent(-20, 20);
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {std::nanf(""), 0.0f, -0.0f, inf, -inf, 6.0f};
  std::vector<float> v(size + kGuard, kGuardValue);
  for (size_t i = 0; i < size; ++i) {
    const float x = std::ldexp(value(rng), exponent(rng));
    v[i] = special && i % 17 == 16 ? specials[(i / 17) % 6] : x;
  }
  return v;
}

// Below, at and above a tile, and several tiles with a partial last one.
std::vector<size_t> FlatSizes() {
  const size_t t = kElementwiseTile;
  return {0, 1, 3, 17, t - 1, t, t + 1, 2 * t + 13, 3 * t + 4099, 5 * t + 7};
}

TEST(ElementwiseThreadedTest, TilesDependOnTheSizesOnly) {
  EXPECT_EQ(kElementwiseTile % 16, 0u);
  EXPECT_EQ(kBiasChannelTile % 16, 0u);
  EXPECT_EQ(BiasAddRowTile(1), kElementwiseTile);
  EXPECT_EQ(BiasAddRowTile(1000), 17u);
  EXPECT_EQ(BiasAddRowTile(kElementwiseTile), 1u);
  EXPECT_EQ(BiasAddRowTile(50000), 1u);
}

TEST(ElementwiseThreadedTest, ReluAndRelu6AreBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  uint32_t seed = 1;
  for (const ElementwiseConfig& config : Configs()) {
    for (size_t n : FlatSizes()) {
      const std::string where = std::string(config.name) + " n=" + std::to_string(n);
      const std::vector<float> x = Input(n, seed++), dy = Input(n, seed++);
      const UnaryFwdFn fwds[] = {config.relu_fwd, config.relu6_fwd};
      const UnaryBwdFn bwds[] = {config.relu_bwd, config.relu6_bwd};
      for (int op = 0; op < 2; ++op) {
        const std::string name = op == 0 ? "relu" : "relu6";
        std::vector<float> want_y = NanOutput(n);
        fwds[op](n, x.data(), want_y.data());
        std::vector<float> want_dx = NanOutput(n);
        bwds[op](n, want_y.data(), dy.data(), want_dx.data());
        for (pthreadpool_t pool : pools.all()) {
          const std::string what = name + ", " + where + ", " + TestPools::Name(pool);
          std::vector<float> y = NanOutput(n), in_place = x, dx = NanOutput(n), dx_in_place = dy;
          if (op == 0) {
            f32_relu_fwd(n, x.data(), y.data(), pool, config);
            f32_relu_fwd(n, in_place.data(), in_place.data(), pool, config);
            f32_relu_bwd(n, want_y.data(), dy.data(), dx.data(), pool, config);
            f32_relu_bwd(n, want_y.data(), dx_in_place.data(), dx_in_place.data(), pool, config);
          } else {
            f32_relu6_fwd(n, x.data(), y.data(), pool, config);
            f32_relu6_fwd(n, in_place.data(), in_place.data(), pool, config);
            f32_relu6_bwd(n, want_y.data(), dy.data(), dx.data(), pool, config);
            f32_relu6_bwd(n, want_y.data(), dx_in_place.data(), dx_in_place.data(), pool, config);
          }
          ExpectSameBits(y, want_y, "forward, " + what);
          ExpectSameBits(in_place, want_y, "forward in place, " + what);
          ExpectSameBits(dx, want_dx, "backward, " + what);
          ExpectSameBits(dx_in_place, want_dx, "backward in place, " + what);
        }
      }
    }
  }
}

TEST(ElementwiseThreadedTest, AddIsBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  uint32_t seed = 100;
  for (const ElementwiseConfig& config : Configs()) {
    for (size_t n : FlatSizes()) {
      const std::string where = std::string(config.name) + " n=" + std::to_string(n);
      const std::vector<float> a = Input(n, seed++), b = Input(n, seed++), dy = Input(n, seed++);
      const std::vector<float> held_a = Input(n, seed++), held_b = Input(n, seed++);
      std::vector<float> want_y = NanOutput(n);
      config.add_fwd(n, a.data(), b.data(), want_y.data());
      for (bool accumulate : {false, true}) {
        std::vector<float> want_da = held_a, want_db = held_b, want_db_only = held_b;
        config.add_bwd(n, dy.data(), want_da.data(), want_db.data(), accumulate);
        config.add_bwd(n, dy.data(), nullptr, want_db_only.data(), accumulate);
        for (pthreadpool_t pool : pools.all()) {
          const std::string what =
              where + (accumulate ? " accumulate, " : ", ") + TestPools::Name(pool);
          std::vector<float> da = held_a, db = held_b, db_only = held_b;
          f32_add_bwd(n, dy.data(), da.data(), db.data(), accumulate, pool, config);
          f32_add_bwd(n, dy.data(), nullptr, db_only.data(), accumulate, pool, config);
          ExpectSameBits(da, want_da, "add backward grad_a, " + what);
          ExpectSameBits(db, want_db, "add backward grad_b, " + what);
          ExpectSameBits(db_only, want_db_only, "add backward grad_b alone, " + what);
        }
      }
      for (pthreadpool_t pool : pools.all()) {
        const std::string what = where + ", " + TestPools::Name(pool);
        std::vector<float> y = NanOutput(n), over_a = a, over_b = b;
        f32_add_fwd(n, a.data(), b.data(), y.data(), pool, config);
        f32_add_fwd(n, over_a.data(), b.data(), over_a.data(), pool, config);
        f32_add_fwd(n, a.data(), over_b.data(), over_b.data(), pool, config);
        ExpectSameBits(y, want_y, "add forward, " + what);
        ExpectSameBits(over_a, want_y, "add forward over a, " + what);
        ExpectSameBits(over_b, want_y, "add forward over b, " + what);
      }
    }
  }
}

TEST(ElementwiseThreadedTest, BiasAddIsBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  struct Case {
    size_t rows, channels;
  };
  // Channels below, at and above the channel tile, several channel tiles with a partial last
  // one; rows from none to several row tiles of the forward.
  const Case cases[] = {{0, 70},  {1, 1},     {3, 7},    {37, 64},   {101, 65}, {9, 129},
                        {517, 3}, {130, 200}, {7, 1280}, {33, 1000}, {6001, 5}};
  uint32_t seed = 200;
  for (const ElementwiseConfig& config : Configs()) {
    for (const Case& k : cases) {
      const size_t size = k.rows * k.channels;
      const std::string where = std::string(config.name) + " " + std::to_string(k.rows) + "x" +
                                std::to_string(k.channels);
      const std::vector<float> x = Input(size, seed++), bias = Input(k.channels, seed++);
      // Finite gradients: a NaN or inf would hide the order of the sums.
      const std::vector<float> dy = Input(size, seed++, /*special=*/false);
      std::vector<float> want_y = NanOutput(size);
      config.bias_add_fwd(k.rows, k.channels, x.data(), bias.data(), want_y.data());
      std::vector<float> want_db = NanOutput(k.channels);
      config.bias_add_bwd(k.rows, k.channels, dy.data(), want_db.data());
      for (pthreadpool_t pool : pools.all()) {
        const std::string what = where + ", " + TestPools::Name(pool);
        std::vector<float> y = NanOutput(size), in_place = x, db = NanOutput(k.channels);
        f32_bias_add_fwd(k.rows, k.channels, x.data(), bias.data(), y.data(), pool, config);
        f32_bias_add_fwd(k.rows, k.channels, in_place.data(), bias.data(), in_place.data(), pool,
                         config);
        f32_bias_add_bwd(k.rows, k.channels, dy.data(), db.data(), pool, config);
        ExpectSameBits(y, want_y, "bias add forward, " + what);
        ExpectSameBits(in_place, want_y, "bias add forward in place, " + what);
        ExpectSameBits(db, want_db, "bias add backward, " + what);
      }
    }
  }
}

// The default config is elementwise_config().
TEST(ElementwiseThreadedTest, DefaultsToTheChosenKernels) {
  const TestPools pools;
  const size_t n = 3 * kElementwiseTile + 5;
  const std::vector<float> x = Input(n, 7);
  std::vector<float> want = NanOutput(n);
  elementwise_config().relu6_fwd(n, x.data(), want.data());
  for (pthreadpool_t pool : pools.all()) {
    std::vector<float> y = NanOutput(n);
    f32_relu6_fwd(n, x.data(), y.data(), pool);
    ExpectSameBits(y, want, "relu6 forward, " + TestPools::Name(pool));
  }
}

}  // namespace
}  // namespace persephonee
