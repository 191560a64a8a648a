// Runs the `persephonee` command line in-process for tests, capturing what it prints.
#ifndef PERSEPHONEE_TESTS_TESTING_CLI_RUNNER_H_
#define PERSEPHONEE_TESTS_TESTING_CLI_RUNNER_H_

#include <string>
#include <vector>

namespace persephonee {
namespace cli {

/// The exit code and the captured standard output and error of one run.
struct Result {
  int code;
  std::string out;
  std::string err;
};

/// RunCli with "persephonee" followed by `args`.
Result RunArgs(std::vector<std::string> args);

}  // namespace cli
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_TESTING_CLI_RUNNER_H_
