// `persephonee bench MODEL [--threads N] [--batch N] [--iterations K] [--warmup W]`: the
// engine's latency on one model (median, min, p90), images/s and GFLOP/s.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "graph/flops.h"
#include "tools/commands.h"
#include "tools/engine_cli.h"

namespace persephonee {
namespace cli {
namespace {

constexpr const char* kUsage =
    "usage: persephonee bench MODEL [--threads N] [--batch N] [--iterations K] [--warmup W]\n"
    "\n"
    "Times the engine's forward pass on MODEL: W untimed runs, then K timed runs, each timed\n"
    "alone (steady clock). Prints the median, minimum and 90th percentile (nearest rank)\n"
    "latency in milliseconds, images per second (batch / median) and GFLOP/s (the model's\n"
    "FLOPs, 2 x the multiply-accumulates of convolutions and fully-connected layers, over the\n"
    "median), and the process's peak resident memory (VmHWM). The input is synthetic, uniform\n"
    "in [0, 1) (SplitMix64, seed 0x5eed), written before every run outside the timing.\n"
    "\n"
    "MODEL is a model file (docs/model-format.md), or zoo:NAME for a zoo model built in\n"
    "memory with seed 1 (zoo:fmnist_resnet, zoo:resnet20, zoo:mobilenet_v2, zoo:resnet18).\n"
    "\n"
    "options:\n"
    "  --threads N     threads, 1 to 256 (default 1)\n"
    "  --batch N       images per run, 1 to 65536 (default 1)\n"
    "  --iterations K  timed runs, 1 to 1000000 (default 20)\n"
    "  --warmup W      untimed runs first, 0 to 1000000 (default 3)\n";

// The median of a non-empty sorted vector (the mean of the middle two for an even count).
double Median(const std::vector<double>& sorted) {
  const size_t n = sorted.size();
  return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

// The p-th percentile of a non-empty sorted vector by nearest rank: the ceil(p/100 · n)-th value.
double Percentile(const std::vector<double>& sorted, double p) {
  const size_t rank =
      static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

// VmHWM (peak resident set) of this process in KiB, or -1 where /proc does not say.
long PeakRssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

}  // namespace

int RunBench(const std::vector<std::string>& args) {
  StatusOr<ParsedArgs> parsed =
      ParseArgs(args, {"--threads", "--batch", "--iterations", "--warmup"}, {});
  if (!parsed.ok()) return UsageError("bench", parsed.status().message(), kUsage);
  if (parsed->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (parsed->positional.empty()) return UsageError("bench", "missing MODEL", kUsage);
  if (parsed->positional.size() > 1) {
    return UsageError("bench", "unexpected argument '" + parsed->positional[1] + "'", kUsage);
  }
  const std::string& model = parsed->positional[0];
  StatusOr<int64_t> threads = IntFlag(*parsed, "--threads", 1, 1, 256);
  if (!threads.ok()) return UsageError("bench", threads.status().message(), kUsage);
  StatusOr<int64_t> batch = IntFlag(*parsed, "--batch", 1, 1, 65536);
  if (!batch.ok()) return UsageError("bench", batch.status().message(), kUsage);
  StatusOr<int64_t> iterations = IntFlag(*parsed, "--iterations", 20, 1, 1000000);
  if (!iterations.ok()) return UsageError("bench", iterations.status().message(), kUsage);
  StatusOr<int64_t> warmup = IntFlag(*parsed, "--warmup", 3, 0, 1000000);
  if (!warmup.ok()) return UsageError("bench", warmup.status().message(), kUsage);
  Status known = CheckZooName(model);
  if (!known.ok()) return UsageError("bench", known.message(), kUsage);

  StatusOr<Graph> graph = LoadModelArg(model);
  if (!graph.ok()) return Failure("bench", graph.status());
  StatusOr<std::unique_ptr<Engine>> made =
      MakeEngine(std::move(*graph), model, *batch, static_cast<int>(*threads));
  if (!made.ok()) return Failure("bench", made.status());
  Engine& engine = **made;
  Status one = CheckOneInputOneOutput(engine, model);
  if (!one.ok()) return Failure("bench", one);
  // The arena reuses the input's memory once it has been read, so the input is written before
  // every run (outside the timed region), as an application writes each new image.
  std::vector<float> input(static_cast<size_t>(*batch) * InputElementsPerImage(engine));
  FillSyntheticInput(input.data(), input.size());

  for (int64_t i = 0; i < *warmup; ++i) {
    std::memcpy(engine.input(), input.data(), input.size() * sizeof(float));
    Status s = engine.Run();
    if (!s.ok()) return Failure("bench", s);
  }
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(*iterations));
  for (int64_t i = 0; i < *iterations; ++i) {
    std::memcpy(engine.input(), input.data(), input.size() * sizeof(float));
    const auto start = std::chrono::steady_clock::now();
    Status s = engine.Run();
    const auto stop = std::chrono::steady_clock::now();
    if (!s.ok()) return Failure("bench", s);
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = Median(ms);
  const double flops = static_cast<double>(ComputeGraphCost(engine.graph()).total.flops);
  const double seconds = median * 1e-3;

  std::printf("model: %s (batch %lld, threads %lld; %lld timed runs after %lld warm-up)\n",
              model.c_str(), static_cast<long long>(*batch), static_cast<long long>(*threads),
              static_cast<long long>(*iterations), static_cast<long long>(*warmup));
  std::printf("latency ms: median %.4f  min %.4f  p90 %.4f\n", median, ms.front(),
              Percentile(ms, 90.0));
  std::printf("throughput: %.2f images/s\n",
              seconds > 0 ? static_cast<double>(*batch) / seconds : 0.0);
  std::printf("compute: %.3f GFLOP/s (%.4f GFLOP per run)\n",
              seconds > 0 ? flops * 1e-9 / seconds : 0.0, flops * 1e-9);
  std::printf("arena: %zu bytes\n", engine.arena_report().arena_bytes);
  const long rss = PeakRssKib();
  if (rss >= 0) std::printf("peak RSS: %.1f MiB (VmHWM)\n", static_cast<double>(rss) / 1024.0);
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
