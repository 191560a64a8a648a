#include "engine/memory_planner.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <utility>

namespace persephonee {
namespace {

// Records with sizes rounded up to the alignment, checked once for every entry point.
struct Prepared {
  std::vector<size_t> sizes;  // aligned
};

bool IsPowerOfTwo(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

StatusOr<Prepared> Prepare(const std::vector<BufferRecord>& records, size_t alignment) {
  ENSURE(IsPowerOfTwo(alignment), "memory planner: alignment must be a power of two, got ",
         alignment);
  const int n = static_cast<int>(records.size());
  ENSURE(records.size() <= static_cast<size_t>(std::numeric_limits<int>::max()),
         "memory planner: too many records (", records.size(), ")");
  Prepared prepared;
  prepared.sizes.resize(records.size());
  size_t total = 0;
  for (int i = 0; i < n; ++i) {
    const BufferRecord& r = records[i];
    ENSURE(r.first_use >= 0, "memory planner: record ", i, " has first_use ", r.first_use, " < 0");
    ENSURE(r.first_use <= r.last_use, "memory planner: record ", i, " has first_use ", r.first_use,
           " after last_use ", r.last_use);
    ENSURE(r.reuse_of >= -1 && r.reuse_of < n, "memory planner: record ", i, " has reuse_of ",
           r.reuse_of, ", not a record index in [0, ", n, ") or -1");
    ENSURE(r.reuse_of != i, "memory planner: record ", i, " names itself in reuse_of");
    ENSURE_CODE(r.size_bytes <= std::numeric_limits<size_t>::max() - (alignment - 1),
                kResourceExhausted, "memory planner: record ", i, " size ", r.size_bytes,
                " overflows when aligned to ", alignment);
    const size_t aligned = (r.size_bytes + alignment - 1) & ~(alignment - 1);
    ENSURE_CODE(aligned <= std::numeric_limits<size_t>::max() - total, kResourceExhausted,
                "memory planner: the sizes of the records overflow size_t");
    total += aligned;
    prepared.sizes[i] = aligned;
  }
  return prepared;
}

bool LiveTogether(const BufferRecord& a, const BufferRecord& b) {
  return a.first_use <= b.last_use && b.first_use <= a.last_use;
}

// True if `guest` may take `host`'s offset in place (the hint's conditions, sizes aligned).
// The host must be written before the guest: then no record is both a host and a guest at the
// same step, and hints cannot form cycles.
bool InPlaceAllowed(const std::vector<BufferRecord>& records, const std::vector<size_t>& sizes,
                    int guest, int host) {
  const BufferRecord& g = records[guest];
  const BufferRecord& h = records[host];
  return g.reuse_of == host && h.first_use < g.first_use && h.last_use == g.first_use &&
         sizes[guest] <= sizes[host];
}

size_t HighWaterMark(const std::vector<size_t>& offsets, const std::vector<size_t>& sizes) {
  size_t top = 0;
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (sizes[i] > 0) top = std::max(top, offsets[i] + sizes[i]);
  }
  return top;
}

// The greedy placement of the header comment, on prepared (aligned) sizes.
MemoryPlan Greedy(const std::vector<BufferRecord>& records, const std::vector<size_t>& sizes) {
  const int n = static_cast<int>(records.size());
  MemoryPlan plan;
  plan.offsets.assign(n, 0);
  plan.in_place_of.assign(n, -1);

  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    if (sizes[a] != sizes[b]) return sizes[a] > sizes[b];
    if (records[a].first_use != records[b].first_use) {
      return records[a].first_use < records[b].first_use;
    }
    return a < b;
  });

  std::vector<bool> placed(n, false);
  std::vector<int> live;  // placed records live alongside the current one, non-empty
  for (int r : order) {
    const size_t size = sizes[r];
    placed[r] = true;
    if (size == 0) continue;  // offset 0, occupies nothing
    live.clear();
    for (int p = 0; p < n; ++p) {
      if (p != r && placed[p] && sizes[p] > 0 && LiveTogether(records[p], records[r])) {
        live.push_back(p);
      }
    }

    // In place first: r's hint, if its host is placed (a permitted host is larger, or as large
    // and written earlier, so it always is) and nothing else live alongside r is in the way.
    const int host = records[r].reuse_of;
    if (host >= 0 && placed[host] && InPlaceAllowed(records, sizes, r, host)) {
      const size_t offset = plan.offsets[host];
      bool clear = true;
      for (int p : live) {
        if (p != host && offset < plan.offsets[p] + sizes[p] && plan.offsets[p] < offset + size) {
          clear = false;
          break;
        }
      }
      if (clear) {
        plan.offsets[r] = offset;
        plan.in_place_of[r] = host;
        continue;
      }
    }

    // Best fit among the gaps between the live buffers, else on top of them.
    std::sort(live.begin(), live.end(),
              [&](int a, int b) { return plan.offsets[a] < plan.offsets[b]; });
    size_t candidate = 0;
    size_t best_offset = 0;
    size_t best_gap = std::numeric_limits<size_t>::max();
    bool found = false;
    for (int p : live) {
      const size_t start = plan.offsets[p];
      if (start > candidate) {
        const size_t gap = start - candidate;
        if (gap >= size && gap < best_gap) {
          best_gap = gap;
          best_offset = candidate;
          found = true;
        }
      }
      candidate = std::max(candidate, start + sizes[p]);
    }
    plan.offsets[r] = found ? best_offset : candidate;
  }
  plan.high_water_mark = HighWaterMark(plan.offsets, sizes);
  return plan;
}

// Steps at which some record starts: the live set only grows there, so the maximum of any sum
// over live records is reached at one of them.
std::vector<int> StartSteps(const std::vector<BufferRecord>& records) {
  std::vector<int> steps;
  steps.reserve(records.size());
  for (const BufferRecord& r : records) steps.push_back(r.first_use);
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

size_t LowerBoundOf(const std::vector<BufferRecord>& records, const std::vector<size_t>& sizes,
                    bool count_in_place) {
  const int n = static_cast<int>(records.size());
  size_t best = 0;
  std::vector<size_t> saving(n);
  for (int step : StartSteps(records)) {
    size_t live = 0;
    std::fill(saving.begin(), saving.end(), 0);
    for (int i = 0; i < n; ++i) {
      const BufferRecord& r = records[i];
      if (r.first_use > step || r.last_use < step) continue;
      live += sizes[i];
      // A guest starting here may share its host's bytes. Hosts live here started earlier, so
      // none is also a guest here, and two guests of one host would overlap each other: each
      // host shares with at most one guest.
      if (count_in_place && r.first_use == step && r.reuse_of >= 0 &&
          InPlaceAllowed(records, sizes, i, r.reuse_of)) {
        saving[r.reuse_of] = std::max(saving[r.reuse_of], sizes[i]);
      }
    }
    for (size_t s : saving) live -= s;
    best = std::max(best, live);
  }
  return best;
}

// The most records of non-zero size live at any one step.
int MaxLiveCount(const std::vector<BufferRecord>& records, const std::vector<size_t>& sizes) {
  std::vector<std::pair<int, int>> events;  // (step, +1 at first use / -1 at last use)
  for (size_t i = 0; i < records.size(); ++i) {
    if (sizes[i] == 0) continue;
    events.emplace_back(records[i].first_use, 1);
    events.emplace_back(records[i].last_use, -1);
  }
  // Starts before ends at the same step, since ends are inclusive.
  std::sort(events.begin(), events.end(), [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return a.second > b.second;
  });
  int live = 0, most = 0;
  for (const auto& e : events) {
    live += e.second;
    most = std::max(most, live);
  }
  return most;
}

// For at most two buffers live at once: two-colour the forest of buffers that share a step,
// colour 0 at offset 0, colour 1 flush against the lower bound.
MemoryPlan TwoColour(const std::vector<BufferRecord>& records, const std::vector<size_t>& sizes) {
  const int n = static_cast<int>(records.size());
  const size_t top = LowerBoundOf(records, sizes, /*count_in_place=*/false);
  // Neighbours by sweeping in order of first use: with at most two live at once, each buffer
  // overlaps only buffers adjacent to it in that order among those still live.
  std::vector<int> order;
  for (int i = 0; i < n; ++i) {
    if (sizes[i] > 0) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    if (records[a].first_use != records[b].first_use) {
      return records[a].first_use < records[b].first_use;
    }
    return a < b;
  });
  MemoryPlan plan;
  plan.offsets.assign(n, 0);
  plan.in_place_of.assign(n, -1);
  std::vector<int> colour(n, 0);
  std::vector<int> active;  // at most one buffer still live when the next one starts
  for (int r : order) {
    active.erase(std::remove_if(active.begin(), active.end(),
                                [&](int a) { return records[a].last_use < records[r].first_use; }),
                 active.end());
    // `active` holds at most one buffer here, else three would be live at r's first step.
    colour[r] = active.empty() ? 0 : 1 - colour[active.front()];
    plan.offsets[r] = colour[r] == 0 ? 0 : top - sizes[r];
    active.push_back(r);
  }
  plan.high_water_mark = HighWaterMark(plan.offsets, sizes);
  return plan;
}

}  // namespace

StatusOr<MemoryPlan> PlanMemoryGreedy(const std::vector<BufferRecord>& records, size_t alignment) {
  ASSIGN_OR_RETURN(Prepared prepared, Prepare(records, alignment));
  return Greedy(records, prepared.sizes);
}

StatusOr<MemoryPlan> PlanMemory(const std::vector<BufferRecord>& records, size_t alignment) {
  ASSIGN_OR_RETURN(Prepared prepared, Prepare(records, alignment));
  MemoryPlan greedy = Greedy(records, prepared.sizes);
  if (MaxLiveCount(records, prepared.sizes) <= 2) {
    MemoryPlan coloured = TwoColour(records, prepared.sizes);
    if (coloured.high_water_mark < greedy.high_water_mark) return coloured;
  }
  return greedy;
}

StatusOr<MemoryPlan> PlanMemoryNoReuse(const std::vector<BufferRecord>& records, size_t alignment) {
  ASSIGN_OR_RETURN(Prepared prepared, Prepare(records, alignment));
  MemoryPlan plan;
  plan.offsets.resize(records.size());
  plan.in_place_of.assign(records.size(), -1);
  size_t offset = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    plan.offsets[i] = offset;  // Prepare checked that the running sum cannot overflow
    offset += prepared.sizes[i];
  }
  plan.high_water_mark = offset;
  return plan;
}

StatusOr<size_t> LowerBound(const std::vector<BufferRecord>& records, size_t alignment) {
  ASSIGN_OR_RETURN(Prepared prepared, Prepare(records, alignment));
  return LowerBoundOf(records, prepared.sizes, /*count_in_place=*/true);
}

}  // namespace persephonee
