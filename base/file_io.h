// Safe file I/O: whole-file writes that never leave a half-written file behind, and reads
// whose errors say which file and what went wrong.
//
// WriteFileAtomically writes to a fresh temporary file in the target's directory (so the
// rename below stays within one file system), fsyncs it, renames it over the target (an atomic
// replacement on POSIX file systems), then fsyncs the directory so the new name survives a
// crash. Any failure before the rename removes the temporary file and leaves whatever was at
// the target untouched. If the target is a symbolic link, the link itself is replaced.
//
// Temporary files are named `<path>.tmp.<pid>.<n>` (pid of the writer, n a per-process
// counter), the one scheme of every atomic write in persephonee. A process killed mid-write
// leaves its temporary behind; the next successful write of the same path removes that path's
// temporaries whose writer is no longer running (and those of the older scheme
// `.<name>.tmp-<pid>-<n>-<salt>`), nothing else.
//
// Reads open with O_NONBLOCK, so that a named pipe cannot block them, and refuse anything that
// is not a regular file (a FIFO, a device such as /dev/zero, a socket, a directory) before
// reading a byte; every read is capped by a limit the caller gives (the format's own bound).
#ifndef PERSEPHONEE_BASE_FILE_IO_H_
#define PERSEPHONEE_BASE_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace persephonee {

/// Where the callback of WriteFileAtomically puts the file's bytes.
class FileSink {
 public:
  virtual ~FileSink() = default;
  /// Appends `size` bytes at `data` to the file being written.
  virtual Status Append(const void* data, size_t size) = 0;
};

/// Writes the file at `path` from what `write` appends to the sink, atomically: the target
/// holds either its old contents or all the new ones. If `write` returns an error, that error
/// is returned (with `path` named) and the target is left as it was. New files get mode
/// 0666 less the umask.
Status WriteFileAtomically(const std::string& path,
                           const std::function<Status(FileSink& sink)>& write);

/// Writes `size` bytes at `data` as the whole file at `path`, atomically (as above).
Status WriteFileAtomically(const std::string& path, const void* data, size_t size);

/// The default cap of ReadFile: 1 GiB. Loaders pass their format's own, smaller bound.
inline constexpr uint64_t kDefaultMaxReadBytes = uint64_t{1} << 30;

/// Reads the whole file at `path`. Fails with kNotFound if it does not exist, kInvalidArgument
/// if it is a directory or not a regular file (without blocking on a FIFO),
/// kResourceExhausted if it holds more than `max_bytes`, kDataLoss on a read error; every
/// message names `path`.
StatusOr<std::string> ReadFile(const std::string& path, uint64_t max_bytes = kDefaultMaxReadBytes);

/// A file opened for reading at any offset (pread), so a caller can fetch parts of a large file
/// as it needs them. Movable, not copyable; ReadAt may be called from several threads at once.
class RandomAccessFile {
 public:
  /// Opens `path`; errors as ReadFile's (a regular file only, at most `max_bytes` long).
  static StatusOr<RandomAccessFile> Open(const std::string& path, uint64_t max_bytes = UINT64_MAX);

  RandomAccessFile(RandomAccessFile&& other) noexcept;
  RandomAccessFile& operator=(RandomAccessFile&& other) noexcept;
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;
  ~RandomAccessFile();

  const std::string& path() const { return path_; }
  /// The size in bytes when the file was opened.
  uint64_t size() const { return size_; }

  /// Reads exactly `size` bytes at `offset` into `out`; fails with kDataLoss (naming the path,
  /// the range and the cause) on a read error or if the file ends first.
  Status ReadAt(uint64_t offset, size_t size, void* out) const;

  /// Reads up to `size` bytes at `offset`; `*read` tells how many (fewer only at the end of the
  /// file).
  Status ReadSome(uint64_t offset, size_t size, void* out, size_t* read) const;

 private:
  RandomAccessFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}

  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

/// "<text of errno>" (strerror, thread-safe).
std::string ErrnoText(int error);

/// Creates the directory `dir` (mode 0777 less the umask) if it is missing and fsyncs its
/// parent so that the new entry survives a crash. OK if it already is a directory;
/// kInvalidArgument if it exists as something else, kNotFound if its parent is missing.
Status EnsureDirectory(const std::string& dir);

/// Checks, without writing anything, that a later save can create or replace `path`: a file
/// (WriteFileAtomically) or, with `directory`, a directory (EnsureDirectory, then files in it).
/// The directory it goes in must exist and be writable, and `path` must not be a directory
/// (a file) or must be a writable directory if it exists (a directory). For commands that run
/// for minutes before they save. kNotFound, kInvalidArgument or kFailedPrecondition, naming
/// `path` and what is wrong.
Status CheckWritable(const std::string& path, bool directory);

/// Removes the file at `path`; OK if it is already gone.
Status RemoveFile(const std::string& path);

/// The names in `dir`, without "." and "..", sorted.
StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir);

/// If `name` (a bare file name, no directory) is a temporary file of an atomic write, in either
/// scheme above, sets `*target` to the name of the file it was for and `*pid` to its writer's
/// process id, and returns true.
bool ParseTemporaryName(const std::string& name, std::string* target, long* pid);

/// Removes, from the directory of `path`, the temporaries left for `path` by writers that are
/// no longer running (see the top of this file). Best effort: returns how many it removed.
/// WriteFileAtomically calls this after every successful write.
size_t RemoveStaleTemporaries(const std::string& path);

}  // namespace persephonee

#endif  // PERSEPHONEE_BASE_FILE_IO_H_
