// `persephonee plan MODEL... [--batch N] [--json]`: what the memory planner makes of a model's
// activations (the arena, its lower bound, the no-reuse total), and the packed parameters.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/commands.h"
#include "tools/engine_cli.h"

namespace persephonee {
namespace cli {
namespace {

constexpr const char* kUsage =
    "usage: persephonee plan MODEL... [--batch N] [--json]\n"
    "\n"
    "Plans each MODEL as the engine runs it (BatchNorm folded into convolutions, ReLU/ReLU6\n"
    "fused, batch N) and prints what the memory planner made of its activations:\n"
    "  arena           bytes of the one arena every activation lives in (the plan)\n"
    "  lower bound     the largest sum of live activation bytes at any step\n"
    "  no reuse        bytes if every activation had its own buffer\n"
    "  arena / lower bound, the buffers planned, the in-place grants (element-wise ops\n"
    "  that write over their input) and the parameter bytes the operators packed.\n"
    "\n"
    "MODEL is a model file (docs/model-format.md), or zoo:NAME for a zoo model built in\n"
    "memory with seed 1 (zoo:fmnist_resnet, zoo:resnet20, zoo:mobilenet_v2, zoo:resnet18).\n"
    "\n"
    "options:\n"
    "  --batch N   images per run, 1 to 65536 (default 1)\n"
    "  --json      print a JSON array with one object per model instead of text\n";

struct PlanRow {
  std::string model;
  int64_t batch = 1;
  int32_t nodes = 0;
  ArenaReport report;
};

// 1234567 -> "1,234,567".
std::string Grouped(size_t v) {
  const std::string digits = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

double Ratio(const ArenaReport& r) {
  return r.lower_bound_bytes == 0
             ? 0.0
             : static_cast<double>(r.arena_bytes) / static_cast<double>(r.lower_bound_bytes);
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

void PrintText(const PlanRow& row) {
  const ArenaReport& r = row.report;
  const double mib = 1.0 / (1024.0 * 1024.0);
  std::printf("model: %s (batch %lld, %d nodes after folding and fusion)\n", row.model.c_str(),
              static_cast<long long>(row.batch), row.nodes);
  std::printf("  arena:               %15s bytes (%.2f MiB)\n", Grouped(r.arena_bytes).c_str(),
              static_cast<double>(r.arena_bytes) * mib);
  std::printf("  lower bound:         %15s bytes (%.2f MiB)\n",
              Grouped(r.lower_bound_bytes).c_str(), static_cast<double>(r.lower_bound_bytes) * mib);
  std::printf("  no reuse:            %15s bytes (%.2f MiB)\n", Grouped(r.no_reuse_bytes).c_str(),
              static_cast<double>(r.no_reuse_bytes) * mib);
  std::printf("  arena / lower bound: %15.4f\n", Ratio(r));
  std::printf("  buffers:             %15zu\n", r.buffers);
  std::printf("  in-place grants:     %15zu\n", r.in_place);
  std::printf("  parameter bytes:     %15s (%.2f MiB)\n", Grouped(r.parameter_bytes).c_str(),
              static_cast<double>(r.parameter_bytes) * mib);
}

void PrintJson(const std::vector<PlanRow>& rows) {
  std::printf("[");
  for (size_t i = 0; i < rows.size(); ++i) {
    const ArenaReport& r = rows[i].report;
    std::printf(
        "%s\n  {\"model\": %s, \"batch\": %lld, \"nodes\": %d, \"arena_bytes\": %zu, "
        "\"lower_bound_bytes\": %zu, \"no_reuse_bytes\": %zu, \"arena_over_lower_bound\": %.6f, "
        "\"buffers\": %zu, \"in_place\": %zu, \"parameter_bytes\": %zu}",
        i == 0 ? "" : ",", JsonString(rows[i].model).c_str(), static_cast<long long>(rows[i].batch),
        rows[i].nodes, r.arena_bytes, r.lower_bound_bytes, r.no_reuse_bytes, Ratio(r), r.buffers,
        r.in_place, r.parameter_bytes);
  }
  std::printf("\n]\n");
}

}  // namespace

int RunPlan(const std::vector<std::string>& args) {
  StatusOr<ParsedArgs> parsed = ParseArgs(args, {"--batch"}, {"--json"});
  if (!parsed.ok()) return UsageError("plan", parsed.status().message(), kUsage);
  if (parsed->help) {
    std::fputs(kUsage, stdout);
    return kExitOk;
  }
  if (parsed->positional.empty()) return UsageError("plan", "missing MODEL", kUsage);
  StatusOr<int64_t> batch = IntFlag(*parsed, "--batch", 1, 1, 65536);
  if (!batch.ok()) return UsageError("plan", batch.status().message(), kUsage);
  for (const std::string& model : parsed->positional) {
    Status known = CheckZooName(model);
    if (!known.ok()) return UsageError("plan", known.message(), kUsage);
  }

  std::vector<PlanRow> rows;
  for (const std::string& model : parsed->positional) {
    StatusOr<Graph> graph = LoadModelArg(model);
    if (!graph.ok()) return Failure("plan", graph.status());
    StatusOr<std::unique_ptr<Engine>> engine = MakeEngine(std::move(*graph), model, *batch, 1);
    if (!engine.ok()) return Failure("plan", engine.status());
    rows.push_back({model, *batch, (*engine)->graph().num_nodes(), (*engine)->arena_report()});
  }
  if (parsed->switches.count("--json")) {
    PrintJson(rows);
  } else {
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i > 0) std::printf("\n");
      PrintText(rows[i]);
    }
  }
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
