// Inference: the engine against the same XNNPACK operators called directly, in one process.
//
// For each zoo model (fmnist_resnet, resnet20, mobilenet_v2, resnet18), batch 1, 1 and 2
// threads, one benchmark builds:
//   engine  Engine::Create(graph): the optimised graph, one NodeOp per node, every activation
//           in one planned arena, Run();
//   direct  the same optimised graph (FoldBatchNorm, FuseActivations, SetBatchSize(1): the
//           passes the engine applies), NodeOp::Create per node, every tensor in its own
//           separately allocated buffer, run by a hand-written loop over the operators: no
//           planner, no arena, no engine. It is the floor the engine is measured against.
// Both read the same input, and their outputs are checked to agree before anything is timed.
// Each iteration runs both once, alternating which goes first, and times each alone; the
// counters give the median of each and their ratio, so a noisy machine moves both sides alike.
// Both run on one pthreadpool (the engine's): two pools on a small machine would have one
// pool's workers spinning while the other works.
//
// After the benchmarks, a summary gives per model and thread count
//   ratio engine/direct <model> t<threads> = <x>      (target <= 1.03)
// per model the engine's arena over the planner's lower bound (target <= 1.05) and the
// speed-up of 2 threads over 1 (target >= 1.7 on resnet18). With --benchmark_repetitions=R
// every repetition's samples go into the medians.
//
//   bazel run -c opt //benchmarks:inference
//   bazel run -c opt //benchmarks:inference -- --benchmark_filter=resnet18 --iterations_scale=2
#include <benchmark/benchmark.h>
#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/engine.h"
#include "engine/node_op.h"
#include "graph/flops.h"
#include "graph/passes.h"
#include "graph/shape_inference.h"
#include "graph/zoo.h"

namespace persephonee {
namespace {

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float, FreeDeleter>;

// The optimised graph's operators, each bound to buffers of its own, run in order.
class DirectSequence {
 public:
  // Optimises `graph` as the engine does and binds every operator; `pool` is not owned.
  static StatusOr<std::unique_ptr<DirectSequence>> Create(const Graph& graph, pthreadpool_t pool) {
    std::unique_ptr<DirectSequence> d(new DirectSequence());
    d->pool_ = pool;
    ASSIGN_OR_RETURN(Graph folded, FoldBatchNorm(graph));
    ASSIGN_OR_RETURN(d->graph_, FuseActivations(folded));
    RETURN_IF_ERROR(SetBatchSize(&d->graph_, 1));
    const Graph& g = d->graph_;
    d->ptr_.assign(static_cast<size_t>(g.num_tensors()), nullptr);
    for (TensorId t : g.inputs()) RETURN_IF_ERROR(d->Allocate(t));
    for (NodeId n = 0; n < g.num_nodes(); ++n) {
      const Node& node = g.node(n);
      ASSIGN_OR_RETURN(NodeOp op, NodeOp::Create(g, n));
      const std::vector<TensorId> in_ids = ActivationInputs(g, node);
      if (op.is_alias()) {
        d->ptr_[static_cast<size_t>(node.output)] = d->ptr_[static_cast<size_t>(in_ids[0])];
      } else {
        RETURN_IF_ERROR(d->Allocate(node.output));
      }
      std::vector<const float*> in;
      for (TensorId t : in_ids) in.push_back(d->ptr_[static_cast<size_t>(t)]);
      RETURN_IF_ERROR(op.Setup(in, d->ptr_[static_cast<size_t>(node.output)], pool));
      d->ops_.push_back(std::move(op));
    }
    return d;
  }

  float* input() { return ptr_[static_cast<size_t>(graph_.inputs()[0])]; }
  const float* output() const { return ptr_[static_cast<size_t>(graph_.outputs()[0])]; }
  size_t output_size() const {
    return static_cast<size_t>(NumElements(graph_.tensor(graph_.outputs()[0]).shape));
  }

  Status Run() {
    for (NodeOp& op : ops_) RETURN_IF_ERROR(op.Run(pool_));
    return Status::Ok();
  }

 private:
  DirectSequence() = default;

  // A 64-byte aligned buffer for tensor `t`, with XNNPACK's XNN_EXTRA_BYTES of readable slack.
  Status Allocate(TensorId t) {
    const size_t bytes = static_cast<size_t>(NumElements(graph_.tensor(t).shape)) * sizeof(float);
    const size_t padded = (bytes + XNN_EXTRA_BYTES + 63) / 64 * 64;
    Buffer b(static_cast<float*>(std::aligned_alloc(64, padded)));
    ENSURE_CODE(b != nullptr, kResourceExhausted, "direct: cannot allocate ", padded, " bytes");
    std::memset(b.get(), 0, padded);
    ptr_[static_cast<size_t>(t)] = b.get();
    buffers_.push_back(std::move(b));
    return Status::Ok();
  }

  Graph graph_;
  pthreadpool_t pool_ = nullptr;
  std::vector<NodeOp> ops_;
  std::vector<Buffer> buffers_;
  std::vector<float*> ptr_;  // per tensor
};

const char* const kModels[] = {"fmnist_resnet", "resnet20", "mobilenet_v2", "resnet18"};

// Iterations per benchmark run (each runs both sides once) at --iterations_scale=1: about three
// seconds per model and thread count on a 2-core x86-64 host.
int64_t BaseIterations(const std::string& model) {
  if (model == "fmnist_resnet") return 2000;
  if (model == "resnet20") return 1500;
  if (model == "mobilenet_v2") return 120;
  return 40;
}

double g_iterations_scale = 1.0;

// What the runs of one (model, threads) measured, over every repetition.
struct Samples {
  std::vector<double> engine_ms, direct_ms;
  size_t arena_bytes = 0, lower_bound_bytes = 0;
  double gflop = 0.0;
};
std::map<std::pair<std::string, int>, Samples> g_samples;

const Graph& ZooGraph(const std::string& name) {
  static std::map<std::string, Graph> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    StatusOr<Graph> g = BuildZooModel(name, 1);
    if (!g.ok()) {
      std::fprintf(stderr, "inference: %s\n", g.status().ToString().c_str());
      std::exit(1);
    }
    it = cache.emplace(name, std::move(*g)).first;
  }
  return it->second;
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The same input for both sides: uniform [0, 1) from a fixed seed (xorshift32).
void FillInput(float* x, size_t n) {
  uint32_t s = 2463534242u;
  for (size_t i = 0; i < n; ++i) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    x[i] = static_cast<float>(s >> 8) / 16777216.0f;
  }
}

double TimeMs(const std::function<Status()>& run, Status* status) {
  const auto start = std::chrono::steady_clock::now();
  *status = run();
  const auto stop = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(stop - start).count();
}

void BM_EngineVsDirect(benchmark::State& state, const std::string& model, int threads) {
  const Graph& graph = ZooGraph(model);
  EngineOptions options;
  options.threads = threads;
  StatusOr<std::unique_ptr<Engine>> made = Engine::Create(graph, options);
  if (!made.ok()) return state.SkipWithError(made.status().ToString().c_str());
  Engine& engine = **made;
  StatusOr<std::unique_ptr<DirectSequence>> direct_made =
      DirectSequence::Create(graph, engine.threadpool());
  if (!direct_made.ok()) return state.SkipWithError(direct_made.status().ToString().c_str());
  DirectSequence& direct = **direct_made;

  const Shape& in_shape = engine.graph().tensor(engine.graph().inputs()[0]).shape;
  const size_t in_bytes = static_cast<size_t>(NumElements(in_shape)) * sizeof(float);
  std::vector<float> x(in_bytes / sizeof(float));
  FillInput(x.data(), x.size());
  // The engine's arena reuses the input's memory once the input has been read, so the input is
  // written before every run, on both sides alike, outside the timed region.
  Status status;
  auto run_engine = [&] {
    std::memcpy(engine.input(), x.data(), in_bytes);
    return TimeMs([&] { return engine.Run(); }, &status);
  };
  auto run_direct = [&] {
    std::memcpy(direct.input(), x.data(), in_bytes);
    return TimeMs([&] { return direct.Run(); }, &status);
  };
  // Warm up both and check they compute the same network.
  for (int i = 0; i < 2; ++i) {
    run_engine();
    if (!status.ok()) return state.SkipWithError(status.ToString().c_str());
    run_direct();
    if (!status.ok()) return state.SkipWithError(status.ToString().c_str());
  }
  double worst = 0.0, scale = 1e-30;
  for (size_t i = 0; i < direct.output_size(); ++i) {
    worst = std::max(worst, std::fabs(double{engine.output()[i]} - direct.output()[i]));
    scale = std::max(scale, std::fabs(double{direct.output()[i]}));
  }
  if (!(worst / scale <= 1e-5)) {
    const std::string why = "engine and direct outputs differ: max |diff| " +
                            std::to_string(worst) + " over max |direct| " + std::to_string(scale);
    return state.SkipWithError(why.c_str());
  }

  std::vector<double> engine_ms, direct_ms;
  bool engine_first = true;
  for (auto _ : state) {
    double e = 0.0, d = 0.0;
    if (engine_first) {
      e = run_engine();
      if (status.ok()) d = run_direct();
    } else {
      d = run_direct();
      if (status.ok()) e = run_engine();
    }
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      break;
    }
    engine_first = !engine_first;
    engine_ms.push_back(e);
    direct_ms.push_back(d);
    state.SetIterationTime(e * 1e-3);
  }
  if (engine_ms.empty()) return;
  Samples& samples = g_samples[{model, threads}];
  samples.engine_ms.insert(samples.engine_ms.end(), engine_ms.begin(), engine_ms.end());
  samples.direct_ms.insert(samples.direct_ms.end(), direct_ms.begin(), direct_ms.end());
  samples.arena_bytes = engine.arena_report().arena_bytes;
  samples.lower_bound_bytes = engine.arena_report().lower_bound_bytes;
  samples.gflop = static_cast<double>(ComputeGraphCost(engine.graph()).total.flops) * 1e-9;

  const double em = Median(engine_ms), dm = Median(direct_ms);
  state.counters["engine_ms"] = em;
  state.counters["direct_ms"] = dm;
  state.counters["engine/direct"] = em / dm;
  state.counters["GFLOP/s"] = samples.gflop / (em * 1e-3);
  state.SetLabel("time = engine; counters = medians");
}

void PrintSummary(FILE* out) {
  std::fprintf(out, "\nsummary (medians over every iteration of every repetition):\n");
  if (g_samples.empty()) {
    std::fprintf(out, "no benchmark completed\n");
    return;
  }
  bool ratio_ok = true, arena_ok = true;
  for (const char* model : kModels) {
    for (int threads : {1, 2}) {
      auto it = g_samples.find({model, threads});
      if (it == g_samples.end()) continue;
      const Samples& s = it->second;
      const double ratio = Median(s.engine_ms) / Median(s.direct_ms);
      ratio_ok = ratio_ok && ratio <= 1.03;
      std::fprintf(out,
                   "ratio engine/direct %s t%d = %.4f  (engine %.4f ms, direct %.4f ms, %zu "
                   "runs)\n",
                   model, threads, ratio, Median(s.engine_ms), Median(s.direct_ms),
                   s.engine_ms.size());
    }
  }
  for (const char* model : kModels) {
    auto it = g_samples.find({model, 1});
    if (it == g_samples.end()) it = g_samples.find({model, 2});
    if (it == g_samples.end()) continue;
    const Samples& s = it->second;
    const double r = static_cast<double>(s.arena_bytes) / static_cast<double>(s.lower_bound_bytes);
    arena_ok = arena_ok && r <= 1.05;
    std::fprintf(out, "arena/lower-bound %s = %.4f  (arena %zu bytes, lower bound %zu bytes)\n",
                 model, r, s.arena_bytes, s.lower_bound_bytes);
  }
  for (const char* model : kModels) {
    auto one = g_samples.find({model, 1}), two = g_samples.find({model, 2});
    if (one == g_samples.end() || two == g_samples.end()) continue;
    std::fprintf(out, "speedup t2/t1 %s = %.3f (engine), %.3f (direct)\n", model,
                 Median(one->second.engine_ms) / Median(two->second.engine_ms),
                 Median(one->second.direct_ms) / Median(two->second.direct_ms));
  }
  std::fprintf(out, "target engine/direct <= 1.03 on every run above: %s\n",
               ratio_ok ? "met" : "NOT met");
  std::fprintf(out, "target arena/lower-bound <= 1.05 on every model above: %s\n",
               arena_ok ? "met" : "NOT met");
  auto one = g_samples.find({"resnet18", 1}), two = g_samples.find({"resnet18", 2});
  if (one != g_samples.end() && two != g_samples.end()) {
    const double speedup = Median(one->second.engine_ms) / Median(two->second.engine_ms);
    std::fprintf(out, "target resnet18 t2 >= 1.7x t1: %s (%.3f)\n",
                 speedup >= 1.7 ? "met" : "NOT met", speedup);
  }
}

}  // namespace
}  // namespace persephonee

int main(int argc, char** argv) {
  using persephonee::g_iterations_scale;
  // Our own flag, removed before Google Benchmark sees argv; and where the summary goes (stderr
  // when stdout carries JSON or CSV).
  bool machine_format = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--iterations_scale=", 0) == 0) {
      g_iterations_scale = std::atof(a.c_str() + std::strlen("--iterations_scale="));
      if (!(g_iterations_scale > 0.0)) {
        std::fprintf(stderr, "inference: --iterations_scale must be a positive number\n");
        return 2;
      }
      continue;
    }
    if (a == "--benchmark_format=json" || a == "--benchmark_format=csv") machine_format = true;
    argv[kept++] = argv[i];
  }
  argc = kept;
  for (const char* model : persephonee::kModels) {
    for (int threads : {1, 2}) {
      const int64_t iterations = std::max<int64_t>(
          3, static_cast<int64_t>(static_cast<double>(persephonee::BaseIterations(model)) *
                                  g_iterations_scale));
      benchmark::RegisterBenchmark(
          ("EngineVsDirect/" + std::string(model) + "/t" + std::to_string(threads)).c_str(),
          persephonee::BM_EngineVsDirect, std::string(model), threads)
          ->Iterations(iterations)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  std::fflush(stdout);
  persephonee::PrintSummary(machine_format ? stderr : stdout);
  benchmark::Shutdown();
  return 0;
}
