#include "tests/kernels/loss/loss_reference.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace persephonee {
namespace loss_reference {
namespace {

constexpr double kUlp = 2.5e-7;

double Weight(const float* weights, size_t b) { return weights != nullptr ? weights[b] : 1.0; }

}  // namespace

Row SoftmaxRow(const double* z, size_t classes, double temperature) {
  Row row;
  const double m = *std::max_element(z, z + classes);
  row.a.resize(classes);
  double s = 0.0;
  for (size_t c = 0; c < classes; ++c) {
    row.a[c] = (z[c] - m) / temperature;
    s += std::exp(row.a[c]);
  }
  row.lse = std::log(s);
  row.log_p.resize(classes);
  row.p.resize(classes);
  for (size_t c = 0; c < classes; ++c) {
    row.log_p[c] = row.a[c] - row.lse;
    row.p[c] = std::exp(row.log_p[c]);
  }
  return row;
}

double XentLosses(size_t batch, size_t classes, const double* z, const int32_t* labels,
                  const float* weights, std::vector<double>* losses) {
  losses->assign(batch, 0.0);
  double total = 0.0;
  for (size_t b = 0; b < batch; ++b) {
    const double w = Weight(weights, b);
    if (w == 0.0) continue;
    const Row row = SoftmaxRow(z + b * classes, classes, 1.0);
    (*losses)[b] = -w * row.log_p[labels[b]];
    total += (*losses)[b];
  }
  return total;
}

double KlDivLosses(size_t batch, size_t classes, const double* z, const double* q,
                   double temperature, const float* weights, std::vector<double>* losses) {
  losses->assign(batch, 0.0);
  double total = 0.0;
  for (size_t b = 0; b < batch; ++b) {
    const double w = Weight(weights, b);
    if (w == 0.0) continue;
    const Row row = SoftmaxRow(z + b * classes, classes, temperature);
    const double* qb = q + b * classes;
    double kl = 0.0;
    for (size_t c = 0; c < classes; ++c) {
      if (qb[c] > 0.0) kl += qb[c] * (std::log(qb[c]) - row.log_p[c]);
    }
    (*losses)[b] = w * temperature * temperature * kl;
    total += (*losses)[b];
  }
  return total;
}

std::vector<double> XentGrad(size_t batch, size_t classes, const double* z, const int32_t* labels,
                             const float* weights, double grad_scale) {
  std::vector<double> g(batch * classes, 0.0);
  for (size_t b = 0; b < batch; ++b) {
    const double w = Weight(weights, b);
    if (w == 0.0) continue;
    const Row row = SoftmaxRow(z + b * classes, classes, 1.0);
    for (size_t c = 0; c < classes; ++c) {
      g[b * classes + c] = grad_scale * w * (row.p[c] - (static_cast<int32_t>(c) == labels[b]));
    }
  }
  return g;
}

std::vector<double> KlDivGrad(size_t batch, size_t classes, const double* z, const double* q,
                              double temperature, const float* weights, double grad_scale) {
  std::vector<double> g(batch * classes, 0.0);
  for (size_t b = 0; b < batch; ++b) {
    const double w = Weight(weights, b);
    if (w == 0.0) continue;
    const Row row = SoftmaxRow(z + b * classes, classes, temperature);
    const double* qb = q + b * classes;
    double sum_q = 0.0;
    for (size_t c = 0; c < classes; ++c) sum_q += qb[c];
    for (size_t c = 0; c < classes; ++c) {
      g[b * classes + c] = grad_scale * w * temperature * (row.p[c] * sum_q - qb[c]);
    }
  }
  return g;
}

void Confidence(size_t batch, size_t classes, const double* z, std::vector<double>* max_prob,
                std::vector<double>* entropy) {
  max_prob->assign(batch, 0.0);
  entropy->assign(batch, 0.0);
  for (size_t b = 0; b < batch; ++b) {
    const Row row = SoftmaxRow(z + b * classes, classes, 1.0);
    double h = 0.0;
    for (size_t c = 0; c < classes; ++c) h -= row.p[c] * row.log_p[c];
    (*max_prob)[b] = *std::max_element(row.p.begin(), row.p.end());
    (*entropy)[b] = h;
  }
}

std::vector<double> ToDouble(const float* x, size_t n) { return std::vector<double>(x, x + n); }

double Growth(size_t classes) {
  return std::max(1.0, std::sqrt(static_cast<double>(classes)) / 4.0);
}

double ProbTolerance(const Row& row, size_t c, double growth) {
  // Below ~1e-37 the NEON exp returns 0 where libm returns a denormal.
  return kUlp * growth * (4.0 + std::fabs(row.a[c])) * row.p[c] + 1e-37;
}

double XentLossTolerance(const Row& row, int32_t y, double w, double growth) {
  return kUlp * growth * std::fabs(w) * (4.0 + row.lse + std::fabs(row.a[y]));
}

double KlLossTolerance(const Row& row, const double* q, double temperature, double w,
                       double growth) {
  double s = 0.0;
  for (size_t c = 0; c < row.a.size(); ++c) {
    if (q[c] > 0.0) s += q[c] * (4.0 + std::fabs(std::log(q[c])) + std::fabs(row.a[c]) + row.lse);
  }
  return kUlp * growth * std::fabs(w) * temperature * temperature * s;
}

double GradTolerance(const Row& row, size_t c, double gw, double target, double sum_q,
                     double growth) {
  return kUlp * growth * std::fabs(gw) *
             ((4.0 + std::fabs(row.a[c])) * row.p[c] * std::fabs(sum_q) + 4.0 * target) +
         1e-37;
}

double EntropyTolerance(const Row& row, double growth) {
  double s = 4.0 + row.lse;
  for (size_t c = 0; c < row.a.size(); ++c) {
    s += row.p[c] * std::fabs(row.a[c]) * (4.0 + std::fabs(row.a[c]));
  }
  return kUlp * growth * s;
}

double MaxProbTolerance(const Row& row, double growth) {
  return kUlp * growth * 4.0 * *std::max_element(row.p.begin(), row.p.end());
}

}  // namespace loss_reference
}  // namespace persephonee
