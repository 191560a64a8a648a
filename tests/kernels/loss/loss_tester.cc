#include "tests/kernels/loss/loss_tester.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "tests/kernels/loss/check.h"
#include "tests/kernels/loss/loss_reference.h"

namespace persephonee {
namespace {

namespace ref = loss_reference;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

const char* WeightName(WeightMode m) {
  switch (m) {
    case WeightMode::kNone:
      return "none";
    case WeightMode::kOnes:
      return "ones";
    case WeightMode::kMixed:
      return "mixed";
    case WeightMode::kAllZero:
      return "zero";
  }
  return "?";
}

const char* TargetName(TargetMode m) {
  switch (m) {
    case TargetMode::kTeacher:
      return "teacher";
    case TargetMode::kOneHot:
      return "onehot";
    case TargetMode::kSparse:
      return "sparse";
    case TargetMode::kScaled:
      return "scaled";
  }
  return "?";
}

bool BitwiseEqual(float x, float y) { return std::memcmp(&x, &y, sizeof(float)) == 0; }

// Output buffers carry kGuard sentinels past their end; a kernel must not touch them.
constexpr size_t kGuard = 5;
constexpr float kGuardValue = -777.25f;

std::vector<float> Output(size_t n) {
  std::vector<float> v(n + kGuard, kGuardValue);
  std::fill_n(v.begin(), n, kNaN);
  return v;
}

void CheckGuard(Checker* check, const char* what, const std::vector<float>& v) {
  for (size_t i = v.size() - kGuard; i < v.size(); ++i) {
    check->Exact(what, i, 0, v[i], kGuardValue);
  }
}

double WeightAt(const float* w, size_t b) { return w != nullptr ? w[b] : 1.0; }

// The zero-weight rows' outputs must be exactly 0 (loss and whole gradient row).
void CheckZeroRows(Checker* check, size_t batch, size_t classes, const float* weights,
                   const std::vector<float>& losses, const std::vector<float>& grad) {
  for (size_t b = 0; b < batch; ++b) {
    if (WeightAt(weights, b) != 0.0) continue;
    check->Exact("zero-weight loss", b, 0, losses[b], 0.0f);
    for (size_t c = 0; c < classes; ++c) {
      check->Exact("zero-weight grad", b, c, grad[b * classes + c], 0.0f);
    }
  }
}

}  // namespace

std::string LossTester::Describe() const {
  std::ostringstream out;
  out << "batch=" << batch_ << " classes=" << classes_ << " T=" << temperature_
      << " scale=" << logit_scale_ << " weights=" << WeightName(weights_)
      << " targets=" << TargetName(targets_) << " gs=" << grad_scale_ << " seed=" << seed_;
  return out.str();
}

double LossTester::growth() const { return growth_ > 0.0 ? growth_ : ref::Growth(classes_); }

LossTester::Data LossTester::Make() const {
  Data d;
  std::mt19937 rng(seed_);
  std::uniform_real_distribution<float> logit(-logit_scale_, logit_scale_);
  const size_t n = batch_ * classes_;
  d.logits.resize(n);
  for (float& z : d.logits) z = logit(rng);
  d.labels.resize(batch_);
  std::uniform_int_distribution<int32_t> label(0, static_cast<int32_t>(classes_) - 1);
  for (int32_t& y : d.labels) y = label(rng);
  std::uniform_real_distribution<float> weight(0.25f, 2.0f);
  if (weights_ != WeightMode::kNone) {
    d.weights.resize(batch_);
    for (size_t b = 0; b < batch_; ++b) {
      switch (weights_) {
        case WeightMode::kOnes:
          d.weights[b] = 1.0f;
          break;
        case WeightMode::kMixed:
          d.weights[b] = b % 3 == 1 ? 0.0f : weight(rng);
          break;
        default:
          d.weights[b] = 0.0f;
      }
    }
  }
  // Targets, in double then rounded once.
  d.targets.assign(n, 0.0f);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (size_t b = 0; b < batch_; ++b) {
    float* q = d.targets.data() + b * classes_;
    if (targets_ == TargetMode::kOneHot) {
      q[d.labels[b]] = 1.0f;
      continue;
    }
    std::vector<double> t(classes_, 0.0);
    if (targets_ == TargetMode::kTeacher || targets_ == TargetMode::kScaled) {
      std::vector<double> teacher(classes_);
      for (double& x : teacher) x = 1.5 * logit(rng);
      t = ref::SoftmaxRow(teacher.data(), classes_, temperature_).p;
      if (targets_ == TargetMode::kScaled) {
        for (double& x : t) x *= 0.7;
      }
    } else {
      double sum = 0.0;
      for (size_t c = 0; c < classes_; ++c) {
        if (c == static_cast<size_t>(d.labels[b]) || unit(rng) < 0.5) t[c] = 0.05 + unit(rng);
        sum += t[c];
      }
      for (double& x : t) x /= sum;
    }
    for (size_t c = 0; c < classes_; ++c) q[c] = static_cast<float>(t[c]);
  }
  // Zero-weight rows carry labels out of range and NaN targets: they must never be read.
  for (size_t b = 0; b < batch_; ++b) {
    if (WeightAt(d.weight_ptr(), b) != 0.0) continue;
    d.labels[b] = b % 2 == 0 ? -1 : static_cast<int32_t>(classes_) + 1000;
    std::fill_n(d.targets.data() + b * classes_, classes_, kNaN);
  }
  return d;
}

void LossTester::TestSoftmax(SoftmaxFn fn) const {
  const Data d = Make();
  const size_t n = batch_ * classes_;
  std::vector<float> probs = Output(n), oracle(n, kNaN);
  fn(batch_, classes_, d.logits.data(), temperature_, probs.data());
  f32_softmax__scalar(batch_, classes_, d.logits.data(), temperature_, oracle.data());
  const std::vector<double> z = ref::ToDouble(d.logits.data(), n);
  Checker check("softmax " + Describe());
  CheckGuard(&check, "write past the end of probs", probs);
  for (size_t b = 0; b < batch_; ++b) {
    const ref::Row row = ref::SoftmaxRow(z.data() + b * classes_, classes_, temperature_);
    double sum = 0.0;
    for (size_t c = 0; c < classes_; ++c) {
      const double tol = ref::ProbTolerance(row, c, growth());
      const float p = probs[b * classes_ + c];
      check.Near("prob", b, c, p, row.p[c], tol);
      check.Near("prob vs scalar", b, c, p, oracle[b * classes_ + c], 2 * tol);
      sum += p;
    }
    check.Near("row sum", b, 0, sum, 1.0, 6e-7 * growth());
  }
}

void LossTester::TestXent(SoftmaxXentFn fn) const {
  const Data d = Make();
  const size_t n = batch_ * classes_;
  const float* w = d.weight_ptr();
  std::vector<float> losses = Output(batch_), grad = Output(n);
  std::vector<float> o_losses(batch_, kNaN), o_grad(n, kNaN);
  const float sum = fn(batch_, classes_, d.logits.data(), d.labels.data(), w, grad_scale_,
                       losses.data(), grad.data());
  const float o_sum = f32_softmax_xent__scalar(batch_, classes_, d.logits.data(), d.labels.data(),
                                               w, grad_scale_, o_losses.data(), o_grad.data());
  const float sum_no_outputs =
      fn(batch_, classes_, d.logits.data(), d.labels.data(), w, grad_scale_, nullptr, nullptr);
  Checker check("xent " + Describe());
  CheckGuard(&check, "write past the end of losses", losses);
  CheckGuard(&check, "write past the end of grad", grad);
  check.True(BitwiseEqual(sum, sum_no_outputs), "the sum changes when losses and grad are null");
  CheckZeroRows(&check, batch_, classes_, w, losses, grad);

  const std::vector<double> z = ref::ToDouble(d.logits.data(), n);
  std::vector<double> ref_losses;
  const double ref_sum =
      ref::XentLosses(batch_, classes_, z.data(), d.labels.data(), w, &ref_losses);
  double sum_tol = 2.5e-7 * growth() * std::fabs(ref_sum);
  for (size_t b = 0; b < batch_; ++b) {
    const double wb = WeightAt(w, b);
    if (wb == 0.0) continue;
    const int32_t y = d.labels[b];
    const ref::Row row = ref::SoftmaxRow(z.data() + b * classes_, classes_, 1.0);
    const double tol = ref::XentLossTolerance(row, y, wb, growth());
    sum_tol += tol;
    check.Near("loss", b, 0, losses[b], ref_losses[b], tol);
    check.Near("loss vs scalar", b, 0, losses[b], o_losses[b], 2 * tol);
    const double gw = static_cast<double>(grad_scale_) * wb;
    for (size_t c = 0; c < classes_; ++c) {
      const double target = static_cast<int32_t>(c) == y ? 1.0 : 0.0;
      const double expected = gw * (row.p[c] - target);
      const double gtol = ref::GradTolerance(row, c, gw, target, 1.0, growth());
      check.Near("grad", b, c, grad[b * classes_ + c], expected, gtol);
      check.Near("grad vs scalar", b, c, grad[b * classes_ + c], o_grad[b * classes_ + c],
                 2 * gtol);
    }
  }
  check.Near("loss sum", 0, 0, sum, ref_sum, sum_tol);
  check.Near("loss sum vs scalar", 0, 0, sum, o_sum, 2 * sum_tol);
}

void LossTester::TestKlDiv(SoftmaxKlDivFn fn) const {
  const Data d = Make();
  const size_t n = batch_ * classes_;
  const float* w = d.weight_ptr();
  const float t = temperature_;
  std::vector<float> losses = Output(batch_), grad = Output(n);
  std::vector<float> o_losses(batch_, kNaN), o_grad(n, kNaN);
  const float sum = fn(batch_, classes_, d.logits.data(), d.targets.data(), t, w, grad_scale_,
                       losses.data(), grad.data());
  const float o_sum = f32_softmax_kldiv__scalar(batch_, classes_, d.logits.data(), d.targets.data(),
                                                t, w, grad_scale_, o_losses.data(), o_grad.data());
  const float sum_no_outputs =
      fn(batch_, classes_, d.logits.data(), d.targets.data(), t, w, grad_scale_, nullptr, nullptr);
  Checker check("kldiv " + Describe());
  CheckGuard(&check, "write past the end of losses", losses);
  CheckGuard(&check, "write past the end of grad", grad);
  check.True(BitwiseEqual(sum, sum_no_outputs), "the sum changes when losses and grad are null");
  CheckZeroRows(&check, batch_, classes_, w, losses, grad);

  const std::vector<double> z = ref::ToDouble(d.logits.data(), n);
  const std::vector<double> q = ref::ToDouble(d.targets.data(), n);
  std::vector<double> ref_losses;
  const double ref_sum = ref::KlDivLosses(batch_, classes_, z.data(), q.data(), t, w, &ref_losses);
  double sum_tol = 2.5e-7 * growth() * std::fabs(ref_sum);
  for (size_t b = 0; b < batch_; ++b) {
    const double wb = WeightAt(w, b);
    if (wb == 0.0) continue;
    const double* qb = q.data() + b * classes_;
    const ref::Row row = ref::SoftmaxRow(z.data() + b * classes_, classes_, t);
    const double tol = ref::KlLossTolerance(row, qb, t, wb, growth());
    sum_tol += tol;
    check.Near("loss", b, 0, losses[b], ref_losses[b], tol);
    check.Near("loss vs scalar", b, 0, losses[b], o_losses[b], 2 * tol);
    double sum_q = 0.0;
    for (size_t c = 0; c < classes_; ++c) sum_q += qb[c];
    const double gw = static_cast<double>(grad_scale_) * wb * t;
    for (size_t c = 0; c < classes_; ++c) {
      const double expected = gw * (row.p[c] * sum_q - qb[c]);
      const double gtol = ref::GradTolerance(row, c, gw, qb[c], sum_q, growth());
      check.Near("grad", b, c, grad[b * classes_ + c], expected, gtol);
      check.Near("grad vs scalar", b, c, grad[b * classes_ + c], o_grad[b * classes_ + c],
                 2 * gtol);
    }
  }
  check.Near("loss sum", 0, 0, sum, ref_sum, sum_tol);
  check.Near("loss sum vs scalar", 0, 0, sum, o_sum, 2 * sum_tol);
}

void LossTester::TestConfidence(SoftmaxConfidenceFn fn) const {
  const Data d = Make();
  const size_t n = batch_ * classes_;
  std::vector<float> max_prob = Output(batch_), entropy = Output(batch_);
  std::vector<float> o_max_prob(batch_, kNaN), o_entropy(batch_, kNaN);
  std::vector<int32_t> argmax(batch_, -1), o_argmax(batch_, -1);
  fn(batch_, classes_, d.logits.data(), max_prob.data(), entropy.data(), argmax.data());
  f32_softmax_confidence__scalar(batch_, classes_, d.logits.data(), o_max_prob.data(),
                                 o_entropy.data(), o_argmax.data());
  // Each output alone gives the same bits.
  std::vector<float> only_max(batch_, kNaN), only_entropy(batch_, kNaN);
  std::vector<int32_t> only_argmax(batch_, -1);
  fn(batch_, classes_, d.logits.data(), only_max.data(), nullptr, nullptr);
  fn(batch_, classes_, d.logits.data(), nullptr, only_entropy.data(), nullptr);
  fn(batch_, classes_, d.logits.data(), nullptr, nullptr, only_argmax.data());

  const std::vector<double> z = ref::ToDouble(d.logits.data(), n);
  std::vector<double> ref_max, ref_entropy;
  ref::Confidence(batch_, classes_, z.data(), &ref_max, &ref_entropy);
  Checker check("confidence " + Describe());
  CheckGuard(&check, "write past the end of max_prob", max_prob);
  CheckGuard(&check, "write past the end of entropy", entropy);
  const double log_c = std::log(static_cast<double>(classes_));
  for (size_t b = 0; b < batch_; ++b) {
    const float* zb = d.logits.data() + b * classes_;
    const int32_t first_max = static_cast<int32_t>(std::max_element(zb, zb + classes_) - zb);
    check.ExactInt("argmax", b, 0, argmax[b], first_max);
    check.ExactInt("argmax vs scalar", b, 0, argmax[b], o_argmax[b]);
    check.True(BitwiseEqual(max_prob[b], only_max[b]) &&
                   BitwiseEqual(entropy[b], only_entropy[b]) && argmax[b] == only_argmax[b],
               "an output changes when the others are null");
    const ref::Row row = ref::SoftmaxRow(z.data() + b * classes_, classes_, 1.0);
    const double mtol = ref::MaxProbTolerance(row, growth());
    const double etol = ref::EntropyTolerance(row, growth());
    check.Near("max_prob", b, 0, max_prob[b], ref_max[b], mtol);
    check.Near("max_prob vs scalar", b, 0, max_prob[b], o_max_prob[b], 2 * mtol);
    check.Near("entropy", b, 0, entropy[b], ref_entropy[b], etol);
    check.Near("entropy vs scalar", b, 0, entropy[b], o_entropy[b], 2 * etol);
    check.True(entropy[b] >= 0.0f && entropy[b] <= log_c + etol, "entropy outside [0, log C]");
    check.True(max_prob[b] <= 1.0f && max_prob[b] >= 1.0 / classes_ - mtol,
               "max_prob outside [1/C, 1]");
  }
}

void LossTester::TestXentGradient(SoftmaxXentFn fn) const {
  const Data d = Make();
  const size_t n = batch_ * classes_;
  const float* w = d.weight_ptr();
  std::vector<float> grad(n, kNaN);
  fn(batch_, classes_, d.logits.data(), d.labels.data(), w, grad_scale_, nullptr, grad.data());
  std::vector<double> z = ref::ToDouble(d.logits.data(), n);
  std::vector<double> unused;
  auto loss = [&](const std::vector<double>& x) {
    return grad_scale_ * ref::XentLosses(batch_, classes_, x.data(), d.labels.data(), w, &unused);
  };
  Checker check("xent finite differences " + Describe());
  for (size_t i = 0; i < n; ++i) {
    const size_t b = i / classes_, c = i % classes_;
    const double h = 1e-4 * std::max(1.0, std::fabs(z[i]));
    const double z0 = z[i];
    z[i] = z0 + h;
    const double up = loss(z);
    z[i] = z0 - h;
    const double down = loss(z);
    z[i] = z0;
    const double fd = (up - down) / (2 * h);
    const double wb = WeightAt(w, b);
    double tol = 1e-9 * std::max(1.0, std::fabs(grad_scale_ * wb));
    if (wb != 0.0) {
      const ref::Row row = ref::SoftmaxRow(z.data() + b * classes_, classes_, 1.0);
      tol += ref::GradTolerance(row, c, grad_scale_ * wb,
                                static_cast<int32_t>(c) == d.labels[b] ? 1.0 : 0.0, 1.0, growth());
    }
    check.Near("grad vs finite difference", b, c, grad[i], fd, tol);
  }
}

void LossTester::TestKlDivGradient(SoftmaxKlDivFn fn) const {
  const Data d = Make();
  const size_t n = batch_ * classes_;
  const float* w = d.weight_ptr();
  const double t = temperature_;
  std::vector<float> grad(n, kNaN);
  fn(batch_, classes_, d.logits.data(), d.targets.data(), temperature_, w, grad_scale_, nullptr,
     grad.data());
  std::vector<double> z = ref::ToDouble(d.logits.data(), n);
  const std::vector<double> q = ref::ToDouble(d.targets.data(), n);
  std::vector<double> unused;
  auto loss = [&](const std::vector<double>& x) {
    return grad_scale_ * ref::KlDivLosses(batch_, classes_, x.data(), q.data(), t, w, &unused);
  };
  Checker check("kldiv finite differences " + Describe());
  for (size_t i = 0; i < n; ++i) {
    const size_t b = i / classes_, c = i % classes_;
    // The loss varies on the scale of T: step with it.
    const double h = 1e-4 * t * std::max(1.0, std::fabs(z[i]));
    const double z0 = z[i];
    z[i] = z0 + h;
    const double up = loss(z);
    z[i] = z0 - h;
    const double down = loss(z);
    z[i] = z0;
    const double fd = (up - down) / (2 * h);
    const double wb = WeightAt(w, b);
    double tol = 1e-9 * std::max(1.0, std::fabs(grad_scale_ * wb * t));
    if (wb != 0.0) {
      const double* qb = q.data() + b * classes_;
      double sum_q = 0.0;
      for (size_t k = 0; k < classes_; ++k) sum_q += qb[k];
      const ref::Row row = ref::SoftmaxRow(z.data() + b * classes_, classes_, t);
      tol += ref::GradTolerance(row, c, grad_scale_ * wb * t, qb[c], sum_q, growth());
    }
    check.Near("grad vs finite difference", b, c, grad[i], fd, tol);
  }
}

}  // namespace persephonee
