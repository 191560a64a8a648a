// The loss kernels against PyTorch (F.softmax, F.cross_entropy, F.kl_div of log_softmax,
// max/entropy/argmax), from the fixture tools/make_loss_fixtures.py writes. Every available
// implementation and the checked entry points are compared; so is the tests' own double
// reference, which must agree with PyTorch to float32 rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels/loss/loss.h"
#include "tests/kernels/loss/check.h"
#include "tests/kernels/loss/loss_reference.h"
#include "tests/kernels/loss/text_fixture.h"

namespace persephonee {
namespace {

namespace ref = loss_reference;

constexpr const char* kFixture = "tests/kernels/loss/testdata/loss_golden.txt";
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// The kernels under test: each available implementation, and the checked entry points.
std::vector<LossConfig> Implementations() {
  std::vector<LossConfig> impls;
  LossConfig scalar;
  scalar.name = "scalar";
  scalar.softmax = f32_softmax__scalar;
  scalar.xent = f32_softmax_xent__scalar;
  scalar.kldiv = f32_softmax_kldiv__scalar;
  scalar.confidence = f32_softmax_confidence__scalar;
  impls.push_back(scalar);
#if defined(__aarch64__)
  LossConfig neon;
  neon.name = "neon";
  neon.softmax = f32_softmax__neon;
  neon.xent = f32_softmax_xent__neon;
  neon.kldiv = f32_softmax_kldiv__neon;
  neon.confidence = f32_softmax_confidence__neon;
  impls.push_back(neon);
#endif
  LossConfig checked;
  checked.name = "checked API";
  checked.softmax = [](size_t b, size_t c, const float* z, float t, float* p) {
    EXPECT_TRUE(Softmax(b, c, z, t, p).ok());
  };
  checked.xent = [](size_t b, size_t c, const float* z, const int32_t* y, const float* w, float s,
                    float* l, float* g) {
    float sum = kNaN;
    EXPECT_TRUE(SoftmaxCrossEntropy(b, c, z, y, w, s, l, g, &sum).ok());
    return sum;
  };
  checked.kldiv = [](size_t b, size_t c, const float* z, const float* q, float t, const float* w,
                     float s, float* l, float* g) {
    float sum = kNaN;
    EXPECT_TRUE(SoftmaxDistillation(b, c, z, q, t, w, s, l, g, &sum).ok());
    return sum;
  };
  checked.confidence = [](size_t b, size_t c, const float* z, float* m, float* h, int32_t* a) {
    EXPECT_TRUE(SoftmaxConfidence(b, c, z, m, h, a).ok());
  };
  impls.push_back(checked);
  return impls;
}

// PyTorch's value rounded to float32 vs our double reference: half an ulp, plus a sliver for
// the two float64 computations' own rounding.
void CheckReference(Checker* check, const char* what, size_t b, size_t c, double reference,
                    float golden, double scale) {
  check->Near(what, b, c, reference, golden, 6e-8 * std::fabs(golden) + 1e-13 * scale);
}

template <typename T>
T Get(const StatusOr<T>& v) {
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? v.value() : T();
}

void RunCase(const TextCase& tc, int* kinds_seen) {
  const std::vector<int32_t> shape = Get(tc.Ints("shape", 2));
  ASSERT_EQ(shape.size(), 2u);
  const size_t batch = shape[0], classes = shape[1], n = batch * classes;
  const int32_t kind = Get(tc.Int("kind"));
  ASSERT_TRUE(kind >= 0 && kind <= 3) << tc.name;
  ++kinds_seen[kind];
  const std::vector<float> logits = Get(tc.Floats("logits", n));
  const std::vector<double> z = ref::ToDouble(logits.data(), n);
  const double growth = ref::Growth(classes);
  const std::vector<float> weights =
      tc.Has("weights") ? Get(tc.Floats("weights", batch)) : std::vector<float>();
  const float* w = weights.empty() ? nullptr : weights.data();
  auto weight = [&](size_t b) { return w != nullptr ? double{w[b]} : 1.0; };

  for (const LossConfig& impl : Implementations()) {
    Checker check(tc.name + " (" + impl.name + ")");
    if (kind == 0) {
      const float t = Get(tc.Float("temperature"));
      const std::vector<float> golden = Get(tc.Floats("probs", n));
      std::vector<float> probs(n, kNaN);
      impl.softmax(batch, classes, logits.data(), t, probs.data());
      for (size_t b = 0; b < batch; ++b) {
        const ref::Row row = ref::SoftmaxRow(z.data() + b * classes, classes, t);
        for (size_t c = 0; c < classes; ++c) {
          const size_t i = b * classes + c;
          CheckReference(&check, "reference prob", b, c, row.p[c], golden[i], 1.0);
          check.Near("prob", b, c, probs[i], golden[i], ref::ProbTolerance(row, c, growth));
        }
      }
    } else if (kind == 1 || kind == 2) {
      const float gs = Get(tc.Float("grad_scale"));
      const std::vector<float> golden_losses = Get(tc.Floats("losses", batch));
      const std::vector<float> golden_grad = Get(tc.Floats("grad", n));
      const float golden_sum = Get(tc.Float("loss_sum"));
      std::vector<float> losses(batch, kNaN), grad(n, kNaN);
      std::vector<int32_t> labels;
      std::vector<float> targets;
      float t = 1.0f, sum = kNaN;
      if (kind == 1) {
        labels = Get(tc.Ints("labels", batch));
        sum = impl.xent(batch, classes, logits.data(), labels.data(), w, gs, losses.data(),
                        grad.data());
      } else {
        targets = Get(tc.Floats("targets", n));
        t = Get(tc.Float("temperature"));
        sum = impl.kldiv(batch, classes, logits.data(), targets.data(), t, w, gs, losses.data(),
                         grad.data());
      }
      const std::vector<double> q = ref::ToDouble(targets.data(), targets.size());
      // The reference losses, and loss.h's gradient formulas evaluated in double, which must
      // match PyTorch's autograd.
      std::vector<double> ref_losses, ref_grad;
      if (kind == 1) {
        ref::XentLosses(batch, classes, z.data(), labels.data(), w, &ref_losses);
        ref_grad = ref::XentGrad(batch, classes, z.data(), labels.data(), w, gs);
      } else {
        ref::KlDivLosses(batch, classes, z.data(), q.data(), t, w, &ref_losses);
        ref_grad = ref::KlDivGrad(batch, classes, z.data(), q.data(), t, w, gs);
      }
      double sum_tol = 2.5e-7 * growth * std::fabs(golden_sum);
      for (size_t b = 0; b < batch; ++b) {
        const double wb = weight(b);
        const ref::Row row = ref::SoftmaxRow(z.data() + b * classes, classes, t);
        double sum_q = 1.0;
        if (kind == 2) {
          sum_q = 0.0;
          for (size_t c = 0; c < classes; ++c) sum_q += q[b * classes + c];
        }
        const double tol = kind == 1
                               ? ref::XentLossTolerance(row, labels[b], wb, growth)
                               : ref::KlLossTolerance(row, q.data() + b * classes, t, wb, growth);
        sum_tol += tol;
        CheckReference(&check, "reference loss", b, 0, ref_losses[b], golden_losses[b],
                       1.0 + std::fabs(ref_losses[b]));
        check.Near("loss", b, 0, losses[b], golden_losses[b], tol);
        const double gw = gs * wb * t;
        for (size_t c = 0; c < classes; ++c) {
          const size_t i = b * classes + c;
          const double target =
              kind == 1 ? (static_cast<int32_t>(c) == labels[b] ? 1.0 : 0.0) : q[i];
          CheckReference(&check, "reference grad", b, c, ref_grad[i], golden_grad[i],
                         std::fabs(gw));
          check.Near("grad", b, c, grad[i], golden_grad[i],
                     wb == 0.0 ? 0.0 : ref::GradTolerance(row, c, gw, target, sum_q, growth));
        }
      }
      check.Near("loss_sum", 0, 0, sum, golden_sum, sum_tol);
    } else {
      const std::vector<float> golden_max = Get(tc.Floats("max_prob", batch));
      const std::vector<float> golden_entropy = Get(tc.Floats("entropy", batch));
      const std::vector<int32_t> golden_argmax = Get(tc.Ints("argmax", batch));
      std::vector<float> max_prob(batch, kNaN), entropy(batch, kNaN);
      std::vector<int32_t> argmax(batch, -1);
      impl.confidence(batch, classes, logits.data(), max_prob.data(), entropy.data(),
                      argmax.data());
      for (size_t b = 0; b < batch; ++b) {
        const ref::Row row = ref::SoftmaxRow(z.data() + b * classes, classes, 1.0);
        check.Near("max_prob", b, 0, max_prob[b], golden_max[b],
                   ref::MaxProbTolerance(row, growth));
        check.Near("entropy", b, 0, entropy[b], golden_entropy[b],
                   ref::EntropyTolerance(row, growth));
        check.ExactInt("argmax", b, 0, argmax[b], golden_argmax[b]);
      }
    }
  }
}

TEST(LossGoldenTest, MatchesPyTorch) {
  auto cases = LoadTextFixture(kFixture);
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  // The script writes 23 cases; fewer means a damaged or stale fixture.
  EXPECT_EQ(cases->size(), 23u);
  int kinds_seen[4] = {0, 0, 0, 0};
  for (const TextCase& tc : *cases) {
    SCOPED_TRACE(tc.name);
    RunCase(tc, kinds_seen);
  }
  for (int k = 0; k < 4; ++k) EXPECT_GE(kinds_seen[k], 4) << "kind " << k;
}

}  // namespace
}  // namespace persephonee
