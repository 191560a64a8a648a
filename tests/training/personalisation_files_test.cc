// The personalisation file against a hostile phone: a save killed, torn, failed or out of space
// at each of its file system calls leaves the old file or the new one (and the next save
// leaves nothing else beside it); loading refuses FIFOs, devices, directories and oversized
// files at once, naming them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "base/file_faults.h"
#include "base/file_io.h"
#include "tests/testing/file_faults.h"
#include "tests/training/personalisation_testing.h"
#include "training/personalisation.h"

namespace persephonee {
namespace {

using namespace personalisation_testing;  // NOLINT: test helpers.
using file_faults::FaultAction;

TEST(PersonalisationFilesTest, ASaveFaultedAtAnyCallLeavesTheOldOrTheNewFile) {
  TempDir dir;
  const std::string path = dir.File("P.pers");
  const Personalisation old_p = Small();
  const Personalisation new_p = Typical(/*with_optimizer=*/true);
  auto save = [&] { return SavePersonalisation(new_p, path); };
  ASSERT_TRUE(SavePersonalisation(old_p, path).ok());
  const std::vector<std::string> log = testing::LogCalls(save);
  ASSERT_GE(log.size(), 6u);
  size_t rename = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].rfind("rename ", 0) == 0) rename = i + 1;
  }
  ASSERT_GT(rename, 0u) << ::testing::PrintToString(log);
  for (FaultAction action :
       {FaultAction::kExit, FaultAction::kTornWrite, FaultAction::kFail, FaultAction::kNoSpace}) {
    for (size_t at = 1; at <= log.size(); ++at) {
      SCOPED_TRACE(std::string(testing::FaultActionName(action)) + " at " + log[at - 1]);
      ASSERT_TRUE(SavePersonalisation(old_p, path).ok());
      const testing::ChildOutcome outcome = testing::RunInChild(save, at, action);
      if (!outcome.killed_by_fault) {
        ASSERT_FALSE(outcome.succeeded);
        EXPECT_TRUE(Contains(outcome.error, path)) << outcome.error;
      }
      StatusOr<Personalisation> now = LoadPersonalisation(path);
      ASSERT_TRUE(now.ok()) << now.status().ToString();
      EXPECT_TRUE(PersonalisationsEqual(*now, at > rename ? new_p : old_p, nullptr));
      ASSERT_TRUE(SavePersonalisation(old_p, path).ok());
      EXPECT_EQ(dir.Entries(), std::vector<std::string>{"P.pers"});
    }
  }
}

TEST(PersonalisationFilesTest, LoadRefusesWhatIsNotARegularFileOrTooLarge) {
  TempDir dir;
  const std::string fifo = dir.File("pipe.pers");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const std::string huge = dir.File("huge.pers");
  const int fd = open(huge.c_str(), O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(kMaxPersonalisationFileBytes + 1)), 0);
  close(fd);
  struct Case {
    std::string path;
    StatusCode code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {fifo, StatusCode::kInvalidArgument, "'" + fifo + "' is a named pipe (FIFO)"},
      {"/dev/zero", StatusCode::kInvalidArgument, "'/dev/zero' is a character device"},
      {dir.path(), StatusCode::kInvalidArgument, "'" + dir.path() + "' is a directory"},
      {huge, StatusCode::kResourceExhausted, "'" + huge + "' is 67108865 bytes, more than"},
  };
  for (const Case& c : cases) {
    alarm(60);  // a FIFO that blocked open(2) would end the test here
    StatusOr<Personalisation> p = LoadPersonalisation(c.path);
    alarm(0);
    ASSERT_FALSE(p.ok()) << c.path;
    EXPECT_EQ(p.status().code(), c.code) << p.status().ToString();
    EXPECT_TRUE(Contains(p.status().message(), c.says)) << p.status().ToString();
  }
  unlink(fifo.c_str());
  unlink(huge.c_str());
}

}  // namespace
}  // namespace persephonee
