// The checked entry points: the choice of implementation, and that every kind of bad argument
// is an error naming it, with nothing written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/loss/loss.h"

namespace persephonee {
namespace {

constexpr float kSentinel = -12345.5f;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(LossApiTest, ConfigMatchesTheCpu) {
  const LossConfig& config = loss_config();
#if defined(__aarch64__)
  EXPECT_STREQ(config.name, "neon");
  EXPECT_EQ(config.xent, &f32_softmax_xent__neon);
#else
  EXPECT_STREQ(config.name, "scalar");
  EXPECT_EQ(config.xent, &f32_softmax_xent__scalar);
#endif
  EXPECT_NE(config.softmax, nullptr);
  EXPECT_NE(config.kldiv, nullptr);
  EXPECT_NE(config.confidence, nullptr);
  EXPECT_EQ(&config, &loss_config());
}

// A valid problem; each test breaks one thing.
struct Problem {
  size_t batch = 3;
  size_t classes = 5;
  std::vector<float> logits = {0.5f, -1, 2, 0, 1, 3, 3, -2, 0.25f, 1, -4, 0, 0, 1, 2};
  std::vector<int32_t> labels = {2, 0, 4};
  std::vector<float> weights = {1.0f, 0.5f, 2.0f};
  std::vector<float> targets = std::vector<float>(15, 0.2f);
  std::vector<float> losses = std::vector<float>(3, kSentinel);
  std::vector<float> grad = std::vector<float>(15, kSentinel);
  std::vector<float> probs = std::vector<float>(15, kSentinel);
  float loss_sum = kSentinel;

  Status Xent(float grad_scale = 1.0f) {
    return SoftmaxCrossEntropy(batch, classes, logits.data(), labels.data(), weights.data(),
                               grad_scale, losses.data(), grad.data(), &loss_sum);
  }
  Status Kl(float temperature = 2.0f) {
    return SoftmaxDistillation(batch, classes, logits.data(), targets.data(), temperature,
                               weights.data(), 1.0f, losses.data(), grad.data(), &loss_sum);
  }
  bool Untouched() const {
    for (const auto* v : {&losses, &grad, &probs}) {
      for (float x : *v) {
        if (x != kSentinel) return false;
      }
    }
    return loss_sum == kSentinel;
  }
};

void ExpectError(const Status& status, const std::string& part, const Problem& p) {
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
  EXPECT_NE(status.message().find(part), std::string::npos)
      << "message: " << status.message() << "\nexpected to contain: " << part;
  EXPECT_TRUE(p.Untouched()) << "outputs written on error: " << status.ToString();
}

TEST(LossApiTest, ValidCallsMatchTheChosenKernels) {
  Problem p;
  ASSERT_TRUE(p.Xent(0.25f).ok());
  std::vector<float> losses(3), grad(15);
  const float sum = loss_config().xent(3, 5, p.logits.data(), p.labels.data(), p.weights.data(),
                                       0.25f, losses.data(), grad.data());
  EXPECT_EQ(p.loss_sum, sum);
  EXPECT_EQ(p.losses, losses);
  EXPECT_EQ(p.grad, grad);

  ASSERT_TRUE(p.Kl(3.0f).ok());
  const float kl = loss_config().kldiv(3, 5, p.logits.data(), p.targets.data(), 3.0f,
                                       p.weights.data(), 1.0f, losses.data(), grad.data());
  EXPECT_EQ(p.loss_sum, kl);
  EXPECT_EQ(p.losses, losses);
  EXPECT_EQ(p.grad, grad);

  ASSERT_TRUE(Softmax(3, 5, p.logits.data(), 0.5f, p.probs.data()).ok());
  std::vector<float> probs(15);
  loss_config().softmax(3, 5, p.logits.data(), 0.5f, probs.data());
  EXPECT_EQ(p.probs, probs);

  std::vector<float> mp(3), h(3);
  std::vector<int32_t> am(3);
  ASSERT_TRUE(SoftmaxConfidence(3, 5, p.logits.data(), mp.data(), h.data(), am.data()).ok());
  EXPECT_EQ(am, (std::vector<int32_t>{2, 0, 4}));
  // Optional outputs may be null.
  ASSERT_TRUE(SoftmaxConfidence(3, 5, p.logits.data(), nullptr, nullptr, am.data()).ok());
  float sum_only = 0.0f;
  ASSERT_TRUE(SoftmaxCrossEntropy(3, 5, p.logits.data(), p.labels.data(), nullptr, 1.0f, nullptr,
                                  nullptr, &sum_only)
                  .ok());
  EXPECT_GT(sum_only, 0.0f);
}

TEST(LossApiTest, ZeroWeightSamplesMayCarryAnyLabel) {
  Problem p;
  p.weights = {1.0f, 0.0f, 0.0f};
  p.labels = {1, -1, 99};
  ASSERT_TRUE(p.Xent().ok());
  for (size_t c = 5; c < 15; ++c) EXPECT_EQ(p.grad[c], 0.0f) << c;
  EXPECT_EQ(p.losses[1], 0.0f);
  EXPECT_EQ(p.losses[2], 0.0f);
  EXPECT_EQ(p.loss_sum, p.losses[0]);
}

TEST(LossApiTest, RejectsBadShapesAndPointers) {
  Problem p;
  ExpectError(SoftmaxCrossEntropy(0, 5, p.logits.data(), p.labels.data(), nullptr, 1.0f,
                                  p.losses.data(), p.grad.data(), &p.loss_sum),
              "batch is 0", p);
  ExpectError(SoftmaxCrossEntropy(3, 0, p.logits.data(), p.labels.data(), nullptr, 1.0f,
                                  p.losses.data(), p.grad.data(), &p.loss_sum),
              "classes is 0", p);
  ExpectError(SoftmaxCrossEntropy(3, 5, nullptr, p.labels.data(), nullptr, 1.0f, p.losses.data(),
                                  p.grad.data(), &p.loss_sum),
              "logits is null", p);
  ExpectError(SoftmaxCrossEntropy(3, 5, p.logits.data(), nullptr, nullptr, 1.0f, p.losses.data(),
                                  p.grad.data(), &p.loss_sum),
              "labels is null", p);
  ExpectError(SoftmaxCrossEntropy(3, 5, p.logits.data(), p.labels.data(), nullptr, 1.0f,
                                  p.losses.data(), p.grad.data(), nullptr),
              "loss_sum is null", p);
  ExpectError(SoftmaxCrossEntropy(size_t{1} << 40, size_t{1} << 40, p.logits.data(),
                                  p.labels.data(), nullptr, 1.0f, nullptr, nullptr, &p.loss_sum),
              "does not fit in int32", p);
  ExpectError(Softmax(3, 5, p.logits.data(), 1.0f, nullptr), "probs is null", p);
  ExpectError(SoftmaxConfidence(3, 5, p.logits.data(), nullptr, nullptr, nullptr), "all null", p);
  ExpectError(SoftmaxDistillation(3, 5, p.logits.data(), nullptr, 1.0f, nullptr, 1.0f, nullptr,
                                  nullptr, &p.loss_sum),
              "targets is null", p);
}

TEST(LossApiTest, RejectsBadValues) {
  for (float bad : {kNaN, kInf, -kInf}) {
    Problem p;
    p.logits[7] = bad;
    ExpectError(p.Xent(), "logits[1][2]", p);
    ExpectError(p.Kl(), "logits[1][2]", p);
    ExpectError(Softmax(3, 5, p.logits.data(), 1.0f, p.probs.data()), "logits[1][2]", p);
    ExpectError(SoftmaxConfidence(3, 5, p.logits.data(), p.probs.data(), nullptr, nullptr),
                "logits[1][2]", p);
  }
  for (float bad : {-1.0f, kNaN, kInf}) {
    Problem p;
    p.weights[2] = bad;
    ExpectError(p.Xent(), "weights[2]", p);
    ExpectError(p.Kl(), "weights[2]", p);
  }
  for (int32_t bad : {-1, 5, 1000}) {
    Problem p;
    p.labels[1] = bad;
    ExpectError(p.Xent(), "labels[1] = " + std::to_string(bad) + " is outside [0, 5)", p);
  }
  for (float bad : {-0.25f, kNaN, kInf}) {
    Problem p;
    p.targets[14] = bad;
    ExpectError(p.Kl(), "targets[2][4]", p);
  }
  for (float bad : {0.0f, -1.0f, kNaN, kInf, 1e-45f}) {
    Problem p;
    ExpectError(p.Kl(bad), "temperature", p);
    ExpectError(Softmax(3, 5, p.logits.data(), bad, p.probs.data()), "temperature", p);
  }
  for (float bad : {kNaN, kInf}) {
    Problem p;
    ExpectError(p.Xent(bad), "grad_scale", p);
  }
}

TEST(LossApiTest, RejectsOverlappingOutputs) {
  Problem p;
  // grad aliasing the logits it is computed from.
  ExpectError(SoftmaxCrossEntropy(3, 5, p.logits.data(), p.labels.data(), nullptr, 1.0f,
                                  p.losses.data(), p.logits.data() + 2, &p.loss_sum),
              "grad overlaps logits", p);
  ExpectError(SoftmaxDistillation(3, 5, p.logits.data(), p.targets.data(), 1.0f, nullptr, 1.0f,
                                  p.targets.data() + 1, nullptr, &p.loss_sum),
              "losses overlaps targets", p);
  ExpectError(Softmax(3, 5, p.logits.data(), 1.0f, p.logits.data()), "probs overlaps logits", p);
  ExpectError(SoftmaxCrossEntropy(3, 5, p.logits.data(), p.labels.data(), nullptr, 1.0f,
                                  p.grad.data(), p.grad.data(), &p.loss_sum),
              "overlaps", p);
}

}  // namespace
}  // namespace persephonee
