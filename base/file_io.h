// Safe file I/O: whole-file writes that never leave a half-written file behind, and reads
// whose errors say which file and what went wrong.
//
// WriteFileAtomically writes to a fresh temporary file in the target's directory (so the
// rename below stays within one file system), fsyncs it, renames it over the target (an atomic
// replacement on POSIX file systems), then fsyncs the directory so the new name survives a
// crash. Any failure before the rename removes the temporary file and leaves whatever was at
// the target untouched. If the target is a symbolic link, the link itself is replaced.
#ifndef PERSEPHONEE_BASE_FILE_IO_H_
#define PERSEPHONEE_BASE_FILE_IO_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

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

/// Reads the whole file at `path`. Fails with kNotFound if it does not exist, kInvalidArgument
/// if it is a directory, kDataLoss on a read error; every message names `path`.
StatusOr<std::string> ReadFile(const std::string& path);

/// A file opened for reading at any offset (pread), so a caller can fetch parts of a large file
/// as it needs them. Movable, not copyable; ReadAt may be called from several threads at once.
class RandomAccessFile {
 public:
  /// Opens `path`; errors as ReadFile's.
  static StatusOr<RandomAccessFile> Open(const std::string& path);

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

}  // namespace persephonee

#endif  // PERSEPHONEE_BASE_FILE_IO_H_
