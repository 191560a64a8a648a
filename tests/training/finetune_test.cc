#include "training/finetune.h"

#include <gtest/gtest.h>

#include <cstring>

#include "base/idx.h"
#include "graph/zoo.h"
#include "training/exits.h"

namespace persephonee {
namespace {

constexpr char kImages[] = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
constexpr char kLabels[] = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

struct Data {
  std::unique_ptr<MemoryImageSource> images;
  std::vector<uint8_t> labels;
};

Data FirstImages(size_t n) {
  IdxArray images = ReadIdx(kImages).value();
  IdxArray labels = ReadIdx(kLabels).value();
  images.data.resize(n * 784);
  Data d;
  d.images = std::make_unique<MemoryImageSource>(std::move(images.data), 784);
  d.labels.assign(labels.data.begin(), labels.data.begin() + static_cast<std::ptrdiff_t>(n));
  return d;
}

PersonaliseOptions Small() {
  PersonaliseOptions o;
  o.epochs = 3;
  o.batch = 16;
  o.seed = 5;
  o.learning_rate = 1e-2f;
  return o;
}

// Parameters of `g` by name.
std::map<std::string, std::vector<float>> Params(const Graph& g) {
  std::map<std::string, std::vector<float>> out;
  for (const Tensor& t : g.tensors()) {
    if (t.kind == TensorKind::kParameter) out[t.name] = t.data;
  }
  return out;
}

TEST(FineTuneTest, ClassifierScopeChangesOnlyTheClassifier) {
  const Graph backbone = BuildZooModel("fmnist_resnet", 3).value();
  Data d = FirstImages(64);
  auto r = FineTune(backbone, FineTuneScope::kClassifier, *d.images, d.labels, Small());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->epoch_loss.size(), 3u);
  EXPECT_LT(r->epoch_loss.back(), r->epoch_loss.front());
  EXPECT_EQ(r->train_samples, 52u) << "the Personalise split: floor(0.2 * 64) held out";
  EXPECT_EQ(r->labelled_samples, 52u);
  const auto before = Params(OptimizeBackbone(backbone).value());
  const auto after = Params(r->model);
  ASSERT_EQ(before.size(), after.size());
  int changed = 0;
  for (const auto& [name, values] : before) {
    ASSERT_TRUE(after.count(name)) << name;
    const bool same =
        values.size() == after.at(name).size() &&
        std::memcmp(values.data(), after.at(name).data(), values.size() * sizeof(float)) == 0;
    if (name.rfind("fc", 0) == 0) {
      EXPECT_FALSE(same) << name << " should have trained";
    } else {
      EXPECT_TRUE(same) << name << " is below the classifier and must not change";
    }
    changed += same ? 0 : 1;
  }
  EXPECT_GE(changed, 1);
}

TEST(FineTuneTest, WholeNetworkTrainsEveryLayerAndLowersTheLoss) {
  const Graph backbone = BuildZooModel("fmnist_resnet", 3).value();
  Data d = FirstImages(48);
  PersonaliseOptions o = Small();
  o.optimizer = OptimizerKind::kSgd;
  o.learning_rate = 0.05f;
  o.threads = 2;
  auto r = FineTune(backbone, FineTuneScope::kWholeNetwork, *d.images, d.labels, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_LT(r->epoch_loss.back(), r->epoch_loss.front());
  const auto before = Params(OptimizeBackbone(backbone).value());
  const auto after = Params(r->model);
  for (const auto& [name, values] : before) {
    ASSERT_TRUE(after.count(name)) << name;
    EXPECT_NE(std::memcmp(values.data(), after.at(name).data(), values.size() * sizeof(float)), 0)
        << name << " did not train";
  }
  // Cost: one teacher pass plus forward and backward (3x the forward) of every epoch.
  const double macs = 22464256.0 * static_cast<double>(r->train_samples);  // tests/graph/zoo_test
  EXPECT_EQ(r->train_samples, 39u);
  EXPECT_NEAR(static_cast<double>(r->training_macs), macs * (1 + 3 * 3), 0.01 * macs);
}

TEST(FineTuneTest, UnlabelledSamplesLearnFromTheOriginalModel) {
  // With no labels and tau = 0 every sample is pseudo-labelled by the original model, so the
  // classifier, starting from that model, already agrees with its teacher: the loss is the
  // teacher's own cross-entropy plus a zero distillation term, and it can only go down.
  const Graph backbone = BuildZooModel("fmnist_resnet", 4).value();
  Data d = FirstImages(40);
  std::vector<uint8_t> none(d.labels.size(), kUnlabelled);
  PersonaliseOptions o = Small();
  o.loss.pseudo_label_threshold = 0.0f;
  auto r = FineTune(backbone, FineTuneScope::kClassifier, *d.images, none, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->labelled_samples, 0u);
  EXPECT_LE(r->epoch_loss.back(), r->epoch_loss.front());
}

TEST(FineTuneTest, RejectsBadInput) {
  const Graph backbone = BuildZooModel("fmnist_resnet", 3).value();
  Data d = FirstImages(20);
  std::vector<uint8_t> short_labels(5, 0);
  auto r = FineTune(backbone, FineTuneScope::kWholeNetwork, *d.images, short_labels, Small());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("labels"), std::string::npos) << r.status().ToString();
  std::vector<uint8_t> bad = d.labels;
  bad[3] = 10;
  r = FineTune(backbone, FineTuneScope::kClassifier, *d.images, bad, Small());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("label 10"), std::string::npos) << r.status().ToString();
  MemoryImageSource wrong(std::vector<uint8_t>(20 * 100), 100);
  r = FineTune(backbone, FineTuneScope::kClassifier, wrong, d.labels, Small());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bytes"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace persephonee
