// The threaded elementwise entry points: fixed tiles, one kernel call per tile.
//
// The flat kernels compute each element from the same element of their inputs, so any cut
// gives the same bits; the tiles are multiples of 16 so that even the vector blocking of each
// tile lines up with the whole array's. The bias add forward is cut into whole rows. The bias
// add backward is a reduction over rows, so it is cut over channels only: each task owns a
// block of channels and sums every row into it in row order, through config.add_fwd
// (sum = sum + row), which is the order of operations of both bias_add_bwd kernels (zero, then
// + row 0, + row 1, ...), so it gives their bits. With no pool, one thread or one tile, the
// kernel runs once over everything on the calling thread (see kernels/parallel.h).
#include <pthreadpool.h>

#include <cstddef>
#include <cstring>

#include "kernels/elementwise/elementwise.h"
#include "kernels/parallel.h"

namespace persephonee {

static_assert(kElementwiseTile % 16 == 0 && kBiasChannelTile % 16 == 0,
              "tiles must keep the kernels' 16-float blocks aligned");

size_t BiasAddRowTile(size_t channels) { return TileItems(channels, kElementwiseTile); }

void f32_bias_add_fwd(size_t rows, size_t channels, const float* input, const float* bias,
                      float* output, pthreadpool_t pool, const ElementwiseConfig& config) {
  ForTiles(pool, rows, BiasAddRowTile(channels), [&](size_t r, size_t count) {
    config.bias_add_fwd(count, channels, input + r * channels, bias, output + r * channels);
  });
}

void f32_bias_add_bwd(size_t rows, size_t channels, const float* grad_output, float* grad_bias,
                      pthreadpool_t pool, const ElementwiseConfig& config) {
  if (!RunsInTiles(pool, channels, kBiasChannelTile)) {
    config.bias_add_bwd(rows, channels, grad_output, grad_bias);
    return;
  }
  ForTiles(pool, channels, kBiasChannelTile, [&](size_t c, size_t count) {
    float* sum = grad_bias + c;
    std::memset(sum, 0, count * sizeof(float));
    for (size_t r = 0; r < rows; ++r) {
      config.add_fwd(count, sum, grad_output + r * channels + c, sum);
    }
  });
}

void f32_relu_fwd(size_t n, const float* input, float* output, pthreadpool_t pool,
                  const ElementwiseConfig& config) {
  ForTiles(pool, n, kElementwiseTile,
           [&](size_t i, size_t count) { config.relu_fwd(count, input + i, output + i); });
}

void f32_relu_bwd(size_t n, const float* output, const float* grad_output, float* grad_input,
                  pthreadpool_t pool, const ElementwiseConfig& config) {
  ForTiles(pool, n, kElementwiseTile, [&](size_t i, size_t count) {
    config.relu_bwd(count, output + i, grad_output + i, grad_input + i);
  });
}

void f32_relu6_fwd(size_t n, const float* input, float* output, pthreadpool_t pool,
                   const ElementwiseConfig& config) {
  ForTiles(pool, n, kElementwiseTile,
           [&](size_t i, size_t count) { config.relu6_fwd(count, input + i, output + i); });
}

void f32_relu6_bwd(size_t n, const float* output, const float* grad_output, float* grad_input,
                   pthreadpool_t pool, const ElementwiseConfig& config) {
  ForTiles(pool, n, kElementwiseTile, [&](size_t i, size_t count) {
    config.relu6_bwd(count, output + i, grad_output + i, grad_input + i);
  });
}

void f32_add_fwd(size_t n, const float* a, const float* b, float* output, pthreadpool_t pool,
                 const ElementwiseConfig& config) {
  ForTiles(pool, n, kElementwiseTile,
           [&](size_t i, size_t count) { config.add_fwd(count, a + i, b + i, output + i); });
}

void f32_add_bwd(size_t n, const float* grad_output, float* grad_a, float* grad_b, bool accumulate,
                 pthreadpool_t pool, const ElementwiseConfig& config) {
  ForTiles(pool, n, kElementwiseTile, [&](size_t i, size_t count) {
    config.add_bwd(count, grad_output + i, grad_a != nullptr ? grad_a + i : nullptr,
                   grad_b != nullptr ? grad_b + i : nullptr, accumulate);
  });
}

}  // namespace persephonee
