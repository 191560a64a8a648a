#include "training/personalise.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/idx.h"
#include "engine/engine.h"
#include "graph/builder.h"
#include "graph/int8_rows.h"
#include "graph/zoo.h"
#include "tests/testing/test_graphs.h"

namespace persephonee {
namespace {

constexpr char kImages[] = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
constexpr char kLabels[] = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";

// A small backbone for 28x28x1 images whose features carry the class well enough for heads.
Graph SmallBackbone() {
  GraphBuilder b;
  uint64_t s = 100;
  auto w = [&](size_t n, size_t fan_in) {
    const float r = std::sqrt(6.0f / fan_in);
    return testing_graphs::RandomVector(n, ++s, -r, r);
  };
  TensorId x = b.Input("image", {1, 28, 28, 1});
  std::vector<float> w1 = w(8 * 9, 9), w2 = w(16 * 72, 72), w3 = w(32 * 144, 144),
                     w4 = w(10 * 32, 32);
  x = b.Conv2d("conv1", x, Conv2dAttrs::Square(8, 3, 2, 1, 1, Activation::kRelu), w1,
               std::vector<float>(8, 0.0f));
  x = b.Conv2d("conv2", x, Conv2dAttrs::Square(16, 3, 2, 1, 1, Activation::kRelu), w2,
               std::vector<float>(16, 0.0f));
  x = b.Conv2d("conv3", x, Conv2dAttrs::Square(32, 3, 2, 1, 1, Activation::kRelu), w3,
               std::vector<float>(32, 0.0f));
  x = b.GlobalAvgPool("gap", x);
  b.MarkOutput(b.FullyConnected("fc", x, {10, Activation::kNone}, w4));
  auto g = b.Build();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return std::move(g).value();
}

struct Data {
  std::unique_ptr<MemoryImageSource> images;
  std::vector<uint8_t> labels;
};

Data LoadData(size_t n, size_t labelled_every) {
  auto images = ReadIdx(kImages);
  auto labels = ReadIdx(kLabels);
  EXPECT_TRUE(images.ok() && labels.ok());
  EXPECT_LE(n, images->data.size() / 784);
  Data d;
  d.images = std::make_unique<MemoryImageSource>(
      std::vector<uint8_t>(images->data.begin(), images->data.begin() + n * 784), 784);
  for (size_t i = 0; i < n; ++i) {
    d.labels.push_back(i % labelled_every == 0 ? labels->data[i] : kUnlabelled);
  }
  return d;
}

ExitPlan Plan(const Graph& backbone) {
  auto opt = OptimizeBackbone(backbone);
  EXPECT_TRUE(opt.ok());
  HeadOptions head;
  head.max_cost_fraction = 1.0;  // the backbone is tiny: let the heads be as wide as it
  auto plan = PlaceExitsByNode(*opt, {"conv2", "conv3"}, head);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return std::move(plan).value();
}

PersonaliseOptions Options() {
  PersonaliseOptions o;
  o.epochs = 4;
  o.batch = 16;
  o.seed = 3;
  o.memory_budget = 256u << 20;
  return o;
}

TEST(PersonaliseTest, LossGoesDownAndTeacherIsTheUntouchedBackbone) {
  const Graph backbone = SmallBackbone();
  const Graph copy = backbone;
  const ExitPlan plan = Plan(backbone);
  Data data = LoadData(96, 1);
  PersonaliseOptions options = Options();
  options.epochs = 30;
  options.learning_rate = 1e-2f;
  auto r = Personalise(backbone, plan, *data.images, data.labels, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(GraphsEqual(copy, backbone));
  ASSERT_EQ(r->epoch_loss.size(), 30u);
  EXPECT_LT(r->epoch_loss.back(), 0.7 * r->epoch_loss.front());
  EXPECT_EQ(r->heads.size(), 2u);
  EXPECT_EQ(r->train_samples + r->held_out.labels.size(), 96u);
  EXPECT_EQ(r->labelled_samples, r->train_samples);

  // The final exit's answers on the held-out images are the original model's.
  auto engine = Engine::Create(backbone, {1, 1, {}, true});
  ASSERT_TRUE(engine.ok());
  const size_t exits = static_cast<size_t>(r->held_out.num_exits);
  // The held-out images are a seeded subset: their final-exit predictions, counted per class,
  // must be within the original model's counts over all the images.
  std::vector<int> from_run(10, 0), from_engine(10, 0);
  for (size_t h = 0; h < r->held_out.labels.size(); ++h) {
    ++from_run[r->held_out.prediction[h * exits + exits - 1]];
  }
  std::vector<uint8_t> px(784);
  std::vector<int> all(10, 0);
  for (size_t i = 0; i < 96; ++i) {
    ASSERT_TRUE(data.images->Read(i, px.data()).ok());
    for (size_t p = 0; p < 784; ++p) (*engine)->input()[p] = px[p] / 255.0f;
    ASSERT_TRUE((*engine)->Run().ok());
    const float* o = (*engine)->output();
    ++all[std::max_element(o, o + 10) - o];
  }
  for (int c = 0; c < 10; ++c) EXPECT_LE(from_run[c], all[c]) << "class " << c;
}

TEST(PersonaliseTest, CacheAndRecomputeGiveTheSameHeads) {
  const Graph backbone = SmallBackbone();
  const ExitPlan plan = Plan(backbone);
  Data data = LoadData(64, 3);
  std::vector<std::vector<float>> weights[3];
  int run = 0;
  for (CachePlacement placement :
       {CachePlacement::kMemory, CachePlacement::kRecompute, CachePlacement::kDisk}) {
    PersonaliseOptions options = Options();
    options.force_cache = true;
    options.cache = placement;
    options.spill_dir = ::testing::TempDir();
    auto r = Personalise(backbone, plan, *data.images, data.labels, options);
    ASSERT_TRUE(r.ok()) << CachePlacementName(placement) << ": " << r.status().ToString();
    EXPECT_EQ(r->budget.cache, placement);
    for (const Graph& head : r->heads) {
      for (const Tensor& t : head.tensors()) {
        if (t.kind == TensorKind::kParameter) weights[run].push_back(t.data);
      }
    }
    ++run;
  }
  EXPECT_EQ(weights[0], weights[1]) << "memory cache vs recompute";
  EXPECT_EQ(weights[0], weights[2]) << "memory cache vs spill file";
}

TEST(PersonaliseTest, SameSeedSameHeadsOtherSeedOtherHeads) {
  const Graph backbone = SmallBackbone();
  const ExitPlan plan = Plan(backbone);
  Data data = LoadData(48, 2);
  PersonaliseOptions options = Options();
  options.epochs = 2;
  auto a = Personalise(backbone, plan, *data.images, data.labels, options);
  auto b = Personalise(backbone, plan, *data.images, data.labels, options);
  options.seed = 4;
  auto c = Personalise(backbone, plan, *data.images, data.labels, options);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(GraphsEqual(a->heads[0], b->heads[0]));
  EXPECT_FALSE(GraphsEqual(a->heads[0], c->heads[0]));
}

TEST(PersonaliseTest, WarmStartContinuesFromSavedHeads) {
  const Graph backbone = SmallBackbone();
  const ExitPlan plan = Plan(backbone);
  Data data = LoadData(64, 1);
  PersonaliseOptions options = Options();
  options.epochs = 3;
  auto first = Personalise(backbone, plan, *data.images, data.labels, options);
  ASSERT_TRUE(first.ok());
  WarmStart warm{first->heads, first->optimizer_state, first->optimizer_step};
  options.epochs = 1;
  auto second = Personalise(backbone, plan, *data.images, data.labels, options, &warm);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_GT(second->optimizer_step, first->optimizer_step);
  // Starting from trained heads, the first epoch's loss is already below the cold start's.
  EXPECT_LT(second->epoch_loss.front(), first->epoch_loss.front());
}

TEST(PersonaliseTest, BadInputAndTooSmallBudget) {
  const Graph backbone = SmallBackbone();
  const ExitPlan plan = Plan(backbone);
  Data data = LoadData(32, 1);
  PersonaliseOptions options = Options();
  std::vector<uint8_t> short_labels(10, 1);
  auto r1 = Personalise(backbone, plan, *data.images, short_labels, options);
  EXPECT_EQ(r1.status().code(), StatusCode::kInvalidArgument);
  std::vector<uint8_t> bad = data.labels;
  bad[5] = 17;
  auto r2 = Personalise(backbone, plan, *data.images, bad, options);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("label 17 of image 5"), std::string::npos);
  MemoryImageSource wrong(std::vector<uint8_t>(32 * 100), 100);
  EXPECT_FALSE(Personalise(backbone, plan, wrong, data.labels, options).ok());
  options.memory_budget = 1u << 20;
  auto r3 = Personalise(backbone, plan, *data.images, data.labels, options);
  ASSERT_EQ(r3.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r3.status().message().find("--memory-budget"), std::string::npos);
}

// fmnist_resnet from the zoo (seeded weights) with 4 exits at even fractions of its FLOPs.
struct ZooSetup {
  Graph backbone;
  ExitPlan plan;
};

ZooSetup FmnistResnet() {
  ZooSetup z;
  auto g = BuildZooModel("fmnist_resnet", 1);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  z.backbone = std::move(g).value();
  auto opt = OptimizeBackbone(z.backbone);
  EXPECT_TRUE(opt.ok()) << opt.status().ToString();
  auto plan = PlaceExitsByFraction(*opt, EvenFractions(4));
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  z.plan = std::move(plan).value();
  return z;
}

std::vector<std::vector<float>> HeadParameters(const PersonaliseResult& r) {
  std::vector<std::vector<float>> weights;
  for (const Graph& head : r.heads) {
    for (const Tensor& t : head.tensors()) {
      if (t.kind == TensorKind::kParameter) weights.push_back(t.data);
    }
  }
  return weights;
}

TEST(PersonaliseTest, PlannerRunsTheBackboneAtTheBackboneBatchWhenCaching) {
  const ZooSetup z = FmnistResnet();
  auto optimized = OptimizeBackbone(z.backbone);
  ASSERT_TRUE(optimized.ok());
  PersonaliseOptions o = Options();
  o.batch = 32;
  o.memory_budget = size_t{1} << 30;
  auto cached = PlanPersonalisation(*optimized, z.plan, 500, o);
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  EXPECT_EQ(cached->batch, 32);
  EXPECT_EQ(cached->cache, CachePlacement::kMemoryF16);  // float32 only when forced
  EXPECT_EQ(cached->backbone_batch, kDefaultBackboneBatch);
  EXPECT_NE(cached->explanation.find("backbone batch " + std::to_string(kDefaultBackboneBatch)),
            std::string::npos)
      << cached->explanation;

  // Recomputing assembles every training batch from one backbone pass.
  o.force_cache = true;
  o.cache = CachePlacement::kRecompute;
  auto recompute = PlanPersonalisation(*optimized, z.plan, 500, o);
  ASSERT_TRUE(recompute.ok()) << recompute.status().ToString();
  EXPECT_EQ(recompute->backbone_batch, 32);
  // The backbone's arena and indirection buffers grow with its batch.
  EXPECT_GT(recompute->engine_bytes, cached->engine_bytes);

  // Never more than the training batch (nor the training set); a set value is used.
  o.cache = CachePlacement::kMemory;
  o.backbone_batch = 3;
  auto three = PlanPersonalisation(*optimized, z.plan, 500, o);
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(three->backbone_batch, 3);
  EXPECT_LT(three->engine_bytes, cached->engine_bytes);
  o.backbone_batch = 64;
  auto capped = PlanPersonalisation(*optimized, z.plan, 500, o);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->backbone_batch, 32);
  auto few = PlanPersonalisation(*optimized, z.plan, 5, o);
  ASSERT_TRUE(few.ok());
  EXPECT_EQ(few->batch, 5);
  EXPECT_EQ(few->backbone_batch, 5);
  o.backbone_batch = -1;
  EXPECT_EQ(PlanPersonalisation(*optimized, z.plan, 500, o).status().code(),
            StatusCode::kInvalidArgument);
}

// XNNPACK computes each image of a batch on its own, in the same order of operations whatever
// the batch, so the cached features, and hence the trained heads and the held-out answers, are
// bitwise the same for any backbone batch, including one that leaves a partial last pass (7).
TEST(PersonaliseTest, BackboneBatchDoesNotChangeTheHeads) {
  const ZooSetup z = FmnistResnet();
  Data data = LoadData(52, 2);  // 37 train, 15 held out: partial passes at 7 and at 32
  std::vector<std::vector<float>> weights[3];
  HeldOut held[3];
  const int backbone_batches[3] = {1, 32, 7};
  for (int i = 0; i < 3; ++i) {
    PersonaliseOptions o = Options();
    o.epochs = 2;
    o.batch = 32;
    o.backbone_batch = backbone_batches[i];
    o.holdout_fraction = 0.3;
    o.force_cache = true;
    o.cache = CachePlacement::kMemory;
    // Not about the budget: room for the backbone pass of 32 images even under asan, whose
    // shadow memory raises the process's baseline above Options()' 256 MiB.
    o.memory_budget = size_t{1} << 30;
    auto r = Personalise(z.backbone, z.plan, *data.images, data.labels, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->budget.batch, 32);
    EXPECT_EQ(r->budget.backbone_batch, backbone_batches[i]);
    EXPECT_GT(r->cache_seconds, 0.0);
    weights[i] = HeadParameters(*r);
    held[i] = r->held_out;
  }
  ASSERT_FALSE(weights[0].empty());
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(weights[0], weights[i]) << "backbone batch 1 vs " << backbone_batches[i];
    EXPECT_EQ(held[0].labels, held[i].labels);
    EXPECT_EQ(held[0].prediction, held[i].prediction) << backbone_batches[i];
    EXPECT_EQ(held[0].max_prob, held[i].max_prob) << backbone_batches[i];
    EXPECT_EQ(held[0].entropy, held[i].entropy) << backbone_batches[i];
  }
  EXPECT_EQ(held[0].labels.size(), 15u);
}

// The float16 feature cache against float32: fmnist_resnet, 400 labelled Fashion-MNIST test
// images trained for 3 epochs, every exit's accuracy on 1000 further images held out. The heads
// train on rounded features (relative error up to 2^-11), so they end a little apart; their
// accuracies must stay within 1 point (10 images) of each other.
TEST(PersonaliseTest, Float16CacheKeepsTheAccuracyOfEveryExit) {
#if defined(__aarch64__)
  // 2800 backbone passes take over 5 minutes under qemu-aarch64. The rounding gives the same
  // bits on every CPU (tests/kernels/elementwise:half_test), so the host measures it.
  GTEST_SKIP() << "host only: too slow under qemu-aarch64";
#endif
  const ZooSetup z = FmnistResnet();
  Data data = LoadData(1400, 1);
  std::vector<double> accuracy[2];
  std::vector<std::vector<float>> weights[2];
  const CachePlacement caches[2] = {CachePlacement::kMemory, CachePlacement::kMemoryF16};
  for (int c = 0; c < 2; ++c) {
    PersonaliseOptions o = Options();
    o.epochs = 3;
    o.batch = 8;  // more steps than 32 would take: the heads get well above chance
    o.learning_rate = 1e-2f;
    o.holdout_fraction = 1000.5 / 1400;  // floor(1000.5) held out, 400 train
    o.memory_budget = size_t{1} << 30;
    o.force_cache = true;
    o.cache = caches[c];
    auto r = Personalise(z.backbone, z.plan, *data.images, data.labels, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->train_samples, 400u);
    const HeldOut& h = r->held_out;
    ASSERT_EQ(h.labels.size(), 1000u);
    const size_t exits = static_cast<size_t>(h.num_exits);
    for (size_t e = 0; e < exits; ++e) {
      size_t right = 0;
      for (size_t i = 0; i < h.labels.size(); ++i)
        right += h.prediction[i * exits + e] == h.labels[i];
      accuracy[c].push_back(100.0 * right / h.labels.size());
    }
    weights[c] = HeadParameters(*r);
  }
  EXPECT_NE(weights[0], weights[1]) << "the float16 cache should have rounded the features";
  for (size_t e = 0; e < accuracy[0].size(); ++e) {
    const bool final_exit = e + 1 == accuracy[0].size();
    std::printf("exit %zu%s: held-out accuracy %.1f%% (float32 cache), %.1f%% (float16 cache)\n",
                e + 1, final_exit ? " (the backbone's own)" : "", accuracy[0][e], accuracy[1][e]);
    // The heads learn, on the features of a backbone that is not trained: well above chance
    // (10%; the untrained backbone's own exit is near it).
    if (!final_exit) {
      EXPECT_GT(accuracy[0][e], 25.0) << "exit " << e + 1;
    }
    EXPECT_NEAR(accuracy[1][e], accuracy[0][e], 1.0) << "exit " << e + 1;
  }
}

// Int8 head weights against float32: training is the same (the rounding comes after it), the
// stored heads are the float32 ones rounded to their int8 grid, and each exit's accuracy on 300
// held-out Fashion-MNIST images stays within 1 point (3 images) of float32's.
TEST(PersonaliseTest, Int8HeadWeightsAreTheTrainedOnesRoundedAndKeepTheAccuracy) {
  const Graph backbone = SmallBackbone();
  const ExitPlan plan = Plan(backbone);
  Data data = LoadData(900, 1);
  PersonaliseResult result[2];
  std::vector<double> accuracy[2];
  const ParameterStorage storage[2] = {ParameterStorage::kFloat32, ParameterStorage::kInt8Rows};
  for (int s = 0; s < 2; ++s) {
    PersonaliseOptions o = Options();
    o.epochs = 8;
    o.learning_rate = 1e-2f;
    o.holdout_fraction = 300.5 / 900;
    o.head_storage = storage[s];
    auto r = Personalise(backbone, plan, *data.images, data.labels, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const HeldOut& h = r->held_out;
    ASSERT_EQ(h.labels.size(), 300u);
    const size_t exits = static_cast<size_t>(h.num_exits);
    for (size_t e = 0; e + 1 < exits; ++e) {
      size_t right = 0;
      for (size_t i = 0; i < h.labels.size(); ++i) {
        right += h.prediction[i * exits + e] == h.labels[i];
      }
      accuracy[s].push_back(100.0 * right / h.labels.size());
    }
    result[s] = std::move(r).value();
  }
  EXPECT_EQ(result[0].epoch_loss, result[1].epoch_loss);
  ASSERT_EQ(result[0].heads.size(), result[1].heads.size());
  int rounded = 0;
  for (size_t e = 0; e < result[0].heads.size(); ++e) {
    Graph expected = result[0].heads[e];
    for (const Tensor& t : expected.tensors()) EXPECT_EQ(t.storage, ParameterStorage::kFloat32);
    rounded += SetWeightStorage(&expected, ParameterStorage::kInt8Rows);
    std::string why;
    EXPECT_TRUE(GraphsEqual(expected, result[1].heads[e], &why)) << "exit " << e << ": " << why;
  }
  EXPECT_EQ(rounded, 4);  // a 1x1 convolution and a classifier per head
  for (size_t e = 0; e < accuracy[0].size(); ++e) {
    std::printf("exit %zu: held-out accuracy %.1f%% (float32 weights), %.1f%% (int8 rows)\n", e + 1,
                accuracy[0][e], accuracy[1][e]);
    EXPECT_GT(accuracy[0][e], 40.0) << "exit " << e + 1;  // the heads learn (chance: 10%)
    EXPECT_NEAR(accuracy[1][e], accuracy[0][e], 1.0) << "exit " << e + 1;
  }
}

}  // namespace
}  // namespace persephonee
