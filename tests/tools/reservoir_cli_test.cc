// `persephonee personalise --reservoir`: the incremental flow on an untrained zoo backbone.
// Two runs of 30 Fashion-MNIST test images each into a reservoir of 40, the second resuming the
// first's personalisation; the reservoir on disk is checked against the library.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "base/file_io.h"
#include "base/idx.h"
#include "tests/testing/cli_runner.h"
#include "tools/commands.h"
#include "training/personalisation.h"
#include "training/reservoir.h"

namespace persephonee {
namespace cli {
namespace {

constexpr char kImages[] = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
constexpr char kLabels[] = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

class ReservoirCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ::testing::TempDir() + "/reservoir_cli";
    ASSERT_EQ(std::system(("rm -rf " + dir_ + " && mkdir -p " + dir_).c_str()), 0);
    Result zoo = RunArgs({"zoo", "fmnist_resnet", "--out", dir_ + "/backbone.psm"});
    ASSERT_EQ(zoo.code, kExitOk) << zoo.err;
    auto images = ReadIdx(kImages);
    auto labels = ReadIdx(kLabels);
    ASSERT_TRUE(images.ok() && labels.ok());
    // Batch 1: test images 0..29, all labelled. Batch 2: 30..59, the odd ones unlabelled.
    for (uint32_t batch = 0; batch < 2; ++batch) {
      const uint32_t first = 30 * batch;
      const std::string n = std::to_string(batch + 1);
      ASSERT_TRUE(WriteIdx(dir_ + "/images" + n + ".idx", {30, 28, 28},
                           images->data.data() + first * 784, 30 * 784, false)
                      .ok());
      std::vector<uint8_t> l(labels->data.begin() + first, labels->data.begin() + first + 30);
      if (batch == 1) {
        for (size_t i = 1; i < l.size(); i += 2) l[i] = 255;
      }
      ASSERT_TRUE(WriteIdx(dir_ + "/labels" + n + ".idx", {30}, l.data(), 30, false).ok());
    }
    test_images_ = std::move(images->data);
  }

  static std::vector<std::string> Personalise(const std::string& batch, const std::string& out) {
    return {"personalise",
            "--model",
            dir_ + "/backbone.psm",
            "--images",
            dir_ + "/images" + batch + ".idx",
            "--labels",
            dir_ + "/labels" + batch + ".idx",
            "--exits",
            "2",
            "--epochs",
            "1",
            "--memory-budget",
            "1G",  // room for sanitizers; the budget is tested elsewhere
            "--out",
            out};
  }

  // The Fashion-MNIST test record whose pixels `image` holds, or -1.
  static int RecordOf(const uint8_t* image) {
    for (int r = 0; r < 60; ++r) {
      if (std::equal(image, image + 784, test_images_.data() + r * 784)) return r;
    }
    return -1;
  }

  static std::string dir_;
  static std::vector<uint8_t> test_images_;
};
std::string ReservoirCliTest::dir_;
std::vector<uint8_t> ReservoirCliTest::test_images_;

TEST_F(ReservoirCliTest, TwoRunsResumeIntoABoundedReservoir) {
  const std::string reservoir = dir_ + "/reservoir";
  const std::string first = dir_ + "/first.pers";
  std::vector<std::string> args = Personalise("1", first);
  for (const char* a : {"--reservoir-size", "40", "--save-optimizer", "--seed", "5"}) {
    args.push_back(a);
  }
  args.push_back("--reservoir");
  args.push_back(reservoir);
  Result one = RunArgs(args);
  ASSERT_EQ(one.code, kExitOk) << one.err << one.out;
  EXPECT_NE(one.out.find("images: 30 (30 labelled), training on the reservoir's 30 (30 labelled)"),
            std::string::npos)
      << one.out;
  EXPECT_NE(one.out.find("reservoir " + reservoir +
                         ": kept 30 of the 30 new samples, holds 30 of capacity 40 (seen 30)"),
            std::string::npos)
      << one.out;
  StatusOr<Reservoir> after_one = Reservoir::Load(reservoir);
  ASSERT_TRUE(after_one.ok()) << after_one.status().ToString();
  EXPECT_EQ(after_one->seed(), 5u) << "a new reservoir takes --seed";
  EXPECT_EQ(after_one->classes(), 10);
  EXPECT_EQ(after_one->shape(), (ImageShape{28, 28, 1}));
  for (size_t i = 0; i < 30; ++i) {
    EXPECT_EQ(RecordOf(after_one->pixels().data() + i * 784), static_cast<int>(i));
  }
  auto p1 = LoadPersonalisation(first);
  ASSERT_TRUE(p1.ok()) << p1.status().ToString();
  ASSERT_TRUE(p1->optimizer.has_value()) << "--save-optimizer keeps the optimiser's state";
  EXPECT_EQ(p1->metadata.at("reservoir"), reservoir);
  EXPECT_EQ(p1->metadata.at("samples"), "30");

  // Run 2: 30 more images, resuming run 1; the size comes from the reservoir.
  const std::string second = dir_ + "/second.pers";
  args = Personalise("2", second);
  for (const std::string& a : {std::string("--resume"), first, std::string("--save-optimizer"),
                               std::string("--reservoir"), reservoir}) {
    args.push_back(a);
  }
  Result two = RunArgs(args);
  ASSERT_EQ(two.code, kExitOk) << two.err << two.out;
  StatusOr<Reservoir> after_two = Reservoir::Load(reservoir);
  ASSERT_TRUE(after_two.ok()) << after_two.status().ToString();
  EXPECT_EQ(after_two->count(), 40u);
  EXPECT_EQ(after_two->seen(), 60u);
  EXPECT_EQ(after_two->capacity(), 40u);

  // What is held: 40 distinct records of the 60, each with its label as given; the slots
  // batch 2 took are exactly what the run reports as kept.
  StatusOr<IdxArray> labels2 = ReadIdx(dir_ + "/labels2.idx");
  StatusOr<IdxArray> all_labels = ReadIdx(kLabels);
  ASSERT_TRUE(labels2.ok() && all_labels.ok());
  std::set<int> records;
  size_t new_ones = 0, labelled = 0;
  for (size_t i = 0; i < 40; ++i) {
    const int r = RecordOf(after_two->pixels().data() + i * 784);
    ASSERT_GE(r, 0) << "slot " << i << " holds an image never offered";
    records.insert(r);
    const uint8_t expected_label = r < 30 ? all_labels->data[r] : labels2->data[r - 30];
    EXPECT_EQ(after_two->labels()[i], expected_label) << "slot " << i << ", record " << r;
    if (r >= 30) {
      ++new_ones;
    } else {
      EXPECT_EQ(r, static_cast<int>(i)) << "a sample of run 1 stays in its slot or leaves";
    }
    labelled += after_two->labels()[i] != 255;
  }
  EXPECT_EQ(records.size(), 40u);
  EXPECT_GE(new_ones, 10u) << "10 slots were free";
  EXPECT_NE(two.out.find("reservoir " + reservoir + ": kept " + std::to_string(new_ones) +
                         " of the 30 new samples, holds 40 of capacity 40 (seen 60)"),
            std::string::npos)
      << two.out;
  EXPECT_NE(
      two.out.find("training on the reservoir's 40 (" + std::to_string(labelled) + " labelled)"),
      std::string::npos)
      << two.out;
  auto p2 = LoadPersonalisation(second);
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  ASSERT_TRUE(p2->optimizer.has_value());
  EXPECT_GT(p2->optimizer->step, p1->optimizer->step) << "run 2 continued run 1's optimiser";
  EXPECT_EQ(p2->metadata.at("samples"), "40");
  EXPECT_EQ(p2->metadata.at("reservoir_seen"), "60");

  // A reservoir keeps its size: asking for another is a usage error that names the flag, and
  // changes nothing.
  const std::string json = ReadFile(reservoir + "/reservoir.json").value();
  args = Personalise("2", dir_ + "/third.pers");
  for (const std::string& a : {std::string("--reservoir"), reservoir,
                               std::string("--reservoir-size"), std::string("30")}) {
    args.push_back(a);
  }
  Result mismatch = RunArgs(args);
  EXPECT_EQ(mismatch.code, kExitUsage) << mismatch.err;
  EXPECT_NE(mismatch.err.find("--reservoir-size 30 differs from the capacity 40"),
            std::string::npos)
      << mismatch.err;
  EXPECT_EQ(ReadFile(reservoir + "/reservoir.json").value(), json);
  EXPECT_FALSE(ReadFile(dir_ + "/third.pers").ok()) << "nothing written";
}

TEST_F(ReservoirCliTest, ClearErrors) {
  std::vector<std::string> args = Personalise("1", dir_ + "/x.pers");
  args.push_back("--reservoir-size");
  args.push_back("40");
  Result alone = RunArgs(args);
  EXPECT_EQ(alone.code, kExitUsage);
  EXPECT_NE(alone.err.find("--reservoir-size needs --reservoir"), std::string::npos) << alone.err;

  args.push_back("--reservoir");
  args.push_back(dir_ + "/zero");
  args[args.size() - 3] = "0";
  Result zero = RunArgs(args);
  EXPECT_EQ(zero.code, kExitUsage);
  EXPECT_NE(zero.err.find("--reservoir-size must be an integer"), std::string::npos) << zero.err;

  // A save that was interrupted (IDX files without reservoir.json) is refused, not mixed.
  const std::string broken = dir_ + "/broken";
  ASSERT_EQ(std::system(("mkdir -p " + broken).c_str()), 0);
  const uint8_t label = 3;
  ASSERT_TRUE(WriteIdx(broken + "/labels.idx", {1}, &label, 1, false).ok());
  args = Personalise("1", dir_ + "/y.pers");
  args.push_back("--reservoir");
  args.push_back(broken);
  Result interrupted = RunArgs(args);
  EXPECT_EQ(interrupted.code, kExitFailure);
  EXPECT_NE(interrupted.err.find("an earlier save was interrupted"), std::string::npos)
      << interrupted.err;
  EXPECT_FALSE(ReadFile(broken + "/reservoir.json").ok());
}

}  // namespace
}  // namespace cli
}  // namespace persephonee
