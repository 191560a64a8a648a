// `persephonee zoo` and `persephonee info`: files written and read back, output that reflects
// the model, and the exit codes (0 ok, 1 failure, 2 usage).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "graph/flops.h"
#include "graph/model_format.h"
#include "graph/zoo.h"
#include "tests/testing/cli_runner.h"
#include "tools/commands.h"

namespace persephonee {
namespace cli {
namespace {

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(GraphCliTest, ZooWritesALoadableModelOfTheSeed) {
  const std::string path = TempPath("fmnist.psm");
  Result r = RunArgs({"zoo", "fmnist_resnet", "--out", path, "--seed", "7"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("wrote " + path + ": fmnist_resnet, seed 7"), std::string::npos) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
  StatusOr<Graph> loaded = LoadGraph(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  StatusOr<Graph> expected = BuildZooModel("fmnist_resnet", 7);
  ASSERT_TRUE(expected.ok());
  std::string why;
  EXPECT_TRUE(GraphsEqual(*loaded, *expected, &why)) << why;
}

TEST(GraphCliTest, SeedsAreDeterministicAndDistinct) {
  const std::string a = TempPath("a.psm"), b = TempPath("b.psm"), c = TempPath("c.psm");
  ASSERT_EQ(RunArgs({"zoo", "resnet20", "--out", a, "--seed", "3"}).code, kExitOk);
  ASSERT_EQ(RunArgs({"zoo", "resnet20", "--seed", "3", "--out", b}).code, kExitOk);
  ASSERT_EQ(RunArgs({"zoo", "resnet20", "--out", c}).code, kExitOk);  // default seed 1
  const std::string bytes_a = ReadFile(a);
  EXPECT_GT(bytes_a.size(), 272474u * 4);
  EXPECT_EQ(bytes_a, ReadFile(b));
  EXPECT_NE(bytes_a, ReadFile(c));
}

TEST(GraphCliTest, InfoDescribesEveryLayerAndTheTotals) {
  const std::string path = TempPath("info.psm");
  ASSERT_EQ(RunArgs({"zoo", "resnet20", "--out", path}).code, kExitOk);
  Result r = RunArgs({"info", path});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  StatusOr<Graph> g = LoadGraph(path);
  ASSERT_TRUE(g.ok());
  const GraphCost cost = ComputeGraphCost(*g);
  // One line per node, with its name, op and output shape, in order.
  size_t pos = 0;
  for (const Node& n : g->nodes()) {
    const size_t at = r.out.find(" " + n.name + " ", pos);
    ASSERT_NE(at, std::string::npos) << "node " << n.name << " missing or out of order";
    const size_t eol = r.out.find('\n', at);
    const std::string line = r.out.substr(at, eol - at);
    EXPECT_NE(line.find(OpTypeName(n.op)), std::string::npos) << line;
    EXPECT_NE(line.find(ShapeToString(g->tensor(n.output).shape)), std::string::npos) << line;
    pos = eol;
  }
  // The first conv: 3x3, 3 -> 16 channels on 32x32: 442,368 MACs and 432 weights.
  EXPECT_NE(r.out.find("442,368"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MACs:        40,813,184 (40.81 M)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FLOPs:       81,626,368"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("params:      274,042"), std::string::npos) << r.out;
  EXPECT_EQ(cost.total.params, 274042);
  EXPECT_NE(r.out.find("input:  image [1,32,32,3]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("output: fc [1,10]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("100.0%"), std::string::npos);
}

TEST(GraphCliTest, InfoOfAZooModelInMemory) {
  Result r = RunArgs({"info", "zoo:mobilenet_v2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("MACs:        300,774,272 (300.77 M)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("features.1.conv.0.0"), std::string::npos);
  EXPECT_NE(r.out.find("3x3 s1 p1 g32"), std::string::npos) << "depthwise attributes shown";
  Result bad = RunArgs({"info", "zoo:vgg16"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_NE(bad.err.find("no zoo model named 'vgg16'; the zoo has: fmnist_resnet"),
            std::string::npos)
      << bad.err;
}

TEST(GraphCliTest, InfoFailsClearlyOnMissingAndCorruptFiles) {
  Result missing = RunArgs({"info", TempPath("nope.psm")});
  EXPECT_EQ(missing.code, kExitFailure);
  EXPECT_NE(missing.err.find("NOT_FOUND: cannot open"), std::string::npos) << missing.err;
  EXPECT_TRUE(missing.out.empty());

  const std::string path = TempPath("corrupt.psm");
  ASSERT_EQ(RunArgs({"zoo", "fmnist_resnet", "--out", path}).code, kExitOk);
  std::string bytes = ReadFile(path);
  bytes[bytes.size() / 2] ^= 0x10;  // a weight
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  Result corrupt = RunArgs({"info", path});
  EXPECT_EQ(corrupt.code, kExitFailure);
  EXPECT_NE(corrupt.err.find("DATA_LOSS"), std::string::npos) << corrupt.err;
  EXPECT_NE(corrupt.err.find("weights section checksum mismatch"), std::string::npos)
      << corrupt.err;

  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, 1000);
  Result cut = RunArgs({"info", path});
  EXPECT_EQ(cut.code, kExitFailure);
  EXPECT_NE(cut.err.find("truncated"), std::string::npos) << cut.err;
}

TEST(GraphCliTest, UsageErrors) {
  const std::string out = TempPath("x.psm");
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  const Case cases[] = {
      {{"info"}, "missing MODEL"},
      {{"info", "a.psm", "b.psm"}, "unexpected argument 'b.psm'"},
      {{"info", "--bogus"}, "unknown option '--bogus'"},
      {{"zoo"}, "missing NAME"},
      {{"zoo", "resnet20"}, "missing --out FILE"},
      {{"zoo", "resnet20", "--out"}, "--out needs a value"},
      {{"zoo", "resnet20", "--out", out, "--seed", "-1"}, "--seed must be a non-negative"},
      {{"zoo", "resnet20", "--out", out, "--seed", "12x"}, "--seed must be a non-negative"},
      {{"zoo", "resnet20", "--out", out, "--seed", "18446744073709551616"},
       "--seed must be a non-negative"},
      {{"zoo", "resnet50", "--out", out},
       "no zoo model named 'resnet50'; the zoo has: fmnist_resnet, resnet20, mobilenet_v2, "
       "resnet18"},
      {{"zoo", "resnet20", "resnet18", "--out", out}, "unexpected argument 'resnet18'"},
      {{"zoo", "resnet20", "--out", out, "--fast"}, "unknown option '--fast'"},
  };
  for (const Case& c : cases) {
    Result r = RunArgs(c.args);
    std::string cmd;
    for (const std::string& a : c.args) cmd += a + " ";
    EXPECT_EQ(r.code, kExitUsage) << cmd;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << cmd << "\n" << r.err;
    EXPECT_NE(r.err.find("usage: persephonee"), std::string::npos) << cmd;
  }
  // Nothing was written by any of them.
  EXPECT_FALSE(std::ifstream(out).good());
}

TEST(GraphCliTest, ZooFailsClearlyWhenTheFileCannotBeWritten) {
  Result r = RunArgs({"zoo", "resnet20", "--out", TempPath("no/such/dir/m.psm")});
  EXPECT_EQ(r.code, kExitFailure);
  EXPECT_NE(r.err.find("cannot save"), std::string::npos) << r.err;
}

TEST(GraphCliTest, HelpAndList) {
  Result r = RunArgs({"zoo", "--list"});
  EXPECT_EQ(r.code, kExitOk);
  for (const ZooModelInfo& m : ZooModels()) {
    EXPECT_NE(r.out.find(m.name), std::string::npos) << m.name;
  }
  EXPECT_EQ(RunArgs({"zoo", "--help"}).code, kExitOk);
  Result info = RunArgs({"info", "--help"});
  EXPECT_EQ(info.code, kExitOk);
  EXPECT_NE(info.out.find("usage: persephonee info MODEL"), std::string::npos);
  Result top = RunArgs({"--help"});
  EXPECT_NE(top.out.find("info"), std::string::npos);
  EXPECT_NE(top.out.find("zoo"), std::string::npos);
}

}  // namespace
}  // namespace cli
}  // namespace persephonee
