// The C++ facade (api/persephonee.h): one backbone shared by users personalised at once on two
// threads (the same bits as one after the other), cancellation from the progress callback and
// from a flag, the original model, and another backbone's personalisation refused. The backbones
// are //tests/api:test_models' (paths in argv).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "api/persephonee.h"
#include "training/labels.h"

namespace persephonee {
namespace api {
namespace {

std::string g_backbone_path, g_foreign_path;

// 40 images of 28x28: class i % 4 is a brightness level, with noise from `seed`.
MemoryImageSource Images(uint64_t seed, std::vector<uint8_t>* labels) {
  std::vector<uint8_t> pixels(40 * 784);
  labels->assign(40, kUnlabelled);
  uint64_t s = seed;
  for (size_t i = 0; i < 40; ++i) {
    if (i % 2 == 0) (*labels)[i] = static_cast<uint8_t>(i % 4);
    for (size_t p = 0; p < 784; ++p) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      pixels[i * 784 + p] = static_cast<uint8_t>(50 * (i % 4) + (s >> 58));
    }
  }
  return MemoryImageSource(std::move(pixels), 784);
}

UserOptions Options(int epochs) {
  UserOptions o;
  o.training.epochs = epochs;
  o.training.memory_budget = size_t{1} << 30;  // the plan must not depend on the other thread
  o.exits.exits = 2;
  return o;
}

class FacadeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = Backbone::Load(g_backbone_path);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    backbone_ = *b;
  }
  std::shared_ptr<const Backbone> backbone_;
};

TEST_F(FacadeTest, BackboneDescribesItself) {
  EXPECT_EQ(backbone_->height(), 28);
  EXPECT_EQ(backbone_->width(), 28);
  EXPECT_EQ(backbone_->channels(), 1);
  EXPECT_EQ(backbone_->classes(), 10);
  EXPECT_EQ(backbone_->hash().size(), 64u);
  EXPECT_GT(backbone_->macs(), 0);
  auto missing = Backbone::Load(g_backbone_path + ".missing");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(Backbone::Load(g_backbone_path, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(FacadeTest, UsersPersonalisedAtOnceMatchOneAfterTheOther) {
  std::vector<uint8_t> labels_a, labels_b;
  const MemoryImageSource a = Images(1, &labels_a), b = Images(2, &labels_b);
  StatusOr<UserRun> seq_a = PersonaliseUser(*backbone_, a, labels_a, Options(3));
  StatusOr<UserRun> seq_b = PersonaliseUser(*backbone_, b, labels_b, Options(3));
  ASSERT_TRUE(seq_a.ok() && seq_b.ok()) << seq_a.status().ToString() << seq_b.status().ToString();
  StatusOr<UserRun> par_a = Status(StatusCode::kInternal, "not run");
  StatusOr<UserRun> par_b = Status(StatusCode::kInternal, "not run");
  std::thread ta([&] { par_a = PersonaliseUser(*backbone_, a, labels_a, Options(3)); });
  std::thread tb([&] { par_b = PersonaliseUser(*backbone_, b, labels_b, Options(3)); });
  ta.join();
  tb.join();
  ASSERT_TRUE(par_a.ok() && par_b.ok()) << par_a.status().ToString() << par_b.status().ToString();
  for (auto [seq, par] : {std::pair{&*seq_a, &*par_a}, std::pair{&*seq_b, &*par_b}}) {
    par->personalisation.metadata = seq->personalisation.metadata;  // "created" may differ
    std::string why;
    EXPECT_TRUE(PersonalisationsEqual(seq->personalisation, par->personalisation, &why)) << why;
  }
  std::string why;
  EXPECT_FALSE(PersonalisationsEqual(seq_a->personalisation, seq_b->personalisation, &why))
      << "two users' data gave the same exits";
  EXPECT_EQ(seq_a->labelled, 20u);
  EXPECT_EQ(seq_a->personalisation.metadata.at("labelled"), "20");
  EXPECT_FALSE(seq_a->personalisation.optimizer.has_value());
  ASSERT_TRUE(seq_a->personalisation.calibration.has_value());

  // Two models over the shared backbone, classifying at once on two threads, as one by one.
  auto ma = Model::Create(*backbone_, &seq_a->personalisation);
  auto mb = Model::Create(*backbone_, &seq_b->personalisation);
  ASSERT_TRUE(ma.ok() && mb.ok());
  std::vector<uint8_t> pixels(40 * 784);
  for (size_t i = 0; i < 40; ++i) ASSERT_TRUE(a.Read(i, pixels.data() + i * 784).ok());
  std::vector<ExitAnswer> one(40), two(40), at_once_a(40), at_once_b(40);
  ASSERT_TRUE((*ma)->ClassifyU8(pixels.data(), 40, one.data()).ok());
  ASSERT_TRUE((*mb)->ClassifyU8(pixels.data(), 40, two.data()).ok());
  std::thread ca([&] { EXPECT_TRUE((*ma)->ClassifyU8(pixels.data(), 40, at_once_a.data()).ok()); });
  std::thread cb([&] { EXPECT_TRUE((*mb)->ClassifyU8(pixels.data(), 40, at_once_b.data()).ok()); });
  ca.join();
  cb.join();
  for (size_t i = 0; i < 40; ++i) {
    EXPECT_EQ(one[i].prediction, at_once_a[i].prediction);
    EXPECT_EQ(one[i].exit, at_once_a[i].exit);
    EXPECT_EQ(one[i].score, at_once_a[i].score);
    EXPECT_EQ(two[i].prediction, at_once_b[i].prediction);
    EXPECT_EQ(two[i].score, at_once_b[i].score);
  }
}

TEST_F(FacadeTest, ProgressCancels) {
  std::vector<uint8_t> labels;
  const MemoryImageSource images = Images(3, &labels);
  int calls = 0;
  StatusOr<UserRun> run = PersonaliseUser(*backbone_, images, labels, Options(5), nullptr,
                                          [&](int epoch, int epochs, double loss, double, double) {
                                            ++calls;
                                            EXPECT_EQ(epochs, 5);
                                            EXPECT_TRUE(std::isfinite(loss));
                                            return epoch < 2;  // cancel after the second epoch
                                          });
  EXPECT_EQ(run.status().code(), StatusCode::kCancelled) << run.status().ToString();
  EXPECT_EQ(calls, 2);
}

TEST_F(FacadeTest, CancelFlagStopsPersonaliseBeforeAnyBackbonePass) {
  std::vector<uint8_t> labels;
  const MemoryImageSource images = Images(4, &labels);
  auto planned = PlanExits(*backbone_, Options(5).exits);
  ASSERT_TRUE(planned.ok()) << planned.status().ToString();
  std::atomic<bool> cancel{true};
  PersonaliseOptions o = Options(5).training;
  o.cancel = &cancel;
  int epochs = 0;
  o.on_epoch = [&](int, double, double, double) { ++epochs; };
  auto r = Personalise(backbone_->graph(), planned->plan, images, labels, o);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(epochs, 0);
  cancel = false;
  o.epochs = 1;
  EXPECT_TRUE(Personalise(backbone_->graph(), planned->plan, images, labels, o).ok());
  EXPECT_EQ(epochs, 1);
}

TEST_F(FacadeTest, OriginalModelAndForeignExits) {
  auto original = Model::Create(*backbone_, nullptr);
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  std::vector<uint8_t> labels, pixels(784);
  const MemoryImageSource images = Images(5, &labels);
  ASSERT_TRUE(images.Read(0, pixels.data()).ok());
  ExitAnswer answer;
  ASSERT_TRUE((*original)->ClassifyU8(pixels.data(), 1, &answer).ok());
  EXPECT_EQ(answer.exit, 0);
  EXPECT_EQ(answer.macs, backbone_->macs());
  EXPECT_GE(answer.prediction, 0);
  EXPECT_LT(answer.prediction, 10);

  StatusOr<UserRun> run = PersonaliseUser(*backbone_, images, labels, Options(1));
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const std::string path = ::testing::TempDir() + "/facade_user.pers";
  ASSERT_TRUE(SaveExits(run->personalisation, path).ok());
  auto foreign = Backbone::Load(g_foreign_path);
  ASSERT_TRUE(foreign.ok());
  EXPECT_EQ(LoadExits(**foreign, path).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Model::Create(**foreign, &run->personalisation).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(PlanExits(**foreign, ExitOptions{}, &run->personalisation).status().code(),
            StatusCode::kFailedPrecondition);
  auto loaded = LoadExits(*backbone_, path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  // A warm start continues on the saved exits.
  StatusOr<UserRun> more =
      PersonaliseUser(*backbone_, images, labels, Options(1), &*loaded, nullptr);
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ(more->personalisation.exits.size(), loaded->exits.size());
}

}  // namespace
}  // namespace api
}  // namespace persephonee

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: facade_test BACKBONE FOREIGN\n");
    return 2;
  }
  persephonee::api::g_backbone_path = argv[1];
  persephonee::api::g_foreign_path = argv[2];
  return RUN_ALL_TESTS();
}
