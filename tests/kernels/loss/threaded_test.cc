// The threaded loss entry points (f32_softmax_xent etc.) and the checked entry points on a pool:
// with no pool and with pools of 1, 2 and 3 threads, every output, the returned loss total
// included, is bitwise identical to the kernel's own over the whole batch (so to each other),
// for the scalar kernels and for loss_config()'s, on batches of one tile, of several and of a
// partial last tile, with and without weights (weight-0 samples among the others), with and
// without per-sample losses and gradients. Outputs start as NaN and carry guards.
#include <gtest/gtest.h>
#include <pthreadpool.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/loss/loss.h"
#include "tests/testing/thread_pools.h"

namespace persephonee {
namespace {

using testing_threads::ExpectSameBits;
using testing_threads::IndexOutput;
using testing_threads::NanOutput;
using testing_threads::TestPools;

// The scalar kernels, and loss_config()'s when they are different.
std::vector<LossConfig> Configs() {
  LossConfig scalar;
  scalar.name = "scalar";
  scalar.softmax = f32_softmax__scalar;
  scalar.xent = f32_softmax_xent__scalar;
  scalar.kldiv = f32_softmax_kldiv__scalar;
  scalar.confidence = f32_softmax_confidence__scalar;
  std::vector<LossConfig> configs = {scalar};
  if (std::string(loss_config().name) != "scalar") configs.push_back(loss_config());
  return configs;
}

// A batch of logits in [-8, 8) (some rows scaled up to ±60), labels, weights with every 5th
// sample at 0 and the others in [0.25, 2) · 2^[-24, 24], and teacher targets (a softmax, every
// 7th class 0).
struct Problem {
  size_t batch, classes;
  std::vector<float> logits, weights, targets;
  std::vector<int32_t> labels;   // All in range.
  std::vector<int32_t> wlabels;  // -1 (never read) where the weight is 0.

  Problem(size_t batch_, size_t classes_, uint32_t seed) : batch(batch_), classes(classes_) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> logit(-8.0f, 8.0f), weight(0.25f, 2.0f);
    std::uniform_int_distribution<int32_t> label(0, static_cast<int32_t>(classes) - 1);
    std::uniform_int_distribution<int> scale_exp(-24, 24);
    logits.resize(batch * classes);
    for (size_t b = 0; b < batch; ++b) {
      const float scale = b % 3 == 2 ? 7.5f : 1.0f;
      for (size_t c = 0; c < classes; ++c) logits[b * classes + c] = scale * logit(rng);
    }
    weights.resize(batch);
    labels.resize(batch);
    wlabels.resize(batch);
    for (size_t b = 0; b < batch; ++b) {
      // Magnitudes 2^-24 to 2^24: the compensated total then depends on the order of its terms.
      weights[b] = b % 5 == 3 ? 0.0f : std::ldexp(weight(rng), scale_exp(rng));
      labels[b] = label(rng);
      wlabels[b] = weights[b] == 0.0f ? -1 : labels[b];
    }
    std::vector<float> teacher(batch * classes);
    for (float& z : teacher) z = logit(rng);
    targets.resize(batch * classes);
    f32_softmax__scalar(batch, classes, teacher.data(), 2.0f, targets.data());
    for (size_t i = 0; i < targets.size(); i += 7) targets[i] = 0.0f;
  }
  std::string Describe() const { return std::to_string(batch) + "x" + std::to_string(classes); }
};

// One tile, several tiles and a partial last one, odd class counts, one class, and rows wider
// than a tile (one sample per task).
struct Case {
  size_t batch, classes;
};
const Case kCases[] = {{1, 1}, {5, 3}, {700, 3}, {250, 10}, {37, 100}, {7, 1000}, {3, 1025}};

TEST(LossThreadedTest, TilesDependOnTheClassesOnly) {
  EXPECT_EQ(LossBatchTile(1), 2048u);
  EXPECT_EQ(LossBatchTile(10), 205u);
  EXPECT_EQ(LossBatchTile(1000), 3u);
  EXPECT_EQ(LossBatchTile(1024), 2u);
  EXPECT_EQ(LossBatchTile(2048), 1u);
  EXPECT_EQ(LossBatchTile(5000), 1u);
  size_t multi = 0;
  for (const Case& k : kCases) multi += k.batch > LossBatchTile(k.classes) ? 1 : 0;
  EXPECT_GE(multi, 5u);
}

TEST(LossThreadedTest, SoftmaxAndConfidenceAreBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  uint32_t seed = 1;
  for (const LossConfig& config : Configs()) {
    for (const Case& k : kCases) {
      const Problem p(k.batch, k.classes, seed++);
      const std::string where = std::string(config.name) + " " + p.Describe();
      const size_t n = p.batch * p.classes;
      std::vector<float> want_probs = NanOutput(n);
      config.softmax(p.batch, p.classes, p.logits.data(), 3.0f, want_probs.data());
      std::vector<float> want_max = NanOutput(p.batch), want_entropy = NanOutput(p.batch);
      std::vector<int32_t> want_argmax = IndexOutput(p.batch);
      config.confidence(p.batch, p.classes, p.logits.data(), want_max.data(), want_entropy.data(),
                        want_argmax.data());
      std::vector<float> want_entropy_only = NanOutput(p.batch);
      config.confidence(p.batch, p.classes, p.logits.data(), nullptr, want_entropy_only.data(),
                        nullptr);
      for (pthreadpool_t pool : pools.all()) {
        const std::string what = where + ", " + TestPools::Name(pool);
        std::vector<float> probs = NanOutput(n);
        f32_softmax(p.batch, p.classes, p.logits.data(), 3.0f, probs.data(), pool, config);
        ExpectSameBits(probs, want_probs, "softmax, " + what);
        std::vector<float> max_prob = NanOutput(p.batch), entropy = NanOutput(p.batch);
        std::vector<int32_t> argmax = IndexOutput(p.batch);
        f32_softmax_confidence(p.batch, p.classes, p.logits.data(), max_prob.data(), entropy.data(),
                               argmax.data(), pool, config);
        ExpectSameBits(max_prob, want_max, "confidence max_prob, " + what);
        ExpectSameBits(entropy, want_entropy, "confidence entropy, " + what);
        ExpectSameBits(argmax, want_argmax, "confidence argmax, " + what);
        std::vector<float> entropy_only = NanOutput(p.batch);
        f32_softmax_confidence(p.batch, p.classes, p.logits.data(), nullptr, entropy_only.data(),
                               nullptr, pool, config);
        ExpectSameBits(entropy_only, want_entropy_only, "confidence entropy alone, " + what);
      }
    }
  }
}

TEST(LossThreadedTest, CrossEntropyIsBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  uint32_t seed = 100;
  for (const LossConfig& config : Configs()) {
    for (const Case& k : kCases) {
      const Problem p(k.batch, k.classes, seed++);
      const size_t n = p.batch * p.classes;
      for (bool weighted : {true, false}) {
        const float* w = weighted ? p.weights.data() : nullptr;
        const int32_t* y = weighted ? p.wlabels.data() : p.labels.data();
        const float scale = 1.0f / static_cast<float>(p.batch);
        const std::string where = std::string(config.name) + " " + p.Describe() +
                                  (weighted ? " weighted" : " unweighted");
        std::vector<float> want_losses = NanOutput(p.batch), want_grad = NanOutput(n);
        const float want = config.xent(p.batch, p.classes, p.logits.data(), y, w, scale,
                                       want_losses.data(), want_grad.data());
        std::vector<float> want_grad_only = NanOutput(n);
        const float want_no_losses = config.xent(p.batch, p.classes, p.logits.data(), y, w, scale,
                                                 nullptr, want_grad_only.data());
        for (pthreadpool_t pool : pools.all()) {
          const std::string what = where + ", " + TestPools::Name(pool);
          std::vector<float> losses = NanOutput(p.batch), grad = NanOutput(n);
          ExpectSameBits(f32_softmax_xent(p.batch, p.classes, p.logits.data(), y, w, scale,
                                          losses.data(), grad.data(), pool, config),
                         want, "cross-entropy, " + what);
          ExpectSameBits(losses, want_losses, "cross-entropy losses, " + what);
          ExpectSameBits(grad, want_grad, "cross-entropy gradient, " + what);
          std::vector<float> grad_only = NanOutput(n);
          ExpectSameBits(f32_softmax_xent(p.batch, p.classes, p.logits.data(), y, w, scale, nullptr,
                                          grad_only.data(), pool, config),
                         want_no_losses, "cross-entropy without losses, " + what);
          ExpectSameBits(grad_only, want_grad_only, "cross-entropy gradient alone, " + what);
          ExpectSameBits(f32_softmax_xent(p.batch, p.classes, p.logits.data(), y, w, scale, nullptr,
                                          nullptr, pool, config),
                         want_no_losses, "cross-entropy total alone, " + what);
        }
      }
    }
  }
}

TEST(LossThreadedTest, DistillationIsBitwiseIdenticalForAnyThreadCount) {
  const TestPools pools;
  uint32_t seed = 200;
  for (const LossConfig& config : Configs()) {
    for (const Case& k : kCases) {
      const Problem p(k.batch, k.classes, seed++);
      const size_t n = p.batch * p.classes;
      for (bool weighted : {true, false}) {
        const float* w = weighted ? p.weights.data() : nullptr;
        const float scale = 0.5f;
        const std::string where = std::string(config.name) + " " + p.Describe() +
                                  (weighted ? " weighted" : " unweighted");
        std::vector<float> want_losses = NanOutput(p.batch), want_grad = NanOutput(n);
        const float want = config.kldiv(p.batch, p.classes, p.logits.data(), p.targets.data(), 2.0f,
                                        w, scale, want_losses.data(), want_grad.data());
        std::vector<float> want_grad_only = NanOutput(n);
        const float want_no_losses =
            config.kldiv(p.batch, p.classes, p.logits.data(), p.targets.data(), 2.0f, w, scale,
                         nullptr, want_grad_only.data());
        for (pthreadpool_t pool : pools.all()) {
          const std::string what = where + ", " + TestPools::Name(pool);
          std::vector<float> losses = NanOutput(p.batch), grad = NanOutput(n);
          ExpectSameBits(
              f32_softmax_kldiv(p.batch, p.classes, p.logits.data(), p.targets.data(), 2.0f, w,
                                scale, losses.data(), grad.data(), pool, config),
              want, "distillation, " + what);
          ExpectSameBits(losses, want_losses, "distillation losses, " + what);
          ExpectSameBits(grad, want_grad, "distillation gradient, " + what);
          std::vector<float> grad_only = NanOutput(n);
          ExpectSameBits(f32_softmax_kldiv(p.batch, p.classes, p.logits.data(), p.targets.data(),
                                           2.0f, w, scale, nullptr, grad_only.data(), pool, config),
                         want_no_losses, "distillation without losses, " + what);
          ExpectSameBits(grad_only, want_grad_only, "distillation gradient alone, " + what);
        }
      }
    }
  }
}

// Summing per-tile totals would give other bits than the kernel's total on these problems, so
// the tests above would catch a threaded total summed that way.
TEST(LossThreadedTest, PerTileTotalsWouldDiffer) {
  size_t differ = 0;
  for (const LossConfig& config : Configs()) {
    for (uint32_t seed = 300; seed < 310; ++seed) {
      const Problem p(250, 10, seed);
      const float scale = 1.0f / 250.0f;
      const float whole = config.xent(p.batch, p.classes, p.logits.data(), p.wlabels.data(),
                                      p.weights.data(), scale, nullptr, nullptr);
      const size_t tile = LossBatchTile(p.classes);
      float tiles = 0.0f;
      for (size_t b = 0; b < p.batch; b += tile) {
        const size_t count = std::min(tile, p.batch - b);
        tiles += config.xent(count, p.classes, p.logits.data() + b * p.classes,
                             p.wlabels.data() + b, p.weights.data() + b, scale, nullptr, nullptr);
      }
      differ += std::memcmp(&whole, &tiles, sizeof(float)) != 0 ? 1 : 0;
    }
  }
  EXPECT_GE(differ, 1u);
}

TEST(LossThreadedTest, CheckedEntryPointsOnAPool) {
  const TestPools pools;
  const Problem p(250, 10, 400);
  const size_t n = p.batch * p.classes;
  const float scale = 1.0f / 250.0f;
  const LossConfig& config = loss_config();
  std::vector<float> want_losses = NanOutput(p.batch), want_grad = NanOutput(n);
  const float want_xent =
      config.xent(p.batch, p.classes, p.logits.data(), p.labels.data(), p.weights.data(), scale,
                  want_losses.data(), want_grad.data());
  std::vector<float> want_kl_grad = NanOutput(n);
  const float want_kl = config.kldiv(p.batch, p.classes, p.logits.data(), p.targets.data(), 4.0f,
                                     p.weights.data(), scale, nullptr, want_kl_grad.data());
  std::vector<float> want_probs = NanOutput(n), want_max = NanOutput(p.batch);
  config.softmax(p.batch, p.classes, p.logits.data(), 1.0f, want_probs.data());
  config.confidence(p.batch, p.classes, p.logits.data(), want_max.data(), nullptr, nullptr);
  for (pthreadpool_t pool : pools.all()) {
    const std::string what = TestPools::Name(pool);
    std::vector<float> losses = NanOutput(p.batch), grad = NanOutput(n);
    float total = 0.0f;
    ASSERT_TRUE(SoftmaxCrossEntropy(p.batch, p.classes, p.logits.data(), p.labels.data(),
                                    p.weights.data(), scale, losses.data(), grad.data(), &total,
                                    pool)
                    .ok());
    ExpectSameBits(total, want_xent, "SoftmaxCrossEntropy, " + what);
    ExpectSameBits(losses, want_losses, "SoftmaxCrossEntropy losses, " + what);
    ExpectSameBits(grad, want_grad, "SoftmaxCrossEntropy gradient, " + what);
    std::vector<float> kl_grad = NanOutput(n);
    ASSERT_TRUE(SoftmaxDistillation(p.batch, p.classes, p.logits.data(), p.targets.data(), 4.0f,
                                    p.weights.data(), scale, nullptr, kl_grad.data(), &total, pool)
                    .ok());
    ExpectSameBits(total, want_kl, "SoftmaxDistillation, " + what);
    ExpectSameBits(kl_grad, want_kl_grad, "SoftmaxDistillation gradient, " + what);
    std::vector<float> probs = NanOutput(n), max_prob = NanOutput(p.batch);
    ASSERT_TRUE(Softmax(p.batch, p.classes, p.logits.data(), 1.0f, probs.data(), pool).ok());
    ExpectSameBits(probs, want_probs, "Softmax, " + what);
    ASSERT_TRUE(SoftmaxConfidence(p.batch, p.classes, p.logits.data(), max_prob.data(), nullptr,
                                  nullptr, pool)
                    .ok());
    ExpectSameBits(max_prob, want_max, "SoftmaxConfidence, " + what);
  }
}

}  // namespace
}  // namespace persephonee
