// The threaded optimiser steps: fixed tiles of elements, one kernel call per tile.
//
// Both updates are elementwise (each parameter's new value and state read only its own
// weight, gradient and state), so any cut gives the same bits; the tile is a multiple of the
// NEON kernel's 8-element block, so even which elements take its padded tail is unchanged.
// With no pool, one thread or one tile, the kernel runs once over the whole array on the
// calling thread (see kernels/parallel.h).
#include <pthreadpool.h>

#include <cstddef>
#include <cstdint>

#include "kernels/optim/optim.h"
#include "kernels/parallel.h"

namespace persephonee {

static_assert(kOptimTile % 8 == 0, "tiles must keep the NEON kernels' 8-element blocks aligned");

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
