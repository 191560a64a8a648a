// `persephonee demo`: the backbone checksum gate (use, refuse, retrain), a tiny run end to end
// with its report, and usage errors.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

#include "graph/model_format.h"
#include "graph/zoo.h"
#include "tests/testing/cli_runner.h"
#include "training/sha256.h"

namespace persephonee {
namespace cli {
namespace {

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// A backbone file with its recorded checksum, in a fresh directory.
std::string Backbone(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/demo_cli_" + name;
  mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/backbone.psm";
  EXPECT_TRUE(SaveGraph(BuildZooModel("fmnist_resnet", 9).value(), path).ok());
  const std::string bytes = ReadText(path);
  WriteText(path + ".sha256", Sha256Hex(bytes.data(), bytes.size()) + "  backbone.psm\n");
  return path;
}

const std::vector<std::string> kTiny = {"--users", "1", "--train", "40", "--test", "30", "--epochs",
                                        "1", "--exits", "2", "--threads", "1", "--latency-images",
                                        "2", "--backbone-test-images", "100",
                                        // Room above the process's baseline even under asan,
                                        // whose shadow memory the 64M default cannot cover.
                                        "--memory-budget", "512M"};

std::vector<std::string> Args(const std::string& backbone, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"demo", "--backbone", backbone};
  args.insert(args.end(), kTiny.begin(), kTiny.end());
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(DemoCliTest, RunsEndToEndAndWritesTheReport) {
  const std::string backbone = Backbone("ok");
  const std::string report = ::testing::TempDir() + "/demo_cli_report";
  Result r = RunArgs(Args(backbone, {"--report", report}));
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("matches"), std::string::npos) << "the checksum was checked: " << r.out;
  EXPECT_NE(r.out.find("Claims"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NOT MET"), std::string::npos) << "an untrained backbone: " << r.out;
  EXPECT_NE(r.out.find("[########################] 3/3"), std::string::npos) << r.out;
  EXPECT_TRUE(Exists(report + "/index.html"));
  const std::string json = ReadText(report + "/results.json");
  EXPECT_NE(json.find("\"runs\""), std::string::npos);
}

TEST(DemoCliTest, RefusesABackboneWithoutItsChecksum) {
  const std::string backbone = Backbone("nosum");
  std::remove((backbone + ".sha256").c_str());
  Result r = RunArgs(Args(backbone));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(".sha256"), std::string::npos) << r.err;
}

TEST(DemoCliTest, RetrainsABackboneThatDoesNotMatchItsChecksum) {
  const std::string backbone = Backbone("retrain");
  WriteText(backbone, "not a model");  // damaged: the demo must retrain it
  // Without the recorded command there is nothing to retrain with.
  Result r = RunArgs(Args(backbone));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(".pretrain"), std::string::npos) << r.err;
  WriteText(backbone + ".pretrain", "pretrain --epochs 1 --train-count 128 --batch 32\n");
  r = RunArgs(Args(backbone));
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("does not match the recorded one; retraining"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("running: persephonee pretrain --epochs 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("differs from the recorded"), std::string::npos)
      << "the recorded checksum is the zoo model's, not this training's: " << r.out;
  EXPECT_TRUE(LoadGraph(backbone).ok()) << "the retrained backbone was written";
}

TEST(DemoCliTest, UsageErrors) {
  Result r = RunArgs({"demo", "--users", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--users"), std::string::npos) << r.err;
  r = RunArgs({"demo", "--report", "/nonexistent-parent/x", "--backbone", Backbone("usage")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--report"), std::string::npos) << r.err;
  r = RunArgs({"demo", "extra"});
  EXPECT_EQ(r.code, 2);
  for (const char* family : {"0", "3", "x"}) {
    r = RunArgs({"demo", "--family", family, "--backbone", Backbone("usage")});
    EXPECT_EQ(r.code, 2) << family;
    EXPECT_NE(r.err.find("--family"), std::string::npos) << r.err;
  }
  r = RunArgs({"demo", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--family 1|2"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace cli
}  // namespace persephonee
