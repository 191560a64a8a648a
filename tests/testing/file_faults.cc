#include "tests/testing/file_faults.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace persephonee {
namespace testing {

using file_faults::FaultAction;

FaultInjector::FaultInjector(size_t at, FaultAction action) : at_(at), action_(action) {
  file_faults::SetFaultHook(&FaultInjector::Hook, this);
}

FaultInjector::~FaultInjector() { file_faults::SetFaultHook(nullptr, nullptr); }

FaultAction FaultInjector::Hook(file_faults::FileOp op, const std::string& path, void* self) {
  FaultInjector* me = static_cast<FaultInjector*>(self);
  me->log_.push_back(std::string(file_faults::FileOpName(op)) + " " + path);
  return me->log_.size() == me->at_ ? me->action_ : FaultAction::kProceed;
}

ChildOutcome RunInChild(const std::function<Status()>& body, size_t at, FaultAction action) {
  ChildOutcome outcome;
  int fds[2];
  if (pipe(fds) != 0) {
    outcome.error = "pipe failed";
    return outcome;
  }
  const pid_t pid = fork();
  if (pid < 0) {
    outcome.error = "fork failed";
    return outcome;
  }
  if (pid == 0) {
    close(fds[0]);
    std::string report;
    bool ok = false;
    {
      FaultInjector injector(at, action);
      const Status status = body();
      ok = status.ok();
      // The status on one line, then the log, a call a line.
      std::string text = status.ToString();
      for (char& c : text) c = c == '\n' ? ' ' : c;
      report = text + "\n";
      for (const std::string& line : injector.log()) report += line + "\n";
    }
    const char* p = report.data();
    size_t left = report.size();
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0) _exit(3);
      p += n;
      left -= static_cast<size_t>(n);
    }
    _exit(ok ? 0 : 1);
  }
  close(fds[1]);
  std::string report;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) report.append(buffer, n);
  close(fds[0]);
  int wstatus = 0;
  if (waitpid(pid, &wstatus, 0) != pid || !WIFEXITED(wstatus)) {
    outcome.error = "the child did not exit normally";
    return outcome;
  }
  const int code = WEXITSTATUS(wstatus);
  if (code == file_faults::kFaultExitCode) {
    outcome.killed_by_fault = true;
    return outcome;
  }
  size_t newline = report.find('\n');
  if ((code != 0 && code != 1) || newline == std::string::npos) {
    outcome.error = "the child exited with " + std::to_string(code) + ": " + report;
    return outcome;
  }
  outcome.succeeded = code == 0;
  if (code != 0) outcome.error = report.substr(0, newline);
  for (size_t at = newline + 1; at < report.size(); at = newline + 1) {
    newline = report.find('\n', at);
    if (newline == std::string::npos) break;
    outcome.log.push_back(report.substr(at, newline - at));
  }
  outcome.calls = outcome.log.size();
  return outcome;
}

std::vector<std::string> LogCalls(const std::function<Status()>& body) {
  const ChildOutcome outcome = RunInChild(body, 0, FaultAction::kProceed);
  return outcome.succeeded ? outcome.log : std::vector<std::string>();
}

const char* FaultActionName(FaultAction action) {
  switch (action) {
    case FaultAction::kProceed:
      return "none";
    case FaultAction::kFail:
      return "EIO";
    case FaultAction::kNoSpace:
      return "ENOSPC";
    case FaultAction::kTornWrite:
      return "torn write";
    case FaultAction::kExit:
      return "exit";
  }
  return "?";
}

}  // namespace testing
}  // namespace persephonee
