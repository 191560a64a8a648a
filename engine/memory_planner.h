// The memory planner: where in one arena each intermediate buffer lives.
//
// Input: one record per buffer, {size_bytes, first_use, last_use}, with steps numbered in
// execution order and both ends inclusive (a buffer is live at every step from first_use to
// last_use). Output: an aligned offset per buffer and the high-water mark, the arena size the
// plan needs. The planner is a pure function; it allocates nothing the plan refers to.
//
// The greedy planner (the algorithm of TensorFlow Lite Micro's GreedyMemoryPlanner):
//   1. Round every size up to the alignment (64 bytes by default).
//   2. Visit buffers from the largest to the smallest (ties: earlier first_use, then lower
//      index, so the plan is deterministic).
//   3. For the buffer being placed, collect the already-placed buffers whose lifetimes overlap
//      its own, sorted by offset. The spaces between them (and below the first) are gaps.
//   4. Take the smallest gap the buffer fits in (best fit; the lowest such gap on a tie). If
//      none fits, put the buffer just above the highest of those overlapping buffers.
//   Buffers placed earlier are never moved, so each placement costs O(n log n) and the whole
//   plan O(n^2 log n): fine for the few hundred tensors of a CNN.
//
// In-place hints: record i may name record j in `reuse_of` when the op at i's first step is
// an elementwise op allowed to write over its input. Before step 4 the planner tries to put i
// at exactly j's offset; it does so only when j is written before i (j.first_use <
// i.first_use), j's last use is i's first use, i's aligned size is no larger than j's, and no
// other buffer live alongside i is in the way. A hint is a permission, never an obligation: a
// plan that ignores it is still valid, and a hint whose conditions fail is simply not taken.
//
// Greedy by size is not optimal in general, not even on a plain chain (a sequential CNN with
// sizes 100, 25, 50, 60 gets 135 where 125 is possible: the 60 takes offset 0, the 50 must
// sit above it and the 25 above both). So PlanMemory also checks whether at most two buffers
// are ever live at once (true of every chain). Then the buffers that overlap in time form a
// forest, which is two-colourable: one colour at offset 0, the other flush against the lower
// bound T (offset T - size). Two buffers live together never sum to more than T, so they never
// touch, and the arena is exactly the lower bound. PlanMemory keeps the smaller of the two
// plans (the two-colouring ignores in-place hints).
//
// Beside it: PlanMemoryNoReuse, the oracle (every buffer its own slice), and LowerBound, the
// largest sum of aligned live bytes at any step (less what permitted in-place pairs could
// share at that step). Every valid plan satisfies LowerBound <= high_water_mark, and every
// plan these functions return satisfies high_water_mark <= the no-reuse total.
#ifndef PERSEPHONEE_ENGINE_MEMORY_PLANNER_H_
#define PERSEPHONEE_ENGINE_MEMORY_PLANNER_H_

#include <cstddef>
#include <vector>

#include "base/status.h"

namespace persephonee {

/// Offsets are multiples of this unless a caller asks otherwise (a cache line, and enough for
/// any SIMD load).
inline constexpr size_t kDefaultArenaAlignment = 64;

/// One buffer to place: its size and the steps (execution order, inclusive) it is live.
struct BufferRecord {
  size_t size_bytes = 0;  ///< May be 0: such a buffer gets offset 0 and occupies nothing.
  int first_use = 0;      ///< The step that writes it; >= 0.
  int last_use = 0;       ///< The last step that reads it; >= first_use.
  /// Index of a record whose memory this one may take over in place (see the header comment),
  /// or -1 for none.
  int reuse_of = -1;
};

/// Where each buffer lives in the arena.
struct MemoryPlan {
  std::vector<size_t> offsets;  ///< offsets[i] is record i's byte offset; aligned.
  /// in_place_of[i] is j when the planner granted record i's hint and placed it at record j's
  /// offset, otherwise -1.
  std::vector<int> in_place_of;
  size_t high_water_mark = 0;  ///< Bytes the arena needs: the highest offset + aligned size.
};

/// Plans with the greedy best-fit algorithm and, when at most two buffers are ever live at
/// once, also with the two-colouring; returns the plan with the smaller high-water mark.
/// Fails with kInvalidArgument on a bad record (first_use < 0 or > last_use, reuse_of out of
/// range or naming itself) or an alignment that is not a power of two, and with
/// kResourceExhausted if the sizes overflow size_t.
StatusOr<MemoryPlan> PlanMemory(const std::vector<BufferRecord>& records,
                                size_t alignment = kDefaultArenaAlignment);

/// The greedy best-fit plan alone (steps 1-4 of the header comment). Same errors as
/// PlanMemory.
StatusOr<MemoryPlan> PlanMemoryGreedy(const std::vector<BufferRecord>& records,
                                      size_t alignment = kDefaultArenaAlignment);

/// The oracle: buffers laid end to end in record order, nothing shared. The high-water mark
/// is the sum of the aligned sizes. Same errors as PlanMemory.
StatusOr<MemoryPlan> PlanMemoryNoReuse(const std::vector<BufferRecord>& records,
                                       size_t alignment = kDefaultArenaAlignment);

/// The largest sum of aligned sizes live at any one step, less, for each buffer whose last
/// use is that step, the largest aligned size of a buffer permitted to take it over in place
/// there. No valid plan needs less. Same errors as PlanMemory.
StatusOr<size_t> LowerBound(const std::vector<BufferRecord>& records,
                            size_t alignment = kDefaultArenaAlignment);

}  // namespace persephonee

#endif  // PERSEPHONEE_ENGINE_MEMORY_PLANNER_H_
