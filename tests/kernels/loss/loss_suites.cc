// The standard suites every loss implementation runs through (declared in loss_tester.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tests/kernels/loss/check.h"
#include "tests/kernels/loss/loss_reference.h"
#include "tests/kernels/loss/loss_tester.h"

namespace persephonee {
namespace {

namespace ref = loss_reference;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

bool AllFinite(const std::vector<float>& v) {
  for (float x : v) {
    if (!std::isfinite(x)) return false;
  }
  return true;
}

bool BitwiseEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

const std::vector<size_t>& LossTestClasses() {
  static const std::vector<size_t> classes = {1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 100, 1000};
  return classes;
}

void TestLossSizes(const LossConfig& impl, double growth) {
  const float temperatures[] = {1.0f, 0.5f, 3.0f, 2.0f};
  const WeightMode weights[] = {WeightMode::kNone, WeightMode::kMixed, WeightMode::kOnes};
  const TargetMode targets[] = {TargetMode::kTeacher, TargetMode::kSparse, TargetMode::kOneHot,
                                TargetMode::kScaled};
  uint32_t seed = 1;
  for (size_t classes : LossTestClasses()) {
    for (size_t batch : {size_t{1}, size_t{3}, size_t{7}}) {
      LossTester tester;
      tester.batch(batch).classes(classes).grad_scale(1.0f / batch).seed(seed).growth(growth);
      tester.temperature(temperatures[seed % 4]).TestSoftmax(impl.softmax);
      tester.temperature(1.0f).weights(weights[seed % 3]).TestXent(impl.xent);
      tester.temperature(temperatures[(seed + 1) % 4])
          .targets(targets[(seed / 3) % 4])
          .TestKlDiv(impl.kldiv);
      tester.TestConfidence(impl.confidence);
      ++seed;
    }
  }
  // Every weight and target mode on one awkward size, and a batch where nothing counts.
  for (WeightMode w :
       {WeightMode::kNone, WeightMode::kOnes, WeightMode::kMixed, WeightMode::kAllZero}) {
    for (TargetMode t :
         {TargetMode::kTeacher, TargetMode::kSparse, TargetMode::kOneHot, TargetMode::kScaled}) {
      LossTester tester;
      tester.batch(5).classes(13).weights(w).targets(t).temperature(2.0f).grad_scale(0.3f);
      tester.growth(growth);
      tester.seed(seed++).TestXent(impl.xent);
      tester.TestKlDiv(impl.kldiv);
    }
  }
}

void TestLossGradients(const LossConfig& impl) {
  uint32_t seed = 100;
  for (size_t classes : {size_t{1}, size_t{2}, size_t{5}, size_t{17}, size_t{33}}) {
    for (WeightMode w : {WeightMode::kNone, WeightMode::kMixed}) {
      LossTester()
          .batch(4)
          .classes(classes)
          .weights(w)
          .grad_scale(0.37f)
          .logit_scale(3.0f)
          .seed(seed++)
          .TestXentGradient(impl.xent);
    }
    for (float t : {0.5f, 1.0f, 2.0f, 4.0f, 10.0f}) {
      for (TargetMode target : {TargetMode::kTeacher, TargetMode::kSparse, TargetMode::kScaled}) {
        LossTester()
            .batch(4)
            .classes(classes)
            .temperature(t)
            .targets(target)
            .weights(WeightMode::kMixed)
            .grad_scale(0.37f)
            .logit_scale(3.0f)
            .seed(seed++)
            .TestKlDivGradient(impl.kldiv);
      }
    }
  }
}

void TestLossExtremes(const LossConfig& impl) {
  // Random logits of magnitude up to 1e4 through the full comparisons.
  uint32_t seed = 200;
  for (size_t classes : {size_t{3}, size_t{17}, size_t{100}}) {
    LossTester tester;
    tester.batch(3).classes(classes).logit_scale(1e4f).weights(WeightMode::kMixed).seed(seed++);
    tester.TestSoftmax(impl.softmax);
    tester.TestXent(impl.xent);
    tester.TestConfidence(impl.confidence);
    for (float t : {1.0f, 4.0f}) tester.temperature(t).TestKlDiv(impl.kldiv);
  }
  // Hand-made rows: far apart, all equal and huge, a dominant class, and the smallest normal.
  const size_t classes = 6;
  const std::vector<float> logits = {
      1e4f,   -1e4f, 0.0f,    2e4f,  -2e4f,  1.0f,  // spread 4e4
      1e4f,   1e4f,  1e4f,    1e4f,  1e4f,   1e4f,  // equal
      -1e4f,  -1e4f, -1e4f,   -1e4f, -1e4f,  3e4f,  // one dominant
      1e-38f, 0.0f,  -1e-38f, 0.0f,  1e-38f, 0.0f,  // tiny
  };
  const size_t batch = logits.size() / classes;
  const std::vector<int32_t> labels = {4, 2, 0, 1};  // includes the worst-case label -2e4.
  std::vector<float> probs(logits.size(), kNaN), grad(logits.size(), kNaN);
  std::vector<float> losses(batch, kNaN), max_prob(batch, kNaN), entropy(batch, kNaN);
  std::vector<int32_t> argmax(batch, -1);
  impl.softmax(batch, classes, logits.data(), 1.0f, probs.data());
  const float sum = impl.xent(batch, classes, logits.data(), labels.data(), nullptr, 1.0f,
                              losses.data(), grad.data());
  impl.confidence(batch, classes, logits.data(), max_prob.data(), entropy.data(), argmax.data());
  EXPECT_TRUE(AllFinite(probs) && AllFinite(grad) && AllFinite(losses) && AllFinite(max_prob) &&
              AllFinite(entropy) && std::isfinite(sum))
      << impl.name;
  Checker check(std::string(impl.name) + " extreme rows");
  const std::vector<double> z = ref::ToDouble(logits.data(), logits.size());
  std::vector<double> ref_losses;
  ref::XentLosses(batch, classes, z.data(), labels.data(), nullptr, &ref_losses);
  for (size_t b = 0; b < batch; ++b) {
    const ref::Row row = ref::SoftmaxRow(z.data() + b * classes, classes, 1.0);
    double row_sum = 0.0;
    for (size_t c = 0; c < classes; ++c) row_sum += probs[b * classes + c];
    check.Near("row sum", b, 0, row_sum, 1.0, 6e-7);
    check.Near("loss", b, 0, losses[b], ref_losses[b],
               ref::XentLossTolerance(row, labels[b], 1.0, 1.0));
  }
  check.Near("loss of label -2e4 in a row with max 2e4", 0, 0, losses[0], 4e4, 4e4 * 2.5e-7);
  check.ExactInt("argmax of equal logits", 1, 0, argmax[1], 0);
  check.Exact("max_prob of a dominant class", 2, 0, max_prob[2], 1.0f);
  check.Exact("entropy of a dominant class", 2, 0, entropy[2], 0.0f);
  check.Near("entropy of equal logits", 1, 0, entropy[1], std::log(6.0), 1e-6);
}

void TestLossProperties(const LossConfig& impl) {
  Checker check(std::string(impl.name) + " properties");
  // One class: probability 1, loss 0, gradient 0, exactly.
  {
    const float z[2] = {3.5f, -1e4f};
    const int32_t y[2] = {0, 0};
    float p[2], loss[2], g[2], mp[2], h[2];
    int32_t am[2];
    impl.softmax(2, 1, z, 0.7f, p);
    const float sum = impl.xent(2, 1, z, y, nullptr, 1.0f, loss, g);
    impl.confidence(2, 1, z, mp, h, am);
    for (size_t b = 0; b < 2; ++b) {
      check.Exact("C=1 prob", b, 0, p[b], 1.0f);
      check.Exact("C=1 loss", b, 0, loss[b], 0.0f);
      check.Exact("C=1 grad", b, 0, g[b], 0.0f);
      check.Exact("C=1 max_prob", b, 0, mp[b], 1.0f);
      check.Exact("C=1 entropy", b, 0, h[b], 0.0f);
      check.ExactInt("C=1 argmax", b, 0, am[b], 0);
    }
    check.Exact("C=1 sum", 0, 0, sum, 0.0f);
  }
  // Ties: the first maximum wins, in the vector body and in the tail.
  {
    const size_t classes = 11;
    const std::vector<float> z = {
        1,  3,  3,  0,  -1, 2, 3, 3, 3, 3, 3,  // first max at 1
        0,  0,  0,  0,  0,  0, 0, 0, 0, 0, 0,  // all equal: 0
        -1, -1, -1, -1, -1, 5, 0, 0, 5, 5, 5,  // second vector block: 5
        0,  0,  0,  0,  0,  0, 0, 0, 0, 7, 7,  // tail: 9
        0,  0,  0,  4,  0,  0, 0, 4, 0, 0, 4,  // lane 3 of block 0 beats later lanes: 3
    };
    const int32_t expected[] = {1, 0, 5, 9, 3};
    const size_t batch = z.size() / classes;
    std::vector<int32_t> am(batch, -1);
    std::vector<float> mp(batch), h(batch);
    impl.confidence(batch, classes, z.data(), mp.data(), h.data(), am.data());
    for (size_t b = 0; b < batch; ++b) check.ExactInt("tie argmax", b, 0, am[b], expected[b]);
    check.Near("uniform max_prob", 1, 0, mp[1], 1.0 / classes, 1e-7 / classes);
    check.Near("uniform entropy", 1, 0, h[1], std::log(double{classes}), 1e-6);
  }
  // One-hot distillation at T = 1 is the cross-entropy with that label, value and gradient.
  // A student equal to its teacher has zero loss and zero gradient.
  for (size_t classes : {size_t{5}, size_t{17}, size_t{100}}) {
    const size_t batch = 3;
    std::vector<float> z(batch * classes), q(batch * classes, 0.0f);
    std::vector<int32_t> y(batch);
    for (size_t i = 0; i < z.size(); ++i) z[i] = std::sin(0.7f * i) * 4.0f;
    for (size_t b = 0; b < batch; ++b) {
      y[b] = static_cast<int32_t>((5 * b + 2) % classes);
      q[b * classes + y[b]] = 1.0f;
    }
    std::vector<float> l_ce(batch), g_ce(z.size()), l_kl(batch), g_kl(z.size());
    impl.xent(batch, classes, z.data(), y.data(), nullptr, 0.5f, l_ce.data(), g_ce.data());
    impl.kldiv(batch, classes, z.data(), q.data(), 1.0f, nullptr, 0.5f, l_kl.data(), g_kl.data());
    const std::vector<double> zd = ref::ToDouble(z.data(), z.size());
    const double growth = ref::Growth(classes);
    for (size_t b = 0; b < batch; ++b) {
      const ref::Row row = ref::SoftmaxRow(zd.data() + b * classes, classes, 1.0);
      check.Near("one-hot KL vs CE loss", b, classes, l_kl[b], l_ce[b],
                 2 * ref::XentLossTolerance(row, y[b], 1.0, growth));
      for (size_t c = 0; c < classes; ++c) {
        const double target = static_cast<int32_t>(c) == y[b] ? 1.0 : 0.0;
        check.Near("one-hot KL vs CE grad", b, c, g_kl[b * classes + c], g_ce[b * classes + c],
                   2 * ref::GradTolerance(row, c, 0.5, target, 1.0, growth));
      }
    }
    for (float t : {0.5f, 1.0f, 3.0f}) {
      std::vector<float> teacher(z.size()), l(batch), g(z.size());
      impl.softmax(batch, classes, z.data(), t, teacher.data());
      impl.kldiv(batch, classes, z.data(), teacher.data(), t, nullptr, 1.0f, l.data(), g.data());
      const std::vector<double> qd = ref::ToDouble(teacher.data(), teacher.size());
      for (size_t b = 0; b < batch; ++b) {
        // The teacher's own rounding (a few ulps per probability) is all that separates them.
        const double* qb = qd.data() + b * classes;
        const ref::Row row = ref::SoftmaxRow(zd.data() + b * classes, classes, t);
        check.Near("KL of a student equal to its teacher", b, classes, l[b], 0.0,
                   2 * ref::KlLossTolerance(row, qb, t, 1.0, growth));
        for (size_t c = 0; c < classes; ++c) {
          check.Near("gradient of a student equal to its teacher", b, c, g[b * classes + c], 0.0,
                     2 * ref::GradTolerance(row, c, t, qb[c], 1.0, growth));
        }
      }
    }
  }
  // Power-of-two gradient scales and unit weights change no bits but the scale's.
  {
    const size_t batch = 3, classes = 9;
    std::vector<float> z(batch * classes), q(batch * classes);
    for (size_t i = 0; i < z.size(); ++i) z[i] = std::cos(1.3f * i) * 3.0f;
    impl.softmax(batch, classes, z.data(), 2.0f, q.data());
    for (float& x : z) x *= 1.5f;
    const int32_t y[] = {0, 8, 4};
    const float ones[] = {1.0f, 1.0f, 1.0f};
    std::vector<float> g1(z.size()), g4(z.size()), g1w(z.size());
    for (int kind = 0; kind < 2; ++kind) {
      if (kind == 0) {
        impl.xent(batch, classes, z.data(), y, nullptr, 1.0f, nullptr, g1.data());
        impl.xent(batch, classes, z.data(), y, nullptr, 4.0f, nullptr, g4.data());
        impl.xent(batch, classes, z.data(), y, ones, 1.0f, nullptr, g1w.data());
      } else {
        impl.kldiv(batch, classes, z.data(), q.data(), 2.0f, nullptr, 1.0f, nullptr, g1.data());
        impl.kldiv(batch, classes, z.data(), q.data(), 2.0f, nullptr, 4.0f, nullptr, g4.data());
        impl.kldiv(batch, classes, z.data(), q.data(), 2.0f, ones, 1.0f, nullptr, g1w.data());
      }
      for (float& x : g1) x *= 4.0f;
      check.True(BitwiseEqual(g1, g4),
                 kind == 0 ? "xent: grad(4s) != 4 grad(s)" : "kldiv: grad(4s) != 4 grad(s)");
      for (float& x : g1) x *= 0.25f;
      check.True(BitwiseEqual(g1, g1w), kind == 0 ? "xent: unit weights change the gradient"
                                                  : "kldiv: unit weights change the gradient");
    }
  }
}

}  // namespace persephonee
