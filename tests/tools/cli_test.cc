#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/version.h"
#include "tests/testing/cli_runner.h"
#include "tools/commands.h"

namespace persephonee {
namespace cli {
namespace {

TEST(CliTest, VersionPrintsVersion) {
  Result r = RunArgs({"--version"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_EQ(r.out, std::string("persephonee ") + PERSEPHONEE_VERSION + "\n");
}

TEST(CliTest, HelpListsEveryCommand) {
  Result r = RunArgs({"--help"});
  EXPECT_EQ(r.code, kExitOk);
  for (const Command& c : AllCommands()) EXPECT_NE(r.out.find(c.name), std::string::npos);
}

TEST(CliTest, UnknownOptionPrintsUsageAndFails) {
  Result r = RunArgs({"--bogus"});
  EXPECT_EQ(r.code, kExitUsage);
  EXPECT_NE(r.err.find("unknown option '--bogus'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: persephonee"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST(CliTest, UnknownCommandAndNoArgumentsFail) {
  EXPECT_EQ(RunArgs({"frobnicate"}).code, kExitUsage);
  EXPECT_EQ(RunArgs({}).code, kExitUsage);
}

TEST(CliTest, CpuPrintsRealValues) {
  Result r = RunArgs({"cpu"});
  EXPECT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("cores:"), std::string::npos);
  EXPECT_NE(r.out.find("xnnpack:      initialised"), std::string::npos) << r.out;
  EXPECT_EQ(RunArgs({"cpu", "--bogus"}).code, kExitUsage);
}

}  // namespace
}  // namespace cli
}  // namespace persephonee
