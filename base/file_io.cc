#include "base/file_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <new>
#include <set>

#include "base/file_faults.h"

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

// The fault hook (base/file_faults.h).
std::atomic<file_faults::FaultHook> g_hook{nullptr};
std::atomic<void*> g_hook_context{nullptr};

// Asks the hook about one call; ends the process here if it says so.
file_faults::FaultAction Consult(file_faults::FileOp op, const std::string& path) {
  const file_faults::FaultHook hook = g_hook.load(std::memory_order_relaxed);
  if (hook == nullptr) return file_faults::FaultAction::kProceed;
  const file_faults::FaultAction action = hook(op, path, g_hook_context.load());
  if (action == file_faults::FaultAction::kExit ||
      (action == file_faults::FaultAction::kTornWrite && op != file_faults::FileOp::kWrite)) {
    ::_exit(file_faults::kFaultExitCode);
  }
  return action;
}

// Applies a kFail or kNoSpace answer: sets errno and returns true if the call must fail.
bool Injected(file_faults::FaultAction action) {
  if (action == file_faults::FaultAction::kFail) {
    errno = EIO;
    return true;
  }
  if (action == file_faults::FaultAction::kNoSpace) {
    errno = ENOSPC;
    return true;
  }
  return false;
}

// One write(2) of at most kChunk bytes, through the hook.
ssize_t HookedWrite(int fd, const char* p, size_t size, const std::string& path) {
  const file_faults::FaultAction action = Consult(file_faults::FileOp::kWrite, path);
  if (action == file_faults::FaultAction::kNoSpace ||
      action == file_faults::FaultAction::kTornWrite) {
    if (size / 2 > 0 && ::write(fd, p, size / 2) < 0) return -1;
    if (action == file_faults::FaultAction::kTornWrite) ::_exit(file_faults::kFaultExitCode);
    errno = ENOSPC;
    return -1;
  }
  if (Injected(action)) return -1;
  return ::write(fd, p, size);
}

int HookedFsync(int fd, file_faults::FileOp op, const std::string& path) {
  if (Injected(Consult(op, path))) return -1;
  return ::fsync(fd);
}

int HookedClose(int fd, const std::string& path) {
  const file_faults::FaultAction action = Consult(file_faults::FileOp::kClose, path);
  const int closed = ::close(fd);  // the descriptor is released whatever the hook says
  if (Injected(action)) return -1;
  return closed;
}

int HookedRename(const std::string& from, const std::string& to) {
  if (Injected(Consult(file_faults::FileOp::kRename, from))) return -1;
  return ::rename(from.c_str(), to.c_str());
}

int HookedUnlink(const std::string& path) {
  if (Injected(Consult(file_faults::FileOp::kUnlink, path))) return -1;
  return ::unlink(path.c_str());
}

// Writes all of [data, data + size) to fd; returns 0 or the errno that stopped it.
int WriteAll(int fd, const void* data, size_t size, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = HookedWrite(fd, p, std::min(size, kChunk), path);
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
  FdSink(int fd, const std::string& path, const std::string& temp)
      : fd_(fd), path_(path), temp_(temp) {}

  Status Append(const void* data, size_t size) override {
    if (!failure_.ok()) return failure_;
    if (const int error = WriteAll(fd_, data, size, temp_); error != 0) {
      failure_ = ErrnoError(error, StatusCode::kInternal, "writing " + Quoted(path_));
    }
    return failure_;
  }

  // The first write error, kept so a callback that swallows it cannot hide it.
  const Status& failure() const { return failure_; }

 private:
  int fd_;
  const std::string& path_;
  const std::string& temp_;
  Status failure_;
};

// The temporaries this process is writing now, which RemoveStaleTemporaries must not touch.
std::mutex g_active_mutex;
std::set<std::string>& ActiveTemporaries() {
  static std::set<std::string>* active = new std::set<std::string>();
  return *active;
}

void SetActive(const std::string& temp, bool active) {
  std::lock_guard<std::mutex> lock(g_active_mutex);
  if (active) {
    ActiveTemporaries().insert(temp);
  } else {
    ActiveTemporaries().erase(temp);
  }
}

bool IsActive(const std::string& temp) {
  std::lock_guard<std::mutex> lock(g_active_mutex);
  return ActiveTemporaries().count(temp) != 0;
}

// Opens a new file `<path>.tmp.<pid>.<n>`; returns its fd or -1 with errno set.
int CreateTemporary(const std::string& path, std::string* temp_path) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    *temp_path =
        path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter.fetch_add(1));
    if (Injected(Consult(file_faults::FileOp::kCreate, *temp_path))) return -1;
    SetActive(*temp_path, true);
    const int fd = ::open(temp_path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    const int error = errno;
    SetActive(*temp_path, false);
    errno = error;
    if (error != EEXIST) return -1;
  }
  errno = EEXIST;
  return -1;
}

const char* FileTypeName(mode_t mode) {
  if (S_ISFIFO(mode)) return "a named pipe (FIFO)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Opens `path` for reading without blocking (a FIFO would block open(2) until a writer came),
// refuses anything but a regular file of at most `max_bytes`, then clears O_NONBLOCK.
StatusOr<int> OpenForReading(const std::string& path, uint64_t max_bytes, uint64_t* size) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
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
  if (!S_ISREG(st.st_mode)) {
    CloseQuietly(fd);
    return Error(StatusCode::kInvalidArgument, Quoted(path), " is ", FileTypeName(st.st_mode),
                 ", not a regular file; only regular files are read");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    CloseQuietly(fd);
    return Error(StatusCode::kResourceExhausted, Quoted(path), " is ", st.st_size,
                 " bytes, more than the limit of ", max_bytes, " for this kind of file");
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
    const int error = errno;
    CloseQuietly(fd);
    return ErrnoError(error, StatusCode::kInternal, "cannot set up reading " + Quoted(path));
  }
  *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

// `path` without trailing slashes ("/" stays "/").
std::string WithoutTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

// Splits `path` into its directory ("." for a bare name) and its last component.
void SplitPath(const std::string& path, std::string* dir, std::string* base) {
  const size_t slash = path.rfind('/');
  *base = slash == std::string::npos ? path : path.substr(slash + 1);
  *dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

Status SyncDirectory(const std::string& dir, const std::string& what) {
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    const int error = errno;
    return ErrnoError(error, StatusCode::kInternal,
                      what + " but cannot open directory " + Quoted(dir) + " to sync it");
  }
  const int synced = HookedFsync(dir_fd, file_faults::FileOp::kSyncDirectory, dir);
  const int sync_error = errno;
  CloseQuietly(dir_fd);
  // Some file systems cannot sync a directory (EINVAL); there is nothing more to do there.
  if (synced != 0 && sync_error != EINVAL && sync_error != ENOTSUP) {
    return ErrnoError(sync_error, StatusCode::kInternal,
                      what + " but cannot sync directory " + Quoted(dir));
  }
  return Status::Ok();
}

bool AllDigits(const std::string& s) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// True unless the process `pid` is known to have ended.
bool ProcessMayBeRunning(long pid) {
  if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
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
  std::string dir, base;
  SplitPath(path, &dir, &base);
  ENSURE(!base.empty() && base != "." && base != "..", "cannot write ", Quoted(path),
         ": it names a directory");

  std::string temp;
  const int fd = CreateTemporary(path, &temp);
  if (fd < 0) {
    const int error = errno;
    return ErrnoError(
        error, StatusCode::kInternal,
        "cannot create a temporary file in " + Quoted(dir) + " to write " + Quoted(path));
  }
  // Before the rename, every failure removes the temporary file and leaves `path` alone.
  auto fail = [&](Status status, bool close_fd) {
    if (close_fd) CloseQuietly(fd);
    HookedUnlink(temp);
    SetActive(temp, false);
    return status;
  };

  FdSink sink(fd, path, temp);
  Status written;
  try {
    written = write(sink);
  } catch (const std::bad_alloc&) {
    written = Error(StatusCode::kResourceExhausted, "out of memory while writing ", Quoted(path));
  }
  if (!sink.failure().ok()) return fail(sink.failure(), true);
  if (!written.ok()) return fail(written.WithContext("writing " + Quoted(path)), true);

  if (HookedFsync(fd, file_faults::FileOp::kSync, temp) != 0) {
    const int error = errno;
    return fail(ErrnoError(error, StatusCode::kInternal,
                           "cannot sync " + Quoted(temp) + " (for " + Quoted(path) + ")"),
                true);
  }
  if (HookedClose(fd, temp) != 0) {
    const int error = errno;
    return fail(ErrnoError(error, StatusCode::kInternal,
                           "cannot close " + Quoted(temp) + " (for " + Quoted(path) + ")"),
                false);
  }
  if (HookedRename(temp, path) != 0) {
    const int error = errno;
    return fail(ErrnoError(error, StatusCode::kInternal,
                           "cannot rename " + Quoted(temp) + " over " + Quoted(path)),
                false);
  }
  SetActive(temp, false);

  // The new file is in place; make its name durable too, then tidy up after killed writers.
  RETURN_IF_ERROR(SyncDirectory(dir, "wrote " + Quoted(path)));
  RemoveStaleTemporaries(path);
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, const void* data, size_t size) {
  ENSURE(data != nullptr || size == 0, "WriteFileAtomically ", Quoted(path),
         ": null data with size ", size);
  return WriteFileAtomically(path, [&](FileSink& sink) { return sink.Append(data, size); });
}

StatusOr<std::string> ReadFile(const std::string& path, uint64_t max_bytes) {
  uint64_t size = 0;
  ASSIGN_OR_RETURN(const int fd, OpenForReading(path, max_bytes, &size));
  std::string contents;
  try {
    if (size > 0) contents.reserve(static_cast<size_t>(size));
    char buffer[64 * 1024];
    for (;;) {
      // One byte past the limit is enough to tell that the file grew beyond it (no + 1 on the
      // room itself, which may be UINT64_MAX).
      const uint64_t room = max_bytes - std::min<uint64_t>(max_bytes, contents.size());
      const size_t want = room < sizeof(buffer) ? static_cast<size_t>(room) + 1 : sizeof(buffer);
      const ssize_t n = ::read(fd, buffer, want);
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
      if (contents.size() > max_bytes) {
        CloseQuietly(fd);
        return Error(StatusCode::kResourceExhausted, Quoted(path), " holds more than the limit of ",
                     max_bytes, " bytes for this kind of file");
      }
    }
  } catch (const std::bad_alloc&) {
    CloseQuietly(fd);
    return Error(StatusCode::kResourceExhausted, "out of memory reading ", Quoted(path), " (", size,
                 " bytes)");
  }
  CloseQuietly(fd);
  return contents;
}

StatusOr<RandomAccessFile> RandomAccessFile::Open(const std::string& path, uint64_t max_bytes) {
  uint64_t size = 0;
  ASSIGN_OR_RETURN(const int fd, OpenForReading(path, max_bytes, &size));
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

Status EnsureDirectory(const std::string& dir) {
  ENSURE(!dir.empty(), "cannot create a directory with an empty name");
  const bool made = !Injected(Consult(file_faults::FileOp::kMakeDirectory, dir)) &&
                    ::mkdir(dir.c_str(), 0777) == 0;
  if (made) {
    std::string parent, base;
    SplitPath(WithoutTrailingSlashes(dir), &parent, &base);
    return SyncDirectory(parent, "created directory " + Quoted(dir));
  }
  const int error = errno;
  struct stat st;
  if (error == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
  if (error == EEXIST) {
    return Error(StatusCode::kInvalidArgument, Quoted(dir), " exists and is not a directory");
  }
  return ErrnoError(error, StatusCode::kInternal, "cannot create directory " + Quoted(dir));
}

Status CheckWritable(const std::string& path, bool directory) {
  ENSURE(!path.empty(), "an empty path cannot be written");
  std::string dir, base;
  SplitPath(directory ? WithoutTrailingSlashes(path) : path, &dir, &base);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (directory) {
      ENSURE(S_ISDIR(st.st_mode), Quoted(path), " exists and is not a directory");
      ENSURE_CODE(::access(path.c_str(), W_OK | X_OK) == 0, kFailedPrecondition, "directory ",
                  Quoted(path), " is not writable");
      return Status::Ok();
    }
    ENSURE(!S_ISDIR(st.st_mode), Quoted(path), " is a directory, not a file");
  }
  ENSURE(!base.empty() && base != "." && base != "..", "cannot write ", Quoted(path),
         ": it names a directory");
  if (::stat(dir.c_str(), &st) != 0) {
    const int error = errno;
    return ErrnoError(error, StatusCode::kInternal,
                      "cannot write " + Quoted(path) + ": its directory " + Quoted(dir));
  }
  ENSURE(S_ISDIR(st.st_mode), "cannot write ", Quoted(path), ": ", Quoted(dir),
         " is not a directory");
  ENSURE_CODE(::access(dir.c_str(), W_OK | X_OK) == 0, kFailedPrecondition, "cannot write ",
              Quoted(path), ": directory ", Quoted(dir), " is not writable");
  return Status::Ok();
}

Status RemoveFile(const std::string& path) {
  if (HookedUnlink(path) == 0 || errno == ENOENT) return Status::Ok();
  const int error = errno;
  return ErrnoError(error, StatusCode::kInternal, "cannot remove " + Quoted(path));
}

StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    const int error = errno;
    return ErrnoError(error, StatusCode::kInternal, "cannot list directory " + Quoted(dir));
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool ParseTemporaryName(const std::string& name, std::string* target, long* pid) {
  // `<target>.tmp.<pid>.<n>`
  const size_t at = name.rfind(".tmp.");
  if (at != std::string::npos && at > 0) {
    const std::string rest = name.substr(at + 5);
    const size_t dot = rest.find('.');
    if (dot != std::string::npos && AllDigits(rest.substr(0, dot)) &&
        AllDigits(rest.substr(dot + 1))) {
      *target = name.substr(0, at);
      *pid = std::stol(rest.substr(0, dot));
      return true;
    }
  }
  // The older `.<target>.tmp-<pid>-<n>-<salt>`.
  const size_t old = name.rfind(".tmp-");
  if (name.size() > 1 && name[0] == '.' && old != std::string::npos && old > 1) {
    const std::string rest = name.substr(old + 5);
    const size_t a = rest.find('-');
    const size_t b = a == std::string::npos ? a : rest.find('-', a + 1);
    if (b != std::string::npos && AllDigits(rest.substr(0, a)) &&
        AllDigits(rest.substr(a + 1, b - a - 1)) && AllDigits(rest.substr(b + 1))) {
      *target = name.substr(1, old - 1);
      *pid = std::stol(rest.substr(0, a));
      return true;
    }
  }
  return false;
}

size_t RemoveStaleTemporaries(const std::string& path) {
  std::string dir, base;
  SplitPath(path, &dir, &base);
  StatusOr<std::vector<std::string>> names = ListDirectory(dir);
  if (!names.ok()) return 0;
  const long self = static_cast<long>(::getpid());
  const std::string prefix = dir == "/" ? "/" : dir + "/";
  size_t removed = 0;
  for (const std::string& name : *names) {
    std::string target;
    long pid = 0;
    if (!ParseTemporaryName(name, &target, &pid) || target != base) continue;
    const std::string temp = prefix + name;
    // Our own: stale unless one of our threads is writing it now. Another process's: stale
    // once that process has ended.
    if (pid == self ? IsActive(temp) : ProcessMayBeRunning(pid)) continue;
    if (HookedUnlink(temp) == 0) ++removed;
  }
  return removed;
}

namespace file_faults {

void SetFaultHook(FaultHook hook, void* context) {
  g_hook_context.store(context);
  g_hook.store(hook);
}

const char* FileOpName(FileOp op) {
  switch (op) {
    case FileOp::kCreate:
      return "create";
    case FileOp::kWrite:
      return "write";
    case FileOp::kSync:
      return "fsync";
    case FileOp::kClose:
      return "close";
    case FileOp::kRename:
      return "rename";
    case FileOp::kUnlink:
      return "unlink";
    case FileOp::kMakeDirectory:
      return "mkdir";
    case FileOp::kSyncDirectory:
      return "fsync-dir";
  }
  return "?";
}

}  // namespace file_faults
}  // namespace persephonee
