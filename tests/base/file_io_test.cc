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

}  // namespace
}  // namespace persephonee
