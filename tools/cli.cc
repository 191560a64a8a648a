// The command-line dispatcher: global flags, then one subcommand from AllCommands().
#include <cstdio>
#include <string>
#include <vector>

#include "base/version.h"
#include "tools/commands.h"

namespace persephonee {
namespace cli {
namespace {

void PrintUsage(FILE* out) {
  std::fprintf(out,
               "usage: persephonee [--help | --version] <command> [args...]\n"
               "\n"
               "commands:\n");
  for (const Command& c : AllCommands()) std::fprintf(out, "  %-12s %s\n", c.name, c.summary);
  std::fprintf(out, "\nRun 'persephonee <command> --help' for a command's options.\n");
}

}  // namespace

int RunCli(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    PrintUsage(stderr);
    return kExitUsage;
  }
  const std::string& first = args[0];
  if (first == "--help" || first == "-h" || first == "help") {
    PrintUsage(stdout);
    return kExitOk;
  }
  if (first == "--version") {
    std::printf("persephonee %s\n", PERSEPHONEE_VERSION);
    return kExitOk;
  }
  for (const Command& c : AllCommands()) {
    if (first == c.name) return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  std::fprintf(stderr, "persephonee: unknown %s '%s'\n\n",
               first.rfind("-", 0) == 0 ? "option" : "command", first.c_str());
  PrintUsage(stderr);
  return kExitUsage;
}

}  // namespace cli
}  // namespace persephonee
