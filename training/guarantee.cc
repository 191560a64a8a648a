#include "training/guarantee.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "training/calibration_internal.h"

namespace persephonee {
namespace {

constexpr float kOff = std::numeric_limits<float>::infinity();

// P(Binomial(n, p) <= k): the terms, each from lgamma in log space, added from i = 0.
double BinomialCdf(int64_t k, int64_t n, double p) {
  if (k < 0) return 0.0;
  if (k >= n) return 1.0;
  if (p <= 0.0) return 1.0;
  if (p >= 1.0) return 0.0;
  const double lp = std::log(p), lq = std::log1p(-p);
  const double lgn = std::lgamma(static_cast<double>(n) + 1.0);
  double sum = 0.0;
  for (int64_t i = 0; i <= k; ++i) {
    const double di = static_cast<double>(i);
    const double log_term = lgn - std::lgamma(di + 1.0) -
                            std::lgamma(static_cast<double>(n - i) + 1.0) + di * lp +
                            static_cast<double>(n - i) * lq;
    sum += std::exp(log_term);
  }
  return std::min(1.0, sum);
}

// The p in [0, 1] where the monotone `f(p) - target` changes sign, by bisection.
template <typename F>
double Bisect(F f, double target, bool increasing) {
  double lo = 0.0, hi = 1.0;
  for (int it = 0; it < 64 && hi - lo > 1e-12; ++it) {
    const double mid = 0.5 * (lo + hi);
    const bool above = f(mid) > target;
    if (above == increasing) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return 0.5 * (lo + hi);
}

}  // namespace

double ClopperPearsonUpper(int64_t k, int64_t n, double delta) {
  if (n <= 0 || k >= n) return 1.0;
  // CDF(k; n, p) decreases in p; the bound is where it reaches delta. Rounded up a hair so the
  // bisection's last step never lands below the exact value.
  const double p = Bisect([&](double q) { return BinomialCdf(k, n, q); }, delta, false);
  return std::min(1.0, p + 1e-12);
}

double ClopperPearsonLower(int64_t k, int64_t n, double delta) {
  if (n <= 0 || k <= 0) return 0.0;
  // P(X >= k) = 1 - CDF(k - 1) increases in p.
  const double p = Bisect([&](double q) { return 1.0 - BinomialCdf(k - 1, n, q); }, delta, true);
  return std::max(0.0, p - 1e-12);
}

std::vector<float> GuaranteeCandidates() {
  std::vector<float> c = {kOff};
  for (int k = 32; k >= 2; --k) c.push_back(static_cast<float>(1.0 - std::pow(2.0, -0.5 * k)));
  for (int i = 9; i >= 0; --i) c.push_back(static_cast<float>(0.05 * i));
  return c;
}

StatusOr<GuaranteeResult> CalibrateWithGuarantee(const ExitObservations& obs,
                                                 const std::vector<int32_t>& original,
                                                 const GuaranteeOptions& options) {
  RETURN_IF_ERROR(ValidateObservations(obs));
  ENSURE(options.epsilon >= 0.0 && options.epsilon <= 1.0, "calibration: epsilon ", options.epsilon,
         " is outside [0, 1]");
  ENSURE(options.delta > 0.0 && options.delta < 1.0, "calibration: delta ", options.delta,
         " is outside (0, 1)");
  ENSURE(original.size() == static_cast<size_t>(obs.num_samples), "calibration: ", original.size(),
         " original predictions for ", obs.num_samples, " samples");
  const int heads = obs.num_exits - 1;
  const int64_t n = obs.num_samples;
  const int ref = obs.num_exits - 1;
  int64_t labelled = 0;
  for (int64_t i = 0; i < n; ++i) {
    labelled += !obs.labels.empty() && obs.labels[static_cast<size_t>(i)] >= 0 ? 1 : 0;
  }

  GuaranteeResult result;
  result.epsilon = options.epsilon;
  result.delta = options.delta;
  result.samples = n;
  result.labelled = labelled;
  result.thresholds.assign(static_cast<size_t>(heads), kOff);
  if (heads == 0) return result;

  const double split = labelled > 0 ? options.delta / 2 : options.delta;
  const double select = options.select_epsilon >= 0 ? options.select_epsilon : options.epsilon;
  const std::vector<float> candidates = GuaranteeCandidates();
  bool failed_recorded = false;
  for (size_t c = 1; c < candidates.size(); ++c) {
    const std::vector<float> t(static_cast<size_t>(heads), candidates[c]);
    int64_t a = 0, b = 0, ref_loss = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int e = calibration_internal::ExitOf(obs, i, t);
      const int32_t answer = obs.prediction(i, e);
      const int32_t label = obs.labels.empty() ? -1 : obs.labels[static_cast<size_t>(i)];
      const int32_t reference = obs.prediction(i, ref);
      if (label >= 0) {
        const bool orig_right = original[static_cast<size_t>(i)] == label;
        const bool right = answer == label;
        a += orig_right && !right ? 1 : 0;
        b += !orig_right && right ? 1 : 0;
        ref_loss += (reference == label ? 1 : 0) - (right ? 1 : 0);
      } else {
        a += answer != reference ? 1 : 0;
        ref_loss += answer != reference ? 1 : 0;
      }
    }
    const double bound =
        ClopperPearsonUpper(a, n, split) - (labelled > 0 ? ClopperPearsonLower(b, n, split) : 0.0);
    ++result.tested;
    const bool pass = bound <= options.epsilon;
    const double estimate = static_cast<double>(a - b) / static_cast<double>(n);
    const double against_ref = static_cast<double>(ref_loss) / static_cast<double>(n);
    if (!pass) {
      if (result.accepted == 0 && !failed_recorded) {
        result.bound = bound;
        result.estimate = estimate;
        failed_recorded = true;
      }
      break;
    }
    ++result.accepted;
    if (against_ref <= select + 1e-12) {
      result.exits_on = true;
      result.thresholds = t;
      result.bound = bound;
      result.estimate = estimate;
      result.reference_loss = against_ref;
    }
  }
  return result;
}

}  // namespace persephonee
