// Running a kernel over tiles of its problem on a pthreadpool, with the same bits for any pool.
//
// The threaded entry points of the kernel families (pool, elementwise, loss, optim) cut a range
// (images, rows, samples, elements or channels) into tiles and call one micro-kernel per tile:
//   1. the tile is computed from the problem size alone (TileItems), never from the thread
//      count, so every pool cuts the work the same way;
//   2. with no pool, a pool of one thread or a range of one tile, the kernel runs once over the
//      whole range on the calling thread (RunsInTiles is false): waking a pool costs
//      microseconds, and the caller's kernels give the same bits for one call as for many;
//   3. otherwise pthreadpool hands out the tiles [0, tile), [tile, 2·tile), ... (the last one
//      possibly shorter) to its threads.
// A family whose kernels reduce across the cut (a loss total, a bias gradient) checks
// RunsInTiles itself and keeps the reduction's order on one thread.
#ifndef PERSEPHONEE_KERNELS_PARALLEL_H_
#define PERSEPHONEE_KERNELS_PARALLEL_H_

#include <pthreadpool.h>

#include <cassert>
#include <cstddef>

namespace persephonee {

/// Items per tile so that a tile holds about `target` units of work: ceil(target / per_item),
/// and at least 1 (one item per tile when an item alone holds `target` units or more, or when
/// `per_item` is 0).
/// @param per_item units of work (floats, logits) in one item (image, row, sample).
/// @param target units of work wanted per tile.
size_t TileItems(size_t per_item, size_t target);

/// Whether ForTiles(pool, range, tile, ...) hands tiles to the pool's threads: `pool` is not
/// null, has more than one thread, and `range` is more than one tile.
bool RunsInTiles(pthreadpool_t pool, size_t range, size_t tile);

/// Runs body(first, count) for the tiles of `tile` items that cover [0, range), on `pool`'s
/// threads; when RunsInTiles is false, runs body(0, range) once on the calling thread instead.
/// @param body callable as body(size_t first, size_t count); called concurrently on disjoint
///     tiles, so it must write only what its tile owns.
template <typename Body>
void ForTiles(pthreadpool_t pool, size_t range, size_t tile, const Body& body) {
  assert(tile > 0);
  if (!RunsInTiles(pool, range, tile)) {
    body(size_t{0}, range);
    return;
  }
  pthreadpool_parallelize_1d_tile_1d(
      pool,
      [](void* context, size_t first, size_t count) {
        (*static_cast<const Body*>(context))(first, count);
      },
      const_cast<Body*>(&body), range, tile, /*flags=*/0);
}

}  // namespace persephonee

#endif  // PERSEPHONEE_KERNELS_PARALLEL_H_
