// Shared helpers of the fully-connected tests: random data and an oracle comparison.
#ifndef PERSEPHONEE_TESTS_KERNELS_FC_FC_TEST_UTIL_H_
#define PERSEPHONEE_TESTS_KERNELS_FC_FC_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/fc/fc.h"

namespace persephonee {

inline std::vector<float> RandomVector(size_t n, std::mt19937* rng, float lo = -1.0f,
                                       float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(*rng);
  return v;
}

inline std::string ShapeText(const FcShape& s) {
  return "batch=" + std::to_string(s.batch) + " in=" + std::to_string(s.in) +
         " out=" + std::to_string(s.out);
}

/// Compares `got` with `want` element by element: |got - want| <= max(1e-5, 1e-6 * mag[i]) *
/// max(1, sqrt(terms) / 4), where mag[i] is the sum of magnitudes of the terms behind element i.
inline void ExpectClose(const std::vector<float>& got, const std::vector<float>& want,
                        const std::vector<double>& mag, size_t terms, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double scale = std::max(1.0, std::sqrt(static_cast<double>(terms)) / 4.0);
  int failures = 0;
  for (size_t i = 0; i < got.size() && failures < 5; ++i) {
    const double tol = std::max(1e-5, 1e-6 * mag[i]) * scale;
    if (!(std::fabs(static_cast<double>(got[i]) - want[i]) <= tol)) {
      ++failures;
      ADD_FAILURE() << what << ": [" << i << "] = " << got[i] << ", want " << want[i] << ", tol "
                    << tol;
    }
  }
}

}  // namespace persephonee

#endif  // PERSEPHONEE_TESTS_KERNELS_FC_FC_TEST_UTIL_H_
