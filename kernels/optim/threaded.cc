// The threaded optimiser steps: fixed tiles of elements, one kernel call per tile.
//
// Both updates are elementwise (each parameter's new value and state read only its own
// weight, gradient and state), so any cut gives the same bits; the tile is a multiple of the
// NEON kernel's 8-element block, so even which elements take its padded tail is unchanged.
// With no pool, one thread or one tile, the kernel runs once over the whole array on the
// calling thread.
#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

#include "kernels/optim/optim.h"

namespace persephonee {
namespace {

static_assert(kOptimTile % 8 == 0, "tiles must keep the NEON kernels' 8-element blocks aligned");

// Runs body(first, count) over [0, range) in tiles of `tile` on `pool`.
template <typename Body>
void ForTiles(pthreadpool_t pool, size_t range, size_t tile, const Body& body) {
  if (range <= tile || pool == nullptr || pthreadpool_get_threads_count(pool) <= 1) {
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

}  // namespace

void f32_sgd(size_t n, const SgdParams& params, int64_t step, float* weights, const float* grads,
             float* momentum_buf, pthreadpool_t pool, const OptimConfig& config) {
  ForTiles(pool, n, kOptimTile, [&](size_t i, size_t count) {
    config.sgd(count, params, step, weights + i, grads + i,
               momentum_buf != nullptr ? momentum_buf + i : nullptr);
  });
}

void f32_adam(size_t n, const AdamParams& params, int64_t step, float* weights, const float* grads,
              float* exp_avg, float* exp_avg_sq, pthreadpool_t pool, const OptimConfig& config) {
  ForTiles(pool, n, kOptimTile, [&](size_t i, size_t count) {
    config.adam(count, params, step, weights + i, grads + i, exp_avg + i, exp_avg_sq + i);
  });
}

}  // namespace persephonee
