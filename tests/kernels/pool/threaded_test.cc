// The threaded pool entry points (f32_maxpool_fwd etc.): with no pool and with pools of 1, 2 and
// 3 threads, every output is bitwise identical to the kernel's own over the whole batch (so to
// each other), for the scalar kernels and for pool_config()'s, on batches of one tile, of
// several and of a partial last tile. Outputs start as NaN (an element never written fails)
// and carry guards past their end (an element written past it fails).
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "kernels/pool/pool.h"
#include "tests/testing/thread_pools.h"

namespace persephonee {
namespace {

using testing_threads::ExpectSameBits;
using testing_threads::IndexOutput;
using testing_threads::NanOutput;
using testing_threads::TestPools;

// The scalar kernels, and pool_config()'s when they are different.
std::vector<PoolConfig> Configs() {
  PoolConfig scalar;
  scalar.name = "scalar";
  scalar.maxpool_fwd = f32_maxpool_fwd__scalar;
  scalar.maxpool_bwd = f32_maxpool_bwd__scalar;
  scalar.avgpool_fwd = f32_avgpool_fwd__scalar;
  scalar.avgpool_bwd = f32_avgpool_bwd__scalar;
  scalar.gavgpool_fwd = f32_gavgpool_fwd__scalar;
  scalar.gavgpool_bwd = f32_gavgpool_bwd__scalar;
  std::vector<PoolConfig> configs = {scalar};
  if (std::string(pool_config().name) != "scalar") configs.push_back(pool_config());
  return configs;
}

// Values in steps of 0.25 from a small range, so that max-pool windows hold ties.
std::vector<float> Random(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> dist(-40, 40);
  std::vector<float> v(size);
  for (float& x : v) x = 0.25f * static_cast<float>(dist(rng));
  return v;
}

Pool2dShape Shape2d(size_t batch, size_t h, size_t w, size_t c, size_t k, size_t stride,
                    size_t pad_tl, size_t pad_br, bool include_pad) {
  Pool2dShape s;
  s.batch = batch;
  s.in_h = h;
  s.in_w = w;
  s.channels = c;
  s.kernel_h = s.kernel_w = k;
  s.stride_h = s.stride_w = stride;
  s.pad_top = s.pad_left = pad_tl;
  s.pad_bottom = s.pad_right = pad_br;
  s.count_include_pad = include_pad;
  return s;
}

std::string Describe(const Pool2dShape& s) {
  return "batch " + std::to_string(s.batch) + " in " + std::to_string(s.in_h) + "x" +
         std::to_string(s.in_w) + "x" + std::to_string(s.channels) + " kernel " +
         std::to_string(s.kernel_h) + " stride " + std::to_string(s.stride_h) + " pad " +
         std::to_string(s.pad_top) + "," + std::to_string(s.pad_bottom);
}

size_t Tiles(size_t batch, size_t floats_per_image) {
  const size_t tile = PoolBatchTile(floats_per_image);
  return (batch + tile - 1) / tile;
}

// One tile (small images), several full tiles, a partial last tile, odd sizes, asymmetric
// padding, both divisors, and a single image larger than a tile.
std::vector<Pool2dShape> Shapes2d() {
  return {Shape2d(3, 4, 5, 3, 2, 1, 0, 0, true),     Shape2d(7, 17, 13, 9, 3, 2, 1, 1, true),
          Shape2d(5, 33, 31, 7, 2, 2, 0, 0, true),   Shape2d(11, 9, 8, 21, 3, 2, 0, 1, false),
          Shape2d(13, 12, 12, 8, 3, 1, 1, 1, false), Shape2d(1, 40, 37, 5, 3, 2, 1, 0, true)};
}

TEST(PoolThreadedTest, TilesDependOnTheShapeOnly) {
  EXPECT_EQ(PoolBatchTile(1), 8192u);
  EXPECT_EQ(PoolBatchTile(1000), 9u);
  EXPECT_EQ(PoolBatchTile(8192), 1u);
  EXPECT_EQ(PoolBatchTile(100000), 1u);
  // The sweep must split: most shapes span several tiles, one spans only one.
  size_t multi = 0;
  for (const Pool2dShape& s : Shapes2d()) {
    ASSERT_TRUE(s.Validate().ok()) << Describe(s);
    if (Tiles(s.batch, s.input_size() / s.batch + s.output_size() / s.batch) > 1) ++multi;
  }
  EXPECT_GE(multi, 4u);
}

TEST(PoolThreadedTest, MaxPoolIsBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  uint32_t seed = 1;
  for (const PoolConfig& config : Configs()) {
    for (const Pool2dShape& s : Shapes2d()) {
      const std::string where = std::string(config.name) + " " + Describe(s);
      const std::vector<float> x = Random(s.input_size(), seed++);
      const std::vector<float> dy = Random(s.output_size(), seed++);
      std::vector<float> want_y = NanOutput(s.output_size());
      std::vector<int32_t> want_index = IndexOutput(s.output_size());
      config.maxpool_fwd(s, x.data(), want_y.data(), want_index.data());
      std::vector<float> want_y_only = NanOutput(s.output_size());
      config.maxpool_fwd(s, x.data(), want_y_only.data(), nullptr);
      std::vector<float> want_dx = NanOutput(s.input_size());
      config.maxpool_bwd(s, dy.data(), want_index.data(), want_dx.data());
      for (pthreadpool_t pool : pools.all()) {
        const std::string what = where + ", " + TestPools::Name(pool);
        std::vector<float> y = NanOutput(s.output_size());
        std::vector<int32_t> index = IndexOutput(s.output_size());
        f32_maxpool_fwd(s, x.data(), y.data(), index.data(), pool, config);
        ExpectSameBits(y, want_y, "max forward output, " + what);
        ExpectSameBits(index, want_index, "max forward argmax, " + what);
        std::vector<float> y_only = NanOutput(s.output_size());
        f32_maxpool_fwd(s, x.data(), y_only.data(), nullptr, pool, config);
        ExpectSameBits(y_only, want_y_only, "max forward without argmax, " + what);
        std::vector<float> dx = NanOutput(s.input_size());
        f32_maxpool_bwd(s, dy.data(), want_index.data(), dx.data(), pool, config);
        ExpectSameBits(dx, want_dx, "max backward, " + what);
      }
    }
  }
}

TEST(PoolThreadedTest, AvgPoolIsBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  uint32_t seed = 100;
  for (const PoolConfig& config : Configs()) {
    for (const Pool2dShape& s : Shapes2d()) {
      const std::string where = std::string(config.name) + " " + Describe(s);
      const std::vector<float> x = Random(s.input_size(), seed++);
      const std::vector<float> dy = Random(s.output_size(), seed++);
      std::vector<float> want_y = NanOutput(s.output_size());
      config.avgpool_fwd(s, x.data(), want_y.data());
      std::vector<float> want_dx = NanOutput(s.input_size());
      config.avgpool_bwd(s, dy.data(), want_dx.data());
      for (pthreadpool_t pool : pools.all()) {
        const std::string what = where + ", " + TestPools::Name(pool);
        std::vector<float> y = NanOutput(s.output_size());
        f32_avgpool_fwd(s, x.data(), y.data(), pool, config);
        ExpectSameBits(y, want_y, "average forward, " + what);
        std::vector<float> dx = NanOutput(s.input_size());
        f32_avgpool_bwd(s, dy.data(), dx.data(), pool, config);
        ExpectSameBits(dx, want_dx, "average backward, " + what);
      }
    }
  }
}

TEST(PoolThreadedTest, GlobalAvgPoolIsBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  struct Case {
    size_t batch, h, w, c;
  };
  // One tile; 3 images per tile with a partial last tile; one image per tile; odd sizes.
  const Case cases[] = {{2, 1, 1, 5}, {8, 7, 7, 37}, {6, 5, 4, 300}, {9, 13, 11, 17}};
  uint32_t seed = 200;
  size_t multi = 0;
  for (const PoolConfig& config : Configs()) {
    for (const Case& k : cases) {
      GlobalPoolShape s;
      s.batch = k.batch;
      s.in_h = k.h;
      s.in_w = k.w;
      s.channels = k.c;
      ASSERT_TRUE(s.Validate().ok());
      if (Tiles(s.batch, s.pixels() * s.channels + s.channels) > 1) ++multi;
      const std::string where = std::string(config.name) + " batch " + std::to_string(k.batch) +
                                " " + std::to_string(k.h) + "x" + std::to_string(k.w) + "x" +
                                std::to_string(k.c);
      const std::vector<float> x = Random(s.input_size(), seed++);
      const std::vector<float> dy = Random(s.output_size(), seed++);
      std::vector<float> want_y = NanOutput(s.output_size());
      config.gavgpool_fwd(s, x.data(), want_y.data());
      std::vector<float> want_dx = NanOutput(s.input_size());
      config.gavgpool_bwd(s, dy.data(), want_dx.data());
      for (pthreadpool_t pool : pools.all()) {
        const std::string what = where + ", " + TestPools::Name(pool);
        std::vector<float> y = NanOutput(s.output_size());
        f32_gavgpool_fwd(s, x.data(), y.data(), pool, config);
        ExpectSameBits(y, want_y, "global forward, " + what);
        std::vector<float> dx = NanOutput(s.input_size());
        f32_gavgpool_bwd(s, dy.data(), dx.data(), pool, config);
        ExpectSameBits(dx, want_dx, "global backward, " + what);
      }
    }
  }
  EXPECT_GE(multi, 3u);
}

// The default config is pool_config().
TEST(PoolThreadedTest, DefaultsToTheChosenKernels) {
  const TestPools pools;
  const Pool2dShape s = Shape2d(7, 17, 13, 9, 3, 2, 1, 1, true);
  const std::vector<float> x = Random(s.input_size(), 7);
  std::vector<float> want = NanOutput(s.output_size());
  pool_config().avgpool_fwd(s, x.data(), want.data());
  for (pthreadpool_t pool : pools.all()) {
    std::vector<float> y = NanOutput(s.output_size());
    f32_avgpool_fwd(s, x.data(), y.data(), pool);
    ExpectSameBits(y, want, "average forward, " + TestPools::Name(pool));
  }
}

}  // namespace
}  // namespace persephonee
