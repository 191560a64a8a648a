#include "tools/commands.h"

namespace persephonee {
namespace cli {

const std::vector<Command>& AllCommands() {
  static const std::vector<Command> commands = {
      {"cpu", "print what cpuinfo and XNNPACK report for this machine", RunCpu},
  };
  return commands;
}

}  // namespace cli
}  // namespace persephonee
