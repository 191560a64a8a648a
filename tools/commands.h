// The `persephonee` command-line program: one function per subcommand.
//
// Each takes the arguments after the subcommand's name and returns the process exit code:
// 0 success, 1 the work failed (the reason is printed), 2 the command line was wrong.
#ifndef PERSEPHONEE_TOOLS_COMMANDS_H_
#define PERSEPHONEE_TOOLS_COMMANDS_H_

#include <string>
#include <vector>

namespace persephonee {
namespace cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

/// A subcommand: its name, a one-line summary for --help, and its entry point.
struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

/// Runs the program on argv (argv[0] is the program name); returns the exit code.
int RunCli(int argc, char** argv);

/// Every subcommand, in the order --help lists them.
const std::vector<Command>& AllCommands();

int RunCpu(const std::vector<std::string>& args);
int RunInfo(const std::vector<std::string>& args);
int RunZoo(const std::vector<std::string>& args);
int RunPlan(const std::vector<std::string>& args);
int RunRun(const std::vector<std::string>& args);
int RunBench(const std::vector<std::string>& args);
int RunPersonalise(const std::vector<std::string>& args);
int RunFineTune(const std::vector<std::string>& args);
int RunEvaluate(const std::vector<std::string>& args);
int RunInfer(const std::vector<std::string>& args);
int RunPretrain(const std::vector<std::string>& args);
int RunUsers(const std::vector<std::string>& args);
int RunDemo(const std::vector<std::string>& args);

}  // namespace cli
}  // namespace persephonee

#endif  // PERSEPHONEE_TOOLS_COMMANDS_H_
