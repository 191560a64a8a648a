// The optimiser steps against PyTorch's torch.optim.SGD and torch.optim.Adam trajectories,
// from the fixture tools/make_optim_fixtures.py writes. Every available implementation and the
// checked entry points run every case from the stored initial weights and gradients; after
// each step the weights and the state are compared. The tests' own double reference must
// agree with PyTorch to float32 rounding, which pins it to PyTorch's semantics.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels/optim/optim.h"
#include "tests/kernels/loss/check.h"
#include "tests/kernels/loss/text_fixture.h"
#include "tests/kernels/optim/optim_reference.h"

namespace persephonee {
namespace {

namespace ref = optim_reference;

constexpr const char* kFixture = "tests/kernels/optim/testdata/optim_golden.txt";
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<OptimConfig> Implementations() {
  std::vector<OptimConfig> impls;
  OptimConfig scalar;
  scalar.name = "scalar";
  scalar.sgd = f32_sgd__scalar;
  scalar.adam = f32_adam__scalar;
  impls.push_back(scalar);
#if defined(__aarch64__)
  OptimConfig neon;
  neon.name = "neon";
  neon.sgd = f32_sgd__neon;
  neon.adam = f32_adam__neon;
  impls.push_back(neon);
#endif
  OptimConfig checked;
  checked.name = "checked API";
  checked.sgd = [](size_t n, const SgdParams& p, int64_t step, float* w, const float* g,
                   float* buf) { EXPECT_TRUE(SgdStep(n, p, step, w, g, buf).ok()); };
  checked.adam = [](size_t n, const AdamParams& p, int64_t step, float* w, const float* g, float* m,
                    float* v) { EXPECT_TRUE(AdamStep(n, p, step, w, g, m, v).ok()); };
  impls.push_back(checked);
  return impls;
}

template <typename T>
T Get(const StatusOr<T>& v) {
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? v.value() : T();
}

// Row `step - 1` of a [steps][n] golden array against the implementation and the reference.
void Compare(Checker* check, const char* what, const std::vector<float>& golden, int64_t step,
             const float* got, const ref::Tracked& expected) {
  const size_t n = expected.value.size();
  for (size_t i = 0; i < n; ++i) {
    const float want = golden[(step - 1) * n + i];
    check->Near(what, step, i, got[i], want, ref::Tolerance(step, expected.scale[i]));
    // PyTorch's float64 value rounded to float32 vs the reference: half an ulp, and a sliver
    // for the two float64 trajectories' own rounding.
    check->Near("reference vs PyTorch", step, i, expected.value[i], want,
                6e-8 * std::fabs(want) + 1e-13 * expected.scale[i]);
  }
}

void RunCase(const TextCase& tc, int* kinds_seen) {
  const int32_t kind = Get(tc.Int("kind"));
  const size_t n = Get(tc.Int("n"));
  const int64_t steps = Get(tc.Int("steps"));
  ASSERT_TRUE((kind == 0 || kind == 1) && n >= 1 && steps >= 1) << tc.name;
  ++kinds_seen[kind];
  const std::vector<float> w0 = Get(tc.Floats("weights0", n));
  const std::vector<float> grads = Get(tc.Floats("grads", steps * n));
  const std::vector<float> golden_w = Get(tc.Floats("weights", steps * n));
  for (const OptimConfig& impl : Implementations()) {
    Checker check(tc.name + " (" + impl.name + ")");
    std::vector<float> w = w0, a(n, kNaN), b(n, kNaN);
    if (kind == 0) {
      SgdParams p;
      p.lr = Get(tc.Float("lr"));
      p.weight_decay = Get(tc.Float("weight_decay"));
      p.momentum = Get(tc.Float("momentum"));
      p.dampening = Get(tc.Float("dampening"));
      p.nesterov = Get(tc.Int("nesterov")) != 0;
      ASSERT_TRUE(p.Validate().ok());
      const std::vector<float> golden_buf =
          p.momentum != 0.0f ? Get(tc.Floats("momentum_buf", steps * n)) : std::vector<float>();
      ref::SgdState expected = ref::StartSgd(w0);
      for (int64_t step = 1; step <= steps; ++step) {
        const float* g = grads.data() + (step - 1) * n;
        impl.sgd(n, p, step, w.data(), g, p.momentum != 0.0f ? a.data() : nullptr);
        ref::SgdStep(p, step, g, &expected);
        Compare(&check, "weights", golden_w, step, w.data(), expected.weights);
        if (p.momentum != 0.0f) {
          Compare(&check, "momentum_buf", golden_buf, step, a.data(), expected.momentum);
        }
      }
    } else {
      AdamParams p;
      p.lr = Get(tc.Float("lr"));
      p.weight_decay = Get(tc.Float("weight_decay"));
      p.beta1 = Get(tc.Float("beta1"));
      p.beta2 = Get(tc.Float("beta2"));
      p.eps = Get(tc.Float("eps"));
      ASSERT_TRUE(p.Validate().ok());
      const std::vector<float> golden_m = Get(tc.Floats("exp_avg", steps * n));
      const std::vector<float> golden_v = Get(tc.Floats("exp_avg_sq", steps * n));
      ref::AdamState expected = ref::StartAdam(w0);
      for (int64_t step = 1; step <= steps; ++step) {
        const float* g = grads.data() + (step - 1) * n;
        impl.adam(n, p, step, w.data(), g, a.data(), b.data());
        ref::AdamStep(p, step, g, &expected);
        Compare(&check, "weights", golden_w, step, w.data(), expected.weights);
        Compare(&check, "exp_avg", golden_m, step, a.data(), expected.exp_avg);
        Compare(&check, "exp_avg_sq", golden_v, step, b.data(), expected.exp_avg_sq);
      }
    }
  }
}

TEST(OptimGoldenTest, MatchesPyTorch) {
  auto cases = LoadTextFixture(kFixture);
  ASSERT_TRUE(cases.ok()) << cases.status().ToString();
  // The script writes 11 cases; fewer means a damaged or stale fixture.
  EXPECT_EQ(cases->size(), 11u);
  int kinds_seen[2] = {0, 0};
  for (const TextCase& tc : *cases) {
    SCOPED_TRACE(tc.name);
    RunCase(tc, kinds_seen);
  }
  EXPECT_GE(kinds_seen[0], 5);
  EXPECT_GE(kinds_seen[1], 4);
}

}  // namespace
}  // namespace persephonee
