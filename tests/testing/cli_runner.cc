#include "tests/testing/cli_runner.h"

#include <gtest/gtest.h>

#include "tools/commands.h"

namespace persephonee {
namespace cli {

Result RunArgs(std::vector<std::string> args) {
  args.insert(args.begin(), "persephonee");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const int code = RunCli(static_cast<int>(argv.size()), argv.data());
  return {code, testing::internal::GetCapturedStdout(), testing::internal::GetCapturedStderr()};
}

}  // namespace cli
}  // namespace persephonee
