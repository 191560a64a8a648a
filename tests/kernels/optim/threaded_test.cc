// The threaded optimiser steps (f32_sgd, f32_adam) and the checked steps on a pool: with no pool
// and with pools of 1, 2 and 3 threads, the weights and the optimiser state are bitwise
// identical to the kernel's own over the whole array (so to each other), for the scalar
// kernels and for optim_config()'s, on sizes below, at and above a tile and with partial last
// tiles, on a first step (state written, not read) and a later one. Arrays carry guards.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/optim/optim.h"
#include "tests/testing/thread_pools.h"

namespace persephonee {
namespace {

using testing_threads::ExpectSameBits;
using testing_threads::kGuard;
using testing_threads::kGuardValue;
using testing_threads::TestPools;

// The scalar kernels, and optim_config()'s when they are different.
std::vector<OptimConfig> Configs() {
  OptimConfig scalar;
  scalar.name = "scalar";
  scalar.sgd = f32_sgd__scalar;
  scalar.adam = f32_adam__scalar;
  std::vector<OptimConfig> configs = {scalar};
  if (std::string(optim_config().name) != "scalar") configs.push_back(optim_config());
  return configs;
}

// `size` values in [lo, hi) then the guards.
std::vector<float> Random(size_t size, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size + kGuard, kGuardValue);
  for (size_t i = 0; i < size; ++i) v[i] = dist(rng);
  return v;
}

std::vector<size_t> Sizes() {
  const size_t t = kOptimTile;
  return {0, 1, 7, 8, 13, t - 1, t, t + 1, 2 * t + 9, 4 * t + 4101};
}

TEST(OptimThreadedTest, TileKeepsTheVectorBlocks) {
  EXPECT_EQ(kOptimTile % 8, 0u);
  EXPECT_GT(kOptimTile, 8u);
}

TEST(OptimThreadedTest, SgdIsBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  std::vector<SgdParams> variants(3);
  variants[0].lr = 0.1f;  // Plain: no momentum buffer.
  variants[1].lr = 0.05f;
  variants[1].momentum = 0.9f;
  variants[1].dampening = 0.1f;
  variants[2].lr = 0.02f;
  variants[2].momentum = 0.8f;
  variants[2].nesterov = true;
  variants[2].weight_decay = 1e-3f;
  uint32_t seed = 1;
  for (const OptimConfig& config : Configs()) {
    for (size_t n : Sizes()) {
      for (size_t v = 0; v < variants.size(); ++v) {
        const SgdParams& params = variants[v];
        const bool momentum = params.momentum != 0.0f;
        for (int64_t step : {int64_t{1}, int64_t{3}}) {
          const std::string where = std::string(config.name) + " n=" + std::to_string(n) +
                                    " variant " + std::to_string(v) + " step " +
                                    std::to_string(step);
          const std::vector<float> w0 = Random(n, seed++, -1.0f, 1.0f);
          const std::vector<float> g = Random(n, seed++, -2.0f, 2.0f);
          const std::vector<float> buf0 = Random(n, seed++, -0.5f, 0.5f);
          std::vector<float> want_w = w0, want_buf = buf0;
          config.sgd(n, params, step, want_w.data(), g.data(),
                     momentum ? want_buf.data() : nullptr);
          for (pthreadpool_t pool : pools.all()) {
            const std::string what = where + ", " + TestPools::Name(pool);
            std::vector<float> w = w0, buf = buf0;
            f32_sgd(n, params, step, w.data(), g.data(), momentum ? buf.data() : nullptr, pool,
                    config);
            ExpectSameBits(w, want_w, "SGD weights, " + what);
            ExpectSameBits(buf, want_buf, "SGD momentum buffer, " + what);
          }
        }
      }
    }
  }
}

TEST(OptimThreadedTest, AdamIsBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  std::vector<AdamParams> variants(2);
  variants[1].lr = 3e-3f;
  variants[1].beta1 = 0.8f;
  variants[1].weight_decay = 1e-2f;
  uint32_t seed = 1000;
  for (const OptimConfig& config : Configs()) {
    for (size_t n : Sizes()) {
      for (size_t v = 0; v < variants.size(); ++v) {
        for (int64_t step : {int64_t{1}, int64_t{5}}) {
          const std::string where = std::string(config.name) + " n=" + std::to_string(n) +
                                    " variant " + std::to_string(v) + " step " +
                                    std::to_string(step);
          const std::vector<float> w0 = Random(n, seed++, -1.0f, 1.0f);
          const std::vector<float> g = Random(n, seed++, -2.0f, 2.0f);
          const std::vector<float> m0 = Random(n, seed++, -0.5f, 0.5f);
          const std::vector<float> v0 = Random(n, seed++, 0.0f, 0.5f);
          std::vector<float> want_w = w0, want_m = m0, want_v = v0;
          config.adam(n, variants[v], step, want_w.data(), g.data(), want_m.data(), want_v.data());
          for (pthreadpool_t pool : pools.all()) {
            const std::string what = where + ", " + TestPools::Name(pool);
            std::vector<float> w = w0, m = m0, sq = v0;
            f32_adam(n, variants[v], step, w.data(), g.data(), m.data(), sq.data(), pool, config);
            ExpectSameBits(w, want_w, "Adam weights, " + what);
            ExpectSameBits(m, want_m, "Adam exp_avg, " + what);
            ExpectSameBits(sq, want_v, "Adam exp_avg_sq, " + what);
          }
        }
      }
    }
  }
}

TEST(OptimThreadedTest, CheckedStepsOnAPool) {
  const TestPools pools;
  const size_t n = 3 * kOptimTile + 11;
  SgdParams sgd;
  sgd.momentum = 0.9f;
  sgd.nesterov = true;
  AdamParams adam;
  const std::vector<float> w0 = Random(n, 1, -1.0f, 1.0f), g = Random(n, 2, -1.0f, 1.0f);
  const std::vector<float> s0 = Random(n, 3, 0.0f, 1.0f);
  std::vector<float> want_sgd_w = w0, want_buf = s0;
  optim_config().sgd(n, sgd, 2, want_sgd_w.data(), g.data(), want_buf.data());
  std::vector<float> want_adam_w = w0, want_m = s0, want_v = s0;
  optim_config().adam(n, adam, 2, want_adam_w.data(), g.data(), want_m.data(), want_v.data());
  for (pthreadpool_t pool : pools.all()) {
    const std::string what = TestPools::Name(pool);
    std::vector<float> w = w0, buf = s0;
    ASSERT_TRUE(SgdStep(n, sgd, 2, w.data(), g.data(), buf.data(), pool).ok());
    ExpectSameBits(w, want_sgd_w, "SgdStep weights, " + what);
    ExpectSameBits(buf, want_buf, "SgdStep buffer, " + what);
    std::vector<float> aw = w0, m = s0, v = s0;
    ASSERT_TRUE(AdamStep(n, adam, 2, aw.data(), g.data(), m.data(), v.data(), pool).ok());
    ExpectSameBits(aw, want_adam_w, "AdamStep weights, " + what);
    ExpectSameBits(m, want_m, "AdamStep exp_avg, " + what);
    ExpectSameBits(v, want_v, "AdamStep exp_avg_sq, " + what);
  }
}

}  // namespace
}  // namespace persephonee
