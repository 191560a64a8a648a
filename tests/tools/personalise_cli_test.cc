// `persephonee personalise`, `evaluate` and `infer` end to end on Fashion-MNIST images, with a
// small backbone saved to a model file: the figures they print checked against the library.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "base/idx.h"
#include "graph/builder.h"
#include "graph/model_format.h"
#include "tests/testing/cli_runner.h"
#include "tests/testing/test_graphs.h"
#include "tools/commands.h"
#include "training/personalisation.h"

namespace persephonee {
namespace cli {
namespace {

class PersonaliseCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ::testing::TempDir() + "/personalise_cli";
    ASSERT_EQ(std::system(("mkdir -p " + dir_).c_str()), 0);
    // A small backbone: three strided convolutions, global pooling, a classifier.
    GraphBuilder b;
    uint64_t s = 7;
    auto w = [&](size_t n, size_t fan_in) {
      const float r = std::sqrt(6.0f / fan_in);
      return testing_graphs::RandomVector(n, ++s, -r, r);
    };
    std::vector<float> w1 = w(8 * 9, 9), w2 = w(16 * 72, 72), w3 = w(32 * 144, 144),
                       w4 = w(10 * 32, 32);
    TensorId x = b.Input("image", {1, 28, 28, 1});
    x = b.Conv2d("conv1", x, Conv2dAttrs::Square(8, 3, 2, 1, 1, Activation::kRelu), w1);
    x = b.Conv2d("conv2", x, Conv2dAttrs::Square(16, 3, 2, 1, 1, Activation::kRelu), w2);
    x = b.Conv2d("conv3", x, Conv2dAttrs::Square(32, 3, 2, 1, 1, Activation::kRelu), w3);
    x = b.GlobalAvgPool("gap", x);
    b.MarkOutput(b.FullyConnected("fc", x, {10, Activation::kNone}, w4));
    auto g = b.Build();
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE(SaveGraph(*g, dir_ + "/model.psm").ok());
    auto images = ReadIdx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
    auto labels = ReadIdx("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
    ASSERT_TRUE(images.ok() && labels.ok());
    const uint32_t n = 80;
    ASSERT_TRUE(
        WriteIdx(dir_ + "/images.idx", {n, 28, 28}, images->data.data(), n * 784, false).ok());
    ASSERT_TRUE(WriteIdx(dir_ + "/labels.idx", {n}, labels->data.data(), n, false).ok());
    std::vector<uint8_t> some(labels->data.begin(), labels->data.begin() + n);
    for (size_t i = 0; i < n; ++i) {
      if (i % 2) some[i] = 255;
    }
    ASSERT_TRUE(WriteIdx(dir_ + "/some-labels.idx", {n}, some.data(), n, false).ok());
  }
  static std::string dir_;
};
std::string PersonaliseCliTest::dir_;

TEST_F(PersonaliseCliTest, PersonaliseEvaluateInfer) {
  const std::string p = dir_ + "/user.pers";
  Result r =
      RunArgs({"personalise", "--model", dir_ + "/model.psm", "--images", dir_ + "/images.idx",
               "--labels", dir_ + "/some-labels.idx", "--exit-nodes", "conv2", "--epochs", "3",
               // Room for sanitizers' shadow memory; the budget is tested elsewhere.
               "--memory-budget", "1G", "--out", p});
  ASSERT_EQ(r.code, kExitOk) << r.err << r.out;
  EXPECT_NE(r.out.find("images: 80 (40 labelled)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("epoch 3/3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("plan: batch"), std::string::npos) << r.out;
  auto saved = LoadPersonalisation(p);
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  ASSERT_EQ(saved->exits.size(), 2u);
  EXPECT_EQ(saved->exits[0].point.tensor, "conv2");
  // The personalised final exit, answering every sample that reaches it.
  EXPECT_TRUE(saved->personal_final);
  EXPECT_EQ(saved->exits[1].point.name, "personal");
  EXPECT_EQ(saved->exits[1].threshold, -std::numeric_limits<float>::infinity());
  ASSERT_TRUE(saved->calibration.has_value());
  EXPECT_EQ(saved->calibration->samples, 16);  // the held-out fifth of 80
  EXPECT_NE(r.out.find("teacher: prior"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("calibration: early exits O"), std::string::npos) << r.out;
  EXPECT_FALSE(saved->optimizer.has_value()) << "optimiser state only with --save-optimizer";

  Result e = RunArgs({"evaluate", "--model", dir_ + "/model.psm", "--exits", p, "--images",
                      dir_ + "/images.idx", "--labels", dir_ + "/labels.idx", "--json"});
  ASSERT_EQ(e.code, kExitOk) << e.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(e.out, m, std::regex("\"images\": 80, \"evaluated\": 80")))
      << e.out;
  ASSERT_TRUE(std::regex_search(e.out, m, std::regex("\"name\": \"exit1\", \"count\": (\\d+)")));
  const int at_exit = std::stoi(m[1]);
  ASSERT_TRUE(std::regex_search(e.out, m, std::regex("\"name\": \"personal\", \"count\": (\\d+)")));
  EXPECT_EQ(at_exit + std::stoi(m[1]), 80);

  Result inf = RunArgs(
      {"infer", "--model", dir_ + "/model.psm", "--exits", p, "--images", dir_ + "/images.idx"});
  ASSERT_EQ(inf.code, kExitOk) << inf.err;
  int lines = 0, exit1 = 0;
  std::istringstream in(inf.out);
  std::string line;
  while (std::getline(in, line)) {
    ++lines;
    exit1 += line.find(" exit1 ") != std::string::npos;
  }
  EXPECT_EQ(lines, 80);
  EXPECT_EQ(exit1, at_exit) << "infer and evaluate agree on who leaves early";
}

TEST_F(PersonaliseCliTest, FineTuneBaselinesOnTheSameFlags) {
  for (const char* mode : {"classifier", "whole"}) {
    SCOPED_TRACE(mode);
    const std::string out = dir_ + "/" + mode + ".psm";
    Result r = RunArgs({"finetune", "--mode", mode, "--model", dir_ + "/model.psm", "--images",
                        dir_ + "/images.idx", "--labels", dir_ + "/some-labels.idx", "--epochs",
                        "2", "--seed", "3", "--out", out});
    ASSERT_EQ(r.code, kExitOk) << r.err << r.out;
    // The same training part as personalise: 80 images less the held-out fifth.
    EXPECT_NE(r.out.find("on 64 images"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("epoch 2/2"), std::string::npos) << r.out;
    StatusOr<Graph> tuned = LoadGraph(out);
    ASSERT_TRUE(tuned.ok()) << tuned.status().ToString();
    Result e = RunArgs({"evaluate", "--model", out, "--images", dir_ + "/images.idx", "--labels",
                        dir_ + "/labels.idx"});
    EXPECT_EQ(e.code, kExitOk) << e.err;
    EXPECT_NE(e.out.find("accuracy"), std::string::npos) << e.out;
  }
  Result bad = RunArgs({"finetune", "--mode", "heads", "--model", dir_ + "/model.psm", "--images",
                        dir_ + "/images.idx", "--out", dir_ + "/x.psm"});
  EXPECT_EQ(bad.code, kExitUsage);
  EXPECT_NE(bad.err.find("--mode: expected whole or classifier, got 'heads'"), std::string::npos)
      << bad.err;
  Result exits_flag =
      RunArgs({"finetune", "--mode", "whole", "--model", dir_ + "/model.psm", "--images",
               dir_ + "/images.idx", "--exits", "2", "--out", dir_ + "/x.psm"});
  EXPECT_EQ(exits_flag.code, kExitUsage);
}

TEST_F(PersonaliseCliTest, ClearErrors) {
  Result missing = RunArgs({"personalise", "--model", dir_ + "/model.psm"});
  EXPECT_EQ(missing.code, kExitUsage);
  Result bad_budget =
      RunArgs({"personalise", "--model", dir_ + "/model.psm", "--images", dir_ + "/images.idx",
               "--memory-budget", "lots", "--out", dir_ + "/x.pers"});
  EXPECT_EQ(bad_budget.code, kExitUsage);
  EXPECT_NE(bad_budget.err.find("--memory-budget"), std::string::npos);
  Result tiny =
      RunArgs({"personalise", "--model", dir_ + "/model.psm", "--images", dir_ + "/images.idx",
               "--exits", "2", "--memory-budget", "1M", "--out", dir_ + "/x.pers"});
  EXPECT_EQ(tiny.code, kExitFailure);
  EXPECT_NE(tiny.err.find("cannot hold this personalisation"), std::string::npos) << tiny.err;
  Result labels = RunArgs({"evaluate", "--model", dir_ + "/model.psm", "--images",
                           dir_ + "/images.idx", "--labels", dir_ + "/model.psm"});
  EXPECT_EQ(labels.code, kExitFailure);
  Result foreign =
      RunArgs({"evaluate", "--model", "zoo:fmnist_resnet", "--exits", dir_ + "/user.pers",
               "--images", dir_ + "/images.idx", "--labels", dir_ + "/labels.idx"});
  if (std::ifstream(dir_ + "/user.pers").good()) {  // written by the other test, if it ran
    EXPECT_EQ(foreign.code, kExitFailure);
    EXPECT_NE(foreign.err.find("SHA-256"), std::string::npos) << foreign.err;
  }
}

}  // namespace
}  // namespace cli
}  // namespace persephonee
