#include "kernels/parallel.h"

#include <pthreadpool.h>

#include <cstddef>

namespace persephonee {

size_t TileItems(size_t per_item, size_t target) {
  if (per_item == 0 || per_item >= target) return 1;
  return (target + per_item - 1) / per_item;
}

bool RunsInTiles(pthreadpool_t pool, size_t range, size_t tile) {
  return range > tile && pool != nullptr && pthreadpool_get_threads_count(pool) > 1;
}

}  // namespace persephonee
