// The fully-connected backward kernels (scalar and GEMM-based) against central finite
// differences of L = ½ Σ (y - t)², with y = x · Wᵀ + b evaluated in double precision.
// L is quadratic, so the central difference has no truncation error; what remains is double
// round-off, far below the float tolerance the kernels are held to.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/fc/fc.h"
#include "tests/kernels/fc/fc_test_util.h"

namespace persephonee {
namespace {

struct Problem {
  FcShape s;
  std::vector<double> x, w, b, t;

  std::vector<double> Forward() const {
    std::vector<double> y(s.batch * s.out);
    for (size_t n = 0; n < s.batch; ++n) {
      for (size_t o = 0; o < s.out; ++o) {
        double acc = b[o];
        for (size_t i = 0; i < s.in; ++i) acc += x[n * s.in + i] * w[o * s.in + i];
        y[n * s.out + o] = acc;
      }
    }
    return y;
  }
  double Loss() const {
    const std::vector<double> y = Forward();
    double loss = 0;
    for (size_t i = 0; i < y.size(); ++i) loss += 0.5 * (y[i] - t[i]) * (y[i] - t[i]);
    return loss;
  }
};

// Central differences of the loss with respect to every element of `param`.
std::vector<float> FiniteDifferences(Problem* p, std::vector<double>* param) {
  const double h = 1e-3;
  std::vector<float> grad(param->size());
  for (size_t i = 0; i < param->size(); ++i) {
    const double saved = (*param)[i];
    (*param)[i] = saved + h;
    const double plus = p->Loss();
    (*param)[i] = saved - h;
    const double minus = p->Loss();
    (*param)[i] = saved;
    grad[i] = static_cast<float>((plus - minus) / (2 * h));
  }
  return grad;
}

using BwdInputFn = std::function<void(const FcShape&, const float*, const float*, float*)>;
using BwdWeightFn = std::function<void(const FcShape&, const float*, const float*, float*, float*)>;

void CheckAgainstFiniteDifferences(const BwdInputFn& bwd_input, const BwdWeightFn& bwd_weight,
                                   const std::string& name) {
  std::mt19937 rng(21);
  for (const FcShape& s :
       {FcShape{1, 3, 2}, FcShape{3, 7, 5}, FcShape{5, 17, 9}, FcShape{8, 33, 10}}) {
    Problem p;
    p.s = s;
    // Weights and inputs exactly representable in float, so both sides see the same values.
    const auto fx = RandomVector(s.batch * s.in, &rng), fw = RandomVector(s.out * s.in, &rng);
    const auto fb = RandomVector(s.out, &rng), ft = RandomVector(s.batch * s.out, &rng);
    p.x.assign(fx.begin(), fx.end());
    p.w.assign(fw.begin(), fw.end());
    p.b.assign(fb.begin(), fb.end());
    p.t.assign(ft.begin(), ft.end());
    // dL/dy = y - t.
    const std::vector<double> y = p.Forward();
    std::vector<float> dy(y.size());
    for (size_t i = 0; i < y.size(); ++i) dy[i] = static_cast<float>(y[i] - p.t[i]);

    std::vector<float> dx(s.batch * s.in), dw(s.out * s.in), db(s.out);
    bwd_input(s, dy.data(), fw.data(), dx.data());
    bwd_weight(s, fx.data(), dy.data(), dw.data(), db.data());

    const auto fd_x = FiniteDifferences(&p, &p.x);
    const auto fd_w = FiniteDifferences(&p, &p.w);
    const auto fd_b = FiniteDifferences(&p, &p.b);
    // Terms are O(in) (dy) times O(1): scale the tolerance by the reduction lengths.
    const std::vector<double> mag_x(dx.size(), 4.0 * s.out), mag_w(dw.size(), 4.0 * s.batch),
        mag_b(db.size(), 4.0 * s.batch);
    ExpectClose(dx, fd_x, mag_x, s.out, name + " dx vs finite differences, " + ShapeText(s));
    ExpectClose(dw, fd_w, mag_w, s.batch, name + " dW vs finite differences, " + ShapeText(s));
    ExpectClose(db, fd_b, mag_b, s.batch, name + " db vs finite differences, " + ShapeText(s));
  }
}

TEST(FcGradTest, ScalarMatchesFiniteDifferences) {
  CheckAgainstFiniteDifferences(f32_fc_bwd_input__scalar, f32_fc_bwd_weight__scalar, "scalar");
}

TEST(FcGradTest, GemmMatchesFiniteDifferences) {
  CheckAgainstFiniteDifferences([](const FcShape& s, const float* dy, const float* w,
                                   float* dx) { f32_fc_bwd_input(s, dy, w, dx, nullptr); },
                                [](const FcShape& s, const float* x, const float* dy, float* dw,
                                   float* db) { f32_fc_bwd_weight(s, x, dy, dw, db, nullptr); },
                                "gemm");
}

}  // namespace
}  // namespace persephonee
