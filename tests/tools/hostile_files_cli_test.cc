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

// An output that cannot be written is found before training, not after it.
TEST_F(HostileFilesCliTest, PersonaliseChecksItsOutputsBeforeTraining) {
  const std::string model = dir_ + "/model.psm";
  ASSERT_EQ(RunArgs({"zoo", "fmnist_resnet", "--out", model}).code, kExitOk);
  auto personalise = [&](const std::string& out, const std::string& reservoir) {
    std::vector<std::string> args = {"personalise",
                                     "--model",
                                     model,
                                     "--images",
                                     dir_ + "/images.idx",
                                     "--labels",
                                     dir_ + "/labels.idx",
                                     "--exits",
                                     "2",
                                     "--epochs",
                                     "1",
                                     "--memory-budget",
                                     "1G",
                                     "--out",
                                     out};
    if (!reservoir.empty()) {
      args.push_back("--reservoir");
      args.push_back(reservoir);
    }
    return RunArgs(args);
  };
  // The runs succeed when the outputs are fine (so the failures below are the outputs' doing).
  Result ok = personalise(dir_ + "/ok.pers", dir_ + "/reservoir");
  ASSERT_EQ(ok.code, kExitOk) << ok.err;
  ASSERT_NE(ok.out.find("epoch 1/1"), std::string::npos) << ok.out;

  Result missing = personalise(dir_ + "/no/such/dir/user.pers", "");
  EXPECT_EQ(missing.code, kExitFailure) << missing.err;
  EXPECT_NE(missing.err.find("--out: cannot write '" + dir_ + "/no/such/dir/user.pers'"),
            std::string::npos)
      << missing.err;
  EXPECT_EQ(missing.out.find("epoch"), std::string::npos) << "trained first:\n" << missing.out;

  Result directory = personalise(dir_, "");
  EXPECT_NE(directory.err.find("--out: '" + dir_ + "' is a directory, not a file"),
            std::string::npos)
      << directory.err;
  EXPECT_EQ(directory.out.find("epoch"), std::string::npos) << directory.out;

  Result reservoir = personalise(dir_ + "/r.pers", dir_ + "/labels.idx");
  EXPECT_NE(reservoir.err.find("--reservoir: '" + dir_ +
                               "/labels.idx' exists and is not a "
                               "directory"),
            std::string::npos)
      << reservoir.err;
  EXPECT_EQ(reservoir.out.find("epoch"), std::string::npos) << reservoir.out;
}

}  // namespace
}  // namespace cli
}  // namespace persephonee
