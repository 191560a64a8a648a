#include "training/pretrain.h"

#include <gtest/gtest.h>

#include <cmath>

#include "graph/builder.h"
#include "tests/testing/test_graphs.h"

namespace persephonee {
namespace {

// A small residual network for 28x28x1: stem, one block with a projection shortcut, pooling.
Graph SmallResnet() {
  GraphBuilder b;
  uint64_t s = 40;
  auto w = [&](size_t n, size_t fan_in) {
    const float r = std::sqrt(6.0f / fan_in);
    return testing_graphs::RandomVector(n, ++s, -r, r);
  };
  std::vector<float> w0 = w(8 * 9, 9), w1 = w(16 * 72, 72), w2 = w(16 * 144, 144),
                     wd = w(16 * 8, 8), wf = w(10 * 16, 16);
  TensorId x = b.Input("image", {1, 28, 28, 1});
  x = b.Conv2d("stem", x, Conv2dAttrs::Square(8, 3, 2, 1, 1, Activation::kRelu), w0,
               std::vector<float>(8, 0.0f));
  TensorId r = b.Conv2d("block.conv1", x, Conv2dAttrs::Square(16, 3, 2, 1, 1, Activation::kRelu),
                        w1, std::vector<float>(16, 0.0f));
  r = b.Conv2d("block.conv2", r, Conv2dAttrs::Square(16, 3, 1, 1), w2,
               std::vector<float>(16, 0.0f));
  TensorId d =
      b.Conv2d("block.down", x, Conv2dAttrs::Square(16, 1, 2), wd, std::vector<float>(16, 0.0f));
  x = b.Relu("block.out", b.Add("block.add", r, d));
  x = b.GlobalAvgPool("gap", x);
  b.MarkOutput(b.FullyConnected("fc", x, {10, Activation::kNone}, wf));
  auto g = b.Build();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return std::move(g).value();
}

struct Data {
  IdxArray train_images, train_labels, test_images, test_labels;
};

const Data& FashionMnist() {
  static const Data* data = [] {
    auto* d = new Data();
    const std::string dir = "/usr/share/datasets/fashion-mnist/";
    d->train_images = ReadIdx(dir + "train-images-idx3-ubyte.gz").value();
    d->train_labels = ReadIdx(dir + "train-labels-idx1-ubyte.gz").value();
    d->test_images = ReadIdx(dir + "t10k-images-idx3-ubyte.gz").value();
    d->test_labels = ReadIdx(dir + "t10k-labels-idx1-ubyte.gz").value();
    return d;
  }();
  return *data;
}

TEST(PretrainTest, LearnsFashionMnistAndZeroesOnlyTheBranch) {
  const Data& d = FashionMnist();
  PretrainOptions o;
  o.epochs = 3;
  o.batch = 32;
  o.learning_rate = 0.2f;
  o.warmup_epochs = 0.5f;
  o.train_count = 1024;
  o.test_count = 500;
  auto r = Pretrain(SmallResnet(), d.train_images, d.train_labels, d.test_images, d.test_labels, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->test_accuracy.size(), 3u);
  EXPECT_GT(r->test_accuracy.back(), 0.3) << "chance is 0.10";
  EXPECT_LT(r->epoch_loss.back(), r->epoch_loss.front());
  // The engine agrees with the figure the run reported for its final model.
  auto again = TestAccuracy(r->model, d.test_images, d.test_labels, 500, 1);
  ASSERT_TRUE(again.ok());
  EXPECT_DOUBLE_EQ(*again, r->test_accuracy.back());

  // Zero-init residual: after zero steps of training the branch's last conv is zero and the
  // projection shortcut is not.
  o.epochs = 1;
  o.train_count = 32;
  o.learning_rate = 1e-12f;
  o.test_count = 0;
  auto untouched =
      Pretrain(SmallResnet(), d.train_images, d.train_labels, d.test_images, d.test_labels, o);
  ASSERT_TRUE(untouched.ok());
  auto weights = [&](const char* name) {
    auto t = untouched->model.FindTensor(name);
    EXPECT_TRUE(t.ok()) << name;
    return untouched->model.tensor(*t).data;
  };
  for (float v : weights("block.conv2.weight")) ASSERT_NEAR(v, 0.0f, 1e-9f);
  double down = 0;
  for (float v : weights("block.down.weight")) down += std::fabs(v);
  EXPECT_GT(down, 1.0);
}

TEST(PretrainTest, RejectsMismatchedData) {
  const Data& d = FashionMnist();
  PretrainOptions o;
  o.train_first = 59990;
  o.train_count = 100;
  auto r = Pretrain(SmallResnet(), d.train_images, d.train_labels, d.test_images, d.test_labels, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("outside"), std::string::npos);
  auto wrong =
      Pretrain(SmallResnet(), d.train_images, d.test_labels, d.test_images, d.test_labels, o);
  EXPECT_FALSE(wrong.ok());
}

}  // namespace
}  // namespace persephonee
