#include "tests/kernels/optim/optim_tester.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "tests/kernels/loss/check.h"
#include "tests/kernels/optim/optim_reference.h"

namespace persephonee {
namespace {

namespace ref = optim_reference;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr size_t kGuard = 5;
constexpr float kGuardValue = -777.25f;

// A copy of v followed by kGuard sentinels.
std::vector<float> Guarded(const std::vector<float>& v) {
  std::vector<float> g(v);
  g.insert(g.end(), kGuard, kGuardValue);
  return g;
}

void CheckGuard(Checker* check, const char* what, const std::vector<float>& v) {
  for (size_t i = v.size() - kGuard; i < v.size(); ++i) {
    check->Exact(what, i, 0, v[i], kGuardValue);
  }
}

bool BitwiseEqual(const float* a, const float* b, size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

// `got` (the implementation) against the reference and the oracle, element by element.
void Compare(Checker* check, const char* what, const char* what_oracle, const float* got,
             const float* oracle, const ref::Tracked& expected, int64_t steps_done) {
  for (size_t i = 0; i < expected.value.size(); ++i) {
    const double tol = ref::Tolerance(steps_done, expected.scale[i]);
    check->Near(what, i, 0, got[i], expected.value[i], tol);
    check->Near(what_oracle, i, 0, got[i], oracle[i], 2 * tol);
  }
}

ref::Tracked Exact(const std::vector<float>& x) {
  ref::Tracked t;
  t.value.assign(x.begin(), x.end());
  for (double v : t.value) t.scale.push_back(std::fabs(v));
  return t;
}

struct Problem {
  std::vector<float> weights, grads, state_a, state_b;
};

}  // namespace

std::string Describe(const SgdParams& p) {
  std::ostringstream out;
  out << "lr=" << p.lr << " momentum=" << p.momentum << " dampening=" << p.dampening
      << " wd=" << p.weight_decay << " nesterov=" << p.nesterov;
  return out.str();
}

std::string Describe(const AdamParams& p) {
  std::ostringstream out;
  out << "lr=" << p.lr << " beta1=" << p.beta1 << " beta2=" << p.beta2 << " eps=" << p.eps
      << " wd=" << p.weight_decay;
  return out.str();
}

std::string OptimTester::Describe() const {
  std::ostringstream out;
  out << "n=" << n_ << " steps=" << steps_ << " start=" << start_step_
      << " grad_scale=" << grad_scale_ << " seed=" << seed_;
  return out.str();
}

void OptimTester::TestSgd(SgdFn fn, const SgdParams& hp) const {
  std::mt19937 rng(seed_);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::vector<float> w0(n_), grads(n_ * steps_), buf0(n_, kNaN);
  for (float& x : w0) x = unit(rng);
  for (float& x : grads) x = grad_scale_ * unit(rng);
  ref::SgdState expected = ref::StartSgd(w0);
  if (start_step_ > 1) {
    for (float& x : buf0) x = grad_scale_ * unit(rng);
    expected.momentum = Exact(buf0);
  }
  const bool has_buf = hp.momentum != 0.0f;
  std::vector<float> w = Guarded(w0), buf = Guarded(buf0);  // The implementation's.
  std::vector<float> w_o = w0, buf_o = buf0;                // The oracle's.
  std::vector<float> w_s = w0, buf_s = buf0;                // Split in two calls.
  const size_t split = n_ * 3 / 7;
  for (int64_t k = 0; k < steps_; ++k) {
    const int64_t step = start_step_ + k;
    const float* g = grads.data() + k * n_;
    fn(n_, hp, step, w.data(), g, has_buf ? buf.data() : nullptr);
    f32_sgd__scalar(n_, hp, step, w_o.data(), g, has_buf ? buf_o.data() : nullptr);
    fn(split, hp, step, w_s.data(), g, has_buf ? buf_s.data() : nullptr);
    fn(n_ - split, hp, step, w_s.data() + split, g + split,
       has_buf ? buf_s.data() + split : nullptr);
    ref::SgdStep(hp, step, g, &expected);

    Checker check("sgd " + persephonee::Describe(hp) + " " + Describe() + " after step " +
                  std::to_string(step));
    Compare(&check, "weights", "weights vs scalar", w.data(), w_o.data(), expected.weights, k + 1);
    if (has_buf) {
      Compare(&check, "momentum", "momentum vs scalar", buf.data(), buf_o.data(), expected.momentum,
              k + 1);
    } else {
      check.True(BitwiseEqual(buf.data(), buf0.data(), n_),
                 "the momentum buffer was written with momentum 0");
    }
    check.True(BitwiseEqual(w.data(), w_s.data(), n_) &&
                   (!has_buf || BitwiseEqual(buf.data(), buf_s.data(), n_)),
               "results change when the array is split at " + std::to_string(split));
    CheckGuard(&check, "write past the end of weights", w);
    CheckGuard(&check, "write past the end of momentum", buf);
    if (check.failures() > 0) return;
  }
}

void OptimTester::TestAdam(AdamFn fn, const AdamParams& hp) const {
  std::mt19937 rng(seed_);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::vector<float> w0(n_), grads(n_ * steps_), m0(n_, kNaN), v0(n_, kNaN);
  for (float& x : w0) x = unit(rng);
  for (float& x : grads) x = grad_scale_ * unit(rng);
  ref::AdamState expected = ref::StartAdam(w0);
  if (start_step_ > 1) {
    for (size_t i = 0; i < n_; ++i) {
      m0[i] = grad_scale_ * unit(rng);
      v0[i] = grad_scale_ * grad_scale_ * (0.5f + 0.5f * unit(rng));
    }
    expected.exp_avg = Exact(m0);
    expected.exp_avg_sq = Exact(v0);
  }
  std::vector<float> w = Guarded(w0), m = Guarded(m0), v = Guarded(v0);
  std::vector<float> w_o = w0, m_o = m0, v_o = v0;
  std::vector<float> w_s = w0, m_s = m0, v_s = v0;
  const size_t split = n_ * 3 / 7;
  for (int64_t k = 0; k < steps_; ++k) {
    const int64_t step = start_step_ + k;
    const float* g = grads.data() + k * n_;
    fn(n_, hp, step, w.data(), g, m.data(), v.data());
    f32_adam__scalar(n_, hp, step, w_o.data(), g, m_o.data(), v_o.data());
    fn(split, hp, step, w_s.data(), g, m_s.data(), v_s.data());
    fn(n_ - split, hp, step, w_s.data() + split, g + split, m_s.data() + split, v_s.data() + split);
    ref::AdamStep(hp, step, g, &expected);

    Checker check("adam " + persephonee::Describe(hp) + " " + Describe() + " after step " +
                  std::to_string(step));
    Compare(&check, "weights", "weights vs scalar", w.data(), w_o.data(), expected.weights, k + 1);
    Compare(&check, "exp_avg", "exp_avg vs scalar", m.data(), m_o.data(), expected.exp_avg, k + 1);
    Compare(&check, "exp_avg_sq", "exp_avg_sq vs scalar", v.data(), v_o.data(), expected.exp_avg_sq,
            k + 1);
    check.True(BitwiseEqual(w.data(), w_s.data(), n_) && BitwiseEqual(m.data(), m_s.data(), n_) &&
                   BitwiseEqual(v.data(), v_s.data(), n_),
               "results change when the array is split at " + std::to_string(split));
    CheckGuard(&check, "write past the end of weights", w);
    CheckGuard(&check, "write past the end of exp_avg", m);
    CheckGuard(&check, "write past the end of exp_avg_sq", v);
    if (check.failures() > 0) return;
  }
}

const std::vector<size_t>& OptimTestSizes() {
  static const std::vector<size_t> sizes = {1, 3, 4, 5, 7, 8, 15, 16, 17, 31, 100, 1000};
  return sizes;
}

void TestOptimSizes(const OptimConfig& impl) {
  std::vector<SgdParams> sgd(5);
  sgd[0].lr = 0.1f;
  sgd[1].lr = 0.05f;
  sgd[1].momentum = 0.9f;
  sgd[2].lr = 0.1f;
  sgd[2].momentum = 0.9f;
  sgd[2].dampening = 0.25f;
  sgd[2].weight_decay = 0.01f;
  sgd[3].lr = 0.05f;
  sgd[3].momentum = 0.875f;
  sgd[3].nesterov = true;
  sgd[3].weight_decay = 0.05f;
  sgd[4].lr = 0.5f;
  sgd[4].momentum = 0.5f;
  sgd[4].weight_decay = 0.5f;
  std::vector<AdamParams> adam(4);
  adam[1].lr = 0.01f;
  adam[1].beta1 = 0.8f;
  adam[1].beta2 = 0.9f;
  adam[1].eps = 1e-3f;
  adam[1].weight_decay = 0.1f;
  adam[2].lr = 0.02f;
  adam[2].beta1 = 0.0f;
  adam[2].beta2 = 0.0f;
  adam[2].eps = 1e-6f;
  adam[3].weight_decay = 0.01f;
  uint32_t seed = 1;
  for (size_t n : OptimTestSizes()) {
    for (const SgdParams& p : sgd) {
      OptimTester().n(n).steps(3).seed(seed++).TestSgd(impl.sgd, p);
    }
    for (const AdamParams& p : adam) {
      OptimTester().n(n).steps(3).seed(seed++).TestAdam(impl.adam, p);
    }
    // Small gradients (eps and the bias corrections both matter), and late steps from a
    // state already under way.
    OptimTester().n(n).steps(3).grad_scale(1e-4f).seed(seed++).TestAdam(impl.adam, adam[0]);
    OptimTester().n(n).steps(2).start_step(1000).seed(seed++).TestAdam(impl.adam, adam[1]);
    OptimTester().n(n).steps(2).start_step(57).seed(seed++).TestSgd(impl.sgd, sgd[2]);
    OptimTester().n(n).steps(2).start_step(9).seed(seed++).TestSgd(impl.sgd, sgd[3]);
  }
}

void TestOptimProperties(const OptimConfig& impl) {
  const size_t n = 37;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  std::vector<float> w0(n), g(n);
  for (float& x : w0) x = unit(rng);
  for (float& x : g) x = unit(rng);
  Checker check(std::string(impl.name) + " optimiser properties");

  // lr = 0: the weights keep their bits (the state still moves).
  {
    SgdParams sgd;
    sgd.lr = 0.0f;
    sgd.momentum = 0.9f;
    sgd.weight_decay = 0.1f;
    std::vector<float> w = w0, buf(n);
    for (int64_t step = 1; step <= 3; ++step)
      impl.sgd(n, sgd, step, w.data(), g.data(), buf.data());
    check.True(BitwiseEqual(w.data(), w0.data(), n), "SGD with lr 0 changed the weights");
    AdamParams adam;
    adam.lr = 0.0f;
    adam.weight_decay = 0.1f;
    std::vector<float> m(n), v(n);
    for (int64_t step = 1; step <= 3; ++step) {
      impl.adam(n, adam, step, w.data(), g.data(), m.data(), v.data());
    }
    check.True(BitwiseEqual(w.data(), w0.data(), n), "Adam with lr 0 changed the weights");
    check.True(m[0] != 0.0f && v[0] > 0.0f, "Adam with lr 0 did not update its moments");
  }
  // eps = 0: Adam's steps depend only on the gradients' direction pattern, not their scale.
  {
    AdamParams adam;
    adam.lr = 0.01f;
    adam.eps = 0.0f;
    std::vector<float> g4(n);
    for (size_t i = 0; i < n; ++i) g4[i] = 4.0f * g[i];
    std::vector<float> w1 = w0, m1(n), v1(n), w2 = w0, m2(n), v2(n);
    for (int64_t step = 1; step <= 4; ++step) {
      impl.adam(n, adam, step, w1.data(), g.data(), m1.data(), v1.data());
      impl.adam(n, adam, step, w2.data(), g4.data(), m2.data(), v2.data());
    }
    check.True(BitwiseEqual(w1.data(), w2.data(), n),
               "Adam with eps 0 is not invariant under gradient scaling by 4");
  }
}

}  // namespace persephonee
