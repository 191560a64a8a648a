// The harness over base/file_faults.h: counts the mutating file system calls of an operation
// and acts on the N-th, in this process (kFail, kNoSpace) or in a forked child that the fault
// kills (kExit, kTornWrite). tests/training/reservoir_crash_test.cc and
// tests/base/file_io_test.cc use it to fail or kill a save at every one of its calls.
#ifndef PERSEPHONEE_TESTS_TESTING_FILE_FAULTS_H_
#define PERSEPHONEE_TESTS_TESTING_FILE_FAULTS_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "base/file_faults.h"
#include "base/status.h"

namespace persephonee {
namespace testing {

/// While it lives, counts every mutating file call (1-based) and answers `action` to call
/// number `at` (0: never), kProceed to the others. One at a time.
class FaultInjector {
 public:
  FaultInjector(size_t at, file_faults::FaultAction action);
  ~FaultInjector();
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  /// Calls seen so far.
  size_t calls() const { return log_.size(); }
  /// "op path" for each call seen, in order.
  const std::vector<std::string>& log() const { return log_; }
  /// True once call `at` has been answered.
  bool fired() const { return at_ != 0 && log_.size() >= at_; }

 private:
  static file_faults::FaultAction Hook(file_faults::FileOp op, const std::string& path, void* self);
  size_t at_;
  file_faults::FaultAction action_;
  std::vector<std::string> log_;
};

/// How a forked child running an operation ended.
struct ChildOutcome {
  bool killed_by_fault = false;  ///< It ended with file_faults::kFaultExitCode.
  bool succeeded = false;        ///< `body` returned OK.
  size_t calls = 0;              ///< Calls it made (known only when it was not killed).
  std::vector<std::string> log;  ///< FaultInjector::log() (known only when it was not killed).
  std::string error;             ///< What went wrong, if anything else did.
};

/// Runs `body` in a forked child under FaultInjector(at, action) and waits for it.
ChildOutcome RunInChild(const std::function<Status()>& body, size_t at,
                        file_faults::FaultAction action);

/// The mutating file calls `body` makes ("op path", in order), logged in a forked child (so
/// that the operation does not change this process's files); empty if `body` fails.
std::vector<std::string> LogCalls(const std::function<Status()>& body);

/// "exit", "torn write", "EIO", "ENOSPC".
const char* FaultActionName(file_faults::FaultAction action);

}  // namespace testing
}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_TESTING_FILE_FAULTS_H_
