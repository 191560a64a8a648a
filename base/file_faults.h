// A fault hook in the file layer, for tests only: it lets a test make the N-th mutating file
// system call of base/file_io fail, run out of space, tear, or kill the process there, and so
// prove that every save survives a crash or an error at every step.
//
// Every call in base/file_io.cc that changes the file system goes through the hook first: the
// creation of a temporary file, each write(2), fsync of a file, close of a written file,
// rename, unlink, mkdir and fsync of a directory. The hook returns what to do with that call:
//   kProceed    do it as usual;
//   kFail       skip it and fail with EIO;
//   kNoSpace    fail with ENOSPC; a write first writes half of its bytes, as a full disk does;
//   kTornWrite  write half of the bytes (a write; other calls: nothing), then _exit: a crash in
//               the middle of a write;
//   kExit       _exit before the call: the process killed between two calls.
// The process exits with kFaultExitCode. Exiting is only meaningful in a forked child (see
// tests/testing/file_faults.h, which counts calls and picks the N-th).
//
// With no hook installed (the default, and always in the shipped programs) the cost is one
// relaxed atomic load per call. Install and remove a hook only while no file is being written.
#ifndef PERSEPHONEE_BASE_FILE_FAULTS_H_
#define PERSEPHONEE_BASE_FILE_FAULTS_H_

#include <string>

namespace persephonee {
namespace file_faults {

/// The mutating file system calls the hook sees.
enum class FileOp {
  kCreate,         ///< open(O_CREAT | O_EXCL) of a temporary file.
  kWrite,          ///< One write(2) of at most 1 MiB.
  kSync,           ///< fsync of a written file.
  kClose,          ///< close of a written file.
  kRename,         ///< rename of a temporary over its target.
  kUnlink,         ///< unlink of a file.
  kMakeDirectory,  ///< mkdir.
  kSyncDirectory,  ///< fsync of a directory.
};

/// What the hook makes of one call (see the top of this file).
enum class FaultAction { kProceed, kFail, kNoSpace, kTornWrite, kExit };

/// The exit status of a process the hook ends.
inline constexpr int kFaultExitCode = 86;

/// Called before each mutating call with the operation, the path it acts on (for a rename, the
/// source) and `context`.
using FaultHook = FaultAction (*)(FileOp op, const std::string& path, void* context);

/// Installs `hook` (nullptr removes it). For tests only.
void SetFaultHook(FaultHook hook, void* context);

/// A short name for `op`, e.g. "write".
const char* FileOpName(FileOp op);

}  // namespace file_faults
}  // namespace persephonee

#endif  // PERSEPHONEE_BASE_FILE_FAULTS_H_
