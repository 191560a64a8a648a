// The command line against the files of a hostile user (issue 14): named pipes, /dev/zero, a
// directory given where a file is expected. Each command must fail at once with the file named;
// none may block in open(2) or read until memory runs out. An alarm ends the test (a failure)
// if a command blocks.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "base/idx.h"
#include "tests/testing/cli_runner.h"
#include "tools/commands.h"

namespace persephonee {
namespace cli {
namespace {

class HostileFilesCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ::testing::TempDir() + "/hostile_files_cli";
    ASSERT_EQ(std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_).c_str()), 0);
    fifo_ = dir_ + "/pipe";
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0);
    const std::vector<uint8_t> pixels(10 * 28 * 28, 100);
    const std::vector<uint8_t> labels(10, 3);
    ASSERT_TRUE(
        WriteIdx(dir_ + "/images.idx", {10, 28, 28}, pixels.data(), pixels.size(), false).ok());
    ASSERT_TRUE(WriteIdx(dir_ + "/labels.idx", {10}, labels.data(), labels.size(), false).ok());
  }

  // Runs `args`, which must fail (not as a usage error) with `file` and `what` in the message.
  static void ExpectRefused(const std::vector<std::string>& args, const std::string& file,
                            const std::string& what) {
    std::string line;
    for (const std::string& a : args) line += a + " ";
    SCOPED_TRACE(line);
    alarm(120);
    const Result r = RunArgs(args);
    alarm(0);
    EXPECT_EQ(r.code, kExitFailure) << r.err;
    EXPECT_NE(r.err.find("'" + file + "' " + what), std::string::npos) << r.err;
  }

  static std::string dir_;
  static std::string fifo_;
};
std::string HostileFilesCliTest::dir_;
std::string HostileFilesCliTest::fifo_;

TEST_F(HostileFilesCliTest, NamedPipesAreRefusedWithoutBlocking) {
  const std::string pipe = "is a named pipe (FIFO), not a regular file";
  ExpectRefused({"info", fifo_}, fifo_, pipe);
  ExpectRefused({"evaluate", "--model", fifo_, "--images", dir_ + "/images.idx", "--labels",
                 dir_ + "/labels.idx"},
                fifo_, pipe);
  ExpectRefused({"evaluate", "--model", "zoo:fmnist_resnet", "--images", fifo_, "--labels",
                 dir_ + "/labels.idx"},
                fifo_, pipe);
  ExpectRefused({"evaluate", "--model", "zoo:fmnist_resnet", "--exits", fifo_, "--images",
                 dir_ + "/images.idx", "--labels", dir_ + "/labels.idx"},
                fifo_, pipe);
}

TEST_F(HostileFilesCliTest, DevicesAndDirectoriesAreRefused) {
  ExpectRefused({"evaluate", "--model", "zoo:fmnist_resnet", "--exits", "/dev/zero", "--images",
                 dir_ + "/images.idx", "--labels", dir_ + "/labels.idx"},
                "/dev/zero", "is a character device");
  ExpectRefused({"info", "/dev/zero"}, "/dev/zero", "is a character device");
  ExpectRefused({"evaluate", "--model", "zoo:fmnist_resnet", "--exits", dir_, "--images",
                 dir_ + "/images.idx", "--labels", dir_ + "/labels.idx"},
                dir_, "is a directory");
}

}  // namespace
}  // namespace cli
}  // namespace persephonee
