#include "base/file_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/file_faults.h"
#include "tests/testing/file_faults.h"

namespace persephonee {
namespace {

// A fresh directory for one test, removed (with its files) at the end. Under `root`, or
// Bazel's TEST_TMPDIR, or /tmp.
class TempDir {
 public:
  explicit TempDir(const char* root = nullptr) {
    if (root == nullptr) root = getenv("TEST_TMPDIR");
    if (root == nullptr || *root == '\0') root = "/tmp";
    std::string pattern = std::string(root) + "/file_io_test.XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) != nullptr) path_ = buffer.data();
  }
  ~TempDir() {
    if (path_.empty()) return;
    chmod(path_.c_str(), 0700);
    for (const std::string& name : Entries()) unlink((path_ + "/" + name).c_str());
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

  // The names in the directory, sorted, without "." and "..".
  std::vector<std::string> Entries() const {
    std::vector<std::string> names;
    DIR* dir = opendir(path_.c_str());
    if (dir == nullptr) return names;
    while (const dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(dir);
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  std::string path_;
};

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string ReadOrEmpty(const std::string& path) {
  StatusOr<std::string> contents = ReadFile(path);
  EXPECT_TRUE(contents.ok()) << contents.status().ToString();
  return contents.ok() ? *contents : std::string();
}

std::string Pattern(size_t size, unsigned seed) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 131 + seed) % 251);
  return data;
}

TEST(FileIoTest, WritesAndReadsBack) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.File("data.bin");
  for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{3 << 20}}) {
    const std::string data = Pattern(size, static_cast<unsigned>(size));
    ASSERT_TRUE(WriteFileAtomically(path, data.data(), data.size()).ok()) << "size " << size;
    const std::string back = ReadOrEmpty(path);
    ASSERT_EQ(back.size(), size);
    EXPECT_TRUE(back == data) << "contents differ at size " << size;
    EXPECT_EQ(dir.Entries(), std::vector<std::string>{"data.bin"});  // no temporary left
  }
}

TEST(FileIoTest, NewFileGetsTheUsualPermissions) {
  TempDir dir;
  const std::string reference = dir.File("reference");
  const int fd = open(reference.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0666);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_TRUE(WriteFileAtomically(dir.File("new"), "x", 1).ok());
  struct stat expected, actual;
  ASSERT_EQ(stat(reference.c_str(), &expected), 0);
  ASSERT_EQ(stat(dir.File("new").c_str(), &actual), 0);
  EXPECT_EQ(actual.st_mode & 0777, expected.st_mode & 0777);
}

TEST(FileIoTest, CallbackWriterAppendsPieces) {
  TempDir dir;
  const std::string path = dir.File("pieces.txt");
  ASSERT_TRUE(WriteFileAtomically(path, [](FileSink& sink) {
                RETURN_IF_ERROR(sink.Append("head,", 5));
                RETURN_IF_ERROR(sink.Append("", 0));
                return sink.Append("tail", 4);
              }).ok());
  EXPECT_EQ(ReadOrEmpty(path), "head,tail");
}

TEST(FileIoTest, RelativePathWritesInTheCurrentDirectory) {
  TempDir dir;
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof(cwd)), nullptr);
  ASSERT_EQ(chdir(dir.path().c_str()), 0);
  const Status status = WriteFileAtomically("plain_name", "abc", 3);
  ASSERT_EQ(chdir(cwd), 0);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(ReadOrEmpty(dir.File("plain_name")), "abc");
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"plain_name"});
}

TEST(FileIoTest, FailingCallbackLeavesTheOldFileIntact) {
  TempDir dir;
  const std::string path = dir.File("model.bin");
  ASSERT_TRUE(WriteFileAtomically(path, "old contents", 12).ok());
  const Status status = WriteFileAtomically(path, [](FileSink& sink) {
    RETURN_IF_ERROR(sink.Append("new half", 8));
    return Error(StatusCode::kDataLoss, "NaN in tensor 3");
  });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(status.message(), path)) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "NaN in tensor 3")) << status.ToString();
  EXPECT_EQ(ReadOrEmpty(path), "old contents");
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"model.bin"});
}

TEST(FileIoTest, FailedWriteLeavesTheOldFileIntact) {
  // A real write(2) failure: a file-size limit makes the kernel refuse bytes past 64 KiB
  // (EFBIG). SIGXFSZ is ignored meanwhile so the failure is an error return, not a signal.
  TempDir dir;
  const std::string path = dir.File("weights.bin");
  ASSERT_TRUE(WriteFileAtomically(path, "previous", 8).ok());
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  void (*saved_handler)(int) = signal(SIGXFSZ, SIG_IGN);
  struct rlimit limited = saved;
  limited.rlim_cur = 64 * 1024;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  const std::string big = Pattern(1 << 20, 7);
  const Status status = WriteFileAtomically(path, big.data(), big.size());
  setrlimit(RLIMIT_FSIZE, &saved);
  signal(SIGXFSZ, saved_handler);

  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), path)) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), strerror(EFBIG))) << status.ToString();
  EXPECT_EQ(ReadOrEmpty(path), "previous");
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"weights.bin"});
}

// Runs WriteFileAtomically(path, "new", 3) as a user who cannot write to `dir`. For root
// (who may write anywhere) it runs in a child process that has become the user "nobody".
Status WriteAsUnprivileged(const std::string& path) {
  if (geteuid() != 0) return WriteFileAtomically(path, "new", 3);
  int fds[2];
  if (pipe(fds) != 0) return Error(StatusCode::kInternal, "pipe failed");
  const pid_t pid = fork();
  if (pid < 0) return Error(StatusCode::kInternal, "fork failed");
  if (pid == 0) {
    close(fds[0]);
    std::string result = "setuid failed";
    int code = static_cast<int>(StatusCode::kInternal);
    if (setgid(65534) == 0 && setuid(65534) == 0) {
      const Status status = WriteFileAtomically(path, "new", 3);
      code = static_cast<int>(status.code());
      result = status.message();
    }
    const std::string message = std::to_string(code) + "\n" + result;
    if (write(fds[1], message.data(), message.size()) < 0) _exit(2);
    _exit(0);
  }
  close(fds[1]);
  std::string message;
  char buffer[512];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) message.append(buffer, n);
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  const size_t newline = message.find('\n');
  if (newline == std::string::npos) return Error(StatusCode::kInternal, "child said nothing");
  return Status(static_cast<StatusCode>(std::stoi(message.substr(0, newline))),
                message.substr(newline + 1));
}

TEST(FileIoTest, UnwritableDirectoryFailsCleanly) {
  // Under /tmp so that "nobody" can reach it (TEST_TMPDIR may sit under root's home).
  TempDir dir("/tmp");
  ASSERT_FALSE(dir.path().empty());
  const std::string path = dir.File("locked.bin");
  ASSERT_TRUE(WriteFileAtomically(path, "old", 3).ok());
  ASSERT_EQ(chmod(dir.path().c_str(), 0555), 0);
  const Status status = WriteAsUnprivileged(path);
  ASSERT_EQ(chmod(dir.path().c_str(), 0755), 0);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), path)) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), strerror(EACCES))) << status.ToString();
  EXPECT_EQ(ReadOrEmpty(path), "old");
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"locked.bin"});
}

TEST(FileIoTest, MissingDirectoryIsNotFound) {
  TempDir dir;
  const std::string path = dir.File("no/such/dir/file.bin");
  const Status status = WriteFileAtomically(path, "x", 1);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), path)) << status.ToString();
  EXPECT_TRUE(dir.Entries().empty());
}

TEST(FileIoTest, TargetThatIsADirectoryIsRefusedAndLeftAlone) {
  TempDir dir;
  const std::string path = dir.File("subdir");
  ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
  const Status status = WriteFileAtomically(path, "x", 1);
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), path)) << status.ToString();
  EXPECT_TRUE(Contains(status.message(), "cannot rename")) << status.ToString();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"subdir"});
  rmdir(path.c_str());
}

TEST(FileIoTest, BadPathsAreInvalidArguments) {
  for (const std::string path : {"", "/tmp/", "dir/.", "dir/.."}) {
    const Status status = WriteFileAtomically(path, "x", 1);
    ASSERT_FALSE(status.ok()) << "'" << path << "'";
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  }
  const Status null_data = WriteFileAtomically("/tmp/never_written", nullptr, 4);
  EXPECT_EQ(null_data.code(), StatusCode::kInvalidArgument) << null_data.ToString();
}

TEST(FileIoTest, ReadErrorsSayWhatIsWrong) {
  TempDir dir;
  const std::string missing = dir.File("missing.idx");
  StatusOr<std::string> result = ReadFile(missing);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(result.status().message(), missing)) << result.status().ToString();

  result = ReadFile(dir.path());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(result.status().message(), "is a directory")) << result.status().ToString();

  // Reading address 0 of our own memory fails with EIO: a genuine read error.
  result = ReadFile("/proc/self/mem");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << result.status().ToString();
  EXPECT_TRUE(Contains(result.status().message(), "'/proc/self/mem' at byte 0"))
      << result.status().ToString();

  ASSERT_TRUE(WriteFileAtomically(dir.File("empty"), "", 0).ok());
  result = ReadFile(dir.File("empty"));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->empty());
}

TEST(FileIoTest, RandomAccessReadsRanges) {
  TempDir dir;
  const std::string path = dir.File("ranges.bin");
  const std::string data = Pattern(100000, 3);
  ASSERT_TRUE(WriteFileAtomically(path, data.data(), data.size()).ok());
  StatusOr<RandomAccessFile> opened = RandomAccessFile::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  RandomAccessFile file = std::move(opened).value();
  EXPECT_EQ(file.size(), data.size());
  for (const auto& [offset, size] : std::vector<std::pair<size_t, size_t>>{
           {0, 1}, {0, 100000}, {99999, 1}, {12345, 54321}, {70000, 0}}) {
    std::string out(size, '\0');
    const Status status = file.ReadAt(offset, size, out.data());
    ASSERT_TRUE(status.ok()) << status.ToString();
    EXPECT_TRUE(out == data.substr(offset, size)) << "offset " << offset << " size " << size;
  }
  std::string out(100, '\0');
  Status past_end = file.ReadAt(99950, 100, out.data());
  ASSERT_FALSE(past_end.ok());
  EXPECT_EQ(past_end.code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(past_end.message(), "ends at byte 100000")) << past_end.ToString();
  size_t read = 0;
  ASSERT_TRUE(file.ReadSome(99950, 100, out.data(), &read).ok());
  EXPECT_EQ(read, 50u);
  EXPECT_TRUE(out.substr(0, 50) == data.substr(99950));

  StatusOr<RandomAccessFile> missing = RandomAccessFile::Open(dir.File("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(FileIoTest, TemporaryNamesFollowTheDocumentedScheme) {
  TempDir dir;
  const std::string path = dir.File("named.bin");
  std::vector<std::string> log;
  {
    testing::FaultInjector injector(0, file_faults::FaultAction::kProceed);
    ASSERT_TRUE(WriteFileAtomically(path, "x", 1).ok());
    log = injector.log();
  }
  ASSERT_FALSE(log.empty());
  const std::string prefix = "create " + path + ".tmp." + std::to_string(getpid()) + ".";
  ASSERT_EQ(log[0].rfind(prefix, 0), 0u) << log[0];
  const std::string counter = log[0].substr(prefix.size());
  ASSERT_FALSE(counter.empty());
  EXPECT_EQ(counter.find_first_not_of("0123456789"), std::string::npos) << log[0];

  std::string target;
  long pid = 0;
  ASSERT_TRUE(ParseTemporaryName("model.psm.tmp.4242.17", &target, &pid));
  EXPECT_EQ(target, "model.psm");
  EXPECT_EQ(pid, 4242);
  ASSERT_TRUE(ParseTemporaryName("a.tmp.b.tmp.9.0", &target, &pid));
  EXPECT_EQ(target, "a.tmp.b");
  ASSERT_TRUE(ParseTemporaryName(".P.pers.tmp-311-0-998877", &target, &pid));
  EXPECT_EQ(target, "P.pers");
  EXPECT_EQ(pid, 311);
  for (const char* name :
       {"model.psm", "model.psm.tmp.", "model.psm.tmp.12", "model.psm.tmp.1.x", ".tmp.1.2",
        "model.psm.tmp.-1.2", "P.pers.tmp-311-0-9", ".P.pers.tmp-3-0", "..tmp-1-2-3"}) {
    EXPECT_FALSE(ParseTemporaryName(name, &target, &pid)) << name;
  }
}

// The pid of a process that has ended.
long DeadPid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

TEST(FileIoTest, StaleTemporariesOfThatPathAloneAreRemovedOnItsNextWrite) {
  TempDir dir;
  const std::string path = dir.File("P.pers");
  ASSERT_TRUE(WriteFileAtomically(path, "old", 3).ok());
  // A writer killed just before its rename leaves its temporary, with all the new bytes.
  const testing::ChildOutcome killed = testing::RunInChild(
      [&] { return WriteFileAtomically(path, "newer", 5); }, 5, file_faults::FaultAction::kExit);
  ASSERT_TRUE(killed.killed_by_fault) << killed.error;
  std::vector<std::string> entries = dir.Entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].rfind("P.pers.tmp.", 0), 0u) << entries[1];
  EXPECT_EQ(ReadOrEmpty(path), "old");

  const std::string dead = std::to_string(DeadPid());
  const std::vector<std::string> stale = {".P.pers.tmp-" + dead + "-0-123456",
                                          "P.pers.tmp." + dead + ".7"};
  // Kept: a live writer's (pid 1 runs as long as the system does), another path's, names that
  // merely look alike.
  const std::vector<std::string> kept = {"P.pers.tmp.1.0", "Q.pers.tmp." + dead + ".0",
                                         "P.pers.tmp.x.0", "P.pers.bak", "XP.pers.tmp-1-2"};
  for (const std::string& name : stale)
    ASSERT_TRUE(WriteFileAtomically(dir.File(name), "s", 1).ok());
  for (const std::string& name : kept)
    ASSERT_TRUE(WriteFileAtomically(dir.File(name), "k", 1).ok());

  ASSERT_TRUE(WriteFileAtomically(path, "new", 3).ok());
  EXPECT_EQ(ReadOrEmpty(path), "new");
  std::vector<std::string> expected = kept;
  expected.push_back("P.pers");
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(dir.Entries(), expected);
  for (const std::string& name : kept) unlink(dir.File(name).c_str());
}

TEST(FileIoTest, EveryFaultLeavesTheOldOrTheNewFile) {
  TempDir dir;
  const std::string path = dir.File("P.pers");
  const std::string old_bytes = Pattern(3000, 1);
  const std::string new_bytes = Pattern(5000, 2);
  auto save = [&] { return WriteFileAtomically(path, new_bytes.data(), new_bytes.size()); };
  ASSERT_TRUE(WriteFileAtomically(path, old_bytes.data(), old_bytes.size()).ok());
  const std::vector<std::string> log = testing::LogCalls(save);
  // create, write, fsync, close, rename, fsync-dir.
  ASSERT_EQ(log.size(), 6u) << ::testing::PrintToString(log);
  const size_t rename = 5;
  ASSERT_EQ(log[rename - 1].rfind("rename ", 0), 0u);
  for (file_faults::FaultAction action :
       {file_faults::FaultAction::kExit, file_faults::FaultAction::kTornWrite,
        file_faults::FaultAction::kFail, file_faults::FaultAction::kNoSpace}) {
    for (size_t at = 1; at <= log.size(); ++at) {
      SCOPED_TRACE(std::string(testing::FaultActionName(action)) + " at " + log[at - 1]);
      ASSERT_TRUE(WriteFileAtomically(path, old_bytes.data(), old_bytes.size()).ok());
      const testing::ChildOutcome outcome = testing::RunInChild(save, at, action);
      const std::string now = ReadOrEmpty(path);
      ASSERT_TRUE(now == old_bytes || now == new_bytes) << now.size() << " bytes";
      if (outcome.killed_by_fault) {
        EXPECT_EQ(now == new_bytes, at > rename);
      } else {
        ASSERT_FALSE(outcome.succeeded) << "the fault went unreported";
        EXPECT_TRUE(Contains(outcome.error, path)) << outcome.error;
        EXPECT_EQ(now == new_bytes, at > rename) << outcome.error;
      }
      // The next write works and leaves nothing else behind.
      ASSERT_TRUE(WriteFileAtomically(path, "next", 4).ok());
      EXPECT_EQ(ReadOrEmpty(path), "next");
      EXPECT_EQ(dir.Entries(), std::vector<std::string>{"P.pers"});
    }
  }
}

// Reads `path` with ReadFile (or RandomAccessFile::Open) and returns the error. A FIFO must not
// block: the alarm ends the whole test (a failure) if it does.
Status ReadError(const std::string& path, uint64_t max_bytes, bool random_access) {
  alarm(60);
  Status status;
  if (random_access) {
    StatusOr<RandomAccessFile> file = RandomAccessFile::Open(path, max_bytes);
    status = file.ok() ? Status::Ok() : file.status();
  } else {
    StatusOr<std::string> bytes = ReadFile(path, max_bytes);
    status = bytes.ok() ? Status::Ok() : bytes.status();
  }
  alarm(0);
  return status;
}

TEST(FileIoTest, OnlyRegularFilesWithinTheLimitAreRead) {
  TempDir dir;
  const std::string fifo = dir.File("pipe");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string sparse = dir.File("sparse");
  const int fd = open(sparse.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, off_t{3} << 30), 0);  // 3 GiB of holes: no disk space used
  close(fd);
  for (bool random_access : {false, true}) {
    SCOPED_TRACE(random_access ? "RandomAccessFile::Open" : "ReadFile");
    Status s = ReadError(fifo, kDefaultMaxReadBytes, random_access);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "'" + fifo + "' is a named pipe (FIFO), not a regular file"))
        << s.ToString();
    s = ReadError("/dev/zero", kDefaultMaxReadBytes, random_access);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "'/dev/zero' is a character device")) << s.ToString();
    s = ReadError(dir.path(), kDefaultMaxReadBytes, random_access);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "is a directory")) << s.ToString();
    s = ReadError(sparse, random_access ? (uint64_t{1} << 30) : kDefaultMaxReadBytes,
                  random_access);
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
    EXPECT_TRUE(Contains(s.message(),
                         "'" + sparse + "' is 3221225472 bytes, more than the limit of 1073741824"))
        << s.ToString();
  }
  // A file that claims no size (as /proc's do) is still cut off at the limit while read.
  StatusOr<std::string> status = ReadFile("/proc/self/status", 10);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Contains(status.status().message(), "holds more than the limit of 10 bytes"))
      << status.status().ToString();
  ASSERT_TRUE(ReadFile("/proc/self/status").ok());
  StatusOr<std::string> unlimited = ReadFile("/proc/self/status", UINT64_MAX);
  ASSERT_TRUE(unlimited.ok()) << unlimited.status().ToString();
  EXPECT_TRUE(Contains(*unlimited, "Pid:")) << "read all of it";
  // At the limit exactly is fine.
  ASSERT_TRUE(WriteFileAtomically(dir.File("ten"), "0123456789", 10).ok());
  EXPECT_TRUE(ReadFile(dir.File("ten"), 10).ok());
  EXPECT_FALSE(ReadFile(dir.File("ten"), 9).ok());
  unlink(fifo.c_str());
  unlink(sparse.c_str());
}

TEST(FileIoTest, CheckWritableTellsBeforehandWhatASaveWouldMeet) {
  TempDir dir;
  EXPECT_TRUE(CheckWritable(dir.File("new.pers"), false).ok());
  ASSERT_TRUE(WriteFileAtomically(dir.File("old.pers"), "x", 1).ok());
  EXPECT_TRUE(CheckWritable(dir.File("old.pers"), false).ok());
  EXPECT_TRUE(CheckWritable(dir.File("reservoir"), true).ok()) << "created by the save";
  EXPECT_TRUE(CheckWritable(dir.path(), true).ok());
  EXPECT_TRUE(CheckWritable(dir.File("reservoir/"), true).ok()) << "a trailing slash";
  EXPECT_TRUE(CheckWritable(dir.path() + "/", true).ok());
  Status s = CheckWritable(dir.File("no/such.pers"), false);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "its directory '" + dir.File("no") + "'")) << s.ToString();
  s = CheckWritable(dir.File("no/reservoir"), true);
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  s = CheckWritable(dir.path(), false);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "is a directory, not a file")) << s.ToString();
  s = CheckWritable(dir.File("old.pers"), true);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "exists and is not a directory")) << s.ToString();
  s = CheckWritable(dir.File("old.pers/x.pers"), false);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), dir.File("old.pers/x.pers"))) << s.ToString();
  EXPECT_EQ(dir.Entries(), std::vector<std::string>{"old.pers"}) << "nothing written";
}

TEST(FileIoTest, DirectoryHelpers) {
  TempDir dir;
  const std::string sub = dir.File("sub");
  ASSERT_TRUE(EnsureDirectory(sub).ok());
  ASSERT_TRUE(EnsureDirectory(sub).ok()) << "an existing directory is fine";
  ASSERT_TRUE(EnsureDirectory(sub + "/").ok());
  ASSERT_TRUE(EnsureDirectory(sub + "/slash/").ok());
  ASSERT_EQ(rmdir((sub + "/slash").c_str()), 0);
  ASSERT_TRUE(WriteFileAtomically(sub + "/b", "b", 1).ok());
  ASSERT_TRUE(WriteFileAtomically(sub + "/a", "a", 1).ok());
  StatusOr<std::vector<std::string>> names = ListDirectory(sub);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(RemoveFile(sub + "/a").ok());
  ASSERT_TRUE(RemoveFile(sub + "/a").ok()) << "already gone is fine";
  ASSERT_TRUE(RemoveFile(sub + "/b").ok());
  Status s = EnsureDirectory(dir.File("no/parent"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  ASSERT_TRUE(WriteFileAtomically(dir.File("file"), "f", 1).ok());
  s = EnsureDirectory(dir.File("file"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "exists and is not a directory")) << s.ToString();
  EXPECT_FALSE(ListDirectory(dir.File("none")).ok());
  rmdir(sub.c_str());
}

}  // namespace
}  // namespace persephonee
