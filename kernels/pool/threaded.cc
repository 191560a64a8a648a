// The threaded pool entry points: tiles of whole images, one kernel call per tile.
//
// Every pooling kernel computes each image from that image's input alone (argmax indices are
// into the image's own plane), so cutting the batch changes no result. The tile is computed
// from the shape only (about kTaskFloats floats of traffic per task, at least one image), never
// from the thread count. With no pool, one thread or one tile, the kernel runs once over the
// whole batch on the calling thread, which gives the same bits with no dispatch cost (see
// kernels/parallel.h).
#include <pthreadpool.h>

#include <cassert>
#include <cstddef>
#include <cstdint>

#include "kernels/parallel.h"
#include "kernels/pool/pool.h"

namespace persephonee {
namespace {

// Floats read and written per task: several microseconds of work, so that smaller problems run
// on the calling thread (waking the pool costs microseconds) and the per-task cost (an atomic
// operation) stays small.
constexpr size_t kTaskFloats = 8192;

// Floats per image of a 2-D pooling's input and output.
size_t InImage(const Pool2dShape& s) { return s.in_h * s.in_w * s.channels; }
size_t OutImage(const Pool2dShape& s) { return s.out_h() * s.out_w() * s.channels; }

// `s` cut down to `count` images.
template <typename Shape>
Shape Images(const Shape& s, size_t count) {
  Shape sub = s;
  sub.batch = count;
  return sub;
}

}  // namespace

size_t PoolBatchTile(size_t floats_per_image) { return TileItems(floats_per_image, kTaskFloats); }

void f32_maxpool_fwd(const Pool2dShape& s, const float* input, float* output, int32_t* argmax,
                     pthreadpool_t pool, const PoolConfig& config) {
  assert(s.Validate().ok());
  const size_t in = InImage(s), out = OutImage(s);
  ForTiles(pool, s.batch, PoolBatchTile(in + out), [&](size_t n, size_t count) {
    config.maxpool_fwd(Images(s, count), input + n * in, output + n * out,
                       argmax != nullptr ? argmax + n * out : nullptr);
  });
}

void f32_maxpool_bwd(const Pool2dShape& s, const float* grad_output, const int32_t* argmax,
                     float* grad_input, pthreadpool_t pool, const PoolConfig& config) {
  assert(s.Validate().ok());
  const size_t in = InImage(s), out = OutImage(s);
  ForTiles(pool, s.batch, PoolBatchTile(in + out), [&](size_t n, size_t count) {
    config.maxpool_bwd(Images(s, count), grad_output + n * out, argmax + n * out,
                       grad_input + n * in);
  });
}

void f32_avgpool_fwd(const Pool2dShape& s, const float* input, float* output, pthreadpool_t pool,
                     const PoolConfig& config) {
  assert(s.Validate().ok());
  const size_t in = InImage(s), out = OutImage(s);
  ForTiles(pool, s.batch, PoolBatchTile(in + out), [&](size_t n, size_t count) {
    config.avgpool_fwd(Images(s, count), input + n * in, output + n * out);
  });
}

void f32_avgpool_bwd(const Pool2dShape& s, const float* grad_output, float* grad_input,
                     pthreadpool_t pool, const PoolConfig& config) {
  assert(s.Validate().ok());
  const size_t in = InImage(s), out = OutImage(s);
  ForTiles(pool, s.batch, PoolBatchTile(in + out), [&](size_t n, size_t count) {
    config.avgpool_bwd(Images(s, count), grad_output + n * out, grad_input + n * in);
  });
}

void f32_gavgpool_fwd(const GlobalPoolShape& s, const float* input, float* output,
                      pthreadpool_t pool, const PoolConfig& config) {
  assert(s.Validate().ok());
  const size_t in = s.pixels() * s.channels, out = s.channels;
  ForTiles(pool, s.batch, PoolBatchTile(in + out), [&](size_t n, size_t count) {
    config.gavgpool_fwd(Images(s, count), input + n * in, output + n * out);
  });
}

void f32_gavgpool_bwd(const GlobalPoolShape& s, const float* grad_output, float* grad_input,
                      pthreadpool_t pool, const PoolConfig& config) {
  assert(s.Validate().ok());
  const size_t in = s.pixels() * s.channels, out = s.channels;
  ForTiles(pool, s.batch, PoolBatchTile(in + out), [&](size_t n, size_t count) {
    config.gavgpool_bwd(Images(s, count), grad_output + n * out, grad_input + n * in);
  });
}

}  // namespace persephonee
