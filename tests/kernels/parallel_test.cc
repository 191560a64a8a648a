#include "kernels/parallel.h"

#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

namespace persephonee {
namespace {

struct Pool {
  explicit Pool(size_t threads) : p(pthreadpool_create(threads)) {}
  ~Pool() { pthreadpool_destroy(p); }
  pthreadpool_t p;
};

// The tiles ForTiles hands out, sorted by their first item.
std::vector<std::pair<size_t, size_t>> Tiles(pthreadpool_t pool, size_t range, size_t tile) {
  std::mutex m;
  std::vector<std::pair<size_t, size_t>> tiles;
  ForTiles(pool, range, tile, [&](size_t first, size_t count) {
    std::lock_guard<std::mutex> lock(m);
    tiles.emplace_back(first, count);
  });
  std::sort(tiles.begin(), tiles.end());
  return tiles;
}

TEST(ParallelTest, TileItemsDependsOnTheProblemOnly) {
  EXPECT_EQ(TileItems(10, 100), 10u);
  EXPECT_EQ(TileItems(30, 100), 4u);  // ceil(100 / 30)
  EXPECT_EQ(TileItems(1000, 100), 1u);
  EXPECT_EQ(TileItems(0, 100), 1u);
}

TEST(ParallelTest, RunsInTilesOnlyWithSeveralThreadsAndTiles) {
  Pool one(1), two(2);
  EXPECT_FALSE(RunsInTiles(nullptr, 100, 10));
  EXPECT_FALSE(RunsInTiles(one.p, 100, 10));
  EXPECT_FALSE(RunsInTiles(two.p, 10, 10));
  EXPECT_TRUE(RunsInTiles(two.p, 11, 10));
}

TEST(ParallelTest, CoversTheRangeOnceInFixedTiles) {
  Pool two(2), three(3);
  for (size_t range : {1u, 9u, 10u, 11u, 97u, 1000u}) {
    SCOPED_TRACE(range);
    // On the calling thread: one call over everything.
    EXPECT_EQ(Tiles(nullptr, range, 10), (std::vector<std::pair<size_t, size_t>>{{0, range}}));
    const auto with_two = Tiles(two.p, range, 10);
    EXPECT_EQ(with_two, Tiles(three.p, range, 10)) << "the cut must not depend on the threads";
    size_t next = 0;
    for (const auto& [first, count] : with_two) {
      EXPECT_EQ(first, next);
      EXPECT_LE(count, 10u);
      next = first + count;
    }
    EXPECT_EQ(next, range);
    if (range > 10) {
      EXPECT_EQ(with_two.size(), (range + 9) / 10);
    }
  }
}

}  // namespace
}  // namespace persephonee
