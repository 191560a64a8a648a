#include "training/prior.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace persephonee {
namespace {

// A calibrated classifier over 4 classes with a balanced training prior: for a sample of class
// y its logits are log p(x | c) + const, with p(x | c) from well-separated Gaussians, so
// softmax(logits) is the Bayes posterior under the uniform prior.
std::vector<float> CalibratedLogits(const std::vector<int32_t>& classes, std::mt19937_64& rng) {
  std::normal_distribution<double> z(0, 1);
  std::vector<float> logits;
  for (int32_t y : classes) {
    const double x = 2.0 * y + z(rng);  // class means 0, 2, 4, 6
    for (int c = 0; c < 4; ++c) {
      const double d = x - 2.0 * c;
      logits.push_back(static_cast<float>(-0.5 * d * d));
    }
  }
  return logits;
}

std::vector<int32_t> DrawClasses(const std::vector<double>& prior, int n, std::mt19937_64& rng) {
  std::discrete_distribution<int> pick(prior.begin(), prior.end());
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (int32_t& v : y) v = pick(rng);
  return y;
}

TEST(PriorTest, EmRecoversAKnownPriorFromACalibratedClassifier) {
  std::mt19937_64 rng(3);
  const std::vector<double> truth = {0.6, 0.05, 0.3, 0.05};
  const std::vector<int32_t> y = DrawClasses(truth, 20000, rng);
  const std::vector<float> logits = CalibratedLogits(y, rng);
  PriorOptions o;
  o.shrinkage = 0;  // maximum likelihood
  StatusOr<TeacherCorrection> t =
      EstimateTeacher(logits, 4, std::vector<int32_t>(y.size(), -1), {}, o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(t->prior[c], truth[c], 0.02) << c;
  // The mean posterior (no EM) would be much flatter: EM did the work.
  std::vector<double> p;
  SoftmaxRows(logits.data(), y.size(), 4, &p);
  double mean1 = 0;
  for (size_t i = 0; i < y.size(); ++i) mean1 += p[i * 4 + 1] / static_cast<double>(y.size());
  EXPECT_GT(mean1, 0.1);
  EXPECT_NEAR(t->logit_shift[0], std::log(t->prior[0] / 0.25), 1e-5);
  // Nothing labelled: nothing measured.
  EXPECT_EQ(t->trust, 1.0);
  EXPECT_EQ(t->labelled, 0);
  EXPECT_FALSE(t->confusion_measured);
}

TEST(PriorTest, ShrinkageKeepsThePriorAwayFromZero) {
  std::mt19937_64 rng(4);
  const std::vector<int32_t> y = DrawClasses({0.5, 0.5, 0.0, 0.0}, 500, rng);
  const std::vector<float> logits = CalibratedLogits(y, rng);
  StatusOr<TeacherCorrection> t = EstimateTeacher(logits, 4, std::vector<int32_t>(500, -1));
  ASSERT_TRUE(t.ok());
  // Pseudo-count 0.1 n spread uniformly: at least 0.1 / 1.1 / 4 per class.
  for (int c = 0; c < 4; ++c) EXPECT_GE(t->prior[c], 0.1 / 1.1 / 4 - 1e-9) << c;
  EXPECT_GT(t->prior[0] + t->prior[1], 0.8);
}

TEST(PriorTest, LabelsFixTheirPosteriors) {
  // Uninformative logits: only the labels say anything.
  const std::vector<float> logits(4 * 100, 0.0f);
  std::vector<int32_t> labels(100, -1);
  for (int i = 0; i < 30; ++i) labels[i] = i < 20 ? 2 : 3;
  PriorOptions o;
  o.shrinkage = 0;
  StatusOr<TeacherCorrection> t = EstimateTeacher(logits, 4, labels, {}, o);
  ASSERT_TRUE(t.ok());
  // The 70 unlabelled samples follow the prior; the fixed point is 20/30 and 10/30.
  EXPECT_NEAR(t->prior[2], 2.0 / 3, 1e-3);
  EXPECT_NEAR(t->prior[3], 1.0 / 3, 1e-3);
}

TEST(PriorTest, APermutedTeacherIsCorrectedAndTrusted) {
  // The teacher calls class c "c + 1 mod 4", confidently; 40 labels reveal it.
  const int n = 200;
  std::vector<float> logits;
  std::vector<int32_t> labels(n, -1), truth(n);
  for (int i = 0; i < n; ++i) {
    truth[i] = i % 4;
    for (int c = 0; c < 4; ++c) logits.push_back(c == (truth[i] + 1) % 4 ? 4.0f : 0.0f);
    if (i < 40) labels[i] = truth[i];
  }
  StatusOr<TeacherCorrection> t = EstimateTeacher(logits, 4, labels);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->teacher_accuracy, 0.0);
  EXPECT_TRUE(t->confusion_measured);
  EXPECT_EQ(t->corrected_accuracy, 1.0);
  EXPECT_EQ(t->trust, 1.0);
  std::vector<float> corrected(static_cast<size_t>(n) * 4);
  CorrectTeacherLogits(*t, logits.data(), n, corrected.data());
  for (int i = 0; i < n; ++i) {
    const float* row = corrected.data() + i * 4;
    EXPECT_EQ(std::max_element(row, row + 4) - row, truth[i]) << i;
  }
}

TEST(PriorTest, ARandomTeacherIsNotTrusted) {
  std::mt19937_64 rng(9);
  const int n = 300;
  std::vector<float> logits;
  std::vector<int32_t> labels(n);
  for (int i = 0; i < n; ++i) {
    labels[i] = i % 3;
    const int said = static_cast<int>(rng() % 3);
    for (int c = 0; c < 3; ++c) logits.push_back(c == said ? 3.0f : 0.0f);
  }
  StatusOr<TeacherCorrection> t = EstimateTeacher(logits, 3, labels);
  ASSERT_TRUE(t.ok());
  EXPECT_LT(t->trust, 0.2);
}

TEST(PriorTest, FewLabelsTrustPlainAccuracy) {
  // 5 labels (< 10): no confusion correction; the teacher got 4 of 5 right among 2 classes.
  std::vector<float> logits;
  std::vector<int32_t> labels(20, -1);
  for (int i = 0; i < 20; ++i) {
    const int y = i % 2;
    const int said = i == 0 ? 1 - y : y;
    logits.insert(logits.end(), {said == 0 ? 3.0f : 0.0f, said == 1 ? 3.0f : 0.0f});
    if (i < 5) labels[i] = y;
  }
  StatusOr<TeacherCorrection> t = EstimateTeacher(logits, 2, labels);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->confusion_measured);
  EXPECT_NEAR(t->teacher_accuracy, 0.8, 1e-12);
  EXPECT_NEAR(t->trust, 0.6, 1e-12);  // (0.8 - 0.5) / 0.5
}

TEST(PriorTest, BadInputIsRefused) {
  EXPECT_EQ(EstimateTeacher({0.f, 1.f, 2.f}, 2, {-1}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(EstimateTeacher({0.f, 1.f}, 2, {2}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EstimateTeacher({0.f, NAN}, 2, {-1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EstimateTeacher({0.f, 1.f}, 2, {-1}, {0.5, 0.0}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace persephonee
