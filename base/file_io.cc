#include "base/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <new>

namespace persephonee {
namespace {

// Largest piece handed to one read or write call.
constexpr size_t kChunk = size_t{1} << 20;

StatusCode CodeForErrno(int error, StatusCode otherwise) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return StatusCode::kNotFound;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case ENOMEM:
      return StatusCode::kResourceExhausted;
    case EACCES:
    case EPERM:
    case EROFS:
      return StatusCode::kFailedPrecondition;
    case EISDIR:
      return StatusCode::kInvalidArgument;
    default:
      return otherwise;
  }
}

Status ErrnoError(int error, StatusCode otherwise, const std::string& what) {
  return Status(CodeForErrno(error, otherwise), what + ": " + ErrnoText(error));
}

std::string Quoted(const std::string& path) { return "'" + path + "'"; }

// Writes all of [data, data + size) to fd; returns 0 or the errno that stopped it.
int WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, std::min(size, kChunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;  // write(2) makes no progress only on a broken device
    p += n;
    size -= static_cast<size_t>(n);
  }
  return 0;
}

void CloseQuietly(int fd) {
  if (fd >= 0) ::close(fd);
}

class FdSink : public FileSink {
 public:
  FdSink(int fd, const std::string& path) : fd_(fd), path_(path) {}

  Status Append(const void* data, size_t size) override {
    if (!failure_.ok()) return failure_;
    if (const int error = WriteAll(fd_, data, size); error != 0) {
      failure_ = ErrnoError(error, StatusCode::kInternal, "writing " + Quoted(path_));
    }
    return failure_;
  }

  // The first write error, kept so a callback that swallows it cannot hide it.
  const Status& failure() const { return failure_; }

 private:
  int fd_;
  const std::string& path_;
  Status failure_;
};

// Opens a new, uniquely named file beside `path`; returns its fd or -1 with errno set.
int CreateTemporary(const std::string& prefix, std::string* temp_path) {
  static std::atomic<uint64_t> counter{0};
  const uint64_t salt =
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  for (int attempt = 0; attempt < 100; ++attempt) {
    *temp_path = prefix + ".tmp-" + std::to_string(::getpid()) + "-" +
                 std::to_string(counter.fetch_add(1)) + "-" + std::to_string(salt % 1000000007);
    const int fd = ::open(temp_path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

StatusOr<int> OpenForReading(const std::string& path, uint64_t* size) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return Error(StatusCode::kNotFound, "no such file: ", Quoted(path));
    return ErrnoError(error, StatusCode::kInternal, "cannot open " + Quoted(path));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    CloseQuietly(fd);
    return ErrnoError(error, StatusCode::kInternal, "cannot stat " + Quoted(path));
  }
  if (S_ISDIR(st.st_mode)) {
    CloseQuietly(fd);
    return Error(StatusCode::kInvalidArgument, Quoted(path), " is a directory, not a file");
  }
  *size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0;
  return fd;
}

}  // namespace

std::string ErrnoText(int error) {
  char buffer[256];
  // The GNU strerror_r returns the message, which may or may not be in `buffer`.
  return std::string(::strerror_r(error, buffer, sizeof(buffer)));
}

Status WriteFileAtomically(const std::string& path,
                           const std::function<Status(FileSink& sink)>& write) {
  ENSURE(!path.empty(), "WriteFileAtomically: empty path");
  const size_t slash = path.rfind('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  ENSURE(!base.empty() && base != "." && base != "..", "cannot write ", Quoted(path),
         ": it names a directory");

  std::string temp;
  const int fd = CreateTemporary(
      path.substr(0, slash == std::string::npos ? 0 : slash + 1) + "." + base, &temp);
  if (fd < 0) {
    const int error = errno;
    return ErrnoError(
        error, StatusCode::kInternal,
        "cannot create a temporary file in " + Quoted(dir) + " to write " + Quoted(path));
  }
  // Before the rename, every failure removes the temporary file and leaves `path` alone.
  auto fail = [&](Status status, bool close_fd) {
    if (close_fd) CloseQuietly(fd);
    ::unlink(temp.c_str());
    return status;
  };

  FdSink sink(fd, path);
  Status written;
  try {
    written = write(sink);
  } catch (const std::bad_alloc&) {
    written = Error(StatusCode::kResourceExhausted, "out of memory while writing ", Quoted(path));
  }
  if (!sink.failure().ok()) return fail(sink.failure(), true);
  if (!written.ok()) return fail(written.WithContext("writing " + Quoted(path)), true);

  if (::fsync(fd) != 0) {
    const int error = errno;
    return fail(ErrnoError(error, StatusCode::kInternal,
                           "cannot sync " + Quoted(temp) + " (for " + Quoted(path) + ")"),
                true);
  }
  if (::close(fd) != 0) {
    const int error = errno;
    return fail(ErrnoError(error, StatusCode::kInternal,
                           "cannot close " + Quoted(temp) + " (for " + Quoted(path) + ")"),
                false);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    return fail(ErrnoError(error, StatusCode::kInternal,
                           "cannot rename " + Quoted(temp) + " over " + Quoted(path)),
                false);
  }

  // The new file is in place; make its name durable too.
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    const int error = errno;
    return ErrnoError(error, StatusCode::kInternal,
                      "wrote " + Quoted(path) + " but cannot open its directory to sync it");
  }
  const int synced = ::fsync(dir_fd);
  const int sync_error = errno;
  CloseQuietly(dir_fd);
  // Some file systems cannot sync a directory (EINVAL); there is nothing more to do there.
  if (synced != 0 && sync_error != EINVAL && sync_error != ENOTSUP) {
    return ErrnoError(sync_error, StatusCode::kInternal,
                      "wrote " + Quoted(path) + " but cannot sync directory " + Quoted(dir));
  }
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, const void* data, size_t size) {
  ENSURE(data != nullptr || size == 0, "WriteFileAtomically ", Quoted(path),
         ": null data with size ", size);
  return WriteFileAtomically(path, [&](FileSink& sink) { return sink.Append(data, size); });
}

StatusOr<std::string> ReadFile(const std::string& path) {
  uint64_t size = 0;
  ASSIGN_OR_RETURN(const int fd, OpenForReading(path, &size));
  std::string contents;
  try {
    if (size > 0) contents.reserve(static_cast<size_t>(size));
    char buffer[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(fd, buffer, sizeof(buffer));
      if (n < 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        CloseQuietly(fd);
        return Error(error == EISDIR ? StatusCode::kInvalidArgument : StatusCode::kDataLoss,
                     "error reading ", Quoted(path), " at byte ", contents.size(), ": ",
                     ErrnoText(error));
      }
      if (n == 0) break;
      contents.append(buffer, static_cast<size_t>(n));
    }
  } catch (const std::bad_alloc&) {
    CloseQuietly(fd);
    return Error(StatusCode::kResourceExhausted, "out of memory reading ", Quoted(path), " (", size,
                 " bytes)");
  }
  CloseQuietly(fd);
  return contents;
}

StatusOr<RandomAccessFile> RandomAccessFile::Open(const std::string& path) {
  uint64_t size = 0;
  ASSIGN_OR_RETURN(const int fd, OpenForReading(path, &size));
  return RandomAccessFile(path, fd, size);
}

RandomAccessFile::RandomAccessFile(RandomAccessFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), size_(other.size_) {
  other.fd_ = -1;
}

RandomAccessFile& RandomAccessFile::operator=(RandomAccessFile&& other) noexcept {
  if (this != &other) {
    CloseQuietly(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    size_ = other.size_;
    other.fd_ = -1;
  }
  return *this;
}

RandomAccessFile::~RandomAccessFile() { CloseQuietly(fd_); }

Status RandomAccessFile::ReadSome(uint64_t offset, size_t size, void* out, size_t* read) const {
  *read = 0;
  ENSURE_CODE(fd_ >= 0, kFailedPrecondition, "reading a closed file ", Quoted(path_));
  ENSURE(offset <= static_cast<uint64_t>(std::numeric_limits<off_t>::max()) &&
             size <= static_cast<uint64_t>(std::numeric_limits<off_t>::max()) - offset,
         "reading ", Quoted(path_), ": range at ", offset, " of ", size, " bytes is too large");
  char* p = static_cast<char*>(out);
  while (*read < size) {
    const ssize_t n =
        ::pread(fd_, p + *read, std::min(size - *read, kChunk), static_cast<off_t>(offset + *read));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      return Error(StatusCode::kDataLoss, "error reading ", Quoted(path_), " at byte ",
                   offset + *read, ": ", ErrnoText(error));
    }
    if (n == 0) break;
    *read += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status RandomAccessFile::ReadAt(uint64_t offset, size_t size, void* out) const {
  size_t read = 0;
  RETURN_IF_ERROR(ReadSome(offset, size, out, &read));
  ENSURE_CODE(read == size, kDataLoss, Quoted(path_), " ends at byte ", offset + read,
              ", before the ", size, " bytes asked for at offset ", offset);
  return Status::Ok();
}

}  // namespace persephonee
