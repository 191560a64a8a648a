#include "tools/engine_cli.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "graph/model_format.h"
#include "graph/zoo.h"
#include "tools/commands.h"

namespace persephonee {
namespace cli {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

size_t PerImage(const Shape& shape) {
  size_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= static_cast<size_t>(shape[i]);
  return n;
}

}  // namespace

StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                               const std::vector<std::string>& value_flags,
                               const std::vector<std::string>& switch_flags) {
  ParsedArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      parsed.help = true;
    } else if (Contains(value_flags, a)) {
      ENSURE(i + 1 < args.size(), a, " needs a value");
      ENSURE(parsed.values.count(a) == 0, a, " given twice");
      parsed.values[a] = args[++i];
    } else if (Contains(switch_flags, a)) {
      ENSURE(parsed.switches.count(a) == 0, a, " given twice");
      parsed.switches[a] = true;
    } else if (a.size() > 1 && a[0] == '-') {
      return Error(StatusCode::kInvalidArgument, "unknown option '", a, "'");
    } else {
      parsed.positional.push_back(a);
    }
  }
  return parsed;
}

StatusOr<int64_t> IntFlag(const ParsedArgs& parsed, const std::string& flag, int64_t fallback,
                          int64_t lo, int64_t hi) {
  auto it = parsed.values.find(flag);
  if (it == parsed.values.end()) return fallback;
  const std::string& s = it->second;
  const size_t sign = !s.empty() && s[0] == '-' ? 1 : 0;
  const bool digits =
      s.size() > sign && s.find_first_not_of("0123456789", sign) == std::string::npos;
  errno = 0;
  char* end = nullptr;
  const long long v = digits ? std::strtoll(s.c_str(), &end, 10) : 0;
  ENSURE(digits && errno == 0 && end == s.c_str() + s.size() && v >= lo && v <= hi, flag,
         " must be an integer in [", lo, ", ", hi, "], got '", s, "'");
  return static_cast<int64_t>(v);
}

bool IsZooModelArg(const std::string& model) { return model.rfind(kZooPrefix, 0) == 0; }

Status CheckZooName(const std::string& model) {
  if (!IsZooModelArg(model)) return Status::Ok();
  StatusOr<ZooModelInfo> info = FindZooModel(model.substr(sizeof(kZooPrefix) - 1));
  return info.ok() ? Status::Ok() : info.status().WithContext("MODEL '" + model + "'");
}

StatusOr<Graph> LoadModelArg(const std::string& model) {
  if (IsZooModelArg(model)) {
    const std::string name = model.substr(sizeof(kZooPrefix) - 1);
    StatusOr<ZooModelInfo> info = FindZooModel(name);
    if (!info.ok()) return info.status().WithContext("MODEL '" + model + "'");
    StatusOr<Graph> g = BuildZooModel(name, 1);
    if (!g.ok()) return g.status().WithContext("MODEL '" + model + "'");
    return g;
  }
  ENSURE(!model.empty(), "MODEL is an empty string");
  return LoadGraph(model);
}

void FillSyntheticInput(float* x, size_t n) {
  uint64_t state = 0x5eed;
  for (size_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(SplitMix64(&state) >> 40) * (1.0f / 16777216.0f);
  }
}

size_t InputElementsPerImage(const Engine& engine) {
  return PerImage(engine.graph().tensor(engine.graph().inputs()[0]).shape);
}

size_t OutputElementsPerImage(const Engine& engine) {
  return PerImage(engine.graph().tensor(engine.graph().outputs()[0]).shape);
}

StatusOr<std::unique_ptr<Engine>> MakeEngine(Graph graph, const std::string& model, int64_t batch,
                                             int threads) {
  EngineOptions options;
  options.batch = batch;
  options.threads = threads;
  StatusOr<std::unique_ptr<Engine>> engine = Engine::Create(std::move(graph), options);
  if (!engine.ok()) return engine.status().WithContext("planning '" + model + "'");
  return engine;
}

Status CheckOneInputOneOutput(const Engine& engine, const std::string& model) {
  const size_t inputs = engine.graph().inputs().size(), outputs = engine.graph().outputs().size();
  ENSURE_CODE(inputs == 1 && outputs == 1, kUnimplemented, "'", model, "' has ", inputs,
              " inputs and ", outputs, " outputs; only models with one of each can be run here");
  return Status::Ok();
}

int UsageError(const char* command, const std::string& message, const std::string& usage) {
  std::fprintf(stderr, "persephonee %s: %s\n\n%s", command, message.c_str(), usage.c_str());
  return kExitUsage;
}

int Failure(const char* command, const Status& status) {
  std::fprintf(stderr, "persephonee %s: %s\n", command, status.ToString().c_str());
  return kExitFailure;
}

}  // namespace cli
}  // namespace persephonee
