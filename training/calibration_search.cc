// CalibrateThresholds: the greedy path, the anchors, the Pareto front, the refinement sweeps and
// the choice (see the walk-through at the top of calibration.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "training/calibration.h"
#include "training/calibration_internal.h"

namespace persephonee {
namespace {

using calibration_internal::Reference;

constexpr float kOff = std::numeric_limits<float>::infinity();

// What admitting an exit's next band would do.
struct Candidate {
  int64_t moved = 0;  // Samples that would leave at this exit instead of a later one.
  int64_t gain = 0;   // dC: change in correct answers.
  int64_t saved = 0;  // S: MACs saved, >= 0 since exit costs are non-decreasing.
};

// 2: a gain for free (dC / S = +inf); 1: S > 0 (a finite ratio); 0: a loss for nothing (-inf).
// dC = S = 0 never gets here: such steps are taken at once.
int RatioClass(const Candidate& c) {
  if (c.saved > 0) return 1;
  return c.gain > 0 ? 2 : 0;
}

// Whether step `a` is strictly better than step `b`: the larger dC / S, then the larger S (ties
// left to the caller, which scans exits in order).
bool Better(const Candidate& a, const Candidate& b) {
  const int ca = RatioClass(a);
  const int cb = RatioClass(b);
  if (ca != cb) return ca > cb;
  if (ca != 1) return a.gain > b.gain;
  // dC_a / S_a > dC_b / S_b with S > 0; |dC| <= 2^22 and S < 2^62, so the products need 128 bits.
  const __int128 lhs = static_cast<__int128>(a.gain) * b.saved;
  const __int128 rhs = static_cast<__int128>(b.gain) * a.saved;
  if (lhs != rhs) return lhs > rhs;
  return a.saved > b.saved;
}

// Each early exit's samples sorted by score, descending, cut into bands of equal scores.
struct Bands {
  Bands(const ExitObservations& obs, int k) : n(obs.num_samples) {
    order.resize(k);
    begin.resize(k);
    band_of.resize(static_cast<size_t>(k) * n);
    for (int j = 0; j < k; ++j) {
      order[j].resize(n);
      for (int64_t s = 0; s < n; ++s) order[j][s] = static_cast<int32_t>(s);
      std::stable_sort(order[j].begin(), order[j].end(),
                       [&](int32_t a, int32_t b) { return obs.score(a, j) > obs.score(b, j); });
      for (int64_t p = 0; p < n; ++p) {
        if (p == 0 || obs.score(order[j][p], j) != obs.score(order[j][p - 1], j)) {
          begin[j].push_back(static_cast<int32_t>(p));
        }
        band_of[static_cast<size_t>(j) * n + order[j][p]] =
            static_cast<int32_t>(begin[j].size() - 1);
      }
      begin[j].push_back(static_cast<int32_t>(n));
    }
    scores.resize(k);
    for (int j = 0; j < k; ++j) {
      for (size_t b = 0; b + 1 < begin[j].size(); ++b) {
        scores[j].push_back(obs.score(order[j][begin[j][b]], j));
      }
    }
  }
  int32_t count(int j) const { return static_cast<int32_t>(scores[j].size()); }
  int32_t of(int j, int64_t s) const { return band_of[static_cast<size_t>(j) * n + s]; }

  int64_t n;
  std::vector<std::vector<int32_t>> order;  // [K][N] samples by score, descending.
  std::vector<std::vector<int32_t>> begin;  // [K][bands + 1] first rank of each band.
  std::vector<std::vector<float>> scores;   // [K][bands] the score of each band.
  std::vector<int32_t> band_of;             // [K][N] band of each sample.
};

// An explored operating point: exact counts, a discovery number (the last tie-break), and where
// its thresholds are: entry `stored` of a Thresholds store, or (until the front is materialised)
// the greedy path after `path_steps` steps, or base point `base` of the current refinement round
// with exit `exit` admitting `bands` bands. Plain data, so that sorting millions is cheap.
struct Point {
  int64_t correct = 0;
  int64_t macs = 0;  // Summed over the samples: at most 2^22 x 2^40.
  int64_t seq = 0;
  int64_t stored = -1;
  int64_t path_steps = -1;
  int32_t base = -1;
  int32_t exit = -1;
  int32_t bands = 0;
};

// Sets of K thresholds, one after another.
class Thresholds {
 public:
  explicit Thresholds(int k) : k_(k) {}
  int64_t Add(const float* t) {
    values_.insert(values_.end(), t, t + k_);
    return count_++;
  }
  std::vector<float> Get(int64_t i) const {
    return std::vector<float>(values_.begin() + i * k_, values_.begin() + (i + 1) * k_);
  }
  // Keeps only the entries the points of `pool` use.
  void Compact(std::vector<Point>* pool) {
    Thresholds kept(k_);
    for (Point& p : *pool) p.stored = kept.Add(values_.data() + p.stored * k_);
    values_.swap(kept.values_);
    count_ = kept.count_;
  }

 private:
  int k_;
  int64_t count_ = 0;
  std::vector<float> values_;
};

// Keeps the Pareto front of `pool`: by cost, then more correct, then discovery order; a point
// stays only if it is more accurate than every cheaper one.
void Prune(std::vector<Point>* pool) {
  std::sort(pool->begin(), pool->end(), [](const Point& a, const Point& b) {
    if (a.macs != b.macs) return a.macs < b.macs;
    if (a.correct != b.correct) return a.correct > b.correct;
    return a.seq < b.seq;
  });
  size_t kept = 0;
  for (size_t i = 0; i < pool->size(); ++i) {
    if (kept == 0 || (*pool)[i].correct > (*pool)[kept - 1].correct) {
      if (kept != i) (*pool)[kept] = std::move((*pool)[i]);
      ++kept;
    }
  }
  pool->resize(kept);
}

// The greedy path over the early exits' bands, with each exit's next step kept up to date.
class GreedyPath {
 public:
  GreedyPath(const ExitObservations& obs, const Reference& ref, const Bands& bands)
      : obs_(obs),
        ref_(ref),
        bands_(bands),
        n_(obs.num_samples),
        e_(obs.num_exits),
        k_(obs.num_exits - 1) {}

  // Walks the whole path, appending the start and every point a step changes to `pool`.
  void Run(std::vector<Point>* pool, int64_t* seq) {
    next_.assign(k_, 0);
    cur_.assign(n_, e_ - 1);
    candidate_.assign(k_, Candidate());
    log_.clear();
    int64_t correct = 0;
    for (int64_t s = 0; s < n_; ++s) correct += Ok(s, e_ - 1);
    int64_t macs = n_ * obs_.exit_macs[e_ - 1];
    Record(pool, seq, correct, macs);
    for (int j = 0; j < k_; ++j) ComputeCandidate(j);
    for (;;) {
      int pick = -1;
      bool free_step = false;
      for (int j = 0; j < k_ && pick < 0; ++j) {
        if (Open(j) && candidate_[j].gain == 0 && candidate_[j].saved == 0) {
          pick = j;
          free_step = true;
        }
      }
      for (int j = 0; j < k_ && !free_step; ++j) {
        if (Open(j) && (pick < 0 || Better(candidate_[j], candidate_[pick]))) pick = j;
      }
      if (pick < 0) break;
      Admit(pick, &correct, &macs);
      log_.push_back(pick);
      // A step with dC = S = 0 leaves the operating point where it was: nothing to record.
      if (!free_step) Record(pool, seq, correct, macs);
    }
  }

  // Stores the thresholds of every path point of `pool`, in one replay of the path.
  void Materialise(std::vector<Point>* pool, Thresholds* store) const {
    std::vector<Point*> points;
    for (Point& p : *pool) {
      if (p.path_steps >= 0) points.push_back(&p);
    }
    std::sort(points.begin(), points.end(),
              [](const Point* a, const Point* b) { return a->path_steps < b->path_steps; });
    std::vector<int32_t> admitted(k_, 0);
    size_t done = 0;
    for (Point* p : points) {
      for (; done < static_cast<size_t>(p->path_steps); ++done) ++admitted[log_[done]];
      std::vector<float> thresholds(k_, kOff);
      for (int j = 0; j < k_; ++j) {
        if (admitted[j] > 0) thresholds[j] = bands_.scores[j][admitted[j] - 1];
      }
      p->stored = store->Add(thresholds.data());
      p->path_steps = -1;
    }
  }

 private:
  uint8_t Ok(int64_t s, int x) const { return ref_.correct[s * e_ + x]; }
  bool Open(int j) const { return next_[j] < bands_.count(j); }

  void Record(std::vector<Point>* pool, int64_t* seq, int64_t correct, int64_t macs) {
    Point p;
    p.correct = correct;
    p.macs = macs;
    p.seq = (*seq)++;
    p.path_steps = static_cast<int64_t>(log_.size());
    pool->push_back(std::move(p));
  }

  // Sample s's share of exit j's candidate while s answers at exit c.
  Candidate Share(int64_t s, int j, int c) const {
    Candidate share;
    if (c > j) {
      share.moved = 1;
      share.gain = static_cast<int64_t>(Ok(s, j)) - Ok(s, c);
      share.saved = obs_.exit_macs[c] - obs_.exit_macs[j];
    }
    return share;
  }

  void ComputeCandidate(int j) {
    Candidate c;
    if (Open(j)) {
      for (int32_t p = bands_.begin[j][next_[j]]; p < bands_.begin[j][next_[j] + 1]; ++p) {
        const int32_t s = bands_.order[j][p];
        const Candidate share = Share(s, j, cur_[s]);
        c.moved += share.moved;
        c.gain += share.gain;
        c.saved += share.saved;
      }
    }
    candidate_[j] = c;
  }

  // Admits exit j's next band: its samples still travelling past j now leave at j.
  void Admit(int j, int64_t* correct, int64_t* macs) {
    for (int32_t p = bands_.begin[j][next_[j]]; p < bands_.begin[j][next_[j] + 1]; ++p) {
      const int32_t s = bands_.order[j][p];
      const int old = cur_[s];
      if (old <= j) continue;  // Left at an earlier exit.
      for (int i = 0; i < k_; ++i) {
        if (i == j || !Open(i) || bands_.of(i, s) != next_[i]) continue;
        const Candidate before = Share(s, i, old);
        const Candidate after = Share(s, i, j);
        candidate_[i].moved += after.moved - before.moved;
        candidate_[i].gain += after.gain - before.gain;
        candidate_[i].saved += after.saved - before.saved;
      }
      *correct += static_cast<int64_t>(Ok(s, j)) - Ok(s, old);
      *macs -= obs_.exit_macs[old] - obs_.exit_macs[j];
      cur_[s] = j;
    }
    ++next_[j];
    ComputeCandidate(j);
  }

  const ExitObservations& obs_;
  const Reference& ref_;
  const Bands& bands_;
  const int64_t n_;
  const int e_;
  const int k_;                       // Early exits: E - 1.
  std::vector<int32_t> next_;         // [K] the next band to admit.
  std::vector<int> cur_;              // [N] the exit each sample answers at.
  std::vector<Candidate> candidate_;  // [K] admitting the next band.
  std::vector<int> log_;              // The exit admitted at each step.
};

// Buffers Sweep reuses from call to call.
struct SweepScratch {
  std::vector<int> fallback;  // [N] where each sample reaching exit j goes if j lets it pass.
  std::vector<std::pair<int64_t, int64_t>> trace;
};

// Sweeps exit j's threshold over every band with the other thresholds of `base` fixed, appending
// one point per number of bands admitted (0 to all). O(N K).
void Sweep(const ExitObservations& obs, const Reference& ref, const Bands& bands,
           const std::vector<float>& base, int32_t base_id, int j, std::vector<Point>* pool,
           int64_t* seq, SweepScratch* scratch) {
  const int e = obs.num_exits;
  const int k = e - 1;
  int64_t correct = 0;
  int64_t macs = 0;
  std::vector<int>& fallback = scratch->fallback;
  fallback.assign(obs.num_samples, -1);  // -1: leaves before reaching exit j.
  for (int64_t s = 0; s < obs.num_samples; ++s) {
    int x = 0;
    while (x < k && (x == j || !(obs.score(s, x) >= base[x]))) {
      if (x == j) fallback[s] = -2;  // Reaches j: its exit if j lets it pass is found below.
      ++x;
    }
    if (fallback[s] == -2) fallback[s] = x;
    correct += ref.correct[s * e + x];
    macs += obs.exit_macs[x];
  }
  std::vector<std::pair<int64_t, int64_t>>& trace = scratch->trace;  // [bands admitted]
  trace.clear();
  trace.emplace_back(correct, macs);
  for (int32_t b = 0; b < bands.count(j); ++b) {
    for (int32_t r = bands.begin[j][b]; r < bands.begin[j][b + 1]; ++r) {
      const int32_t s = bands.order[j][r];
      const int f = fallback[s];
      if (f < 0) continue;
      correct += static_cast<int64_t>(ref.correct[s * e + j]) - ref.correct[s * e + f];
      macs -= obs.exit_macs[f] - obs.exit_macs[j];
    }
    trace.emplace_back(correct, macs);
  }
  // Costs fall as bands are admitted: walking from the cheapest end, only a point more accurate
  // than every cheaper one of this sweep can be on the front.
  const int64_t first = *seq;
  *seq += static_cast<int64_t>(trace.size());
  int64_t most = -1;
  for (size_t b = trace.size(); b-- > 0;) {
    if (trace[b].first <= most) continue;
    most = trace[b].first;
    Point p;
    p.correct = trace[b].first;
    p.macs = trace[b].second;
    p.seq = first + static_cast<int64_t>(b);
    p.base = base_id;
    p.exit = j;
    p.bands = static_cast<int32_t>(b);
    pool->push_back(std::move(p));
  }
}

// Exact counts of one set of thresholds.
Point Evaluate(const ExitObservations& obs, const Reference& ref,
               const std::vector<float>& thresholds, int64_t* seq, Thresholds* store) {
  Point point;
  for (int64_t s = 0; s < obs.num_samples; ++s) {
    const int x = calibration_internal::ExitOf(obs, s, thresholds);
    point.correct += ref.correct[s * obs.num_exits + x];
    point.macs += obs.exit_macs[x];
  }
  point.seq = (*seq)++;
  point.stored = store->Add(thresholds.data());
  return point;
}

// Up to `count` points of the front, evenly spread by rank, the cheapest and the best included.
std::vector<size_t> SpreadOver(size_t front, int count) {
  std::vector<size_t> picks;
  const size_t m = std::min(front, static_cast<size_t>(count));
  for (size_t i = 0; i < m; ++i) {
    const size_t at = m == 1 ? front - 1 : i * (front - 1) / (m - 1);
    if (picks.empty() || picks.back() != at) picks.push_back(at);
  }
  return picks;
}

}  // namespace

StatusOr<CalibrationResult> CalibrateThresholds(const ExitObservations& obs,
                                                const CalibrationOptions& options) {
  RETURN_IF_ERROR(ValidateObservations(obs));
  ENSURE(std::isfinite(options.epsilon) && options.epsilon >= 0 && options.epsilon <= 1,
         "calibration: epsilon is ", options.epsilon, ", expected a fraction in [0, 1]");
  ENSURE(options.quantile_steps >= 0 && options.quantile_steps <= 1000,
         "calibration: quantile_steps is ", options.quantile_steps, ", expected 0 to 1000");
  ENSURE(options.refine_rounds >= 0 && options.refine_rounds <= 100,
         "calibration: refine_rounds is ", options.refine_rounds, ", expected 0 to 100");
  ENSURE(options.refine_points >= 1 && options.refine_points <= 100000,
         "calibration: refine_points is ", options.refine_points, ", expected 1 to 100000");
  ENSURE(options.reference == AccuracyReference::kAuto ||
             options.reference == AccuracyReference::kLabels ||
             options.reference == AccuracyReference::kFinalExit,
         "calibration: unknown accuracy reference ", static_cast<int>(options.reference));
  ASSIGN_OR_RETURN(const Reference ref,
                   calibration_internal::ResolveReference(obs, options.reference));
  const int k = obs.num_exits - 1;
  const int64_t n = obs.num_samples;
  const Bands bands(obs, k);  // 1. The candidates.
  std::vector<Point> pool;
  Thresholds store(k);
  int64_t seq = 0;

  // 2. The greedy path (its first point is the final exit alone).
  GreedyPath path(obs, ref, bands);
  path.Run(&pool, &seq);
  // 3. Each early exit alone, and the shared-quantile family.
  for (int j = 0; j < k; ++j) {
    std::vector<float> thresholds(k, kOff);
    thresholds[j] = -kOff;
    pool.push_back(Evaluate(obs, ref, thresholds, &seq, &store));
  }
  const int q = k > 0 ? options.quantile_steps : 0;
  for (int step = 0; step <= q && q > 0; ++step) {
    std::vector<float> thresholds(k, kOff);
    // Rank ceil(step / q * N) - 1: the lowest score that admits a fraction step / q of samples.
    const int64_t admitted = (step * n + q - 1) / q;
    for (int j = 0; j < k && admitted > 0; ++j) {
      thresholds[j] = obs.score(bands.order[j][admitted - 1], j);
    }
    pool.push_back(Evaluate(obs, ref, thresholds, &seq, &store));
  }
  // 4. The front so far, with thresholds.
  Prune(&pool);
  path.Materialise(&pool, &store);
  store.Compact(&pool);

  // 5. Refinement: sweep each exit's threshold from points spread over the front.
  SweepScratch scratch;
  for (int round = 0; round < options.refine_rounds && k > 0; ++round) {
    std::vector<std::vector<float>> bases;
    for (size_t at : SpreadOver(pool.size(), options.refine_points)) {
      bases.push_back(store.Get(pool[at].stored));
    }
    std::vector<std::pair<int64_t, int64_t>> before;
    for (const Point& p : pool) before.emplace_back(p.macs, p.correct);
    for (size_t b = 0; b < bases.size(); ++b) {
      for (int j = 0; j < k; ++j) {
        Sweep(obs, ref, bands, bases[b], static_cast<int32_t>(b), j, &pool, &seq, &scratch);
      }
      // Bound the pool: dominated points can never come back.
      if (pool.size() > 4 * static_cast<size_t>(n) + 64) Prune(&pool);
    }
    Prune(&pool);
    for (Point& p : pool) {
      if (p.base < 0) continue;
      std::vector<float> thresholds = bases[p.base];
      thresholds[p.exit] = p.bands == 0 ? kOff : bands.scores[p.exit][p.bands - 1];
      p.stored = store.Add(thresholds.data());
      p.base = -1;
    }
    store.Compact(&pool);
    std::vector<std::pair<int64_t, int64_t>> after;
    for (const Point& p : pool) after.emplace_back(p.macs, p.correct);
    if (after == before) break;  // A fixed point: further rounds would find nothing new.
  }

  // 6. The curve and the choice.
  CalibrationResult result;
  result.epsilon = options.epsilon;
  result.explored = seq;
  const double evaluated = static_cast<double>(ref.num_evaluated);
  for (Point& p : pool) {
    CurvePoint c;
    c.thresholds = store.Get(p.stored);
    c.correct = p.correct;
    c.accuracy = static_cast<double>(p.correct) / evaluated;
    c.mean_macs = static_cast<double>(p.macs) / static_cast<double>(n);
    result.curve.push_back(std::move(c));
  }
  const int64_t best = result.curve.back().correct;
  result.best_accuracy = result.curve.back().accuracy;
  // Within epsilon, counted in samples; the 1e-9 absorbs the rounding of epsilon x evaluated.
  const double least = static_cast<double>(best) - options.epsilon * evaluated - 1e-9 * evaluated;
  size_t choice = result.curve.size() - 1;
  for (size_t c = 0; c < result.curve.size(); ++c) {
    if (static_cast<double>(result.curve[c].correct) >= least) {
      choice = c;
      break;
    }
  }
  result.thresholds = result.curve[choice].thresholds;
  ASSIGN_OR_RETURN(result.chosen, SimulateEarlyExit(obs, result.thresholds, ref.kind));
  ASSIGN_OR_RETURN(result.final_only,
                   SimulateEarlyExit(obs, std::vector<float>(k, kOff), ref.kind));
  if (result.chosen.correct != result.curve[choice].correct) {
    return Error(StatusCode::kInternal, "calibration: the chosen point simulates to ",
                 result.chosen.correct, " correct answers, the search counted ",
                 result.curve[choice].correct);
  }
  return result;
}

}  // namespace persephonee
