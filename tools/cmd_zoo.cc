// `persephonee zoo NAME --out FILE [--seed S]`: writes a zoo model with seeded weights.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "graph/flops.h"
#include "graph/model_format.h"
#include "graph/zoo.h"
#include "tools/commands.h"

namespace persephonee {
namespace cli {
namespace {

std::string Usage() {
  return "usage: persephonee zoo NAME --out FILE [--seed S]\n"
         "       persephonee zoo --list\n"
         "\n"
         "Writes zoo model NAME, with weights drawn from seed S (default 1; He-uniform convs,\n"
         "near-identity BatchNorm), to the model file FILE (docs/model-format.md).\n"
         "Models: " +
         ZooModelNames() + "\n";
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "persephonee zoo: %s\n\n%s", message.c_str(), Usage().c_str());
  return kExitUsage;
}

// A decimal uint64 with nothing else around it.
bool ParseSeed(const std::string& s, uint64_t* seed) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || end != s.c_str() + s.size()) return false;
  *seed = static_cast<uint64_t>(v);
  return true;
}

}  // namespace

int RunZoo(const std::vector<std::string>& args) {
  std::string name, out;
  uint64_t seed = 1;
  bool have_out = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::fputs(Usage().c_str(), stdout);
      return kExitOk;
    }
    if (a == "--list") {
      for (const ZooModelInfo& m : ZooModels()) {
        std::printf("%-14s %s\n", m.name.c_str(), m.description.c_str());
      }
      return kExitOk;
    }
    if (a == "--out" || a == "--seed") {
      if (i + 1 >= args.size()) return UsageError(a + " needs a value");
      const std::string& value = args[++i];
      if (a == "--out") {
        if (value.empty()) return UsageError("--out needs a file name");
        out = value;
        have_out = true;
      } else if (!ParseSeed(value, &seed)) {
        return UsageError("--seed must be a non-negative integer below 2^64, got '" + value + "'");
      }
      continue;
    }
    if (a.rfind("-", 0) == 0) return UsageError("unknown option '" + a + "'");
    if (!name.empty()) return UsageError("unexpected argument '" + a + "'");
    name = a;
  }
  if (name.empty()) return UsageError("missing NAME");
  if (!FindZooModel(name).ok()) return UsageError(FindZooModel(name).status().message());
  if (!have_out) return UsageError("missing --out FILE");

  StatusOr<Graph> g = BuildZooModel(name, seed);
  if (!g.ok()) {
    std::fprintf(stderr, "persephonee zoo: %s\n", g.status().ToString().c_str());
    return kExitFailure;
  }
  Status saved = SaveGraph(*g, out);
  if (!saved.ok()) {
    std::fprintf(stderr, "persephonee zoo: %s\n", saved.ToString().c_str());
    return kExitFailure;
  }
  const GraphCost cost = ComputeGraphCost(*g);
  std::printf("wrote %s: %s, seed %llu, %d nodes, %lld MACs, %lld parameters\n", out.c_str(),
              name.c_str(), static_cast<unsigned long long>(seed), g->num_nodes(),
              static_cast<long long>(cost.total.macs), static_cast<long long>(cost.total.params));
  return kExitOk;
}

}  // namespace cli
}  // namespace persephonee
