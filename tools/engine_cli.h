// What the engine commands (`plan`, `run`, `bench`) share: their flag parser, the MODEL
// argument (a model file or `zoo:NAME`), the deterministic synthetic input and the engine
// they build from those.
#ifndef PERSEPHONEE_TOOLS_ENGINE_CLI_H_
#define PERSEPHONEE_TOOLS_ENGINE_CLI_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/engine.h"
#include "graph/graph.h"

namespace persephonee {
namespace cli {

/// The prefix that names a zoo model instead of a file: "zoo:resnet18".
inline constexpr const char kZooPrefix[] = "zoo:";

/// A command line split into positional arguments, `--flag VALUE` pairs and bare switches.
struct ParsedArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  ///< Flags that take a value, by name ("--batch").
  std::map<std::string, bool> switches;       ///< Switches present ("--json").
  bool help = false;                          ///< --help or -h was given.
};

/// Splits `args`. `value_flags` take the next argument as their value; `switch_flags` take none.
/// Fails (kInvalidArgument, naming the argument) on an unknown option, a flag without a value,
/// or a flag given twice.
StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                               const std::vector<std::string>& value_flags,
                               const std::vector<std::string>& switch_flags);

/// The value of integer flag `flag` in `parsed`, or `fallback` if it is absent. Fails
/// (kInvalidArgument, naming the flag and the value) unless the value is a decimal integer in
/// [lo, hi].
StatusOr<int64_t> IntFlag(const ParsedArgs& parsed, const std::string& flag, int64_t fallback,
                          int64_t lo, int64_t hi);

/// Whether MODEL names a zoo model ("zoo:NAME") rather than a file.
bool IsZooModelArg(const std::string& model);

/// For `zoo:NAME` with an unknown NAME: kNotFound listing the valid names (a usage error, found
/// before anything is loaded); OK for any other argument.
Status CheckZooName(const std::string& model);

/// Loads MODEL: a model file (docs/model-format.md), or `zoo:NAME`, zoo model NAME built in
/// memory with seed 1. An unknown zoo name is kNotFound listing the valid names; file errors are
/// LoadGraph's (they name the file).
StatusOr<Graph> LoadModelArg(const std::string& model);

/// Fills `x[0..n)` with the synthetic input: uniform values in [0, 1) from SplitMix64 seeded
/// with 0x5eed (value i = the top 24 bits of splitmix64(i-th state) / 2^24), the same bits on
/// every machine.
void FillSyntheticInput(float* x, size_t n);

/// Elements of one image of the engine's first input (its shape without the batch dimension).
size_t InputElementsPerImage(const Engine& engine);
/// Elements of one image of the engine's first output.
size_t OutputElementsPerImage(const Engine& engine);

/// Builds an engine for `graph` with `batch` and `threads` (the optimisations on); errors name
/// `model`.
StatusOr<std::unique_ptr<Engine>> MakeEngine(Graph graph, const std::string& model, int64_t batch,
                                             int threads);

/// kUnimplemented (naming `model`) unless the engine's graph has exactly one input and one
/// output, which is what `run` and `bench` feed and read.
Status CheckOneInputOneOutput(const Engine& engine, const std::string& model);

/// Prints "persephonee <command>: <message>" and the usage to stderr; returns kExitUsage.
int UsageError(const char* command, const std::string& message, const std::string& usage);
/// Prints "persephonee <command>: <status>" to stderr; returns kExitFailure.
int Failure(const char* command, const Status& status);

}  // namespace cli
}  // namespace persephonee

#endif  // PERSEPHONEE_TOOLS_ENGINE_CLI_H_
